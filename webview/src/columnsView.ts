/**
 * Column lineage in the panel: "Show columns" on an asset opens a drawer listing its columns (each
 * with the upstream columns it comes from); clicking a column highlights its path — every asset on
 * the graph its value comes from or flows into — and lists the path's columns. The data is the
 * language server's column lineage (`requestColumns` -> `columns`); the path is computed here.
 */
import type { ColumnLineageMap, ColumnRef } from "../../server/src/protocol/sql";
import type { PanelMessage } from "../../server/src/protocol/webview";

export interface ColumnPath {
  /** Upstream columns, nearest first (transitively). */
  upstream: ColumnRef[];
  /** Downstream columns, nearest first (transitively). */
  downstream: ColumnRef[];
  /** Assets on the path, the column's own included. */
  assets: Set<string>;
}

const keyOf = (r: ColumnRef) => `${r.asset}\0${r.column.toLowerCase()}`;

/** The upstream and downstream columns of `asset.column`, breadth first, each once. */
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
  const walk = (next: (r: ColumnRef) => ColumnRef[]): ColumnRef[] => {
    const seen = new Set([keyOf({ asset, column })]);
    const out: ColumnRef[] = [];
    let frontier: ColumnRef[] = [{ asset, column }];
    while (frontier.length) {
      const following: ColumnRef[] = [];
      for (const r of frontier) {
        for (const n of next(r)) {
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
  const upstream = walk(upstreamOf);
  const downstream = walk((r) => readers.get(keyOf(r)) ?? []);
  return { upstream, downstream, assets: new Set([asset, ...upstream.map((r) => r.asset), ...downstream.map((r) => r.asset)]) };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const refText = (r: ColumnRef) => `${r.asset}.${r.column}`;

export class ColumnsView {
  private readonly drawer: HTMLElement;
  private asset: string | undefined;
  private lineage: ColumnLineageMap | undefined;
  private selected: string | undefined;
  private path: ColumnPath | undefined;

  constructor(
    host: HTMLElement,
    private readonly svg: SVGSVGElement,
    private readonly post: (message: PanelMessage) => void,
  ) {
    this.drawer = el("aside", "columns-drawer");
    this.drawer.hidden = true;
    this.drawer.setAttribute("aria-label", "Columns");
    host.append(this.drawer);
  }

  /** Opens the drawer on an asset and asks for the lineage of the assets on the graph. */
  show(asset: string, onGraph: string[]): void {
    this.asset = asset;
    this.selected = undefined;
    this.path = undefined;
    this.lineage = undefined;
    this.post({ method: "requestColumns", ids: onGraph.includes(asset) ? onGraph : [asset, ...onGraph] });
    this.render();
    this.reapply();
  }

  onColumns(lineage: ColumnLineageMap): void {
    this.lineage = lineage;
    this.render();
  }

  close(): void {
    this.asset = undefined;
    this.path = undefined;
    this.drawer.hidden = true;
    this.reapply();
  }

  /** Marks the drawn assets on the selected column's path (again after every draw). */
  reapply(): void {
    if (!this.path) {
      // Nothing to mark: only clear marks left from a closed path (a draw with none costs nothing).
      for (const g of this.svg.querySelectorAll<SVGGElement>("g[data-column-path]")) g.removeAttribute("data-column-path");
      return;
    }
    for (const g of this.svg.querySelectorAll<SVGGElement>("g[data-kind='node']")) {
      const id = g.getAttribute("data-id") ?? "";
      if (this.path.assets.has(id)) g.setAttribute("data-column-path", id === this.asset ? "origin" : "path");
      else g.removeAttribute("data-column-path");
    }
  }

  private select(column: string): void {
    if (!this.asset || !this.lineage) return;
    this.selected = this.selected === column ? undefined : column;
    this.path = this.selected ? columnPath(this.lineage, this.asset, this.selected) : undefined;
    this.render();
    this.reapply();
  }

  private render(): void {
    const d = this.drawer;
    d.replaceChildren();
    if (!this.asset) return;
    d.hidden = false;
    const head = el("header", "columns-head");
    head.append(el("strong", "", this.asset));
    const close = el("button", "columns-close", "×");
    close.title = "Close";
    close.addEventListener("click", () => this.close());
    head.append(close);
    d.append(head);
    const entry = this.lineage?.[this.asset];
    if (!this.lineage) {
      d.append(el("p", "columns-note", "Loading columns…"));
      return;
    }
    if (!entry) {
      d.append(el("p", "columns-note", "No column lineage (a trusted workspace renders the models' SQL to compute it)."));
      return;
    }
    if (entry.level === "table") {
      d.append(el("p", "columns-note", `Table-level lineage only: ${entry.reason ?? "unknown columns"}.`));
      return;
    }
    const list = el("ul", "columns-list");
    for (const c of entry.columns) {
      const item = el("li", c.name === this.selected ? "column active" : "column");
      const button = el("button", "column-name", c.name);
      button.dataset.column = c.name;
      button.addEventListener("click", () => this.select(c.name));
      item.append(button);
      if (c.upstream.length) item.append(el("span", "column-from", `${c.how === "copy" ? "=" : "ƒ"} ${c.upstream.map(refText).join(", ")}`));
      list.append(item);
    }
    d.append(list);
    if (this.path) {
      const path = el("section", "column-path");
      path.append(el("p", "", `Upstream: ${this.path.upstream.map(refText).join(", ") || "none"}`));
      path.append(el("p", "", `Downstream: ${this.path.downstream.map(refText).join(", ") || "none"}`));
      d.append(path);
    }
  }
}
