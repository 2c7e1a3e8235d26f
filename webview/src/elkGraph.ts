/**
 * Turning the panel's compact layout input into an ELK graph and ELK's answer into absolute
 * boxes and routes. Pure functions: the worker runs them, and so can a unit test in Node.
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { LayoutInput, LayoutResult, PackedLayout } from "./layoutTypes";

/** Layered, left to right; cheaper crossing minimization on bigger graphs (ELK is superlinear). */
function rootOptions(nodeCount: number, edgeCount: number, compound: boolean): Record<string, string> {
  return {
    "elk.algorithm": "layered",
    "elk.direction": "RIGHT",
    "elk.edgeRouting": "ORTHOGONAL",
    "elk.layered.thoroughness": nodeCount > 60 || edgeCount > 100 ? "1" : "7",
    "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
    "elk.spacing.nodeNode": "22",
    "elk.layered.spacing.nodeNodeBetweenLayers": "56",
    "elk.spacing.edgeNode": "14",
    "elk.layered.spacing.edgeNodeBetweenLayers": "14",
    "elk.spacing.componentComponent": "40",
    "elk.padding": "[top=16,left=16,bottom=16,right=16]",
    ...(compound ? { "elk.hierarchyHandling": "INCLUDE_CHILDREN" } : {}),
  };
}

const COMPOUND_PADDING = "[top=34,left=14,bottom=14,right=14]";

export function toElk(input: LayoutInput): ElkNode {
  const parents = new Set(input.nodes.flatMap((n) => (n.parent ? [n.parent] : [])));
  const byId = new Map<string, ElkNode>();
  for (const n of input.nodes) {
    byId.set(n.id, parents.has(n.id) ? { id: n.id, children: [], layoutOptions: { "elk.padding": COMPOUND_PADDING } } : { id: n.id, width: n.w, height: n.h });
  }
  const root: ElkNode = { id: "__root", layoutOptions: rootOptions(input.nodes.length, input.edges.length, parents.size > 0), children: [], edges: [] };
  for (const n of input.nodes) {
    const container = (n.parent && byId.get(n.parent)) || root;
    container.children!.push(byId.get(n.id)!);
  }
  for (const e of input.edges) {
    if (e.from !== e.to && byId.has(e.from) && byId.has(e.to)) root.edges!.push({ id: e.id, sources: [e.from], targets: [e.to] });
  }
  return root;
}

export function fromElk(root: ElkNode, ms: number): LayoutResult {
  const result: LayoutResult = { width: root.width ?? 0, height: root.height ?? 0, nodes: {}, edges: {}, ms };
  const offsets = new Map<string, { x: number; y: number }>([[root.id, { x: 0, y: 0 }]]);
  const visit = (node: ElkNode, ox: number, oy: number): void => {
    for (const child of node.children ?? []) {
      const x = ox + (child.x ?? 0);
      const y = oy + (child.y ?? 0);
      result.nodes[child.id] = { x, y, w: child.width ?? 0, h: child.height ?? 0 };
      offsets.set(child.id, { x, y });
      visit(child, x, y);
    }
  };
  visit(root, 0, 0);
  for (const edge of (root.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
    const o = offsets.get(edge.container ?? root.id) ?? { x: 0, y: 0 };
    const points: number[] = [];
    for (const s of edge.sections ?? []) {
      for (const p of [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]) points.push(o.x + p.x, o.y + p.y);
    }
    result.edges[edge.id] = points;
  }
  return result;
}

/** The result as typed arrays in the input's order (for transfer out of the worker). */
export function pack(input: LayoutInput, result: LayoutResult): PackedLayout {
  const boxes = new Float64Array(input.nodes.length * 4);
  input.nodes.forEach((n, i) => {
    const b = result.nodes[n.id];
    if (b) boxes.set([b.x, b.y, b.w, b.h], i * 4);
  });
  const offsets = new Uint32Array(input.edges.length + 1);
  let total = 0;
  input.edges.forEach((e, i) => {
    offsets[i] = total;
    total += result.edges[e.id]?.length ?? 0;
  });
  offsets[input.edges.length] = total;
  const points = new Float64Array(total);
  input.edges.forEach((e, i) => {
    const route = result.edges[e.id];
    if (route) points.set(route, offsets[i]);
  });
  return { width: result.width, height: result.height, ms: result.ms, boxes, points, offsets };
}

/** Back to boxes and routes by id (views into the transferred arrays, nothing copied). */
export function unpack(input: LayoutInput, packed: PackedLayout): LayoutResult {
  const result: LayoutResult = { width: packed.width, height: packed.height, ms: packed.ms, nodes: {}, edges: {} };
  const { boxes, points, offsets } = packed;
  input.nodes.forEach((n, i) => {
    result.nodes[n.id] = { x: boxes[i * 4], y: boxes[i * 4 + 1], w: boxes[i * 4 + 2], h: boxes[i * 4 + 3] };
  });
  input.edges.forEach((e, i) => {
    if (offsets[i + 1] > offsets[i]) result.edges[e.id] = points.subarray(offsets[i], offsets[i + 1]);
  });
  return result;
}

/** A copy with plain arrays (typed arrays do not survive JSON, as in VS Code's setState). */
export function plainLayout(result: LayoutResult): LayoutResult {
  return { ...result, edges: Object.fromEntries(Object.entries(result.edges).map(([id, route]) => [id, Array.from(route)])) };
}
