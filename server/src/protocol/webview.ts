/**
 * Every message between the lineage panel (webview, `webview/src/`) and the extension, typed by
 * `method`. Types only, plus two tiny guards; imported by the extension's panel host and by the
 * webview bundle.
 *
 * Requests and answers: a panel message that asks for something (`PanelRequest`) carries a
 * `requestId` (the panel's counter); the extension answers every one, exactly once, with a
 * `response` of the same `requestId` holding either its `result` (typed per method by
 * `PanelResults`) or an `error` (with the reason, already logged by the extension). Answers may
 * come in any order. A request made while the language server is down gets an error answer. The
 * panel gives each request a time limit and says so when it runs out. The other panel messages
 * (`PanelNotification`) are not answered.
 *
 * Order of events: the panel boots and sends `ready`; only then does the extension send anything.
 * `ready` and `retry` are answered after the extension sent `graph` (or `waiting`: the language
 * server is starting); the graph requests (`showInLineage`, `requestNeighbourhood`, `setPin`,
 * `requestFullGraph`) likewise: their result is `null`, the graph itself comes as a `graph`
 * message, which the extension also sends unasked (the editor moved, the workspace changed).
 * After a reload (the panel was hidden and VS Code dropped its page) the panel repaints from its
 * saved state and sends `ready` again.
 *
 * Nothing waits silently: errors are shown in the panel with a Retry button (which sends `retry`):
 * a request's error answer, `hostError` (a failure nobody asked about, e.g. a refresh after an
 * edit), and the panel's own failures (a layout that failed or took too long, an answer that did
 * not come), which it reports with `panelError` for the extension to log.
 */
import type { Plan } from "./plan";
import type { ColumnLineageMap } from "./sql";
import type { RunProgressState, StatusMap } from "./status";
import type { GraphData } from "./types";

/** What a materialize action covers, relative to the asset(s) it was asked on. */
export type MaterializeMode = "only" | "upstream" | "downstream";

// ---------------------------------------------------------------------------------------------
// panel -> extension: requests (answered by a `response` with their `requestId`)

interface Request {
  /** The panel's id for this request: the extension's `response` carries it back. */
  requestId: number;
}

/** The panel is up (after a boot or a reload): send the current graph. */
export interface ReadyMessage extends Request {
  method: "ready";
}
/** The user pressed Retry: send the current graph again (answered like `ready`). */
export interface RetryMessage extends Request {
  method: "retry";
}
/** Centre the panel on this asset (it stays unpinned unless the user pins it). */
export interface ShowInLineageMessage extends Request {
  method: "showInLineage";
  id: string;
}
/** Send a `graph` centred on `ids` with this many layers up and down (the depth controls). */
export interface RequestNeighbourhoodMessage extends Request {
  method: "requestNeighbourhood";
  ids: string[];
  upstream: number;
  downstream: number;
}
/** Pin the panel on an asset (it stops following the editor), or unpin with `null`; a new `graph` follows. */
export interface SetPinMessage extends Request {
  method: "setPin";
  id: string | null;
}
/** Send the whole workspace graph (`graph` with `full: true`). */
export interface RequestFullGraphMessage extends Request {
  method: "requestFullGraph";
}
/** The hidden direct neighbours of asset `id`. */
export interface ExpandMessage extends Request {
  method: "expand";
  id: string;
}
/** Evaluate a selection (DESIGN §4 grammar; the panel never parses it). */
export interface SearchMessage extends Request {
  method: "search";
  selection: string;
}
/** Plan the materialization of `ids` without running it. */
export interface RequestPlanMessage extends Request {
  method: "requestPlan";
  ids: string[];
}
/** The column lineage of these assets (and their upstreams); empty in Restricted Mode. */
export interface RequestColumnsMessage extends Request {
  method: "requestColumns";
  ids: string[];
}

export type PanelRequest =
  | ReadyMessage
  | RetryMessage
  | ShowInLineageMessage
  | RequestNeighbourhoodMessage
  | SetPinMessage
  | RequestFullGraphMessage
  | ExpandMessage
  | SearchMessage
  | RequestPlanMessage
  | RequestColumnsMessage;
export type PanelRequestMethod = PanelRequest["method"];

/** The answer to `expand`: merged into the current graph. */
export interface ExpandResult {
  data: GraphData;
  /** Of the nodes in `data` (and the expanded one), those that still have neighbours outside the panel's graph. */
  truncated: string[];
  statuses: StatusMap;
}
/** The answer to `search`: the matching ids, or where the selection is wrong. */
export type SearchResult = { ids: string[] } | { error: { column: number; message: string } };

/** What each request's `response` carries as its `result`. */
export interface PanelResults {
  ready: null;
  retry: null;
  showInLineage: null;
  requestNeighbourhood: null;
  setPin: null;
  requestFullGraph: null;
  expand: ExpandResult;
  search: SearchResult;
  requestPlan: Plan;
  requestColumns: ColumnLineageMap;
}

/** A request as the panel's code writes it: the id is added when it is sent. */
export type UnsentRequest<M extends PanelRequestMethod = PanelRequestMethod> = M extends PanelRequestMethod ? Omit<Extract<PanelRequest, { method: M }>, "requestId"> : never;

// ---------------------------------------------------------------------------------------------
// panel -> extension: notifications (not answered)

