import type { AssetEdge, AssetNode, GraphData } from "../protocol/types";

/**
 * The asset graph: nodes by id and adjacency in both directions. The linker builds it and, on an
 * edit that keeps a file's assets, replaces those nodes and their incoming edges in place.
 */
export class AssetGraph {
  readonly nodes = new Map<string, AssetNode>();
  readonly edges: AssetEdge[] = [];
  private readonly up = new Map<string, string[]>();
  private readonly down = new Map<string, string[]>();
  private readonly edgeIndex = new Map<string, AssetEdge>();

  addNode(node: AssetNode): void {
    this.nodes.set(node.id, node);
    if (!this.up.has(node.id)) this.up.set(node.id, []);
    if (!this.down.has(node.id)) this.down.set(node.id, []);
  }

  /** Adds an edge once (the first origin seen is kept); both ends must exist. */
  addEdge(edge: AssetEdge): boolean {
    if (edge.from === edge.to) return false;
    const id = `${edge.from}\u0000${edge.to}`;
    if (this.edgeIndex.has(id)) return false;
    if (!this.nodes.has(edge.from) || !this.nodes.has(edge.to)) return false;
    this.edgeIndex.set(id, edge);
    this.edges.push(edge);
    this.up.get(edge.to)!.push(edge.from);
    this.down.get(edge.from)!.push(edge.to);
    return true;
  }

  /** Swaps a node's data, keeping its edges. */
  replaceNode(node: AssetNode): void {
    if (!this.nodes.has(node.id)) throw new Error(`no node '${node.id}' to replace`);
    this.nodes.set(node.id, node);
  }

  /** Removes every edge into a node (the edges its own references made). */
  removeEdgesInto(id: string): void {
    const ups = this.up.get(id);
    if (!ups || ups.length === 0) return;
    for (const from of ups) {
      this.edgeIndex.delete(`${from}\u0000${id}`);
      const downs = this.down.get(from)!;
      downs.splice(downs.indexOf(id), 1);
    }
    this.up.set(id, []);
    let kept = 0;
    for (const edge of this.edges) if (edge.to !== id) this.edges[kept++] = edge;
    this.edges.length = kept;
  }

  hasEdge(from: string, to: string): boolean {
    return this.edgeIndex.has(`${from}\u0000${to}`);
  }

  edge(from: string, to: string): AssetEdge | undefined {
    return this.edgeIndex.get(`${from}\u0000${to}`);
  }

  get(id: string): AssetNode | undefined {
    return this.nodes.get(id);
  }

  upstream(id: string): readonly string[] {
    return this.up.get(id) ?? [];
  }

  downstream(id: string): readonly string[] {
    return this.down.get(id) ?? [];
  }

  /** All ids reachable upstream (`direction = "up"`) or downstream, up to `depth` layers (excluding the start). */
  reach(start: Iterable<string>, direction: "up" | "down", depth = Infinity): Set<string> {
    const next = direction === "up" ? this.up : this.down;
    const seen = new Set<string>();
    let frontier = [...start];
    for (let layer = 0; layer < depth && frontier.length > 0; layer++) {
      const following: string[] = [];
      for (const id of frontier) {
        for (const n of next.get(id) ?? []) {
          if (!seen.has(n)) {
            seen.add(n);
            following.push(n);
          }
        }
      }
      frontier = following;
    }
    return seen;
  }

  /** Nodes in topological order (upstream first); nodes on cycles come last in id order. */
  topologicalOrder(ids?: Iterable<string>): string[] {
    const within = ids ? new Set(ids) : new Set(this.nodes.keys());
    const indegree = new Map<string, number>();
    for (const id of within) {
      let d = 0;
      for (const u of this.upstream(id)) if (within.has(u)) d++;
      indegree.set(id, d);
    }
    const ready = [...within].filter((id) => indegree.get(id) === 0).sort();
    const order: string[] = [];
    for (let i = 0; i < ready.length; i++) {
      const id = ready[i];
      order.push(id);
      for (const d of this.downstream(id)) {
        if (!within.has(d)) continue;
        const left = indegree.get(d)! - 1;
        indegree.set(d, left);
        if (left === 0) ready.push(d);
      }
    }
    if (order.length < within.size) {
      const placed = new Set(order);
      order.push(...[...within].filter((id) => !placed.has(id)).sort());
    }
    return order;
  }

  toData(): GraphData {
    return { nodes: [...this.nodes.values()], edges: [...this.edges] };
  }
}

/**
 * Strongly connected components with more than one node (Tarjan, iterative so deep graphs
 * cannot overflow the stack). Each cycle is returned as a list of ids in edge order.
 */
export function findCycles(graph: AssetGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of graph.nodes.keys()) {
    if (index.has(root)) continue;
    const work: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const children = graph.downstream(frame.id);
      if (frame.next < children.length) {
        const child = children[frame.next++];
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ id: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.id)!));
      }
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        if (component.length > 1) components.push(orderCycle(graph, component));
      }
    }
  }
  return components;
}

/** Orders a strongly connected component along its edges, starting from its smallest id. */
function orderCycle(graph: AssetGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const path = [start];
  const seen = new Set(path);
  let current = start;
  for (;;) {
    const next = graph.downstream(current).find((d) => members.has(d) && !seen.has(d));
    if (!next) break;
    path.push(next);
    seen.add(next);
    current = next;
  }
  for (const id of component) if (!seen.has(id)) path.push(id);
  return path;
}
