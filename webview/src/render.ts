/**
 * The drawing, with d3: one svg with layers (group frames, plan hulls, edges, assets, badges),
 * zoom and pan with d3-zoom, fit. Elements come from shapes.ts, gestures go through pointer.ts.
 * Big graphs are drawn in slices of a few milliseconds so the page never stalls.
 */
import { select } from "d3-selection";
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from "d3-zoom";
import type { Box, LayoutResult } from "./layoutTypes";
import type { View } from "./overview";
import { wirePointer, type RenderEvents } from "./pointer";
import { createItem, itemSignature, routePath, sizeFrame, styleEdge, styleItem, type DrawContext } from "./shapes";

export type { DrawContext } from "./shapes";
export type { RenderEvents } from "./pointer";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Milliseconds of drawing before yielding to the browser. */
const SLICE_MS = 8;
/** Below this zoom, labels are hidden (they would be unreadable, and are costly to paint). */
const LOD_SCALE = 0.45;

/** Yield to the event loop (a macrotask, so input and rendering can run in between). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

export class Renderer {
  readonly svg: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly layers: Record<"frames" | "plan" | "edges" | "nodes" | "columns" | "badges", SVGGElement>;
  private readonly band: SVGRectElement;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private readonly items = new Map<string, SVGGElement>();
  private readonly edgeEls = new Map<string, SVGPathElement>();
  private view: View | undefined;
  private layout: LayoutResult | undefined;
  private transform: ZoomTransform = zoomIdentity;
  /** Called after every zoom or pan (the panel saves the transform); `byUser` for gestures. */
  onTransform: (t: ZoomTransform, byUser: boolean) => void = () => undefined;

  constructor(host: HTMLElement, events: RenderEvents) {
    const svg = select(host).append("svg").attr("class", "graph").attr("tabindex", 0).attr("role", "application")
      .attr("aria-label", "Lineage graph. Scroll to pan, Ctrl+scroll to zoom, drag to select.");
    this.svg = svg.node()!;
    const defs = svg.append("defs");
    for (const kind of ["plain", "cross", "hl", "column"]) {
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
      columns: viewport.append("g").attr("class", "layer-columns").node()!,
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
    wirePointer(this.svg, this.band, events, {
      view: () => this.view,
      layout: () => this.layout,
      transform: () => this.transform,
      zoomBy: (f) => this.zoomBy(f),
      fit: () => this.fit(),
    });
  }

  /**
   * Draw `view` at the places in `layout`. `place` sets zoom and pan (it may use `fit`, `pinTo`);
   * then existing elements are moved and new ones created in slices. Resolves false when
   * `isCurrent` turned false in between (a newer draw took over).
   */
  async draw(view: View, layout: LayoutResult, ctx: DrawContext, isCurrent: () => boolean, place: () => void = () => undefined): Promise<boolean> {
    this.view = view;
    this.layout = layout;
    // Panning stops a little past the drawing's edges, so it cannot be lost off screen.
    const margin = 400;
    this.zoomer.translateExtent([[-margin, -margin], [layout.width + margin, layout.height + margin]]);
    // Zoom and pan first: far out, labels are hidden and the slices below draw cheaply.
    place();
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
      if (!el || el.dataset.sig !== itemSignature(item)) {
        el?.remove();
        el = createItem(this.layers, item, box);
        this.items.set(item.id, el);
      }
      el.setAttribute("transform", `translate(${box.x},${box.y})`);
      if (item.type === "group" && item.expanded) sizeFrame(el, box);
      styleItem(el, item, ctx);
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
      styleEdge(el, edge, ctx, view);
      if (!(await maybeYield())) return false;
    }
    return isCurrent();
  }

  /** Re-apply statuses, selection, matches and highlights without moving anything. */
  restyle(ctx: DrawContext): void {
    const view = this.view;
    if (!view) return;
    for (const item of view.items) {
      const el = this.items.get(item.id);
      if (el) styleItem(el, item, ctx);
    }
    for (const edge of view.edges) {
      const el = this.edgeEls.get(edge.id);
      if (el) styleEdge(el, edge, ctx, view);
    }
  }

  /** The plan overlay layers (hulls under the graph, badges over it), cleared on every draw. */
  get planLayers(): { hulls: SVGGElement; badges: SVGGElement } {
    return { hulls: this.layers.plan, badges: this.layers.badges };
  }

  /** The layer of column-to-column edges (over the assets; columnsView.ts paints it). */
  get columnLayer(): SVGGElement {
    return this.layers.columns;
  }

  /** Fit everything, or the items `ids`, to the panel (never zooming in past 110%). */
  fit(ids?: string[]): void {
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
    this.setTransform(t);
  }

  zoomBy(factor: number): void {
    const { width, height } = this.svg.getBoundingClientRect();
    this.zoomer.scaleBy(select(this.svg), factor, [width / 2, height / 2]);
  }

  setTransform(t: { x: number; y: number; k: number }): void {
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
}
