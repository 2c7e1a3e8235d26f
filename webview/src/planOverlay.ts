/**
 * The plan preview: a translucent hull around the assets that share one dbt invocation, a step
 * number on every planned asset, and the list of steps in order.
 */
import { select } from "d3-selection";
import type { Plan, PlanStep } from "../../server/src/protocol/plan";
import type { Box, LayoutResult } from "./layoutTypes";
import type { View } from "./overview";

export interface PlannedAsset {
  /** 1-based position of its step in the plan. */
  number: number;
  step: PlanStep;
}

export function indexPlan(plan: Plan): Map<string, PlannedAsset> {
  const index = new Map<string, PlannedAsset>();
  plan.steps.forEach((step, i) => {
    for (const id of step.assets) index.set(id, { number: i + 1, step });
  });
  return index;
}

const HULL_PAD = 9;

export function drawPlan(layers: { hulls: SVGGElement; badges: SVGGElement }, plan: Plan, view: View, layout: LayoutResult): void {
  select(layers.hulls).selectAll("*").remove();
  select(layers.badges).selectAll("*").remove();
  const planned = indexPlan(plan);
  plan.steps.forEach((step, i) => {
    if (step.kind !== "dbt") return;
    const members = step.assets.filter((id) => view.byId.get(id)?.type === "node" && layout.nodes[id]);
    if (members.length === 0) return;
    const memberSet = new Set(members);
    const hull = select(layers.hulls).append("g").attr("class", `hull hull-${i % 4}`).attr("data-step", step.id);
    // The union of padded boxes and thick strokes along the edges inside the step: a hull that
    // follows the graph instead of covering assets of other steps.
    for (const e of view.edges) {
      if (!memberSet.has(e.from) || !memberSet.has(e.to) || !layout.edges[e.id]) continue;
      const pts = layout.edges[e.id];
      let d = "";
      for (let k = 0; k < pts.length; k += 2) d += `${k === 0 ? "M" : "L"}${pts[k]},${pts[k + 1]}`;
      hull.append("path").attr("class", "hull-link").attr("d", d);
    }
    let top: Box | undefined;
    for (const id of members) {
      const b = layout.nodes[id];
      if (!top || b.y < top.y || (b.y === top.y && b.x < top.x)) top = b;
      hull.append("rect").attr("class", "hull-box").attr("x", b.x - HULL_PAD).attr("y", b.y - HULL_PAD)
        .attr("width", b.w + 2 * HULL_PAD).attr("height", b.h + 2 * HULL_PAD).attr("rx", 12);
    }
    select(layers.badges).append("text").attr("class", `hull-label hull-label-${i % 4}`)
      .attr("x", top!.x - HULL_PAD + 4).attr("y", top!.y - HULL_PAD - 4)
      .text(`step ${i + 1} \u00b7 one dbt invocation \u00b7 ${step.assets.length} node${step.assets.length === 1 ? "" : "s"}`);
  });
  // Step numbers: on each planned asset, and on a closed group the range of its steps.
  for (const item of view.items) {
    const b = layout.nodes[item.id];
    if (!b) continue;
    let text: string | undefined;
    let kind = "dbt";
    if (item.type === "node") {
      const p = planned.get(item.id);
      if (!p) continue;
      text = String(p.number);
      kind = p.step.kind;
    } else if (!item.expanded) {
      const numbers = item.members.map((m) => planned.get(m)?.number).filter((n): n is number => n !== undefined);
      if (!numbers.length) continue;
      const [lo, hi] = [Math.min(...numbers), Math.max(...numbers)];
      text = lo === hi ? String(lo) : `${lo}\u2013${hi}`;
    } else {
      continue;
    }
    const badge = select(layers.badges).append("g").attr("class", `step-badge step-${kind}`).attr("data-for", item.id)
      .attr("transform", `translate(${b.x - 6},${b.y - 6})`);
    const w = Math.max(18, 8 + text.length * 7);
    badge.append("rect").attr("x", -w / 2).attr("y", -9).attr("width", w).attr("height", 18).attr("rx", 9);
    badge.append("text").attr("text-anchor", "middle").attr("y", 4).text(text);
  }
}

/** The steps as an ordered list (the panel's plan sidebar). */
export function renderPlanList(host: HTMLElement, plan: Plan): void {
  host.replaceChildren();
  const title = document.createElement("div");
  title.className = "plan-title";
  const dbtSteps = plan.steps.filter((s) => s.kind === "dbt").length;
  title.textContent = `Plan: ${plan.steps.length} step${plan.steps.length === 1 ? "" : "s"} (${dbtSteps} dbt invocation${dbtSteps === 1 ? "" : "s"})`;
  const list = document.createElement("ol");
  for (const step of plan.steps) {
    const li = document.createElement("li");
    li.dataset.step = step.id;
    const head = document.createElement("span");
    head.className = `plan-kind plan-kind-${step.kind}`;
    head.textContent = step.kind === "dbt" ? `dbt build \u00b7 ${step.assets.length}` : "TypeScript";
    const assets = document.createElement("span");
    assets.className = "plan-assets";
    assets.textContent = step.assets.join(", ");
    assets.title = step.assets.join("\n");
    li.append(head, " ", assets);
    list.append(li);
  }
  host.append(title, list);
  const extra = [plan.inputs.length && `${plan.inputs.length} read as they are`, plan.external.length && `${plan.external.length} external`, plan.skipped.length && `${plan.skipped.length} skipped`].filter(Boolean);
  if (extra.length) {
    const note = document.createElement("div");
    note.className = "plan-note";
    note.textContent = extra.join(" \u00b7 ");
    host.append(note);
  }
}
