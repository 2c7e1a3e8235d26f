/**
 * What the panel keeps across being hidden (VS Code's `getState`/`setState`): the user's view
 * settings, and for graphs small enough the last graph and its layout, so it repaints at once.
 */
import type { Plan } from "../../server/src/protocol/plan";
import type { GraphMessage } from "../../server/src/protocol/webview";
import type { LayoutResult } from "./layoutTypes";

export type GroupMode = "auto" | "on" | "off";

export interface PanelState {
  version: 1;
  upstream: number;
  downstream: number;
  groupMode: GroupMode;
  expandedGroups: string[];
  selection: string[];
  search: string;
  matches: string[] | null;
  filterToMatches: boolean;
  showPlan: boolean;
  plan: Plan | null;
  /** Assets shown beyond the depth because the user expanded their neighbours. */
  extraVisible: string[];
  /** Assets expanded into their columns. */
  expandedColumns: string[];
  /** The centre of the last neighbourhood (to go back to from the full graph). */
  lastCentre: string[];
  transform: { x: number; y: number; k: number } | null;
  graph: GraphMessage | null;
  layout: { hash: string; result: LayoutResult } | null;
}

/** Graphs up to this many assets are kept in the state with their layout. */
export const KEEP_GRAPH_UP_TO = 1000;

export function initialState(): PanelState {
  return {
    version: 1,
    upstream: 2,
    downstream: 2,
    groupMode: "auto",
    expandedGroups: [],
    selection: [],
    search: "",
    matches: null,
    filterToMatches: false,
    showPlan: false,
    plan: null,
    extraVisible: [],
    expandedColumns: [],
    lastCentre: [],
    transform: null,
    graph: null,
    layout: null,
  };
}

export function restoreState(saved: unknown): PanelState {
  const base = initialState();
  if (typeof saved !== "object" || saved === null || (saved as { version?: unknown }).version !== 1) return base;
  return { ...base, ...(saved as Partial<PanelState>) };
}
