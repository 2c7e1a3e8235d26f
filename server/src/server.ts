/**
 * The language server entry: the lifecycle (initialize, indexing, tributary.json, file and folder
 * events, diagnostics, history polling). Each LSP feature registers itself (features/registry.ts):
 * its capabilities go into the initialize result, its handlers onto the connection.
 */
import {
  CodeLensRefreshRequest,
  createConnection,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type InitializeParams,
  type ServerCapabilities,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { readTributaryConfig, WorkspaceIndex } from "./index/workspace";
import { GraphChangedNotification, type IndexStats, type InitializationOptions } from "./protocol/requests";
import type { StatusProvider } from "./features/hover";
import { pathToUri, uriToPath } from "./features/lookup";
import { DiagnosticsPublisher } from "./features/diagnostics";
import * as path from "node:path";
import { StatusService } from "./features/status";
import { ColumnLineageCache, type SqlFeatureContext } from "./features/sql";
import { SqlParser } from "./columns/parser";
import { ReadOnlyAttacher } from "./run/readOnlyAttach";
import type { FeatureContext } from "./features/feature";
import { FEATURES } from "./features/registry";
import { describeError, safe as runSafe } from "./features/safe";

const EDIT_DEBOUNCE_MS = 120;
const CONFIG_FILE = "tributary.json";
const HISTORY_POLL_MS = 500;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const roots: string[] = [];
  let index: WorkspaceIndex | undefined;
  const statuses = new StatusService(roots, () => index);
  const status: StatusProvider = (id) => statuses.line(id);
  const diagnostics = new DiagnosticsPublisher(connection);
  const pending = new Map<string, NodeJS.Timeout>();

  const log = (message: string) => connection.console.log(message);
  const logError = (message: string) => connection.console.error(message);

  /** Runs lifecycle work (not a request); an exception is logged and answered with the fallback, never a crash. */
  function guard<T>(name: string, fallback: T, run: (index: WorkspaceIndex) => T): T {
    if (!index) return fallback;
    try {
      return run(index);
    } catch (error) {
      logError(`${name} failed: ${describeError(error)}`);
      return fallback;
    }
  }

  function stats(): IndexStats {
    const graph = index!.graph;
    const diagnostics = [...index!.diagnostics().values()].reduce((n, l) => n + l.length, 0);
    return { assets: graph.nodes.size, edges: graph.edges.length, files: index!.occurrences.size, diagnostics };
  }

  function graphChanged(): void {
    statuses.invalidate();
    columns.invalidate();
    guard("publish", undefined, (i) => diagnostics.publish(i, roots, (file) => documents.get(pathToUri(file))?.getText()));
    // Sent even when publishing failed: the client waits for it (the lineage panel after the first index).
    guard("graphChanged", undefined, () => void connection.sendNotification(GraphChangedNotification, stats()));
  }

  function scheduleUpdate(file: string, exists: boolean): void {
    clearTimeout(pending.get(file));
    pending.set(
      file,
      setTimeout(() => {
        pending.delete(file);
        if (path.basename(file) === CONFIG_FILE && roots.includes(path.dirname(file))) {
          openIndex();
          graphChanged();
          return;
        }
        const changed = guard("update", false, (i) => i.update(file, exists));
        if (changed) graphChanged();
      }, EDIT_DEBOUNCE_MS),
    );
  }

  // Compiled SQL, column lineage and preview render the project's Jinja: trusted workspaces only.
  const parser = new SqlParser();
  const attacher = new ReadOnlyAttacher();
  const columns = new ColumnLineageCache();
  const sqlContext = (i: WorkspaceIndex): SqlFeatureContext => ({ index: i, roots, parser, attacher, readSource: (file) => documents.get(pathToUri(file))?.getText() });
  let clientSettings: InitializationOptions = {};
  let supportsFolderEvents = false;
  connection.onInitialize((params: InitializeParams) => {
    clientSettings = (params.initializationOptions as InitializationOptions | undefined) ?? {};
    supportsFolderEvents = params.capabilities.workspace?.workspaceFolders === true;
    roots.push(...(params.workspaceFolders?.map((f) => uriToPath(f.uri)) ?? (params.rootUri ? [uriToPath(params.rootUri)] : [])).filter(Boolean));
    const capabilities: ServerCapabilities = {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    };
    for (const feature of FEATURES) Object.assign(capabilities, feature.capabilities);
    return { capabilities, serverInfo: { name: "tributary", version: "0.1.0" } };
  });

  /** Reads tributary.json (validated: a broken one means defaults and diagnostics) and indexes the workspace. */
  function openIndex(): void {
    const readOverride = (file: string) => documents.get(pathToUri(file))?.getText();
    const { config, diagnostics } = readTributaryConfig(roots, readOverride);
    index = new WorkspaceIndex({
      roots,
      include: config.include ?? (clientSettings.include?.length ? clientSettings.include : undefined),
      exclude: [...(config.exclude ?? []), ...(clientSettings.exclude ?? [])],
      readOverride,
      configDiagnostics: diagnostics,
    });
    try {
      index.load();
    } catch (error) {
      logError(`indexing failed: ${describeError(error)}`);
    }
  }

  connection.onInitialized(() => {
    const started = Date.now();
    openIndex();
    log(`Tributary indexed ${index!.graph.nodes.size} assets in ${Date.now() - started} ms`);
    graphChanged();
    // Multi-root: folders added or removed re-read the workspace (when the client says so).
    if (supportsFolderEvents) connection.workspace.onDidChangeWorkspaceFolders((event) => {
      for (const removed of event.removed) {
        const at = roots.indexOf(uriToPath(removed.uri));
        if (at >= 0) roots.splice(at, 1);
      }
      for (const added of event.added) roots.push(uriToPath(added.uri));
      guard("workspaceFolders", undefined, (i) => i.setRoots(roots));
      graphChanged();
    });
    watchHistory(connection, () => guard("history", false, () => statuses.poll()), stats);
    watchFiles(connection);
  });

  documents.onDidChangeContent((event) => {
    columns.invalidate();
    scheduleUpdate(uriToPath(event.document.uri), true);
  });
  // Status compares the code on disk with the last materialization: a save can make assets stale.
  documents.onDidSave(() => {
    statuses.invalidate();
    guard("save", undefined, () => {
      void connection.sendNotification(GraphChangedNotification, stats());
      void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
    });
  });
  // On close the disk version counts again.
  documents.onDidClose((event) => scheduleUpdate(uriToPath(event.document.uri), true));

  connection.onDidChangeWatchedFiles((params) => {
    for (const change of params.changes) {
      const file = uriToPath(change.uri);
      if (documents.get(change.uri) && change.type === FileChangeType.Changed) continue;
      scheduleUpdate(file, change.type !== FileChangeType.Deleted);
    }
  });

  const context: FeatureContext = {
    connection,
    documents,
    roots,
    statuses,
    status,
    columns,
    settings: () => clientSettings,
    sqlContext,
    stats,
    graphChanged,
    safe: <T>(name: string, token: CancellationToken | undefined, fallback: T, work: (index: WorkspaceIndex) => T | Promise<T>) =>
      runSafe(logError, name, token, fallback, () => (index ? work(index) : fallback)),
  };
  for (const feature of FEATURES) feature.register(context);

  documents.listen(connection);
  connection.listen();
}

/** Runs are written by other processes (CLI, the extension's runner): `poll` notices them, and the client refreshes. */
function watchHistory(connection: Connection, poll: () => boolean, stats: () => IndexStats): void {
  const timer = setInterval(() => {
    if (poll()) {
      void connection.sendNotification(GraphChangedNotification, stats());
      void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
    }
  }, HISTORY_POLL_MS);
  timer.unref();
}

/** Asks the client to report changes of the files the index reads, of dbt's manifest and of tributary.json. */
function watchFiles(connection: Connection): void {
  void connection.client
    .register(DidChangeWatchedFilesNotification.type, {
      watchers: [{ globPattern: "**/*.{sql,py,yml,yaml,csv,ts,mts,cts,tsx}" }, { globPattern: "**/target/manifest.json" }, { globPattern: `**/${CONFIG_FILE}` }],
    })
    .catch(() => undefined);
}

if (require.main === module) {
  startServer(createConnection(ProposedFeatures.all));
}
