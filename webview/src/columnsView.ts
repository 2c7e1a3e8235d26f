/**
 * Column lineage in the panel: an asset expands in place into its columns (its box grows a row per
 * column, the layout gives it room); clicking a column highlights its path — the column rows it
 * comes from and flows into, with column-to-column edges between the rows — expands the assets on
 * the path that are drawn, and dims the rest. The data is the language server's column lineage
 * (`requestColumns` -> `columns`); the path is computed here.
 */
import type { ColumnLineageMap, ColumnRef } from "../../server/src/protocol/sql";
import type { LayoutResult } from "./layoutTypes";
import { COLUMN_ROW_H, NODE_H, type NodeColumns, type View } from "./overview";

export interface ColumnPath {
  /** Upstream columns, nearest first (transitively). */
  upstream: ColumnRef[];
  /** Downstream columns, nearest first (transitively). */
  downstream: ColumnRef[];
  /** Assets on the path, the column's own included. */
  assets: Set<string>;
  /** Every lineage edge on the path, from the upstream column to the one computed from it. */
  edges: { from: ColumnRef; to: ColumnRef }[];
}

const keyOf = (r: ColumnRef) => `${r.asset}\0${r.column.toLowerCase()}`;

/** The upstream and downstream columns of `asset.column`, breadth first, each once, with the edges between them. */
export function columnPath(lineage: ColumnLineageMap, asset: string, column: string): ColumnPath {
  const readers = new Map<string, ColumnRef[]>();
  for (const entry of Object.values(lineage)) {
    for (const c of entry.columns) {
      for (const u of c.upstream) {
        const k = keyOf(u);
        let list = readers.get(k);
        if (!list) readers.set(k, (list = []));
        list.push({ asset: entry.id, column: c.name });
      }
    }
  }
  const edges: ColumnPath["edges"] = [];
  const walk = (next: (r: ColumnRef) => ColumnRef[], edge: (r: ColumnRef, n: ColumnRef) => void): ColumnRef[] => {
    const seen = new Set([keyOf({ asset, column })]);
    const out: ColumnRef[] = [];
    let frontier: ColumnRef[] = [{ asset, column }];
    while (frontier.length) {
      const following: ColumnRef[] = [];
      for (const r of frontier) {
        for (const n of next(r)) {
          edge(r, n);
          if (seen.has(keyOf(n))) continue;
          seen.add(keyOf(n));
          out.push(n);
          following.push(n);
        }
      }
      frontier = following;
    }
    return out;
  };
  const upstreamOf = (r: ColumnRef) => lineage[r.asset]?.columns.find((c) => c.name.toLowerCase() === r.column.toLowerCase())?.upstream ?? [];
  const upstream = walk(upstreamOf, (r, n) => edges.push({ from: n, to: r }));
  const downstream = walk((r) => readers.get(keyOf(r)) ?? [], (r, n) => edges.push({ from: r, to: n }));
  return { upstream, downstream, assets: new Set([asset, ...upstream.map((r) => r.asset), ...downstream.map((r) => r.asset)]), edges };
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** The expanded assets, the selected column and its path; paints rows' marks and column edges after every draw. */
export class ColumnLineage {
  private lineage: ColumnLineageMap | undefined;
  private readonly expanded = new Set<string>();
  private selected: ColumnRef | undefined;
  private path: ColumnPath | undefined;
  /** Rows or assets carry marks from a path (to clear once it is gone). */
  private marked = false;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly layer: SVGGElement,
    /** Asks the extension for the column lineage of these assets (the answer comes to `onColumns`). */
    private readonly request: (ids: string[]) => void,
    expanded: string[] = [],
  ) {
    for (const id of expanded) this.expanded.add(id);
  }

  isExpanded(asset: string): boolean {
    return this.expanded.has(asset);
  }

  /** The assets expanded into their columns (the panel keeps them in its state). */
  get expandedIds(): string[] {
    return [...this.expanded];
  }

  /** A new graph arrived: while assets are expanded, ask again for the lineage (the models may have changed). */
  graphChanged(onGraph: () => string[]): void {
    if (!this.expanded.size) return;
    const ids = new Set(onGraph());
    for (const id of this.expanded) ids.add(id);
    this.request([...ids]);
  }

  /** Expands an asset into its columns, or collapses it (asking for the lineage of the assets on the graph when it is not known yet). */
  toggle(asset: string, onGraph: string[]): void {
    if (this.expanded.delete(asset)) {
      if (this.selected?.asset === asset) this.clearSelection();
      return;
    }
    this.expanded.add(asset);
    if (!this.lineage?.[asset]) this.request(onGraph.includes(asset) ? onGraph : [asset, ...onGraph]);
  }

  onColumns(lineage: ColumnLineageMap): void {
    this.lineage = { ...this.lineage, ...lineage };
    if (this.selected) this.path = columnPath(this.lineage, this.selected.asset, this.selected.column);
  }

  /** What an asset's box lists: its columns, or one line saying why there are none. */
  rowsOf(asset: string): NodeColumns | undefined {
    if (!this.expanded.has(asset)) return undefined;
    if (!this.lineage) return { names: [], note: "Loading columns\u2026" };
    const entry = this.lineage[asset];
    if (!entry) return { names: [], note: "No column lineage" };
    if (entry.level === "table") return { names: [], note: `Table-level only: ${entry.reason ?? "unknown columns"}` };
    if (!entry.columns.length) return { names: [], note: "No columns" };
    return { names: entry.columns.map((c) => c.name), titles: entry.columns.map((c) => (c.upstream.length ? `${c.how === "copy" ? "=" : "\u0192"} ${c.upstream.map((u) => `${u.asset}.${u.column}`).join(", ")}` : "")) };
  }

  /** Sets the items' column rows (before the layout, which sizes the boxes by them). */
  decorate(view: View): void {
    for (const item of view.items) {
      if (item.type !== "node") continue;
      const rows = this.rowsOf(item.id);
      if (rows) item.columns = rows;
      else delete item.columns;
    }
  }

  /**
   * Selects a column (or clears it when it is the selected one) and expands the drawn assets on
   * its path; true when that expanded an asset (the boxes change size: lay out again).
   */
  select(asset: string, column: string, drawnAssets: ReadonlySet<string>): boolean {
    if (!this.lineage) return false;
    if (this.selected && keyOf(this.selected) === keyOf({ asset, column })) {
      this.clearSelection();
      return false;
    }
    this.selected = { asset, column };
    this.path = columnPath(this.lineage, asset, column);
    let grew = false;
    for (const a of this.path.assets) {
      if (drawnAssets.has(a) && !this.expanded.has(a)) {
        this.expanded.add(a);
        grew = true;
      }
    }
    return grew;
  }

  hasSelection(): boolean {
    return !!this.selected;
  }

  clearSelection(): void {
    this.selected = undefined;
    this.path = undefined;
  }

  /** Marks the path's rows and assets, dims the rest and draws the column edges (again after every draw). */
  paint(view: View | undefined, layout: LayoutResult | undefined): void {
    this.layer.replaceChildren();
    const path = this.path;
    const selected = this.selected;
    this.svg.classList.toggle("column-focus", !!path);
    // Nothing to mark and nothing marked: skip the walk over every asset (big graphs redraw often).
    if (!path && !this.marked) return;
    this.marked = !!path;
    const rowMark = new Map<string, string>();
    if (path && selected) {
      rowMark.set(keyOf(selected), "origin");
      for (const r of path.upstream) rowMark.set(keyOf(r), "upstream");
      for (const r of path.downstream) rowMark.set(keyOf(r), "downstream");
    }
    for (const g of this.svg.querySelectorAll<SVGGElement>("g[data-kind='node']")) {
      const id = g.getAttribute("data-id") ?? "";
      if (path?.assets.has(id)) g.setAttribute("data-column-path", id === selected?.asset ? "origin" : "path");
      else g.removeAttribute("data-column-path");
      for (const row of g.querySelectorAll<SVGGElement>("g.column-row")) {
        const mark = rowMark.get(keyOf({ asset: id, column: row.dataset.column ?? "" }));
        if (mark) row.setAttribute("data-column-path", mark);
        else row.removeAttribute("data-column-path");
        row.setAttribute("aria-pressed", String(mark === "origin"));
      }
    }
    if (!path || !view || !layout) return;
    const rowPoint = (r: ColumnRef, side: "out" | "in"): { x: number; y: number } | undefined => {
      const item = view.byId.get(r.asset);
      const box = layout.nodes[r.asset];
      if (item?.type !== "node" || !item.columns || !box) return undefined;
      const i = item.columns.names.findIndex((n) => n.toLowerCase() === r.column.toLowerCase());
      if (i < 0) return undefined;
      return { x: side === "out" ? box.x + box.w : box.x, y: box.y + NODE_H + i * COLUMN_ROW_H + COLUMN_ROW_H / 2 };
    };
    const drawn = new Set<string>();
    for (const e of path.edges) {
      const id = `${keyOf(e.from)}\u2192${keyOf(e.to)}`;
      if (drawn.has(id)) continue;
      const a = rowPoint(e.from, "out");
      const b = rowPoint(e.to, "in");
      if (!a || !b) continue;
      drawn.add(id);
      const bend = Math.max(30, Math.abs(b.x - a.x) / 2);
      const el = document.createElementNS(SVG_NS, "path");
      el.setAttribute("class", "column-edge");
      el.setAttribute("d", `M${a.x},${a.y}C${a.x + bend},${a.y} ${b.x - bend},${b.y} ${b.x},${b.y}`);
      el.setAttribute("marker-end", "url(#arrow-column)");
      el.dataset.from = `${e.from.asset}.${e.from.column}`;
      el.dataset.to = `${e.to.asset}.${e.to.column}`;
      this.layer.append(el);
    }
  }
}
