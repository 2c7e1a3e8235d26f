/**
 * Compiled SQL, column-level lineage and query preview: the data types and custom LSP requests,
 * typed once and imported by server, CLI and extension. Each request says which way it travels.
 */
import { RequestType } from "vscode-languageserver-protocol";
import type { Span } from "./types";

// ---------------------------------------------------------------- compiled SQL

export interface CompileParams {
  /** A model file (its unsaved editor text is what compiles). */
  uri: string;
}

export type CompileResult =
  | { ok: true; id: string; sql: string; materialized: string; relation?: string }
  | {
      ok: false;
      id?: string;
      message: string;
      /** The file the error is in (a macro file when the failure is inside a macro), absolute. */
      file?: string;
      /** Where in `file` (zero-based, LSP style), when the renderer knows the Jinja position. */
      span?: Span;
    };

/** client -> server: the compiled SQL of the model defined in a file (the embedded engine's renderer). */
export const CompileRequest = new RequestType<CompileParams, CompileResult, void>("tributary/compile");

// ---------------------------------------------------------------- column-level lineage

/** One upstream column: an asset id and a column name. */
export interface ColumnRef {
  asset: string;
  column: string;
}

export interface ColumnLineageEntry {
  name: string;
  /** The columns its value is computed from (empty for constants). */
  upstream: ColumnRef[];
  /** `copy`: the value is an upstream column as is (renamed or not); `derived`: an expression of them. */
  how: "copy" | "derived";
}

/** Where an asset's column list came from. */
export type ColumnOrigin = "sql" | "yaml" | "catalog" | "csv" | "declared";

export interface AssetColumns {
  id: string;
  /** `columns`: per-column lineage; `table`: only table-level lineage is known (see `reason`). */
  level: "columns" | "table";
  columns: ColumnLineageEntry[];
  origin?: ColumnOrigin;
  /** Why column lineage is not available (unsupported SQL shape, unknown upstream schema, render error). */
  reason?: string;
}

/** Column lineage of every asset the computation reached, by asset id. */
export type ColumnLineageMap = Record<string, AssetColumns>;

export interface ColumnLineageParams {
  /** Assets whose column lineage is wanted (their upstreams are computed too). */
  ids: string[];
}

/** client -> server: column-level lineage of some assets and everything upstream of them. */
export const ColumnLineageRequest = new RequestType<ColumnLineageParams, ColumnLineageMap, void>("tributary/columnLineage");

// ---------------------------------------------------------------- query preview

export interface PreviewParams {
  /** The model file the query belongs to (its project's warehouse runs it). */
  uri: string;
  /** SQL to run instead of the whole model (selected text); Jinja in it is not rendered. */
  sql?: string;
  /** Preview the CTE defined around this position of the model file. */
  position?: { line: number; character: number };
  /** Rows (default 100, at most 10,000). */
  limit?: number;
}

export type PreviewResult =
  | { ok: true; title: string; sql: string; columns: { name: string; type: string }[]; rows: unknown[][]; ms: number; limit: number }
  | { ok: false; message: string };

/** client -> server: run a model's compiled SQL (or a CTE, or the selection) read-only with a LIMIT. Cancellable. */
export const PreviewRequest = new RequestType<PreviewParams, PreviewResult, void>("tributary/preview");
