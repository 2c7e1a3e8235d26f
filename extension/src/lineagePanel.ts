/**
 * The lineage panel's host: a webview beside the editor that follows the active SQL / TS / YAML
 * editor (unless pinned). What the panel is sent (graph, plans, statuses, run progress, errors)
 * is lineageFeed.ts's job; the panel sends `ready` before it gets anything.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import type { RunProgressState } from "../../server/src/protocol/status";
import { isPanelMessage, type MaterializeMode } from "../../server/src/protocol/webview";
import { panelHtml } from "./panelHtml";
import type { TributaryClient } from "./client";
import { LineageFeed } from "./lineageFeed";
import { readSettings } from "./settings";

export interface PanelActions {
  materialize(ids: string[], mode: MaterializeMode): void;
  openAsset(id: string): void;
}

const FOLLOWED_LANGUAGES = new Set(["sql", "jinja-sql", "typescript", "yaml", "python"]);

export class LineagePanel implements vscode.Disposable {
  static readonly viewType = "tributary.lineage";
  private panel: vscode.WebviewPanel | undefined;
  /** Opened with no editor: the first file opened over it moves it beside that file. */
  private moveBesideFirstEditor = false;
  private readonly feed: LineageFeed;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    client: TributaryClient,
    actions: PanelActions,
    output: vscode.LogOutputChannel,
  ) {
    this.feed = new LineageFeed(
      { connection: () => client.languageClient, phase: () => client.phase },
      {
        post: (message) => void this.panel?.webview.postMessage(message),
        log: output,
        activeUri: () => {
          const document = vscode.window.activeTextEditor?.document;
          return document && FOLLOWED_LANGUAGES.has(document.languageId) ? document.uri.toString() : undefined;
        },
        materialize: (ids, mode) => actions.materialize(ids, mode),
        openAsset: (id) => actions.openAsset(id),
      },
    );
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (!editor) return;
        if (this.panel && this.moveBesideFirstEditor && FOLLOWED_LANGUAGES.has(editor.document.languageId)) {
          this.moveBesideFirstEditor = false;
          if (editor.viewColumn === this.panel.viewColumn) this.panel.reveal(vscode.ViewColumn.Beside, true);
        }
        if (!this.feed.isPinned) void this.follow(editor.document.uri);
      }),
      client.onGraphChanged(() => void this.refresh()),
    );
  }

  get visible(): boolean {
    return this.panel !== undefined;
  }

  /** Opens (or reveals) the panel beside the editor, centred on `ids` or the active editor's assets. */
  async show(ids?: string[]): Promise<void> {
    const { lineageDepth } = readSettings(vscode.workspace.getConfiguration("tributary"));
    this.feed.setDepth(lineageDepth.upstream, lineageDepth.downstream);
    if (!this.panel) this.create();
    else this.panel.reveal(vscode.ViewColumn.Beside, true);
    if (ids?.length) this.feed.setCentre(ids);
    else if (vscode.window.activeTextEditor) await this.follow(vscode.window.activeTextEditor.document.uri, false);
    await this.refresh();
  }

  private create(): void {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, "dist");
    // Beside the editor; with none open yet, where the editors go (the first file then moves it beside).
    this.moveBesideFirstEditor = !vscode.window.activeTextEditor;
    this.panel = vscode.window.createWebviewPanel(LineagePanel.viewType, "Lineage", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [dist],
    });
    this.feed.reset();
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString("base64");
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "panel.css")).toString(),
      workerUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "layout-worker.js")).toString(),
    });
    webview.onDidReceiveMessage((message: unknown) => {
      if (isPanelMessage(message)) void this.feed.onMessage(message);
    }, undefined, this.disposables);
    this.panel.onDidDispose(() => {
      this.panel = undefined;
      this.feed.reset();
    }, undefined, this.disposables);
  }

  private async follow(uri: vscode.Uri, refresh = true): Promise<void> {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (document && !FOLLOWED_LANGUAGES.has(document.languageId)) return;
    if (this.panel) await this.feed.follow(uri.toString(), refresh);
  }

  /** Sends the current neighbourhood (or nothing when the panel is closed or not ready). */
  async refresh(): Promise<void> {
    if (this.panel) await this.feed.refresh();
  }

  /** Live progress of a run: the panel recolours the asset. */
  runProgress(assetId: string, state: RunProgressState): void {
    this.feed.runProgress(assetId, state);
  }

  /** Shows the plan of these assets, or of a selection (a run's own selection when `running`). */
  async showPlan(target: string[] | string, running: boolean): Promise<void> {
    if (this.panel) await this.feed.showPlan(target, running);
  }

  dispose(): void {
    this.feed.dispose();
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
