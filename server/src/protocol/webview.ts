/**
 * Every message between the lineage panel (webview, `webview/src/`) and the extension, typed by
 * `method`. Types only, plus two tiny guards; imported by the extension's panel host and by the
 * webview bundle.
 *
 * Order of events: the panel boots, posts `ready`, and only then does the extension send `graph`.
 * After a reload (the panel was hidden and VS Code dropped its page) the panel repaints from its
 * saved state and posts `ready` again; the extension answers with the current graph.
 *
 * Nothing waits silently: the extension answers `ready` and `retry` with `graph`, `waiting` (the
 * language server is starting) or `hostError`; the panel reports its own failures (a layout that
 * failed or took too long) with `panelError`, which the extension logs. Both errors are shown in
 * the panel with a Retry button, which posts `retry`.
 */
import type { Plan } from "./plan";
import type { ColumnLineageMap } from "./sql";
import type { RunProgressState, StatusMap } from "./status";
import type { GraphData } from "./types";

/** What a materialize action covers, relative to the asset(s) it was asked on. */
export type MaterializeMode = "only" | "upstream" | "downstream";

// ---------------------------------------------------------------------------------------------
// panel -> extension

export interface ReadyMessage {
  method: "ready";
}
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
/** Centre the panel on this asset (it stays unpinned unless the user pins it). */
export interface ShowInLineageMessage {
  method: "showInLineage";
  id: string;
}
/** Send a `graph` centred on `ids` with this many layers up and down (the depth controls). */
export interface RequestNeighbourhoodMessage {
  method: "requestNeighbourhood";
  ids: string[];
  upstream: number;
  downstream: number;
}
/** Send the hidden direct neighbours of `id` (answered with `expanded`). */
export interface ExpandMessage {
  method: "expand";
  id: string;
}
/** Evaluate a selection (DESIGN §4 grammar; the panel never parses it); answered with `searchResult`. */
export interface SearchMessage {
  method: "search";
  selection: string;
}
/** Plan the materialization of `ids` without running it; answered with `plan`. */
export interface RequestPlanMessage {
  method: "requestPlan";
  ids: string[];
}
/** Pin the panel on an asset (it stops following the editor), or unpin with `null`. */
export interface SetPinMessage {
  method: "setPin";
  id: string | null;
}
/** Send the whole workspace graph (`graph` with `full: true`). */
export interface RequestFullGraphMessage {
  method: "requestFullGraph";
}
/** The panel drew a graph: how long it took from receiving `graph` to the drawn SVG (logging, tests, bench). */
export interface RenderedMessage {
  method: "rendered";
  /** Nodes and group boxes drawn. */
  nodes: number;
  groups: number;
  ms: number;
}

/** Send the column lineage of these assets (and their upstreams); answered with `columns`. */
export interface RequestColumnsMessage {
  method: "requestColumns";
  ids: string[];
}

/** Something the panel could not do (shown in the panel with Retry); the extension logs the reason. */
export interface PanelErrorMessage {
  method: "panelError";
  /** What failed: laying out or drawing the graph, or waiting for the extension's answer. */
  phase: "layout" | "draw" | "answer";
  message: string;
}
/** The user pressed Retry: send the current graph again (answered like `ready`). */
export interface RetryMessage {
  method: "retry";
}

export type PanelMessage =
  | RequestColumnsMessage
  | ReadyMessage
  | PanelErrorMessage
  | RetryMessage
  | OpenAssetMessage
  | MaterializeMessage
  | ShowInLineageMessage
  | RequestNeighbourhoodMessage
  | ExpandMessage
  | SearchMessage
  | RequestPlanMessage
  | SetPinMessage
  | RequestFullGraphMessage
  | RenderedMessage;

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
  /** The whole workspace graph (answer to `requestFullGraph`). */
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
export type SearchResultMessage =
  | { method: "searchResult"; selection: string; ids: string[] }
  | { method: "searchResult"; selection: string; error: { column: number; message: string } };
/** The hidden neighbours of `id` (answer to `expand`): merged into the current graph. */
export interface ExpandedMessage {
  method: "expanded";
  id: string;
  data: GraphData;
  /** Of the nodes in `data` (and `id`), those that still have neighbours outside the panel's graph. */
  truncated: string[];
  statuses: StatusMap;
}

/** Column lineage (answer to `requestColumns`; empty in Restricted Mode). */
export interface ColumnsMessage {
  method: "columns";
  lineage: ColumnLineageMap;
}

/** The extension cannot send a graph yet (the language server is starting): the panel says so. */
export interface WaitingMessage {
  method: "waiting";
  message: string;
}
/** The extension could not get the graph (a request failed or timed out): shown with Retry. */
export interface HostErrorMessage {
  method: "hostError";
  message: string;
}

export type HostMessage =
  | ColumnsMessage
  | GraphMessage
  | WaitingMessage
  | HostErrorMessage
  | StatusesMessage
  | PlanMessage
  | RunProgressMessage
  | SearchResultMessage
  | ExpandedMessage;

const isString = (v: unknown): v is string => typeof v === "string";
const isIds = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const isDepth = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** Per method, the check of the fields the extension acts on. */
const PANEL_FIELDS: { [M in PanelMessage["method"]]: (m: Record<string, unknown>) => boolean } = {
  ready: () => true,
  panelError: (m) => (m.phase === "layout" || m.phase === "draw" || m.phase === "answer") && isString(m.message),
  retry: () => true,
  openAsset: (m) => isString(m.id),
  materialize: (m) => isIds(m.ids) && (m.mode === "only" || m.mode === "upstream" || m.mode === "downstream"),
  showInLineage: (m) => isString(m.id),
  requestNeighbourhood: (m) => isIds(m.ids) && isDepth(m.upstream) && isDepth(m.downstream),
  expand: (m) => isString(m.id),
  search: (m) => isString(m.selection),
  requestPlan: (m) => isIds(m.ids),
  setPin: (m) => m.id === null || isString(m.id),
  requestFullGraph: () => true,
  rendered: (m) => typeof m.ms === "number",
  requestColumns: (m) => isIds(m.ids),
};

const HOST_METHODS: ReadonlySet<string> = new Set<HostMessage["method"]>([
  "graph", "waiting", "hostError", "statuses", "plan", "runProgress", "searchResult", "expanded", "columns",
]);

/** A well-formed message from the panel (the extension checks whatever arrives from the webview). */
export function isPanelMessage(x: unknown): x is PanelMessage {
  if (typeof x !== "object" || x === null) return false;
  const m = x as Record<string, unknown>;
  const check = Object.prototype.hasOwnProperty.call(PANEL_FIELDS, m.method as string) ? PANEL_FIELDS[m.method as PanelMessage["method"]] : undefined;
  return check !== undefined && check(m);
}

/** A message from the extension (the panel ignores anything else posted to its window). */
export function isHostMessage(x: unknown): x is HostMessage {
  return typeof x === "object" && x !== null && HOST_METHODS.has((x as { method?: unknown }).method as string);
}
