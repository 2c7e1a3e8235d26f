/**
 * What is drawn: the visible assets, either one box each or, for big graphs, gathered into one box
 * per group (an overview) with edges between groups. Expanding a group shows its assets inside
 * the group's frame. This is how 5,000 assets open fast: ELK lays out a few dozen boxes.
 */
import type { AssetNode } from "../../server/src/protocol/types";
import type { LayoutInput } from "./layoutTypes";
import { GraphModel, KIND_LABEL, techOf } from "./model";

/** Graphs with more visible assets than this open as a grouped overview. */
export const OVERVIEW_THRESHOLD = 600;
/** More groups than this and assets are grouped more coarsely (by declared group, else kind). */
const MAX_GROUPS = 120;

export const NODE_W = 240;
export const NODE_H = 52;
export const GROUP_W = 240;
export const GROUP_H = 66;
/** Height of one column row of an asset expanded into its columns. */
export const COLUMN_ROW_H = 20;

/** The rows of an asset expanded into its columns: their names, or one note saying why there are none. */
export interface NodeColumns {
  names: string[];
  /** Per row, where the column comes from (its tooltip). */
  titles?: string[];
  note?: string;
}

export interface NodeItem {
  type: "node";
  id: string;
  node: AssetNode;
  /** The expanded group it is drawn in. */
  parent?: string;
  /** Set when the asset is expanded into its columns (its box grows a row each). */
  columns?: NodeColumns;
}

export interface GroupItem {
  type: "group";
  /** `group:<name>`. */
  id: string;
  name: string;
  /** Visible asset ids in the group. */
  members: string[];
  expanded: boolean;
}

export type ViewItem = NodeItem | GroupItem;

export interface ViewEdge {
  id: string;
  from: string;
  to: string;
  /** Crosses technologies (dbt <-> TypeScript); for group edges: any of the edges it stands for. */
  cross: boolean;
  /** How many asset edges it stands for (1 between assets). */
  count: number;
}

export interface View {
  items: ViewItem[];
  byId: Map<string, ViewItem>;
  edges: ViewEdge[];
  /** Asset id -> the item that shows it (itself, or its collapsed group). */
  itemOf: Map<string, string>;
  grouped: boolean;
}

export const groupId = (name: string): string => `group:${name}`;

function folderOf(file: string | undefined): string | undefined {
  if (!file) return undefined;
  const parts = file.split(/[\\/]/).filter(Boolean);
  parts.pop();
  return parts.length ? parts.slice(-2).join("/") : undefined;
}

/**
 * The group an asset is gathered into: its declared group; else the group most assets of its
 * folder declare (dbt projects usually assign groups by folder); else its folder; else its kind.
 */
export function groupNameOf(node: AssetNode, folderGroups: Map<string, string>, coarse = false): string {
  if (node.group) return node.group;
  if (coarse) return `${techOf(node) === "ts" ? "TypeScript" : node.project ?? "dbt"} \u00b7 ${KIND_LABEL[node.kind]}`;
  const folder = folderOf(node.file);
  return (folder && folderGroups.get(folder)) ?? folder ?? KIND_LABEL[node.kind];
}

/** Folder -> the group declared by most of its assets. */
function groupsByFolder(nodes: Iterable<AssetNode>): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const node of nodes) {
    const folder = node.group ? folderOf(node.file) : undefined;
    if (!folder) continue;
    const c = counts.get(folder) ?? new Map<string, number>();
    c.set(node.group!, (c.get(node.group!) ?? 0) + 1);
    counts.set(folder, c);
  }
  const result = new Map<string, string>();
  for (const [folder, c] of counts) result.set(folder, [...c].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0]);
  return result;
}

/** Visible asset ids by group name (coarser names when the fine ones are too many). */
export function groupAssets(model: GraphModel, visible: Iterable<string>): Map<string, string[]> {
  const nodes = [...visible].map((id) => model.nodes.get(id)!);
  const folderGroups = groupsByFolder(nodes);
  for (const coarse of [false, true]) {
    const groups = new Map<string, string[]>();
    for (const node of nodes) {
      const name = groupNameOf(node, folderGroups, coarse);
      const list = groups.get(name);
      if (list) list.push(node.id);
      else groups.set(name, [node.id]);
    }
    if (coarse || groups.size <= MAX_GROUPS) return groups;
  }
  throw new Error("unreachable");
}

export interface ViewOptions {
  grouped: boolean;
  /** Names of the groups shown open. */
  expanded: Set<string>;
}

export function buildView(model: GraphModel, visible: Set<string>, options: ViewOptions): View {
  const items: ViewItem[] = [];
  const itemOf = new Map<string, string>();
  if (options.grouped) {
    for (const [name, members] of [...groupAssets(model, visible)].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const id = groupId(name);
      if (members.length === 1) {
        // A group of one is just its asset.
        items.push({ type: "node", id: members[0], node: model.nodes.get(members[0])! });
        itemOf.set(members[0], members[0]);
        continue;
      }
      const expanded = options.expanded.has(name);
      items.push({ type: "group", id, name, members, expanded });
      for (const m of members) {
        if (expanded) items.push({ type: "node", id: m, node: model.nodes.get(m)!, parent: id });
        itemOf.set(m, expanded ? m : id);
      }
    }
  } else {
    for (const id of visible) {
      items.push({ type: "node", id, node: model.nodes.get(id)! });
      itemOf.set(id, id);
    }
  }
  const edges = new Map<string, ViewEdge>();
  for (const e of model.edges) {
    const from = itemOf.get(e.from);
    const to = itemOf.get(e.to);
    if (!from || !to || from === to) continue;
    const cross = techOf(model.nodes.get(e.from)!) !== techOf(model.nodes.get(e.to)!);
    const id = `${from}\u2192${to}`;
    const existing = edges.get(id);
    if (existing) {
      existing.count++;
      existing.cross ||= cross;
    } else {
      edges.set(id, { id, from, to, cross, count: 1 });
    }
  }
  return { items, byId: new Map(items.map((i) => [i.id, i])), edges: [...edges.values()], itemOf, grouped: options.grouped };
}

/** An asset's height: the header, and a row per column when expanded (plus a little padding). */
export function nodeHeight(item: NodeItem): number {
  if (!item.columns) return NODE_H;
  return NODE_H + Math.max(1, item.columns.names.length) * COLUMN_ROW_H + 6;
}

export function toLayoutInput(view: View): LayoutInput {
  return {
    nodes: view.items.map((item) =>
      item.type === "node"
        ? { id: item.id, w: NODE_W, h: nodeHeight(item), ...(item.parent ? { parent: item.parent } : {}) }
        : { id: item.id, w: GROUP_W, h: GROUP_H },
    ),
    edges: view.edges.map((e) => ({ id: e.id, from: e.from, to: e.to })),
  };
}
