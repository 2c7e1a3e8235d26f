/**
 * The language server entry: wires an LSP connection to the workspace index and the features.
 * Logic lives in index/ and features/; this file only connects them.
 */
import {
  CodeLensRefreshRequest,
  createConnection,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type Diagnostic,
  type InitializeParams,
  type ServerCapabilities,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { readTributaryConfig, WorkspaceIndex } from "./index/workspace";
import { GraphChangedNotification, type IndexStats, type InitializationOptions } from "./protocol/requests";
import type { IndexDiagnostic } from "./protocol/types";
import type { StatusProvider } from "./features/hover";
import { pathToUri, uriToPath } from "./features/lookup";
import { jobDiagnostics } from "./jobs/jobs";
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
  const published = new Set<string>();
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

  function publishDiagnostics(): void {
    if (!index) return;
    const all = index.diagnostics();
    // Jobs are validated against the whole graph (selection, schedule, duplicate names).
    for (const d of jobDiagnostics(index, { roots, readText: (file) => documents.get(pathToUri(file))?.getText() })) {
      all.set(d.file, [...(all.get(d.file) ?? []), d]);
    }
    for (const file of published) {
      if (!all.has(file)) void connection.sendDiagnostics({ uri: pathToUri(file), diagnostics: [] });
    }
    published.clear();
    for (const [file, list] of all) {
      published.add(file);
      void connection.sendDiagnostics({ uri: pathToUri(file), diagnostics: list.map(toLspDiagnostic) });
    }
  }

  function graphChanged(): void {
    statuses.invalidate();
    columns.invalidate();
    guard("publish", undefined, () => publishDiagnostics());
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
    // Runs are written by other processes (CLI, the extension's runner): notice them and refresh.
    const historyTimer = setInterval(() => {
      if (guard("history", false, () => statuses.poll())) {
        void connection.sendNotification(GraphChangedNotification, stats());
        void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
      }
    }, HISTORY_POLL_MS);
    historyTimer.unref();
    void connection.client
      .register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: "**/*.{sql,py,yml,yaml,csv,ts,mts,cts,tsx}" }, { globPattern: "**/target/manifest.json" }, { globPattern: `**/${CONFIG_FILE}` }],
      })
      .catch(() => undefined);
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

function toLspDiagnostic(d: IndexDiagnostic): Diagnostic {
  const severity = d.severity === "error" ? DiagnosticSeverity.Error : d.severity === "warning" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
  return { range: d.span, severity, message: d.message, source: "tributary", code: d.code };
}

if (require.main === module) {
  startServer(createConnection(ProposedFeatures.all));
}
