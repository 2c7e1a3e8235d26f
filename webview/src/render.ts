/**
 * Drawing with d3: assets as rounded boxes (kind shape, key, kind and group, status bar), groups
 * as stacked boxes with counts, edges as routed paths with arrowheads (dbt <-> TypeScript edges
 * dashed in their own colour), zoom and pan with d3-zoom. Big graphs are drawn in slices of a
 * few milliseconds so the page never stalls; colours come from panel.css (VS Code theme variables).
 */
import { select, type Selection } from "d3-selection";
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from "d3-zoom";
import type { AssetState } from "../../server/src/protocol/webview";
import { CHEVRON_DOWN, CHEVRON_RIGHT, KIND_ICON, PLUS } from "./icons";
import type { Box, LayoutResult } from "./layoutTypes";
import { GraphModel, KIND_LABEL, techOf } from "./model";
import { GROUP_W, NODE_W, type GroupItem, type NodeItem, type View, type ViewEdge, type ViewItem } from "./overview";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Milliseconds of drawing before yielding to the browser. */
const SLICE_MS = 12;
/** Below this zoom, labels are hidden (they would be unreadable, and are costly to paint). */
const LOD_SCALE = 0.45;
/** Width of one character of an asset label (monospace, 12px). */
const LABEL_CHAR_W = 7.3;
const STATES: AssetState[] = ["fresh", "stale", "failed", "running", "missing"];
const GROUP_BAR_WIDTH = GROUP_W - 24;
/** The "+" sits on the top edge, near the right end. */
const NODE_EXPANDER_X = NODE_W - 24;

export interface DrawContext {
  model: GraphModel;
  selection: ReadonlySet<string>;
  /** Search matches, or null when there is no search. */
  matches: ReadonlySet<string> | null;
  centre: ReadonlySet<string>;
  /** Assets with neighbours not shown (they get a "+"). */
  expandable: ReadonlySet<string>;
}

export interface RenderEvents {
  /** Click or Enter on an asset. */
  activate(id: string): void;
  /** Shift/Ctrl-click or Space on an asset. */
  toggle(id: string): void;
  /** Right-click (or the context-menu key) on an asset or a group; x, y in client pixels. */
  menu(id: string, x: number, y: number): void;
  expand(id: string): void;
  toggleGroup(name: string): void;
  /** Rubber band released over these assets. */
  band(ids: string[], additive: boolean): void;
  background(): void;
  hover(id: string | null, x: number, y: number): void;
}

type G = Selection<SVGGElement, unknown, null, undefined>;

/** Yield to the event loop (a macrotask, so input and rendering can run in between). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** Cut `text` to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}\u2026`;
}

/** The key as it fits in `max` characters: whole, else `…/last-segment`, else cut. */
export function keyLabel(key: string[], max: number): string {
  const full = key.join("/");
  if (full.length <= max) return full;
  const last = key[key.length - 1];
  return key.length > 1 && last.length + 2 <= max ? `\u2026/${last}` : clip(last, max);
}

/** An SVG path through the route's points, corners rounded. */
export function routePath(points: number[], radius = 8): string {
  if (points.length < 4) return "";
  let d = `M${points[0]},${points[1]}`;
  for (let i = 2; i < points.length - 2; i += 2) {
    const [px, py, x, y, nx, ny] = [points[i - 2], points[i - 1], points[i], points[i + 1], points[i + 2], points[i + 3]];
    const r = Math.min(radius, Math.hypot(x - px, y - py) / 2, Math.hypot(nx - x, ny - y) / 2);
    const ax = x - (Math.sign(x - px) * r), ay = y - (Math.sign(y - py) * r);
    const bx = x + (Math.sign(nx - x) * r), by = y + (Math.sign(ny - y) * r);
    d += `L${ax},${ay}Q${x},${y} ${bx},${by}`;
  }
  return `${d}L${points[points.length - 2]},${points[points.length - 1]}`;
}

export function statusCounts(model: GraphModel, ids: string[]): Record<AssetState, number> {
  const counts: Record<AssetState, number> = { fresh: 0, stale: 0, failed: 0, running: 0, missing: 0 };
  for (const id of ids) counts[model.status(id).state]++;
  return counts;
}

