/**
 * "Show Compiled SQL": a read-only virtual document beside the model (a TextDocumentContentProvider)
 * that follows the model's unsaved edits (debounced), with the rendering error shown as a
 * diagnostic at its Jinja position. "Preview Results": the model's rows (or the selection's, or
 * the CTE's under the cursor) in a webview table, cancellable.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { LSPErrorCodes, ResponseError } from "vscode-languageclient/node";
import { ColumnLineageRequest, CompileRequest, PreviewRequest, type PreviewResult } from "../../server/src/protocol/sql";
import type { TributaryClient } from "./client";
import { COMPILED_SCHEME } from "./commandTable";
import { previewHtml, toCsv, type PreviewOk } from "./previewTable";

export { COMPILED_SCHEME };
const REFRESH_DEBOUNCE_MS = 250;

export class CompiledSqlView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection("tributary-compile");
  /** Models whose column lineage is table-level only, and why (information, on line 1). */
  private readonly columnNotes = vscode.languages.createDiagnosticCollection("tributary-columns");
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Where the last rendering error of each model was shown (a macro file, possibly). */
  private readonly errorAt = new Map<string, vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly client: TributaryClient) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(COMPILED_SCHEME, this),
      vscode.workspace.onDidChangeTextDocument((e) => this.sourceChanged(e.document.uri)),
      vscode.workspace.onDidSaveTextDocument((d) => this.sourceChanged(d.uri)),
    );
  }

  /** The virtual document of a model file: same path, our scheme, the model's URI in the query. */
  static compiledUri(source: vscode.Uri): vscode.Uri {
    return vscode.Uri.from({ scheme: COMPILED_SCHEME, path: source.path.replace(/(\.sql)?$/i, ".compiled.sql"), query: source.toString() });
  }

  async show(source: vscode.Uri): Promise<void> {
    const document = await vscode.workspace.openTextDocument(CompiledSqlView.compiledUri(source));
    await vscode.languages.setTextDocumentLanguage(document, "sql");
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const source = vscode.Uri.parse(uri.query);
    const client = this.client.languageClient;
    if (!client) return "-- The Tributary language server is not running.\n";
    const result = await client.sendRequest(CompileRequest, { uri: source.toString() }, token);
    const previous = this.errorAt.get(source.toString());
    if (previous) this.diagnostics.delete(previous);
    this.errorAt.delete(source.toString());
    if (result.ok) {
      void this.noteColumnLevel(source, result.id);
      return `-- ${result.id} · compiled by Tributary's embedded engine (${result.materialized}${result.relation ? ` → ${result.relation}` : ""})\n${result.sql}\n`;
    }
    const at = result.file ? vscode.Uri.file(result.file) : source;
    if (result.span) {
      const { start, end } = result.span;
      const diagnostic = new vscode.Diagnostic(new vscode.Range(start.line, start.character, end.line, end.character), result.message, vscode.DiagnosticSeverity.Error);
      diagnostic.source = "tributary compile";
      this.diagnostics.set(at, [diagnostic]);
      this.errorAt.set(source.toString(), at);
    }
    return `-- ${result.id ?? source.path.split("/").pop()} does not compile:\n${result.message.split("\n").map((l) => `-- ${l}`).join("\n")}\n`;
  }

  /** After a successful compile: say so on the model when its column lineage stays table-level (never blocks the view). */
  private async noteColumnLevel(source: vscode.Uri, id: string): Promise<void> {
    const client = this.client.languageClient;
    if (!client) return;
    try {
      const entry = (await client.sendRequest(ColumnLineageRequest, { ids: [id] }))[id];
      if (entry?.level === "table") {
        const note = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `Column lineage of ${id} is table-level only: ${entry.reason ?? "unknown reason"}.`, vscode.DiagnosticSeverity.Information);
        note.source = "tributary";
        note.code = "column-lineage";
        this.columnNotes.set(source, [note]);
      } else this.columnNotes.delete(source);
    } catch {
      /* the server restarted or the request was cancelled: the next compile says it again */
    }
  }

  private sourceChanged(source: vscode.Uri): void {
    const compiled = CompiledSqlView.compiledUri(source);
    if (!vscode.workspace.textDocuments.some((d) => d.uri.toString() === compiled.toString())) return;
    const key = compiled.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.changed.fire(compiled);
    }, REFRESH_DEBOUNCE_MS));
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.diagnostics.dispose();
    this.columnNotes.dispose();
    this.changed.dispose();
  }
}

export class PreviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private last: PreviewOk | undefined;

  constructor(private readonly client: TributaryClient) {}

  /**
   * Previews the editor's model: the selected text if any (select in the compiled SQL view to run
   * rendered SQL), else the CTE under the cursor, else the whole model.
   */
  async preview(editor: vscode.TextEditor): Promise<void> {
    const client = this.client.languageClient;
    if (!client) return;
    const compiledView = editor.document.uri.scheme === COMPILED_SCHEME;
    const model = compiledView ? vscode.Uri.parse(editor.document.uri.query) : editor.document.uri;
    const selection = editor.selection;
    const selected = selection.isEmpty ? undefined : editor.document.getText(selection);
    const position = selected || compiledView ? undefined : { line: selection.active.line, character: selection.active.character };
    const params = { uri: model.toString(), sql: selected, position, limit: 100 };
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Tributary: previewing results…", cancellable: true },
      (_progress, token): Promise<PreviewResult> =>
        Promise.resolve(client.sendRequest(PreviewRequest, params, token)).catch((e: unknown) => ({
          ok: false as const,
          // Cancelled before the server began (RequestCancelled) says the same as cancelled while running.
          message: token.isCancellationRequested || (e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled) ? "cancelled" : e instanceof Error ? e.message : String(e),
        })),
    );
    if (!result.ok) {
      if (result.message !== "cancelled") void vscode.window.showErrorMessage(`Tributary: preview failed: ${result.message}`);
      return;
    }
    this.last = result;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel("tributary.preview", "Preview", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
      this.panel.onDidDispose(() => (this.panel = undefined));
      this.panel.webview.onDidReceiveMessage((message: { type?: string; order?: unknown }) => {
        if (message?.type !== "copyCsv" || !this.last || !Array.isArray(message.order)) return;
        const rows = this.last.rows;
        const ordered = message.order.filter((i): i is number => Number.isInteger(i) && i >= 0 && i < rows.length).map((i) => rows[i]);
        void vscode.env.clipboard.writeText(toCsv(this.last.columns.map((c) => c.name), ordered)).then(() => vscode.window.setStatusBarMessage(`Tributary: ${ordered.length} rows copied as CSV`, 3000));
      });
    }
    this.panel.title = `Preview: ${result.title}`;
    this.panel.webview.html = previewHtml(result, randomBytes(16).toString("base64"), this.panel.webview.cspSource);
    this.panel.reveal(vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
