/**
 * What the lineage panel is sent, and when: answers the panel's typed messages with the language
 * server's graph, plans and statuses. No VS Code API here (lineagePanel.ts owns the webview and the
 * editor events), so it is tested against the real server over stdio.
 *
 * Nothing waits silently: every request to the server has a time limit; every request of the
 * panel is answered, by its id, with a result or an error (also while the server is down); a
 * failure nobody asked about (a refresh after an edit) is sent as `hostError`; failures are logged
 * with their reason.
 */
import { CancellationTokenSource, type CancellationToken, type RequestType, type RequestType0 } from "vscode-languageserver-protocol";
import { AssetsAtRequest, GraphRequest, NeighbourhoodRequest, PlanRequest, SelectRequest, StatusesRequest } from "../../server/src/protocol/requests";
import { ColumnLineageRequest } from "../../server/src/protocol/sql";
import type { GraphData } from "../../server/src/protocol/types";
import type { RunProgressState, StatusMap } from "../../server/src/protocol/status";
import type { Plan } from "../../server/src/protocol/plan";
import { isPanelRequest, type HostMessage, type MaterializeMode, type PanelMessage, type PanelNotification, type PanelRequest, type PanelResults, type ResponseMessage } from "../../server/src/protocol/webview";

/** The two request shapes the feed sends (both LanguageClient and a JSON-RPC connection have them). */
export interface RequestSender {
  sendRequest<R, E>(type: RequestType0<R, E>, token?: CancellationToken): Promise<R>;
  sendRequest<P, R, E>(type: RequestType<P, R, E>, params: P, token?: CancellationToken): Promise<R>;
}

/** Where the language server is: starting (or restarting), running its first index, ready, or stopped for good. */
export type ServerPhase = "starting" | "indexing" | "ready" | "stopped";

export interface FeedServer {
  /** The language server when it is running; undefined while it starts or after it stopped. */
  connection(): RequestSender | undefined;
  phase(): ServerPhase;
}

export interface FeedHost {
  /** Posts to the panel (only called while the panel is ready). */
  post(message: HostMessage): void;
  log: { info(message: string): void; error(message: string): void };
  /** The URI of the file in the active editor (the panel follows it), if any. */
  activeUri(): string | undefined;
  materialize(ids: string[], mode: MaterializeMode): void;
  openAsset(id: string): void;
}

export interface FeedOptions {
  /** Longest wait for one request (the first one waits for the first index). */
  requestTimeoutMs?: number;
  /** Longest wait for the server to start and read the workspace before the panel says it did not. */
  serverWaitMs?: number;
}

export class RequestTimeout extends Error {}

/** A failure with what could not be done in front of its reason (`cannot get the lineage graph: ...`). */
class Failure extends Error {
  constructor(what: string, reason: unknown) {
    super(`${what}: ${messageOf(reason)}`);
  }
}

