/**
 * A first layout on the main thread, for the moments ELK is not there yet (the worker and ELK
 * still loading when the first graph arrives): layers by longest path from the roots, one
 * barycentre pass to untangle, edges as three-segment polylines. Cheap (well under a millisecond
 * for 150 nodes) and good enough to show the graph at once; ELK's layout replaces it when ready.
 */
import type { Box, LayoutInput, LayoutResult } from "./layoutTypes";

/** Above this many nodes (or with group boxes) the panel waits for ELK instead. */
export const QUICK_LAYOUT_MAX = 200;
const PAD = 20;
const GAP_X = 60;
const GAP_Y = 16;

export function canQuickLayout(input: LayoutInput): boolean {
  return input.nodes.length > 0 && input.nodes.length <= QUICK_LAYOUT_MAX && input.nodes.every((n) => !n.parent);
}

export function quickLayout(input: LayoutInput): LayoutResult {
  const started = performance.now();
  const index = new Map(input.nodes.map((n, i) => [n.id, i]));
  const preds: number[][] = input.nodes.map(() => []);
  const succs: number[][] = input.nodes.map(() => []);
  for (const e of input.edges) {
    const a = index.get(e.from);
    const b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    preds[b].push(a);
    succs[a].push(b);
  }
  // Longest path from the roots (Kahn's order; nodes left on a cycle keep the layer reached so far).
  const layer = new Array<number>(input.nodes.length).fill(0);
  const indegree = preds.map((p) => p.length);
  const queue = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    for (const j of succs[i]) {
      layer[j] = Math.max(layer[j], layer[i] + 1);
      if (--indegree[j] === 0) queue.push(j);
    }
  }
  const layers: number[][] = [];
  input.nodes.forEach((_, i) => (layers[layer[i]] ??= []).push(i));
  // One barycentre pass: order each layer by the mean position of its predecessors.
  const rank = new Array<number>(input.nodes.length).fill(0);
  for (const members of layers) {
    if (!members) continue;
    const key = (i: number) => (preds[i].length ? preds[i].reduce((s, p) => s + rank[p], 0) / preds[i].length : rank[i]);
    members.sort((a, b) => key(a) - key(b) || a - b);
    members.forEach((i, r) => (rank[i] = r));
  }
  const heights = layers.map((m) => (m ?? []).reduce((s, i) => s + input.nodes[i].h, 0) + GAP_Y * Math.max(0, (m ?? []).length - 1));
  const tallest = Math.max(0, ...heights);
  const nodes: Record<string, Box> = {};
  let x = PAD;
  layers.forEach((members, l) => {
    if (!members) return;
    const width = Math.max(...members.map((i) => input.nodes[i].w));
    let y = PAD + (tallest - heights[l]) / 2;
    for (const i of members) {
      const n = input.nodes[i];
      nodes[n.id] = { x, y, w: n.w, h: n.h };
      y += n.h + GAP_Y;
    }
    x += width + GAP_X;
  });
  const edges: Record<string, number[]> = {};
  for (const e of input.edges) {
    const a = nodes[e.from];
    const b = nodes[e.to];
    if (!a || !b) continue;
    const x0 = a.x + a.w;
    const y0 = a.y + a.h / 2;
    const x1 = b.x;
    const y1 = b.y + b.h / 2;
    const xm = (x0 + x1) / 2;
    edges[e.id] = [x0, y0, xm, y0, xm, y1, x1, y1];
  }
  return { width: x - GAP_X + PAD, height: tallest + 2 * PAD, nodes, edges, ms: performance.now() - started };
}
