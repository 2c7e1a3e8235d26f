/**
 * The lineage panel's host: a webview beside the editor that follows the active SQL / TS / YAML
 * editor (unless pinned), answers the panel's typed messages with the language server's graph,
 * plans and statuses, and forwards run progress. The panel sends `ready` before it gets data.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { AssetsAtRequest, GraphRequest, NeighbourhoodRequest, PlanRequest, SelectRequest, StatusesRequest } from "../../server/src/protocol/requests";
import type { GraphData } from "../../server/src/protocol/types";
import { ColumnLineageRequest } from "../../server/src/protocol/sql";
import { isPanelMessage, type HostMessage, type MaterializeMode, type PanelMessage, type StatusMap } from "../../server/src/protocol/webview";
import { panelHtml } from "./panelHtml";
import type { TributaryClient } from "./client";

export interface PanelActions {
  materialize(ids: string[], mode: MaterializeMode): void;
  openAsset(id: string): void;
}

const FOLLOWED_LANGUAGES = new Set(["sql", "jinja-sql", "typescript", "yaml", "python"]);

export class LineagePanel implements vscode.Disposable {
  static readonly viewType = "tributary.lineage";
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private pinned: string | undefined;
  private centre: string[] = [];
  private depth = { upstream: 2, downstream: 2 };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: TributaryClient,
    private readonly actions: PanelActions,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && !this.pinned) void this.follow(editor.document.uri);
      }),
      client.onGraphChanged(() => void this.refresh()),
    );
  }

  get visible(): boolean {
    return this.panel !== undefined;
  }

  /** Opens (or reveals) the panel beside the editor, centred on `ids` or the active editor's assets. */
  async show(ids?: string[]): Promise<void> {
    const config = vscode.workspace.getConfiguration("tributary");
    this.depth = { upstream: config.get<number>("lineageDepth.upstream", 2), downstream: config.get<number>("lineageDepth.downstream", 2) };
    if (!this.panel) this.create();
    else this.panel.reveal(vscode.ViewColumn.Beside, true);
    if (ids?.length) this.centre = ids;
    else if (vscode.window.activeTextEditor) await this.follow(vscode.window.activeTextEditor.document.uri, false);
    await this.refresh();
  }

  private create(): void {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, "dist");
    this.panel = vscode.window.createWebviewPanel(LineagePanel.viewType, "Lineage", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [dist],
    });
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
      if (isPanelMessage(message)) void this.onMessage(message);
    }, undefined, this.disposables);
    this.panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    }, undefined, this.disposables);
  }

  private post(message: HostMessage): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  private async follow(uri: vscode.Uri, refresh = true): Promise<void> {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (document && !FOLLOWED_LANGUAGES.has(document.languageId)) return;
    const client = this.client.languageClient;
    if (!client) return;
    const result = await client.sendRequest(AssetsAtRequest, { uri: uri.toString() });
    if (result.inFile.length === 0) return;
    this.centre = result.inFile;
    if (refresh) await this.refresh();
  }

  /** Sends the current neighbourhood (or nothing when the panel is closed or not ready). */
  async refresh(): Promise<void> {
    const client = this.client.languageClient;
    if (!this.panel || !this.ready || !client) return;
    const centre = this.pinned ? [this.pinned] : this.centre;
    const data = await client.sendRequest(NeighbourhoodRequest, { ids: centre, ...this.depth });
    const statuses = await this.statuses(data.nodes.map((n) => n.id));
    this.post({ method: "graph", data: { nodes: data.nodes, edges: data.edges }, centre: data.centre, truncated: data.truncated, statuses, pinned: this.pinned, ...this.depth });
  }

  private async statuses(ids: string[]): Promise<StatusMap> {
    const client = this.client.languageClient;
    return client ? client.sendRequest(StatusesRequest, { ids }) : {};
  }

  /** Live progress of a run: the panel recolours the asset. */
  runProgress(assetId: string, state: "running" | "fresh" | "failed" | "stale"): void {
    this.post({ method: "runProgress", assetId, state });
  }

  /** Shows the plan of these assets, or of a selection (a run's own selection when `running`). */
  async showPlan(target: string[] | string, running: boolean): Promise<void> {
    const client = this.client.languageClient;
    if (!client || !this.panel) return;
    const result = await client.sendRequest(PlanRequest, typeof target === "string" ? { selection: target } : { ids: target });
    if ("plan" in result) this.post({ method: "plan", plan: result.plan, running });
  }

  private async onMessage(message: PanelMessage): Promise<void> {
    const client = this.client.languageClient;
    switch (message.method) {
      case "ready":
        this.ready = true;
        await this.refresh();
        return;
      case "openAsset":
        this.actions.openAsset(message.id);
        return;
      case "materialize":
        this.actions.materialize(message.ids, message.mode);
        return;
      case "showInLineage":
        this.centre = [message.id];
        await this.refresh();
        return;
      case "requestNeighbourhood":
        this.centre = message.ids;
        this.depth = { upstream: message.upstream, downstream: message.downstream };
        await this.refresh();
        return;
      case "expand": {
        if (!client) return;
        const data = await client.sendRequest(NeighbourhoodRequest, { ids: [message.id], upstream: 1, downstream: 1 });
        this.post({ method: "expanded", id: message.id, data: { nodes: data.nodes, edges: data.edges }, truncated: data.truncated, statuses: await this.statuses(data.nodes.map((n) => n.id)) });
        return;
      }
      case "search": {
        if (!client) return;
        const result = await client.sendRequest(SelectRequest, { selection: message.selection });
        this.post("error" in result ? { method: "searchResult", selection: message.selection, error: result.error } : { method: "searchResult", selection: message.selection, ids: result.ids });
        return;
      }
      case "requestPlan":
        await this.showPlan(message.ids, false);
        return;
      case "setPin":
        this.pinned = message.id ?? undefined;
        await this.refresh();
        return;
      case "requestFullGraph": {
        if (!client) return;
        const data: GraphData = await client.sendRequest(GraphRequest);
        this.post({ method: "graph", data, centre: [], truncated: [], statuses: await this.statuses(data.nodes.map((n) => n.id)), full: true });
        return;
      }
      case "rendered":
        return;
      case "requestColumns": {
        if (!client) return;
        this.post({ method: "columns", lineage: await client.sendRequest(ColumnLineageRequest, { ids: message.ids }) });
        return;
      }
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
