/**
 * Mouse, touch and keyboard on the drawing: click opens, Shift/Ctrl-click toggles the selection,
 * right-click (or the context-menu key) opens the menu, drag on empty space draws a rubber band,
 * Enter and Space act on the focused asset. Listeners sit on the svg (delegation), never inline.
 */
import { select } from "d3-selection";
import type { ZoomTransform } from "d3-zoom";
import type { LayoutResult } from "./layoutTypes";
import type { View } from "./overview";

/** What the panel does on gestures. */
export interface RenderEvents {
  /** Click or Enter on an asset. */
  activate(id: string): void;
  /** Shift/Ctrl-click or Space on an asset. */
  toggle(id: string): void;
  /** Right-click (or the context-menu key) on an asset or a group; x, y in client pixels. */
  menu(id: string, x: number, y: number): void;
  expand(id: string): void;
  /** Click, Enter or Space on a column row of an asset expanded into its columns. */
  column(id: string, column: string): void;
  toggleGroup(name: string): void;
  /** Rubber band released over these assets. */
  band(ids: string[], additive: boolean): void;
  background(): void;
  hover(id: string | null, x: number, y: number): void;
}

/** What the pointer handling needs to know of the drawing. */
export interface PointerView {
  view(): View | undefined;
  layout(): LayoutResult | undefined;
  transform(): ZoomTransform;
  zoomBy(factor: number): void;
  fit(): void;
}

/** One set of listeners on the svg for every element (thousands of nodes, no per-node handlers). */
export function wirePointer(svg: SVGSVGElement, band: SVGRectElement, events: RenderEvents, view: PointerView): void {
  const target = (e: Event): { id: string; kind: string; el: Element; part?: string; column?: string } | undefined => {
    const el = (e.target as Element).closest?.("[data-id]");
    if (!el) return undefined;
    const row = (e.target as Element).closest(".column-row");
    const part = (e.target as Element).closest(".expand") ? "expand" : (e.target as Element).closest(".frame-header") ? "header" : row ? "column" : undefined;
    return { id: el.getAttribute("data-id")!, kind: el.getAttribute("data-kind")!, el, part, ...(row ? { column: row.getAttribute("data-column") ?? "" } : {}) };
  };
  const groupName = (el: Element): string => el.getAttribute("data-group") ?? "";

  svg.addEventListener("click", (e) => {
    const t = target(e);
    if (!t) return;
    if (t.part === "expand") return events.expand(t.id);
    if (t.part === "column") return events.column(t.id, t.column!);
    if (t.kind === "frame") {
      if (t.part === "header") events.toggleGroup(groupName(t.el));
      return;
    }
    if (e.shiftKey || e.ctrlKey || e.metaKey) return events.toggle(t.id);
    if (t.kind === "group") return events.toggleGroup(groupName(t.el));
    events.activate(t.id);
  });
  svg.addEventListener("contextmenu", (e) => {
    const t = target(e);
    e.preventDefault();
    if (t && t.kind !== "frame") events.menu(t.id, e.clientX, e.clientY);
  });
  svg.addEventListener("keydown", (e) => {
    const t = target(e);
    if (!t) {
      if (e.key === "+" || e.key === "=") view.zoomBy(1.25);
      else if (e.key === "-") view.zoomBy(0.8);
      else if (e.key === "0") view.fit();
      else return;
      e.preventDefault();
      return;
    }
    const rect = t.el.getBoundingClientRect();
    if (t.part === "column" && (e.key === "Enter" || e.key === " ")) {
      events.column(t.id, t.column!);
    } else if (e.key === "Enter") {
      if (t.part === "expand") events.expand(t.id);
      else if (t.kind !== "node") events.toggleGroup(groupName(t.el));
      else events.activate(t.id);
    } else if (e.key === " " && t.kind !== "frame") {
      events.toggle(t.id);
    } else if ((e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) && t.kind !== "frame") {
      events.menu(t.id, rect.left + 20, rect.top + rect.height / 2);
    } else {
      return;
    }
    e.preventDefault();
  });
  svg.addEventListener("pointerover", (e) => {
    const t = target(e);
    // A column row has its own tooltip (where the column comes from).
    events.hover(t && t.kind !== "frame" && t.part !== "column" ? t.id : null, e.clientX, e.clientY);
  });
  svg.addEventListener("pointerleave", () => events.hover(null, 0, 0));
  wireBand(svg, band, events, view);
}

/** Drag on empty space: a rubber band selecting the assets it touches. */
function wireBand(svg: SVGSVGElement, bandEl: SVGRectElement, events: RenderEvents, view: PointerView): void {
  let start: { x: number; y: number; id: number; additive: boolean } | undefined;
  const local = (e: PointerEvent): { x: number; y: number } => {
    const r = svg.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || e.altKey || (e.target as Element).closest("[data-id]")) return;
    start = { ...local(e), id: e.pointerId, additive: e.shiftKey || e.ctrlKey || e.metaKey };
    svg.setPointerCapture(e.pointerId);
    svg.focus({ preventScroll: true });
  });
  svg.addEventListener("pointermove", (e) => {
    if (!start || e.pointerId !== start.id) return;
    const p = local(e);
    const rect = select(bandEl).attr("visibility", "visible");
    rect.attr("x", Math.min(p.x, start.x)).attr("y", Math.min(p.y, start.y)).attr("width", Math.abs(p.x - start.x)).attr("height", Math.abs(p.y - start.y));
  });
  const finish = (e: PointerEvent): void => {
    if (!start || e.pointerId !== start.id) return;
    const p = local(e);
    const s = start;
    start = undefined;
    bandEl.setAttribute("visibility", "hidden");
    if (Math.abs(p.x - s.x) < 4 && Math.abs(p.y - s.y) < 4) return events.background();
    const [x0, x1] = [Math.min(p.x, s.x), Math.max(p.x, s.x)].map((v) => view.transform().invertX(v));
    const [y0, y1] = [Math.min(p.y, s.y), Math.max(p.y, s.y)].map((v) => view.transform().invertY(v));
    const ids: string[] = [];
    for (const item of view.view()?.items ?? []) {
      const b = view.layout()?.nodes[item.id];
      if (!b || (item.type === "group" && item.expanded)) continue;
      if (b.x < x1 && b.x + b.w > x0 && b.y < y1 && b.y + b.h > y0) ids.push(...(item.type === "node" ? [item.id] : item.members));
    }
    events.band(ids, s.additive);
  };
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", finish);
}
