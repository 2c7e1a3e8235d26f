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
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { readTributaryConfig, WorkspaceIndex } from "./index/workspace";
import {
  AssetsAtRequest,
  DiagnosticsRequest,
  JobsRequest,
  GraphChangedNotification,
  GraphRequest,
  NeighbourhoodRequest,
  PlanRequest,
  RefreshRequest,
  RunsRequest,
  SelectRequest,
  StatusesRequest,
  ChecksRequest,
  type AssetsAtResult,
  type PlanResult,
  type IndexStats,
  type InitializationOptions,
} from "./protocol/requests";
import type { IndexDiagnostic } from "./protocol/types";
import { complete } from "./features/completion";
import { hover, type StatusProvider } from "./features/hover";
import { codeLenses } from "./features/lenses";
import { assetAt, pathToUri, uriToPath } from "./features/lookup";
import { neighbourhood } from "./features/neighbourhood";
import { definition, references } from "./features/navigation";
import { checksOf, plan, runs, select, statusMap } from "./features/runs";
import { jobDiagnostics } from "./jobs/jobs";
import { listJobs } from "./jobs/list";
import * as path from "node:path";
import { StatusService } from "./features/status";
import { documentSymbols, workspaceSymbols } from "./features/symbols";
import { ColumnLineageCache, RESTRICTED, columnHover, compileFile, preview, type SqlFeatureContext } from "./features/sql";
import { SqlParser } from "./columns/parser";
import { ReadOnlyAttacher } from "./run/readOnlyAttach";
import { ColumnLineageRequest, CompileRequest, PreviewRequest, type CompileResult, type PreviewResult } from "./protocol/sql";

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

  /** Runs a handler; an exception is logged and answered with the fallback, never a crash. */
  function safe<T>(name: string, token: CancellationToken | undefined, fallback: T, run: (index: WorkspaceIndex) => T): T {
    if (!index || token?.isCancellationRequested) return fallback;
    try {
      return run(index);
    } catch (error) {
      connection.console.error(`${name} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
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
    safe("publish", undefined, undefined, () => publishDiagnostics());
    // Sent even when publishing failed: the client waits for it (the lineage panel after the first index).
    safe("graphChanged", undefined, undefined, () => void connection.sendNotification(GraphChangedNotification, stats()));
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
        const changed = safe("update", undefined, false, (i) => i.update(file, exists));
        if (changed) graphChanged();
      }, EDIT_DEBOUNCE_MS),
    );
  }

  // Compiled SQL, column lineage and preview render the project's Jinja: trusted workspaces only.
  const parser = new SqlParser();
  const attacher = new ReadOnlyAttacher();
  const columns = new ColumnLineageCache();
  const sqlContext = (i: WorkspaceIndex): SqlFeatureContext => ({ index: i, roots, parser, attacher, readSource: (file) => documents.get(pathToUri(file))?.getText() });
  /** Like `safe`, for the asynchronous SQL features. */
  async function safeAsync<T>(name: string, fallback: T, run: (index: WorkspaceIndex) => Promise<T>): Promise<T> {
    if (!index) return fallback;
    try {
      return await run(index);
    } catch (error) {
      connection.console.error(`${name} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      return fallback;
    }
  }

  let clientSettings: InitializationOptions = {};
  let supportsFolderEvents = false;
  connection.onInitialize((params: InitializeParams) => {
    clientSettings = (params.initializationOptions as InitializationOptions | undefined) ?? {};
    supportsFolderEvents = params.capabilities.workspace?.workspaceFolders === true;
    roots.push(...(params.workspaceFolders?.map((f) => uriToPath(f.uri)) ?? (params.rootUri ? [uriToPath(params.rootUri)] : [])).filter(Boolean));
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        completionProvider: { triggerCharacters: ["'", '"', "/", ","] },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: "tributary", version: "0.1.0" },
    };
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
      connection.console.error(`indexing failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
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
      safe("workspaceFolders", undefined, undefined, (i) => i.setRoots(roots));
      graphChanged();
    });
    // Runs are written by other processes (CLI, the extension's runner): notice them and refresh.
    const historyTimer = setInterval(() => {
      if (safe("history", undefined, false, () => statuses.poll())) {
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
    safe("save", undefined, undefined, () => {
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

  connection.onHover(async (params, token) => {
    const base = safe("hover", token, null, (i) => hover(i, roots, uriToPath(params.textDocument.uri), params.position, status, statuses.checks));
    if ((base && base.range) || !clientSettings.trusted || token.isCancellationRequested) return base;
    const document = documents.get(params.textDocument.uri);
    if (!document || !/\.sql$/i.test(params.textDocument.uri)) return base;
    const column = await safeAsync("columnHover", null, (i) => columnHover(sqlContext(i), columns, uriToPath(params.textDocument.uri), document.getText(), params.position));
    return column ?? base;
  });
  connection.onDefinition((params, token) => safe("definition", token, [], (i) => definition(i, uriToPath(params.textDocument.uri), params.position)));
  connection.onReferences((params, token) => safe("references", token, [], (i) => references(i, uriToPath(params.textDocument.uri), params.position, params.context.includeDeclaration)));
  connection.onCompletion((params, token) =>
    safe("completion", token, [], (i) => {
      const document = documents.get(params.textDocument.uri);
      if (!document) return [];
      const prefix = document.getText({ start: { line: params.position.line, character: 0 }, end: params.position });
      return complete(i, uriToPath(params.textDocument.uri), params.position, prefix);
    }),
  );
  connection.onCodeLens((params, token) => safe("codeLens", token, [], (i) => codeLenses(i, uriToPath(params.textDocument.uri), status, statuses.checks)));
  connection.onRequest(ChecksRequest, (params, token) => safe("checks", token, { checks: [] }, (i) => checksOf(i, statuses, params)));
  connection.onDocumentSymbol((params, token) => safe("documentSymbol", token, [], (i) => documentSymbols(i, uriToPath(params.textDocument.uri))));
  connection.onWorkspaceSymbol((params, token) => safe("workspaceSymbol", token, [], (i) => workspaceSymbols(i, params.query)));

  connection.onRequest(GraphRequest, (token) => safe("graph", token, { nodes: [], edges: [] }, (i) => i.graph.toData()));
  connection.onRequest(NeighbourhoodRequest, (params, token) => safe("neighbourhood", token, { nodes: [], edges: [], centre: [], truncated: [] }, (i) => neighbourhood(i, params)));
  connection.onRequest(AssetsAtRequest, (params, token) =>
    safe<AssetsAtResult>("assetsAt", token, { inFile: [] }, (i) => {
      const file = uriToPath(params.uri);
      return { atCursor: params.position ? assetAt(i, file, params.position) : undefined, inFile: i.assetsIn(file) };
    }),
  );
  connection.onRequest(DiagnosticsRequest, (token) => safe("diagnostics", token, [], (i) => [...i.diagnostics().values()].flat()));
  connection.onRequest(RefreshRequest, (token) =>
    safe("refresh", token, { assets: 0, edges: 0, files: 0, diagnostics: 0 }, (i) => {
      i.load();
      graphChanged();
      return stats();
    }),
  );

  connection.onRequest(SelectRequest, (params, token) => safe("select", token, { ids: [], steps: 0, dbtSteps: 0 }, (i) => select(i, statuses, roots, params.selection)));
  connection.onRequest(PlanRequest, (params, token) => safe<PlanResult>("plan", token, { error: { column: 1, message: "the server failed to plan" } }, (i) => plan(i, statuses, roots, params)));
  connection.onRequest(StatusesRequest, (params, token) => safe("statuses", token, {}, (i) => statusMap(i, statuses, params.ids)));
  connection.onRequest(RunsRequest, (params, token) => safe("runs", token, { runs: [] }, () => runs(statuses, params.limit)));

  connection.onRequest(CompileRequest, (params) =>
    clientSettings.trusted
      ? safeAsync<CompileResult>("compile", { ok: false, message: "the server failed to compile (see the Tributary output)" }, (i) => compileFile(sqlContext(i), uriToPath(params.uri)))
      : { ok: false, message: RESTRICTED },
  );
  connection.onRequest(ColumnLineageRequest, (params) => (clientSettings.trusted ? safeAsync("columnLineage", {}, (i) => columns.get(sqlContext(i), params.ids)) : {}));
  connection.onRequest(PreviewRequest, (params, token) =>
    clientSettings.trusted
      ? safeAsync<PreviewResult>("preview", { ok: false, message: "the server failed to run the preview (see the Tributary output)" }, (i) => preview(sqlContext(i), { ...params, file: uriToPath(params.uri) }, token))
      : { ok: false, message: RESTRICTED },
  );

  connection.onRequest(JobsRequest, (token) =>
    safe("jobs", token, { jobs: [] }, (i) => ({
      jobs: roots.flatMap((root) =>
        listJobs(i, root)
          .filter((job) => job.name)
          .map((job) => ({
            name: job.name!,
            file: path.resolve(root, job.file),
            line: job.line,
            selection: job.selection,
            schedule: job.schedule,
            timezone: job.timezone,
            assets: job.assets.length,
            steps: job.steps,
            nextRun: job.nextRunLocal ?? job.nextRun,
            lastRunStatus: job.lastRun?.status,
            lastRunAt: job.lastRun?.startedAt,
            errors: job.errors,
          })),
      ),
    })),
  );

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
