/**
 * The SVG of one asset, group or edge: rounded boxes with the kind's shape, key, kind and group,
 * and a status bar; groups as stacked boxes with counts and a status summary; edges as routed
 * paths with arrowheads. Styling is classes only; colours are in panel.css.
 */
import { select, type Selection } from "d3-selection";
import type { AssetState, StatusSummary } from "../../server/src/protocol/status";
import { CHEVRON_DOWN, CHEVRON_RIGHT, KIND_ICON, PLUS } from "./icons";
import type { Box } from "./layoutTypes";
import { KIND_LABEL, STATE_ORDER, techOf, type GraphModel } from "./model";
import { COLUMN_ROW_H, GROUP_W, NODE_H, NODE_W, type GroupItem, type NodeItem, type View, type ViewEdge, type ViewItem } from "./overview";

/** Width of one character of an asset label (monospace, 12px). */
const LABEL_CHAR_W = 7.3;
const GROUP_BAR_WIDTH = GROUP_W - 24;
/** The "+" sits on the top edge, near the right end. */
const NODE_EXPANDER_X = NODE_W - 24;

type G = Selection<SVGGElement, unknown, null, undefined>;

export interface DrawContext {
  model: GraphModel;
  selection: ReadonlySet<string>;
  /** Search matches, or null when there is no search. */
  matches: ReadonlySet<string> | null;
  centre: ReadonlySet<string>;
  /** Assets with neighbours not shown (they get a "+"). */
  expandable: ReadonlySet<string>;
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
export function routePath(points: ArrayLike<number>, radius = 8): string {
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

/** How many of `ids` are in each state. */
export function statusCounts(model: GraphModel, ids: string[]): Record<AssetState, number> {
  const counts: Record<AssetState, number> = { fresh: 0, stale: 0, failed: 0, running: 0, missing: 0 };
  for (const id of ids) counts[model.status(id).state]++;
  return counts;
}

/** What an item's element shows that never changes in place: a different one needs a new element. */
export function itemSignature(item: ViewItem): string {
  if (item.type === "group") return `${item.expanded ? "frame" : "group"}|${item.name}|${item.members.length}`;
  const n = item.node;
  const cols = item.columns ? `|${item.columns.note ?? ""}|${item.columns.names.join("\u0001")}|${item.columns.titles?.join("\u0001") ?? ""}` : "";
  return `node|${n.kind}|${n.key.join("/")}|${n.group ?? ""}${cols}`;
}

/** Create the element of an item in its layer (assets and groups in `nodes`, open groups in `frames`). */
export function createItem(layers: { nodes: SVGGElement; frames: SVGGElement }, item: ViewItem, box: Box): SVGGElement {
  if (item.type === "node") return createNode(layers.nodes, item, box);
  return item.expanded ? createFrame(layers.frames, item) : createGroup(layers.nodes, item, box);
}

function createNode(layer: SVGGElement, item: NodeItem, box: Box): SVGGElement {
  const n = item.node;
  const g: G = select(layer).append("g").attr("data-id", item.id).attr("data-kind", "node").attr("data-sig", itemSignature(item))
    .attr("tabindex", 0).attr("role", "button")
    .attr("aria-label", `${n.id}, ${KIND_LABEL[n.kind]}${n.group ? `, group ${n.group}` : ""}`);
  g.append("rect").attr("class", "body").attr("width", box.w).attr("height", box.h).attr("rx", 6);
  g.append("rect").attr("class", "bar").attr("width", 5).attr("height", box.h).attr("rx", 2.5);
  g.append("path").attr("class", `icon tech-${techOf(n)}`).attr("transform", "translate(13,9)").attr("d", KIND_ICON[n.kind]);
  g.append("text").attr("class", "label").attr("x", 36).attr("y", 21).text(keyLabel(n.key, Math.floor((box.w - 46) / LABEL_CHAR_W)));
  const sub = `${KIND_LABEL[n.kind]}${n.group ? ` \u00b7 ${n.group}` : ""}`;
  g.append("text").attr("class", "sub").attr("x", 36).attr("y", 39).text(clip(sub, Math.floor((box.w - 100) / 6.1)));
  g.append("text").attr("class", "state").attr("x", box.w - 9).attr("y", 39).attr("text-anchor", "end");
  if (item.columns) appendColumnRows(g, item, box);
  return g.node()!;
}

/** The rows of an asset expanded into its columns (each focusable; Enter or a click highlights its path). */
function appendColumnRows(g: G, item: NodeItem, box: Box): void {
  const cols = item.columns!;
  const list = g.append("g").attr("class", "columns").attr("role", "list").attr("aria-label", `columns of ${item.id}`);
  list.append("line").attr("class", "columns-rule").attr("x1", 6).attr("x2", box.w - 6).attr("y1", NODE_H - 2).attr("y2", NODE_H - 2);
  if (!cols.names.length) {
    list.append("text").attr("class", "columns-note").attr("x", 14).attr("y", NODE_H + 14).text(clip(cols.note ?? "", Math.floor((box.w - 20) / 6.1)))
      .append("title").text(cols.note ?? "");
    return;
  }
  cols.names.forEach((name, i) => {
    const row = list.append("g").attr("class", "column-row").attr("data-column", name).attr("transform", `translate(0,${NODE_H + i * COLUMN_ROW_H})`)
      .attr("tabindex", 0).attr("role", "button").attr("aria-pressed", "false").attr("aria-label", `column ${name} of ${item.id}; press Enter to highlight its lineage`);
    row.append("rect").attr("class", "column-hit").attr("x", 4).attr("width", box.w - 8).attr("height", COLUMN_ROW_H).attr("rx", 3);
    row.append("text").attr("class", "column-name").attr("x", 14).attr("y", 14).text(clip(name, Math.floor((box.w - 28) / 6.6)));
    const title = cols.titles?.[i];
    if (title) row.append("title").text(title);
  });
}

function createGroup(layer: SVGGElement, item: GroupItem, box: Box): SVGGElement {
  const g: G = select(layer).append("g").attr("data-id", item.id).attr("data-kind", "group").attr("data-sig", itemSignature(item))
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

function createFrame(layer: SVGGElement, item: GroupItem): SVGGElement {
  const g: G = select(layer).append("g").attr("data-id", item.id).attr("data-kind", "frame").attr("data-sig", itemSignature(item))
    .attr("data-group", item.name);
  g.append("rect").attr("class", "frame").attr("rx", 10);
  const header = g.append("g").attr("class", "frame-header").attr("tabindex", 0).attr("role", "button")
    .attr("aria-label", `group ${item.name}, open; press Enter to close`);
  header.append("rect").attr("class", "frame-hit").attr("height", 28);
  header.append("path").attr("class", "chevron").attr("transform", "translate(8,6)").attr("d", CHEVRON_DOWN);
  header.append("text").attr("class", "label").attr("x", 30).attr("y", 19).text(`${item.name} \u00b7 ${item.members.length} assets`);
  return g.node()!;
}

/** An open group's frame takes the size ELK gave it. */
export function sizeFrame(el: SVGGElement, box: Box): void {
  select(el).select("rect.frame").attr("width", box.w).attr("height", box.h);
  select(el).select("rect.frame-hit").attr("width", box.w);
}

/** Classes (kind, status, selection, search) and the parts that show state. */
export function styleItem(el: SVGGElement, item: ViewItem, ctx: DrawContext): void {
  if (item.type === "node") {
    const status = ctx.model.status(item.id);
    const state = status.state;
    const cls = ["node", `kind-${item.node.kind}`, `status-${state}`];
    if (ctx.selection.has(item.id)) cls.push("selected");
    if (ctx.centre.has(item.id)) cls.push("centre");
    if (ctx.matches) cls.push(ctx.matches.has(item.id) ? "match" : "dim");
    el.setAttribute("class", cls.join(" "));
    el.setAttribute("aria-pressed", String(ctx.selection.has(item.id)));
    const stateText = el.querySelector("text.state");
    if (stateText && stateText.textContent !== state) stateText.textContent = state;
    styleExpander(el, item, ctx);
    styleChecks(el, status.checks);
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
  const segments = STATE_ORDER.filter((s) => counts[s] > 0).map((s) => {
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

/**
 * The checks badge: a pill on the node's top edge, `✗ 1/5` when a check failed, `⚠ 2/5` when some
 * warned, else `✓ 4/5` (passed of all); its tooltip is the one-line summary.
 */
function styleChecks(el: SVGGElement, checks: StatusSummary["checks"]): void {
  const existing = el.querySelector<SVGGElement>("g.checks");
  if (!checks || checks.total === 0) {
    existing?.remove();
    return;
  }
  const badge = existing ? select(existing) : select(el).append("g").attr("class", "checks").attr("transform", "translate(12,-8)");
  if (!existing) {
    badge.append("rect").attr("height", 15).attr("rx", 7.5);
    badge.append("text").attr("x", 7).attr("y", 11);
    badge.append("title");
  }
  const [mark, n, level] = checks.failed ? ["\u2717", checks.failed, "failed"] : checks.warned ? ["\u26a0", checks.warned, "warned"] : ["\u2713", checks.passed, checks.passed === checks.total ? "passed" : "partial"];
  const text = `${mark} ${n}/${checks.total}`;
  badge.attr("class", `checks checks-${level}`).attr("aria-label", checks.text);
  badge.select("text").text(text);
  badge.select("rect").attr("width", 14 + text.length * 6.2);
  badge.select("title").text(checks.text);
}

function styleExpander(el: SVGGElement, item: NodeItem, ctx: DrawContext): void {
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

export function styleEdge(el: SVGPathElement, edge: ViewEdge, ctx: DrawContext, view: View): void {
  const hl = ctx.selection.size > 0 && (touches(view, edge.from, ctx.selection) || touches(view, edge.to, ctx.selection));
  const dim = ctx.matches !== null && !(touches(view, edge.from, ctx.matches) && touches(view, edge.to, ctx.matches));
  const cls = ["edge"];
  if (edge.cross) cls.push("cross");
  if (edge.count > 1) cls.push("bundle");
  if (hl) cls.push("hl");
  if (dim) cls.push("dim");
  el.setAttribute("class", cls.join(" "));
  el.setAttribute("marker-end", `url(#arrow-${hl ? "hl" : edge.cross ? "cross" : "plain"})`);
  if (edge.count > 1) el.setAttribute("stroke-width", String(Math.min(6, 1.2 + Math.log2(edge.count))));
}

/** Whether an item (an asset, or any asset of a group) is in `ids`. */
function touches(view: View, itemId: string, ids: ReadonlySet<string>): boolean {
const item = view.byId.get(itemId);
if (!item) return false;
return item.type === "node" ? ids.has(itemId) : item.members.some((m) => ids.has(m));
}
