/**
 * The graph the panel holds: nodes, adjacency, statuses, and which nodes are visible at a depth.
 */
import type { AssetEdge, AssetKind, AssetNode, GraphData } from "../../server/src/protocol/types";
import type { AssetState, StatusMap, StatusSummary } from "../../server/src/protocol/status";
import type { GraphMessage } from "../../server/src/protocol/webview";

/** What an empty panel says when no editor shows an asset yet. */
export const OPEN_A_FILE = "Open a dbt model, YAML or TypeScript asset file to see its lineage.";

/** The order states are drawn in (a group's status bar, the legend). */
export const STATE_ORDER: readonly AssetState[] = ["fresh", "stale", "failed", "running", "missing"];

export type Tech = "dbt" | "ts";

export const KIND_LABEL: Record<AssetKind, string> = {
  dbt_model: "dbt model",
  dbt_seed: "dbt seed",
  dbt_snapshot: "dbt snapshot",
  dbt_source: "dbt source",
  dbt_exposure: "exposure",
  ts_asset: "TS asset",
};

export function techOf(node: AssetNode): Tech {
  return node.kind === "ts_asset" ? "ts" : "dbt";
}

export class GraphModel {
  readonly nodes = new Map<string, AssetNode>();
  readonly edges: AssetEdge[] = [];
  /** id -> downstream ids / upstream ids. */
  readonly down = new Map<string, string[]>();
  readonly up = new Map<string, string[]>();
  readonly truncated = new Set<string>();
  readonly statuses = new Map<string, StatusSummary>();
  centre: string[] = [];
  full = false;
  pinned: string | undefined;

  static from(message: GraphMessage): GraphModel {
    const model = new GraphModel();
    model.centre = message.centre.filter((id) => message.data.nodes.some((n) => n.id === id));
    model.full = message.full === true;
    model.pinned = message.pinned;
    model.merge(message.data, message.truncated, message.statuses);
    return model;
  }

  /** Add nodes and edges (an `expanded` answer); `truncated` replaces the flag of the nodes it covers. */
  merge(data: GraphData, truncated: string[], statuses: StatusMap, expandedId?: string): string[] {
    const added: string[] = [];
    for (const node of data.nodes) {
      if (!this.nodes.has(node.id)) added.push(node.id);
      this.nodes.set(node.id, node);
      this.truncated.delete(node.id);
    }
    if (expandedId) this.truncated.delete(expandedId);
    const seen = new Set(this.edges.map((e) => `${e.from}\u0001${e.to}`));
    for (const edge of data.edges) {
      const key = `${edge.from}\u0001${edge.to}`;
      if (seen.has(key) || !this.nodes.has(edge.from) || !this.nodes.has(edge.to)) continue;
      seen.add(key);
      this.edges.push(edge);
      push(this.down, edge.from, edge.to);
      push(this.up, edge.to, edge.from);
    }
    for (const id of truncated) if (this.nodes.has(id)) this.truncated.add(id);
    this.setStatuses(statuses);
    return added;
  }

  setStatuses(statuses: StatusMap): void {
    for (const [id, status] of Object.entries(statuses)) this.statuses.set(id, status);
  }

  status(id: string): StatusSummary {
    return this.statuses.get(id) ?? { state: "missing" };
  }

  /** `centre` and everything within `upstream` layers up and `downstream` layers down. */
  neighbourhood(centre: string[], upstream: number, downstream: number): Set<string> {
    const start = centre.filter((id) => this.nodes.has(id));
    const result = new Set(start);
    walk(result, start, this.up, upstream);
    walk(result, start, this.down, downstream);
    return result;
  }

  /** Neighbours of `id` in the panel's graph that `visible` leaves out. */
  hiddenNeighbours(id: string, visible: Set<string>): string[] {
    return [...(this.up.get(id) ?? []), ...(this.down.get(id) ?? [])].filter((n) => !visible.has(n));
  }
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Breadth-first from `start` along `adjacency`, `depth` layers, adding to `into`. */
function walk(into: Set<string>, start: string[], adjacency: Map<string, string[]>, depth: number): void {
  let frontier = start;
  const seen = new Set(start);
  for (let layer = 0; layer < depth && frontier.length > 0; layer++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const n of adjacency.get(id) ?? []) {
        if (seen.has(n)) continue;
        seen.add(n);
        into.add(n);
        next.push(n);
      }
    }
    frontier = next;
  }
}
