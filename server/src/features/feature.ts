/**
 * The shape of an LSP feature as the server sees it: what it adds to the capabilities announced in
 * the initialize result, and the handlers it installs on the connection. server.ts owns the
 * lifecycle (initialize, indexing, configuration, diagnostics) and hands each feature a context.
 */
import type { CancellationToken, Connection, ServerCapabilities, TextDocuments } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { WorkspaceIndex } from "../index/workspace";
import type { IndexStats, InitializationOptions } from "../protocol/requests";
import type { StatusProvider } from "./hover";
import type { SafeResult } from "./safe";
import type { ColumnLineageCache, SqlFeatureContext } from "./sql";
import type { StatusService } from "./status";

export interface FeatureContext {
  readonly connection: Connection;
  readonly documents: TextDocuments<TextDocument>;
  /** The workspace folders (the same array, kept current when folders come and go). */
  readonly roots: string[];
  readonly statuses: StatusService;
  readonly status: StatusProvider;
  /** Column lineage of the SQL features, dropped when the graph or a document changes. */
  readonly columns: ColumnLineageCache;
  /** What the client sent in `initializationOptions`. */
  settings(): InitializationOptions;
  sqlContext(index: WorkspaceIndex): SqlFeatureContext;
  stats(): IndexStats;
  /** Tells the client the graph changed (diagnostics, trees, the panel). */
  graphChanged(): void;
  /**
   * Runs `work` on the current index through `safe()` (features/safe.ts): after a yield, cancelled
   * requests answer -32800, exceptions are logged and answered with `fallback`, and so is a request
   * that comes before the first index.
   */
  safe<T>(name: string, token: CancellationToken | undefined, fallback: T, work: (index: WorkspaceIndex) => T | Promise<T>): SafeResult<T>;
}

export interface Feature {
  /** Merged into the initialize result's capabilities. */
  readonly capabilities?: ServerCapabilities;
  register(context: FeatureContext): void;
}