/** Open the definition of an asset (its model file, YAML entry or `asset()` call). */
export interface OpenAssetMessage {
  method: "openAsset";
  id: string;
}
export interface MaterializeMessage {
  method: "materialize";
  ids: string[];
  mode: MaterializeMode;
}
/** The panel drew a graph: how long it took from receiving `graph` to the drawn SVG (logging, tests, bench). */
export interface RenderedMessage {
  method: "rendered";
  /** Nodes and group boxes drawn. */
  nodes: number;
  groups: number;
  ms: number;
}
/** Something the panel could not do (shown in the panel with Retry); the extension logs the reason. */
export interface PanelErrorMessage {
  method: "panelError";
  /** What failed: laying out or drawing the graph, or waiting for the extension's answer. */
  phase: "layout" | "draw" | "answer";
  message: string;
}

export type PanelNotification = OpenAssetMessage | MaterializeMessage | RenderedMessage | PanelErrorMessage;

export type PanelMessage = PanelRequest | PanelNotification;

// ---------------------------------------------------------------------------------------------
// extension -> panel

/** A graph to show, replacing the current one. */
export interface GraphMessage {
  method: "graph";
  data: GraphData;
  /** The assets the view is centred on (the active editor's assets, or the pinned one). Empty for the full graph. */
  centre: string[];
  /** Nodes with neighbours outside `data` (the panel offers to expand them). */
  truncated: string[];
  statuses: StatusMap;
  /** The asset the panel is pinned on, if any. */
  pinned?: string;
  /** The whole workspace graph (after `requestFullGraph`). */
  full?: boolean;
  /** The depth `data` was cut at (the panel shows it in its depth controls). */
  upstream?: number;
  downstream?: number;
}
/** Status changes only (after a run, a file save, a refresh): merged into the current statuses. */
export interface StatusesMessage {
  method: "statuses";
  statuses: StatusMap;
}
/** A plan to show without being asked (a run of it is starting). */
export interface PlanMessage {
  method: "plan";
  plan: Plan;
  /** True when a run of this plan is starting now (the panel shows it without being asked). */
  running?: boolean;
}
/** Live progress of one asset during a run. */
export interface RunProgressMessage {
  method: "runProgress";
  assetId: string;
  state: RunProgressState;
  detail?: string;
}
/** The answer to the panel's request `requestId`: its result, or why there is none. */
export type ResponseMessage<M extends PanelRequestMethod = PanelRequestMethod> =
  | { method: "response"; requestId: number; result: PanelResults[M] }
  | { method: "response"; requestId: number; error: { message: string } };

/** The extension cannot send a graph yet (the language server is starting): the panel says so. */
export interface WaitingMessage {
  method: "waiting";
  message: string;
}
/** The extension could not get the graph when nobody asked (a refresh after an edit failed or timed out): shown with Retry. */
export interface HostErrorMessage {
  method: "hostError";
  message: string;
}

export type HostMessage = ResponseMessage | GraphMessage | WaitingMessage | HostErrorMessage | StatusesMessage | PlanMessage | RunProgressMessage;

const isString = (v: unknown): v is string => typeof v === "string";
const isIds = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const isDepth = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** Per request method, the check of the fields the extension acts on (besides `requestId`). */
const REQUEST_FIELDS: { [M in PanelRequestMethod]: (m: Record<string, unknown>) => boolean } = {
  ready: () => true,
  retry: () => true,
  showInLineage: (m) => isString(m.id),
  requestNeighbourhood: (m) => isIds(m.ids) && isDepth(m.upstream) && isDepth(m.downstream),
  setPin: (m) => m.id === null || isString(m.id),
  requestFullGraph: () => true,
  expand: (m) => isString(m.id),
  search: (m) => isString(m.selection),
  requestPlan: (m) => isIds(m.ids),
  requestColumns: (m) => isIds(m.ids),
};
/** Per notification method, likewise. */
const NOTIFICATION_FIELDS: { [M in PanelNotification["method"]]: (m: Record<string, unknown>) => boolean } = {
  openAsset: (m) => isString(m.id),
  materialize: (m) => isIds(m.ids) && (m.mode === "only" || m.mode === "upstream" || m.mode === "downstream"),
  rendered: (m) => typeof m.ms === "number",
  panelError: (m) => (m.phase === "layout" || m.phase === "draw" || m.phase === "answer") && isString(m.message),
};

const HOST_METHODS: ReadonlySet<string> = new Set<HostMessage["method"]>(["response", "graph", "waiting", "hostError", "statuses", "plan", "runProgress"]);

const own = (table: object, key: unknown): boolean => typeof key === "string" && Object.prototype.hasOwnProperty.call(table, key);

/** A well-formed message from the panel (the extension checks whatever arrives from the webview). */
export function isPanelMessage(x: unknown): x is PanelMessage {
  if (typeof x !== "object" || x === null) return false;
  const m = x as Record<string, unknown>;
  if (own(REQUEST_FIELDS, m.method)) return isDepth(m.requestId) && REQUEST_FIELDS[m.method as PanelRequestMethod](m);
  return own(NOTIFICATION_FIELDS, m.method) && NOTIFICATION_FIELDS[m.method as PanelNotification["method"]](m);
}

/** A panel message that asks for an answer. */
export function isPanelRequest(m: PanelMessage): m is PanelRequest {
  return own(REQUEST_FIELDS, m.method);
}

/** A message from the extension (the panel ignores anything else posted to its window). */
export function isHostMessage(x: unknown): x is HostMessage {
  if (typeof x !== "object" || x === null) return false;
  const m = x as { method?: unknown; requestId?: unknown };
  return HOST_METHODS.has(m.method as string) && (m.method !== "response" || isDepth(m.requestId));
}