export class Renderer {
  readonly svg: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly layers: Record<"frames" | "plan" | "edges" | "nodes" | "badges", SVGGElement>;
  private readonly band: SVGRectElement;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private readonly items = new Map<string, SVGGElement>();
  private readonly edgeEls = new Map<string, SVGPathElement>();
  private view: View | undefined;
  private layout: LayoutResult | undefined;
  private transform: ZoomTransform = zoomIdentity;
  /** Called after every zoom or pan (the panel saves the transform); `byUser` for gestures. */
  onTransform: (t: ZoomTransform, byUser: boolean) => void = () => undefined;

  constructor(host: HTMLElement, private readonly events: RenderEvents) {
    const svg = select(host).append("svg").attr("class", "graph").attr("tabindex", 0).attr("role", "application")
      .attr("aria-label", "Lineage graph. Scroll to pan, Ctrl+scroll to zoom, drag to select.");
    this.svg = svg.node()!;
    const defs = svg.append("defs");
    for (const kind of ["plain", "cross", "hl"]) {
      defs.append("marker").attr("id", `arrow-${kind}`).attr("class", `arrow arrow-${kind}`).attr("viewBox", "0 0 10 10")
        .attr("refX", 9).attr("refY", 5).attr("markerWidth", 7).attr("markerHeight", 7).attr("orient", "auto")
        .append("path").attr("d", "M0,0.5L10,5L0,9.5z");
    }
    const viewport = svg.append("g").attr("class", "viewport");
    this.viewport = viewport.node()!;
    this.layers = {
      frames: viewport.append("g").attr("class", "layer-frames").node()!,
      plan: viewport.append("g").attr("class", "layer-plan").node()!,
      edges: viewport.append("g").attr("class", "layer-edges").node()!,
      nodes: viewport.append("g").attr("class", "layer-nodes").node()!,
      badges: viewport.append("g").attr("class", "layer-badges").node()!,
    };
    this.band = svg.append("rect").attr("class", "band").attr("visibility", "hidden").node()!;

    // Drag on empty space selects (rubber band); pan with scroll, middle button or Alt+drag; zoom with Ctrl+scroll or pinch.
    this.zoomer = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.04, 2.5])
      .filter((event: MouseEvent | TouchEvent) => {
        if (event.type === "wheel" || event.type === "dblclick") return false;
        if (event.type === "mousedown") return (event as MouseEvent).button === 1 || (event as MouseEvent).altKey;
        return true;
      })
      .on("zoom", (event: { transform: ZoomTransform; sourceEvent: Event | null }) => this.applyTransform(event.transform, !!event.sourceEvent || this.wheeling));
    svg.call(this.zoomer).on("dblclick.zoom", null);
    this.svg.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.wireEvents();
  }

  get currentTransform(): ZoomTransform {
    return this.transform;
  }

  /** Box of an item in graph coordinates. */
  box(id: string): Box | undefined {
    return this.layout?.nodes[id];
  }

  /**
   * Draw `view` at the places in `layout`. Existing elements are moved, new ones created in
   * slices; resolves false when `isCurrent` turned false in between (a newer draw took over).
   */
  async draw(view: View, layout: LayoutResult, ctx: DrawContext, isCurrent: () => boolean): Promise<boolean> {
    this.view = view;
    this.layout = layout;
    const wanted = new Set(view.items.map((i) => i.id));
    for (const [id, el] of this.items) if (!wanted.has(id)) { el.remove(); this.items.delete(id); }
    const wantedEdges = new Set(view.edges.map((e) => e.id));
    for (const [id, el] of this.edgeEls) if (!wantedEdges.has(id)) { el.remove(); this.edgeEls.delete(id); }
    select(this.layers.plan).selectAll("*").remove();
    select(this.layers.badges).selectAll("*").remove();

    let sliceStart = performance.now();
    const maybeYield = async (): Promise<boolean> => {
      if (performance.now() - sliceStart < SLICE_MS) return true;
      await nextTask();
      sliceStart = performance.now();
      return isCurrent();
    };
    // Assets first (what the user looks for), then edges.
    for (const item of view.items) {
      const box = layout.nodes[item.id];
      if (!box) continue;
      let el = this.items.get(item.id);
      if (!el || el.dataset.kind !== this.itemKind(item)) {
        el?.remove();
        el = this.createItem(item, box);
        this.items.set(item.id, el);
      }
      el.setAttribute("transform", `translate(${box.x},${box.y})`);
      if (item.type === "group" && item.expanded) this.sizeFrame(el, box);
      this.styleItem(el, item, ctx);
      if (!(await maybeYield())) return false;
    }
    for (const edge of view.edges) {
      const points = layout.edges[edge.id];
      if (!points) continue;
      let el = this.edgeEls.get(edge.id);
      if (!el) {
        el = document.createElementNS(SVG_NS, "path");
        el.dataset.from = edge.from;
        el.dataset.to = edge.to;
        this.layers.edges.appendChild(el);
        this.edgeEls.set(edge.id, el);
      }
      el.setAttribute("d", routePath(points));
      this.styleEdge(el, edge, ctx);
      if (!(await maybeYield())) return false;
    }
    return isCurrent();
  }

  /** Re-apply statuses, selection, matches and highlights without moving anything. */
  restyle(ctx: DrawContext): void {
    if (!this.view) return;
    for (const item of this.view.items) {
      const el = this.items.get(item.id);
      if (el) this.styleItem(el, item, ctx);
    }
    for (const edge of this.view.edges) {
      const el = this.edgeEls.get(edge.id);
      if (el) this.styleEdge(el, edge, ctx);
    }
  }

  /** The plan overlay layers (hulls under the graph, badges over it), cleared on every draw. */
  get planLayers(): { hulls: SVGGElement; badges: SVGGElement } {
    return { hulls: this.layers.plan, badges: this.layers.badges };
  }

  fit(ids?: string[], animate = false): void {
    if (!this.layout) return;
    const boxes = ids?.length ? ids.map((id) => this.layout!.nodes[id]).filter((b): b is Box => !!b) : [];
    const bounds = boxes.length
      ? boxes.reduce((acc, b) => ({ x0: Math.min(acc.x0, b.x), y0: Math.min(acc.y0, b.y), x1: Math.max(acc.x1, b.x + b.w), y1: Math.max(acc.y1, b.y + b.h) }), { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity })
      : { x0: 0, y0: 0, x1: this.layout.width, y1: this.layout.height };
    const { width, height } = this.svg.getBoundingClientRect();
    if (!width || !height) return;
    const pad = 24;
    const k = Math.max(0.04, Math.min(1.1, (width - 2 * pad) / Math.max(1, bounds.x1 - bounds.x0), (height - 2 * pad) / Math.max(1, bounds.y1 - bounds.y0)));
    const t = zoomIdentity.translate(width / 2 - (k * (bounds.x0 + bounds.x1)) / 2, height / 2 - (k * (bounds.y0 + bounds.y1)) / 2).scale(k);
    this.setTransform(t, animate);
  }

  zoomBy(factor: number): void {
    const { width, height } = this.svg.getBoundingClientRect();
    this.zoomer.scaleBy(select(this.svg), factor, [width / 2, height / 2]);
  }

  setTransform(t: ZoomTransform | { x: number; y: number; k: number }, _animate = false): void {
    this.zoomer.transform(select(this.svg), zoomIdentity.translate(t.x, t.y).scale(t.k));
  }

  /** Where an item is on screen, relative to the svg (to keep it in place across a relayout). */
  screenPoint(id: string): { x: number; y: number } | undefined {
    const box = this.layout?.nodes[id];
    return box ? { x: this.transform.applyX(box.x), y: this.transform.applyY(box.y) } : undefined;
  }

  /** Pan so that `id` is at screen point `p` (after a relayout). */
  pinTo(id: string, p: { x: number; y: number }): void {
    const box = this.layout?.nodes[id];
    if (!box) return;
    const k = this.transform.k;
    this.setTransform({ x: p.x - k * box.x, y: p.y - k * box.y, k });
  }

  private applyTransform(t: ZoomTransform, byUser: boolean): void {
    this.transform = t;
    this.viewport.setAttribute("transform", t.toString());
    this.svg.classList.toggle("lod-low", t.k < LOD_SCALE);
    this.onTransform(t, byUser);
  }

  private wheeling = false;

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    this.wheeling = true;
    try {
      this.wheel(e);
    } finally {
      this.wheeling = false;
    }
  }

  private wheel(e: WheelEvent): void {
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const svg = select(this.svg);
    if (e.ctrlKey || e.metaKey) {
      const rect = this.svg.getBoundingClientRect();
      this.zoomer.scaleBy(svg, Math.pow(2, (-e.deltaY * unit) / 300), [e.clientX - rect.left, e.clientY - rect.top]);
    } else {
      const dx = e.shiftKey && !e.deltaX ? e.deltaY : e.deltaX;
      const dy = e.shiftKey && !e.deltaX ? 0 : e.deltaY;
      this.zoomer.translateBy(svg, (-dx * unit) / this.transform.k, (-dy * unit) / this.transform.k);
    }
  }

  private itemKind(item: ViewItem): string {
    return item.type === "node" ? "node" : item.expanded ? "frame" : "group";
  }

  private createItem(item: ViewItem, box: Box): SVGGElement {
    if (item.type === "node") return this.createNode(item, box);
    return item.expanded ? this.createFrame(item) : this.createGroup(item, box);
  }

  private createNode(item: NodeItem, box: Box): SVGGElement {
    const n = item.node;
    const g: G = select(this.layers.nodes).append("g").attr("data-id", item.id).attr("data-kind", "node")
      .attr("tabindex", 0).attr("role", "button")
      .attr("aria-label", `${n.id}, ${KIND_LABEL[n.kind]}${n.group ? `, group ${n.group}` : ""}`);
    g.append("rect").attr("class", "body").attr("width", box.w).attr("height", box.h).attr("rx", 6);
    g.append("rect").attr("class", "bar").attr("width", 5).attr("height", box.h).attr("rx", 2.5);
    g.append("path").attr("class", `icon tech-${techOf(n)}`).attr("transform", "translate(13,9)").attr("d", KIND_ICON[n.kind]);
    g.append("text").attr("class", "label").attr("x", 36).attr("y", 21).text(keyLabel(n.key, Math.floor((box.w - 46) / LABEL_CHAR_W)));
    const sub = `${KIND_LABEL[n.kind]}${n.group ? ` \u00b7 ${n.group}` : ""}`;
    g.append("text").attr("class", "sub").attr("x", 36).attr("y", 39).text(clip(sub, Math.floor((box.w - 100) / 6.1)));
    g.append("text").attr("class", "state").attr("x", box.w - 9).attr("y", 39).attr("text-anchor", "end");
    return g.node()!;
  }

  private createGroup(item: GroupItem, box: Box): SVGGElement {
    const g: G = select(this.layers.nodes).append("g").attr("data-id", item.id).attr("data-kind", "group")
      .attr("data-group", item.name).attr("tabindex", 0).attr("role", "button")
      .attr("aria-label", `group ${item.name}, ${item.members.length} assets, press Enter to open`);
    g.append("rect").attr("class", "stack").attr("x", 5).attr("y", 5).attr("width", box.w).attr("height", box.h).attr("rx", 8);
    g.append("rect").attr("class", "body").attr("width", box.w).attr("height", box.h).attr("rx", 8);
    g.append("path").attr("class", "chevron").attr("transform", `translate(${box.w - 26},8)`).attr("d", CHEVRON_RIGHT);
    g.append("text").attr("class", "label").attr("x", 12).attr("y", 22).text(clip(item.name, Math.floor((box.w - 44) / 7.3)));
    g.append("text").attr("class", "sub").attr("x", 12).attr("y", 40);
    g.append("g").attr("class", "summary").attr("transform", `translate(12,${box.h - 14})`);
    return g.node()!;
  }

  private createFrame(item: GroupItem): SVGGElement {
    const g: G = select(this.layers.frames).append("g").attr("data-id", item.id).attr("data-kind", "frame").attr("data-group", item.name);
    g.append("rect").attr("class", "frame").attr("rx", 10);
    const header = g.append("g").attr("class", "frame-header").attr("tabindex", 0).attr("role", "button")
      .attr("aria-label", `group ${item.name}, open; press Enter to close`);
    header.append("rect").attr("class", "frame-hit").attr("height", 28);
    header.append("path").attr("class", "chevron").attr("transform", "translate(8,6)").attr("d", CHEVRON_DOWN);
    header.append("text").attr("class", "label").attr("x", 30).attr("y", 19).text(`${item.name} \u00b7 ${item.members.length} assets`);
    return g.node()!;
  }

  private sizeFrame(el: SVGGElement, box: Box): void {
    select(el).select("rect.frame").attr("width", box.w).attr("height", box.h);
    select(el).select("rect.frame-hit").attr("width", box.w);
  }

  private styleItem(el: SVGGElement, item: ViewItem, ctx: DrawContext): void {
    if (item.type === "node") {
      const state = ctx.model.status(item.id).state;
      const cls = ["node", `kind-${item.node.kind}`, `status-${state}`];
      if (ctx.selection.has(item.id)) cls.push("selected");
      if (ctx.centre.has(item.id)) cls.push("centre");
      if (ctx.matches) cls.push(ctx.matches.has(item.id) ? "match" : "dim");
      el.setAttribute("class", cls.join(" "));
      el.setAttribute("aria-pressed", String(ctx.selection.has(item.id)));
      const stateText = el.querySelector("text.state");
      if (stateText && stateText.textContent !== state) stateText.textContent = state;
      this.styleExpander(el, item, ctx);
      return;
    }
    if (item.expanded) {
      el.setAttribute("class", "group-frame");
      return;
    }
    const cls = ["group"];
    if (item.members.length && item.members.every((m) => ctx.selection.has(m))) cls.push("selected");
    if (ctx.matches) cls.push(item.members.some((m) => ctx.matches!.has(m)) ? "match" : "dim");
    if (item.members.some((m) => ctx.centre.has(m))) cls.push("centre");
    el.setAttribute("class", cls.join(" "));
    const counts = statusCounts(ctx.model, item.members);
    const ts = item.members.filter((m) => ctx.model.nodes.get(m)?.kind === "ts_asset").length;
    const problems = [counts.failed && `${counts.failed} failed`, counts.stale && `${counts.stale} stale`, counts.running && `${counts.running} running`].filter(Boolean);
    select(el).select("text.sub").text(`${item.members.length} assets${ts ? ` (${ts} TS)` : ""}${problems.length ? ` \u00b7 ${problems.join(", ")}` : ""}`);
    const width = GROUP_BAR_WIDTH;
    let x = 0;
    const segments = STATES.filter((s) => counts[s] > 0).map((s) => {
      const w = (counts[s] / item.members.length) * width;
      const seg = { state: s, x, w };
      x += w;
      return seg;
    });
    select(el).select("g.summary").selectAll<SVGRectElement, (typeof segments)[number]>("rect")
      .data(segments)
      .join("rect")
      .attr("class", (d) => `seg status-${d.state}`)
      .attr("x", (d) => d.x)
      .attr("width", (d) => Math.max(0, d.w - 1))
      .attr("height", 5)
      .attr("rx", 1.5);
  }

  private styleExpander(el: SVGGElement, item: NodeItem, ctx: DrawContext): void {
    const has = ctx.expandable.has(item.id);
    const existing = el.querySelector("g.expand");
    if (has && !existing) {
      const g = select(el).append("g").attr("class", "expand").attr("transform", `translate(${NODE_EXPANDER_X},-8)`)
        .attr("tabindex", 0).attr("role", "button").attr("aria-label", `show the hidden neighbours of ${item.id}`);
      g.append("circle").attr("cx", 8).attr("cy", 8).attr("r", 8);
      g.append("path").attr("d", PLUS);
    } else if (!has && existing) {
      existing.remove();
    }
  }

  private styleEdge(el: SVGPathElement, edge: ViewEdge, ctx: DrawContext): void {
    const hl = ctx.selection.size > 0 && (this.touchesSelection(edge.from, ctx) || this.touchesSelection(edge.to, ctx));
    const dim = ctx.matches !== null && !(this.matched(edge.from, ctx) && this.matched(edge.to, ctx));
    const cls = ["edge"];
    if (edge.cross) cls.push("cross");
    if (edge.count > 1) cls.push("bundle");
    if (hl) cls.push("hl");
    if (dim) cls.push("dim");
    el.setAttribute("class", cls.join(" "));
    el.setAttribute("marker-end", `url(#arrow-${hl ? "hl" : edge.cross ? "cross" : "plain"})`);
    if (edge.count > 1) el.setAttribute("stroke-width", String(Math.min(6, 1.2 + Math.log2(edge.count))));
  }

  private touchesSelection(itemId: string, ctx: DrawContext): boolean {
    const item = this.view?.byId.get(itemId);
    if (!item) return false;
    return item.type === "node" ? ctx.selection.has(itemId) : item.members.some((m) => ctx.selection.has(m));
  }

  private matched(itemId: string, ctx: DrawContext): boolean {
    const item = this.view?.byId.get(itemId);
    if (!item || !ctx.matches) return false;
    return item.type === "node" ? ctx.matches.has(itemId) : item.members.some((m) => ctx.matches!.has(m));
  }

  /** One set of listeners on the svg for every element (thousands of nodes, no per-node handlers). */
  private wireEvents(): void {
    const target = (e: Event): { id: string; kind: string; el: Element; part?: string } | undefined => {
      const el = (e.target as Element).closest?.("[data-id]");
      if (!el) return undefined;
      const part = (e.target as Element).closest(".expand") ? "expand" : (e.target as Element).closest(".frame-header") ? "header" : undefined;
      return { id: el.getAttribute("data-id")!, kind: el.getAttribute("data-kind")!, el, part };
    };
    const groupName = (el: Element): string => el.getAttribute("data-group") ?? "";

    this.svg.addEventListener("click", (e) => {
      const t = target(e);
      if (!t) return;
      if (t.part === "expand") return this.events.expand(t.id);
      if (t.kind === "frame") {
        if (t.part === "header") this.events.toggleGroup(groupName(t.el));
        return;
      }
      if (e.shiftKey || e.ctrlKey || e.metaKey) return this.events.toggle(t.id);
      if (t.kind === "group") return this.events.toggleGroup(groupName(t.el));
      this.events.activate(t.id);
    });
    this.svg.addEventListener("contextmenu", (e) => {
      const t = target(e);
      e.preventDefault();
      if (t && t.kind !== "frame") this.events.menu(t.id, e.clientX, e.clientY);
    });
    this.svg.addEventListener("keydown", (e) => {
      const t = target(e);
      if (!t) {
        if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
        else if (e.key === "-") this.zoomBy(0.8);
        else if (e.key === "0") this.fit();
        else return;
        e.preventDefault();
        return;
      }
      const rect = t.el.getBoundingClientRect();
      if (e.key === "Enter") {
        if (t.part === "expand") this.events.expand(t.id);
        else if (t.kind !== "node") this.events.toggleGroup(groupName(t.el));
        else this.events.activate(t.id);
      } else if (e.key === " " && t.kind !== "frame") {
        this.events.toggle(t.id);
      } else if ((e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) && t.kind !== "frame") {
        this.events.menu(t.id, rect.left + 20, rect.top + rect.height / 2);
      } else {
        return;
      }
      e.preventDefault();
    });
    this.svg.addEventListener("pointerover", (e) => {
      const t = target(e);
      this.events.hover(t && t.kind !== "frame" ? t.id : null, e.clientX, e.clientY);
    });
    this.svg.addEventListener("pointerleave", () => this.events.hover(null, 0, 0));
    this.wireBand();
  }

  /** Drag on empty space: a rubber band selecting the assets it touches. */
  private wireBand(): void {
    let start: { x: number; y: number; id: number; additive: boolean } | undefined;
    const local = (e: PointerEvent): { x: number; y: number } => {
      const r = this.svg.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    this.svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || e.altKey || (e.target as Element).closest("[data-id]")) return;
      start = { ...local(e), id: e.pointerId, additive: e.shiftKey || e.ctrlKey || e.metaKey };
      this.svg.setPointerCapture(e.pointerId);
      this.svg.focus({ preventScroll: true });
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!start || e.pointerId !== start.id) return;
      const p = local(e);
      const band = select(this.band).attr("visibility", "visible");
      band.attr("x", Math.min(p.x, start.x)).attr("y", Math.min(p.y, start.y)).attr("width", Math.abs(p.x - start.x)).attr("height", Math.abs(p.y - start.y));
    });
    const finish = (e: PointerEvent): void => {
      if (!start || e.pointerId !== start.id) return;
      const p = local(e);
      const s = start;
      start = undefined;
      this.band.setAttribute("visibility", "hidden");
      if (Math.abs(p.x - s.x) < 4 && Math.abs(p.y - s.y) < 4) return this.events.background();
      const [x0, x1] = [Math.min(p.x, s.x), Math.max(p.x, s.x)].map((v) => this.transform.invertX(v));
      const [y0, y1] = [Math.min(p.y, s.y), Math.max(p.y, s.y)].map((v) => this.transform.invertY(v));
      const ids: string[] = [];
      for (const item of this.view?.items ?? []) {
        const b = this.layout?.nodes[item.id];
        if (!b || (item.type === "group" && item.expanded)) continue;
        if (b.x < x1 && b.x + b.w > x0 && b.y < y1 && b.y + b.h > y0) ids.push(...(item.type === "node" ? [item.id] : item.members));
      }
      this.events.band(ids, s.additive);
    };
    this.svg.addEventListener("pointerup", finish);
    this.svg.addEventListener("pointercancel", finish);
  }
}