/** `promise`, or a RequestTimeout after `ms` (and `onTimeout` called, e.g. to cancel the request). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new RequestTimeout(`${what} did not answer in ${Math.round(ms / 1000)} s`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const WAITING: Record<"starting" | "indexing", string> = {
  starting: "Waiting for the Tributary language server to start\u2026",
  indexing: "Reading the workspace\u2026",
};

export class LineageFeed {
  private ready = false;
  private pinned: string | undefined;
  private centre: string[] = [];
  private depth = { upstream: 2, downstream: 2 };
  /** Bumped by every refresh: an older refresh that answers late posts nothing. */
  private sequence = 0;
  private serverTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped when the panel is recreated: answers to the old page's requests are not sent to the new one. */
  private page = 0;
  private readonly requestTimeoutMs: number;
  private readonly serverWaitMs: number;

  constructor(
    private readonly server: FeedServer,
    private readonly host: FeedHost,
    options: FeedOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 8_000;
    this.serverWaitMs = options.serverWaitMs ?? 60_000;
  }

  /** The panel was (re)created: nothing is posted until it says `ready`. */
  reset(): void {
    this.ready = false;
    this.page++;
    clearTimeout(this.serverTimer);
  }

  setDepth(upstream: number, downstream: number): void {
    this.depth = { upstream, downstream };
  }

  setCentre(ids: string[]): void {
    this.centre = ids;
  }

  get isPinned(): boolean {
    return this.pinned !== undefined;
  }

  private post(message: HostMessage): void {
    if (this.ready) this.host.post(message);
  }

  /** A request with a time limit (cancelled when it runs out); fails when the server is not running. */
  private async request<P, R>(type: RequestType<P, R, void>, params: P): Promise<R> {
    const connection = this.server.connection();
    if (!connection) throw new Error("the Tributary language server is not running");
    const cancel = new CancellationTokenSource();
    try {
      return await withTimeout(connection.sendRequest(type, params, cancel.token), this.requestTimeoutMs, type.method, () => cancel.cancel());
    } finally {
      cancel.dispose();
    }
  }

  private async requestGraph(): Promise<GraphData> {
    const connection = this.server.connection();
    if (!connection) throw new Error("the Tributary language server is not running");
    const cancel = new CancellationTokenSource();
    try {
      return await withTimeout(connection.sendRequest(GraphRequest, cancel.token), this.requestTimeoutMs, GraphRequest.method, () => cancel.cancel());
    } finally {
      cancel.dispose();
    }
  }

  /** Centres on the assets defined in the file `uri` (the active editor), then refreshes. */
  async follow(uri: string, refresh = true): Promise<void> {
    if (!this.server.connection()) return;
    try {
      const result = await this.request(AssetsAtRequest, { uri });
      if (result.inFile.length === 0) return;
      this.centre = result.inFile;
    } catch (err) {
      this.host.log.error(`lineage panel: cannot find the assets of ${uri}: ${messageOf(err)}`);
      return;
    }
    if (refresh) await this.refresh();
  }

  /**
   * Sends the current neighbourhood (the extension calls this when the editor or the workspace
   * changed). Always answers a ready panel: the graph, `waiting` while the server starts (a timer
   * turns that into an error if it never does), or `hostError`.
   */
  async refresh(): Promise<void> {
    try {
      await this.show();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Posts the current neighbourhood, or `waiting` while the server starts; throws (a Failure) when
   * it cannot. A show overtaken by a newer one posts nothing and does not throw.
   */
  private async show(): Promise<void> {
    if (!this.ready) return;
    const sequence = ++this.sequence;
    const current = (): boolean => sequence === this.sequence && this.ready;
    // Until the first index is read, requests would only queue behind it: say so, and wait for
    // the server's graphChanged (the extension calls refresh then).
    if (this.server.phase() !== "ready" || !this.server.connection()) {
      this.waitForServer();
      return;
    }
    clearTimeout(this.serverTimer);
    this.serverTimer = undefined;
    try {
      // Opened before the server was up (or on no asset yet): centre on the active editor now.
      const active = this.host.activeUri();
      if (!this.pinned && this.centre.length === 0 && active) {
        const at = await this.request(AssetsAtRequest, { uri: active });
        if (this.centre.length === 0) this.centre = at.inFile;
      }
      const centre = this.pinned ? [this.pinned] : this.centre;
      const data = await this.request(NeighbourhoodRequest, { ids: centre, ...this.depth });
      const statuses = await this.statuses(data.nodes.map((n) => n.id));
      if (!current()) return;
      this.post({ method: "graph", data: { nodes: data.nodes, edges: data.edges }, centre: data.centre, truncated: data.truncated, statuses, pinned: this.pinned, ...this.depth });
    } catch (err) {
      if (current()) throw new Failure("cannot get the lineage graph", err);
    }
  }

  private waitForServer(): void {
    const phase = this.server.phase();
    if (phase === "stopped") throw new Failure("cannot show the lineage graph", "the Tributary language server is not running (see the Tributary output)");
    this.post({ method: "waiting", message: WAITING[phase === "indexing" ? "indexing" : "starting"] });
    if (this.serverTimer) return;
    this.serverTimer = setTimeout(() => {
      this.serverTimer = undefined;
      if (this.server.phase() === "ready" || !this.ready) return;
      this.fail(new Failure("cannot show the lineage graph", `the Tributary language server did not ${this.server.phase() === "indexing" ? "finish reading the workspace" : "start"} in ${Math.round(this.serverWaitMs / 1000)} s (see the Tributary output)`));
    }, this.serverWaitMs);
  }

  /** Logs a failure nobody asked about with its reason and shows it in the panel (with Retry). */
  private fail(err: unknown): void {
    const message = messageOf(err);
    this.host.log.error(`lineage panel: ${message}`);
    this.post({ method: "hostError", message });
  }

  private async statuses(ids: string[]): Promise<StatusMap> {
    return this.request(StatusesRequest, { ids });
  }

  /** Live progress of a run: the panel recolours the asset. */
  runProgress(assetId: string, state: RunProgressState): void {
    this.post({ method: "runProgress", assetId, state });
  }

  /** The plan of these assets, or of a selection. */
  private async plan(target: string[] | string): Promise<Plan> {
    const result = await this.request(PlanRequest, typeof target === "string" ? { selection: target } : { ids: target });
    if ("error" in result) throw new Error(result.error.message);
    return result.plan;
  }

  /** Shows the plan of a run starting now (its own selection, or its assets). */
  async showPlan(target: string[] | string, running: boolean): Promise<void> {
    if (!this.server.connection()) return;
    try {
      this.post({ method: "plan", plan: await this.plan(target), running });
    } catch (err) {
      this.host.log.error(`lineage panel: cannot plan ${typeof target === "string" ? target : target.join(", ")}: ${messageOf(err)}`);
    }
  }

  /** A message from the panel: a request is answered by its id (with the result or the error), a notification acted on. */
  async onMessage(message: PanelMessage): Promise<void> {
    if (!isPanelRequest(message)) {
      this.notice(message);
      return;
    }
    const page = this.page;
    let response: ResponseMessage;
    try {
      response = { method: "response", requestId: message.requestId, result: await this.answer(message) };
    } catch (err) {
      const text = err instanceof Failure ? err.message : `cannot answer the panel's ${message.method}: ${messageOf(err)}`;
      this.host.log.error(`lineage panel: ${text}`);
      response = { method: "response", requestId: message.requestId, error: { message: text } };
    }
    if (page === this.page && this.ready) this.host.post(response);
  }

  private notice(message: PanelNotification): void {
    switch (message.method) {
      case "panelError":
        this.host.log.error(`lineage panel: ${message.phase} failed: ${message.message}`);
        return;
      case "openAsset":
        this.host.openAsset(message.id);
        return;
      case "materialize":
        this.host.materialize(message.ids, message.mode);
        return;
      case "rendered":
        return;
    }
  }

  private async answer<M extends PanelRequest>(message: M): Promise<PanelResults[M["method"]]>;
  private async answer(message: PanelRequest): Promise<PanelResults[PanelRequest["method"]]> {
    switch (message.method) {
      case "ready":
        this.ready = true;
        await this.show();
        return null;
      case "retry":
        this.ready = true;
        this.host.log.info("lineage panel: retry");
        await this.show();
        return null;
      case "showInLineage":
        this.centre = [message.id];
        await this.show();
        return null;
      case "requestNeighbourhood":
        this.centre = message.ids;
        this.depth = { upstream: message.upstream, downstream: message.downstream };
        await this.show();
        return null;
      case "setPin":
        this.pinned = message.id ?? undefined;
        await this.show();
        return null;
      case "requestFullGraph": {
        const sequence = ++this.sequence;
        const data = await this.requestGraph();
        const statuses = await this.statuses(data.nodes.map((n) => n.id));
        if (sequence === this.sequence) this.post({ method: "graph", data, centre: [], truncated: [], statuses, full: true });
        return null;
      }
      case "expand": {
        const data = await this.request(NeighbourhoodRequest, { ids: [message.id], upstream: 1, downstream: 1 });
        const statuses = await this.statuses(data.nodes.map((n) => n.id));
        return { data: { nodes: data.nodes, edges: data.edges }, truncated: data.truncated, statuses };
      }
      case "search": {
        const result = await this.request(SelectRequest, { selection: message.selection });
        return "error" in result ? { error: result.error } : { ids: result.ids };
      }
      case "requestPlan":
        return this.plan(message.ids);
      case "requestColumns":
        return this.request(ColumnLineageRequest, { ids: message.ids });
    }
  }

  dispose(): void {
    this.reset();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
