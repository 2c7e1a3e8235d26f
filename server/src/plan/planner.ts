/**
 * Selection -> plan (DESIGN.md §5).
 *
 * What is executed: each selected `ts_asset` is one TS step; selected `dbt_model`, `dbt_seed` and
 * `dbt_snapshot` nodes are grouped into as few dbt invocations as the graph allows. Selected
 * `dbt_source` nodes are external (never executed), selected `dbt_exposure` nodes are skipped, and
 * selected assets on a dependency cycle are skipped with the cycle in the reason.
 *
 * Ordering rule: step B depends on step A when an asset of A reaches an asset of B in the *full*
 * graph through nodes that belong to no step (unselected assets, sources, exposures, skipped cycle
 * members); paths through other steps give the transitive dependencies. So a selected TS asset
 * between two dbt models — even through unselected nodes — always separates them. A dbt
 * invocation may, however, hold `a` and `b` with only unselected nodes between them: those are read
 * as they are (never rebuilt), exactly as `dbt build --select a b` would.
 *
 * Algorithm (linear in the part of the graph between selected assets, plus the merge phase):
 * 1. The region: nodes both downstream and upstream of some executed asset (every path between two
 *    executed assets lies inside it). Tarjan's SCCs over the region find cycles; the rest is a DAG
 *    of components, ordered by Kahn's algorithm.
 * 2. Stages (an ASAP layering): every executed asset has a class (one per dbt project; one per TS
 *    asset) and a stage = the longest path where entering a node of another class costs 1. Nodes
 *    outside steps pass on the best two (stage, class) pairs of distinct classes they have seen,
 *    which is exactly what "the best stage among the other classes" needs. Every edge between two
 *    groups (class, stage) increases the stage, so grouping dbt nodes by (project, stage) is already
 *    a valid, acyclic plan, and a TS asset can never sit between two members of one group.
 * 3. Greedy merging (layering alone is not optimal: `d1 -> t1 -> d2` next to `d3 -> t2 -> t3 -> d4`
 *    gives three dbt layers where two invocations suffice): the step DAG's transitive closure is kept
 *    as bitsets (rows computed in a Kahn order of the step DAG); two dbt steps of the same project can
 *    merge exactly when no third step lies between them, either way (that would be a cycle after
 *    merging). Pairs are tried in stage order, repeatedly, until no pair can merge; each merge updates
 *    the closure incrementally (only rows of the merged step's ancestors and descendants change). The
 *    result is pairwise maximal: any two dbt steps of one project that remain separate would form a
 *    cycle with some other step(s) if merged (a TS asset between them is such a case).
 * 4. Steps are sorted by depth in the step DAG (longest path, the `parallelGroup`, 0-based), then by
 *    the topological position of their first asset. `dependsOn` lists direct predecessors (not
 *    transitively reduced).
 *
 * The graph is turned into integer adjacency arrays once per `AssetGraph` instance (cached in a
 * WeakMap, revalidated by node and edge counts), so repeated plans on one graph are cheap.
 * Cost: O(V + E) over the region, plus O(k² · S/32) for k dbt steps of one project among S steps.
 * It never throws on cycles and never loops: every phase is a bounded pass.
 */
import type { AssetGraph } from "../graph/graph";
import type { Plan, PlanSkip, PlanStep } from "../protocol/plan";
import type { AssetKind } from "../protocol/types";

const DBT_EXECUTABLE: ReadonlySet<AssetKind> = new Set<AssetKind>(["dbt_model", "dbt_seed", "dbt_snapshot"]);

const KIND_TS = 1;
const KIND_DBT = 2;
const KIND_SOURCE = 3;
const KIND_EXPOSURE = 4;

/** The graph as integers (CSR adjacency), built once per graph instance. */
interface GraphIndex {
  ids: string[];
  index: Map<string, number>;
  succStart: Int32Array;
  succ: Int32Array;
  predStart: Int32Array;
  pred: Int32Array;
  kind: Uint8Array;
  /** Index into `projects`, for executable dbt nodes. */
  project: Int32Array;
  projects: (string | undefined)[];
  nodeCount: number;
  edgeCount: number;
}

const indexCache = new WeakMap<AssetGraph, GraphIndex>();

/**
 * The integer index of a graph. Graphs are immutable once built (see `AssetGraph`); the cache is
 * still revalidated by node and edge counts so a graph that grew gets a fresh index.
 */
function graphIndex(graph: AssetGraph): GraphIndex {
  const cached = indexCache.get(graph);
  if (cached && cached.nodeCount === graph.nodes.size && cached.edgeCount === graph.edges.length) return cached;
  const N = graph.nodes.size;
  const ids: string[] = new Array(N);
  const index = new Map<string, number>();
  const kind = new Uint8Array(N);
  const project = new Int32Array(N).fill(-1);
  const projects: (string | undefined)[] = [];
  const projectIds = new Map<string | undefined, number>();
  let i = 0;
  for (const node of graph.nodes.values()) {
    ids[i] = node.id;
    index.set(node.id, i);
    if (node.kind === "ts_asset") kind[i] = KIND_TS;
    else if (DBT_EXECUTABLE.has(node.kind)) {
      kind[i] = KIND_DBT;
      let p = projectIds.get(node.project);
      if (p === undefined) {
        p = projects.length;
        projects.push(node.project);
        projectIds.set(node.project, p);
      }
      project[i] = p;
    } else if (node.kind === "dbt_source") kind[i] = KIND_SOURCE;
    else kind[i] = KIND_EXPOSURE;
    i++;
  }
  // CSR from the edge list (edges keep insertion order, like `downstream()` / `upstream()`)
  const E = graph.edges.length;
  const from = new Int32Array(E);
  const to = new Int32Array(E);
  const succStart = new Int32Array(N + 1);
  const predStart = new Int32Array(N + 1);
  for (let e = 0; e < E; e++) {
    const edge = graph.edges[e];
    const f = index.get(edge.from)!;
    const t = index.get(edge.to)!;
    from[e] = f;
    to[e] = t;
    succStart[f + 1]++;
    predStart[t + 1]++;
  }
  for (let v = 0; v < N; v++) {
    succStart[v + 1] += succStart[v];
    predStart[v + 1] += predStart[v];
  }
  const succ = new Int32Array(E);
  const pred = new Int32Array(E);
  const succFill = succStart.slice(0, N);
  const predFill = predStart.slice(0, N);
  for (let e = 0; e < E; e++) {
    succ[succFill[from[e]]++] = to[e];
    pred[predFill[to[e]]++] = from[e];
  }
  const built: GraphIndex = {
    ids,
    index,
    succStart,
    succ,
    predStart,
    pred,
    kind,
    project,
    projects,
    nodeCount: N,
    edgeCount: E,
  };
  indexCache.set(graph, built);
  return built;
}

const MAX_CYCLE_NAMES = 8;

/** The selection sorted out: what runs, what is external, what is skipped. */
interface Classified {
  isSelected: Uint8Array;
  selectedList: number[];
  /** Graph indices of the selected TS / executable dbt assets. */
  exec: number[];
  external: string[];
  skipped: PlanSkip[];
}

function classify(G: GraphIndex, selected: Iterable<string>): Classified {
  const isSelected = new Uint8Array(G.ids.length);
  const selectedList: number[] = [];
  const skipped: PlanSkip[] = [];
  const external: string[] = [];
  const exec: number[] = [];
  const unknown = new Set<string>();
  for (const id of selected) {
    const g = G.index.get(id);
    if (g === undefined) {
      if (!unknown.has(id)) {
        unknown.add(id);
        skipped.push({ id, reason: "not an asset in the graph" });
      }
      continue;
    }
    if (isSelected[g]) continue;
    isSelected[g] = 1;
    selectedList.push(g);
    const k = G.kind[g];
    if (k === KIND_TS || k === KIND_DBT) exec.push(g);
    else if (k === KIND_SOURCE) external.push(id);
    else skipped.push({ id, reason: "dbt exposure: describes a downstream use of the data, never executed" });
  }
  return { isSelected, selectedList, exec, external, skipped };
}

/** The nodes on paths between executed assets, renumbered 0..n-1 (executed ones first), with their edges. */
interface Region {
  n: number;
  /** Local index -> graph index. */
  nodes: Int32Array;
  /** Graph index -> local index, or -1. */
  local: Int32Array;
  succStart: Int32Array;
  succ: Int32Array;
}

function buildRegion(G: GraphIndex, exec: readonly number[]): Region {
  const N = G.ids.length;
  const isDown = new Uint8Array(N);
  const work = new Int32Array(N);
  let top = 0;
  for (const g of exec) {
    isDown[g] = 1;
    work[top++] = g;
  }
  while (top > 0) {
    const g = work[--top];
    for (let e = G.succStart[g], end = G.succStart[g + 1]; e < end; e++) {
      const d = G.succ[e];
      if (!isDown[d]) {
        isDown[d] = 1;
        work[top++] = d;
      }
    }
  }
  const local = new Int32Array(N).fill(-1);
  const buf = new Int32Array(N);
  let n = 0;
  for (const g of exec) {
    local[g] = n;
    buf[n++] = g;
    work[top++] = g;
  }
  while (top > 0) {
    const g = work[--top];
    for (let e = G.predStart[g], end = G.predStart[g + 1]; e < end; e++) {
      const u = G.pred[e];
      if (isDown[u] && local[u] < 0) {
        local[u] = n;
        buf[n++] = u;
        work[top++] = u;
      }
    }
  }
  const nodes = buf.subarray(0, n);
  let upper = 0;
  for (let i = 0; i < n; i++) upper += G.succStart[nodes[i] + 1] - G.succStart[nodes[i]];
  const succ = new Int32Array(upper);
  const succStart = new Int32Array(n + 1);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const g = nodes[i];
    for (let e = G.succStart[g], end = G.succStart[g + 1]; e < end; e++) {
      const j = local[G.succ[e]];
      if (j >= 0) succ[k++] = j;
    }
    succStart[i + 1] = k;
  }
  return { n, nodes, local, succStart, succ: succ.subarray(0, k) };
}

/** Strongly connected components; the members of component c are `members[compStart[c] .. compStart[c+1])`. */
interface Components {
  count: number;
  comp: Int32Array;
  members: Int32Array;
  compStart: Int32Array;
  /** The only member of a component, or -1 for a cycle. */
  single: Int32Array;
  hasCycle: boolean;
}

/** Iterative Tarjan (deep graphs cannot overflow the stack). */
function components(n: number, succStart: Int32Array, succ: Int32Array): Components {
  const comp = new Int32Array(n).fill(-1);
  const members = new Int32Array(n);
  const starts = new Int32Array(n + 1);
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const nextEdge = new Int32Array(n);
  const stack = new Int32Array(n);
  const calls = new Int32Array(n);
  let sTop = 0;
  let cTop = 0;
  let counter = 0;
  let popped = 0;
  let count = 0;
  let hasCycle = false;
  for (let root = 0; root < n; root++) {
    if (order[root] >= 0) continue;
    order[root] = low[root] = counter++;
    nextEdge[root] = succStart[root];
    stack[sTop++] = root;
    onStack[root] = 1;
    calls[cTop++] = root;
    while (cTop > 0) {
      const v = calls[cTop - 1];
      if (nextEdge[v] < succStart[v + 1]) {
        const w = succ[nextEdge[v]++];
        if (order[w] < 0) {
          order[w] = low[w] = counter++;
          nextEdge[w] = succStart[w];
          stack[sTop++] = w;
          onStack[w] = 1;
          calls[cTop++] = w;
        } else if (onStack[w] && order[w] < low[v]) {
          low[v] = order[w];
        }
        continue;
      }
      cTop--;
      if (cTop > 0) {
        const p = calls[cTop - 1];
        if (low[v] < low[p]) low[p] = low[v];
      }
      if (low[v] === order[v]) {
        let m: number;
        do {
          m = stack[--sTop];
          onStack[m] = 0;
          comp[m] = count;
          members[popped++] = m;
        } while (m !== v);
        count++;
        starts[count] = popped;
        if (popped - starts[count - 1] > 1) hasCycle = true;
      }
    }
  }
  const compStart = starts.subarray(0, count + 1);
  const single = new Int32Array(count);
  for (let c = 0; c < count; c++) single[c] = compStart[c + 1] - compStart[c] === 1 ? members[compStart[c]] : -1;
  return { count, comp, members, compStart, single, hasCycle };
}

/** The condensed DAG as CSR, and a topological order of it (Kahn: roots by name, then FIFO). */
interface Condensed {
  csuccStart: Int32Array;
  csucc: Int32Array;
  topo: Int32Array;
  /** Component -> position in `topo`. */
  cpos: Int32Array;
}

function sortedMembers(C: Components, c: number, name: (i: number) => string): number[] {
  return Array.from(C.members.subarray(C.compStart[c], C.compStart[c + 1])).sort((x, y) => cmp(name(x), name(y)));
}

function condense(C: Components, succStart: Int32Array, succ: Int32Array, name: (i: number) => string): Condensed {
  const { count, comp, members, compStart } = C;
  const csuccStart = new Int32Array(count + 1);
  const csucc = new Int32Array(succ.length);
  const indegree = new Int32Array(count);
  const mark = new Int32Array(count).fill(-1);
  let k = 0;
  for (let c = 0; c < count; c++) {
    mark[c] = c;
    // a cycle's members in name order, so that the order below never depends on the selection's order
    const list = C.single[c] >= 0 ? members.subarray(compStart[c], compStart[c + 1]) : sortedMembers(C, c, name);
    for (const m of list) {
      for (let e = succStart[m], end = succStart[m + 1]; e < end; e++) {
        const d = comp[succ[e]];
        if (mark[d] !== c) {
          mark[d] = c;
          csucc[k++] = d;
          indegree[d]++;
        }
      }
    }
    csuccStart[c + 1] = k;
  }
  const roots: number[] = [];
  for (let c = 0; c < count; c++) if (indegree[c] === 0) roots.push(c);
  const compName = (c: number): string => (C.single[c] >= 0 ? name(C.single[c]) : name(sortedMembers(C, c, name)[0]));
  roots.sort((a, b) => cmp(compName(a), compName(b)));
  const topo = new Int32Array(count);
  let tail = 0;
  for (const r of roots) topo[tail++] = r;
  for (let t = 0; t < tail; t++) {
    const c = topo[t];
    for (let e = csuccStart[c], end = csuccStart[c + 1]; e < end; e++) {
      const d = csucc[e];
      if (--indegree[d] === 0) topo[tail++] = d;
    }
  }
  const cpos = new Int32Array(count);
  for (let t = 0; t < count; t++) cpos[topo[t]] = t;
  return { csuccStart, csucc: csucc.subarray(0, k), topo, cpos };
}

interface WorkStep {
  kind: "dbt" | "ts";
  /** One class per dbt project (its index in `GraphIndex.projects`), one per TS asset after those. */
  cls: number;
  stage: number;
  /** Local (region) indices. */
  members: number[];
  merged: boolean;
  project?: string;
}

/**
 * ASAP stages: the longest path where entering an executed node of another class costs 1.
 * Components outside steps carry the best two (stage, class) pairs of distinct classes that reach
 * them; for a node of class k that gives both the best stage of its own class and the best of the others.
 * dbt nodes are grouped by (project, stage), TS assets are one step each.
 */
function initialSteps(G: GraphIndex, R: Region, C: Components, D: Condensed, inStep: Uint8Array, stepOf: Int32Array): WorkStep[] {
  const { count, single } = C;
  const { csuccStart, csucc, topo } = D;
  const b1v = new Int32Array(count).fill(-1);
  const b1c = new Int32Array(count).fill(-1);
  const b2v = new Int32Array(count).fill(-1);
  const b2c = new Int32Array(count).fill(-1);
  const offer = (c: number, v: number, k: number): void => {
    if (b1c[c] === k) {
      if (v > b1v[c]) b1v[c] = v;
    } else if (b1c[c] === -1 || v > b1v[c]) {
      b2v[c] = b1v[c];
      b2c[c] = b1c[c];
      b1v[c] = v;
      b1c[c] = k;
    } else if (b2c[c] === k) {
      if (v > b2v[c]) b2v[c] = v;
    } else if (b2c[c] === -1 || v > b2v[c]) {
      b2v[c] = v;
      b2c[c] = k;
    }
  };
  let nextTsClass = G.projects.length;
  const steps: WorkStep[] = [];
  const dbtGroups = new Map<number, number>();
  for (let t = 0; t < count; t++) {
    const c = topo[t];
    const only = single[c];
    if (only >= 0 && inStep[only]) {
      const g = R.nodes[only];
      const isTs = G.kind[g] === KIND_TS;
      const k = isTs ? nextTsClass++ : G.project[g];
      let s: number;
      if (b1c[c] === -1) s = 0;
      else if (b1c[c] !== k) s = b1v[c] + 1;
      else s = Math.max(b1v[c], b2c[c] === -1 ? 0 : b2v[c] + 1);
      for (let e = csuccStart[c], end = csuccStart[c + 1]; e < end; e++) offer(csucc[e], s, k);
      if (isTs) {
        stepOf[only] = steps.length;
        steps.push({ kind: "ts", cls: k, stage: s, members: [only], merged: false });
      } else {
        const groupKey = k * (R.n + 1) + s;
        let step = dbtGroups.get(groupKey);
        if (step === undefined) {
          step = steps.length;
          dbtGroups.set(groupKey, step);
          steps.push({ kind: "dbt", cls: k, stage: s, members: [], merged: false, project: G.projects[k] });
        }
        steps[step].members.push(only);
        stepOf[only] = step;
      }
    } else if (b1c[c] !== -1) {
      for (let e = csuccStart[c], end = csuccStart[c + 1]; e < end; e++) {
        offer(csucc[e], b1v[c], b1c[c]);
        if (b2c[c] !== -1) offer(csucc[e], b2v[c], b2c[c]);
      }
    }
  }
  return steps;
}

/** The step DAG's direct edges, as successor and predecessor sets. */
interface StepEdges {
  succ: Set<number>[];
  pred: Set<number>[];
}

function addStepEdge(E: StepEdges, a: number, b: number): void {
  if (a === b) return;
  E.succ[a].add(b);
  E.pred[b].add(a);
}

/** A -> B when an asset of A reaches one of B through nodes that are in no step. */
function stepEdges(stepCount: number, C: Components, D: Condensed, stepOf: Int32Array): StepEdges {
  const E: StepEdges = {
    succ: Array.from({ length: stepCount }, () => new Set<number>()),
    pred: Array.from({ length: stepCount }, () => new Set<number>()),
  };
  const { count, single } = C;
  const { csuccStart, csucc, topo } = D;
  const stepOfComp = (c: number): number => (single[c] >= 0 ? stepOf[single[c]] : -1);
  const through: (Set<number> | undefined)[] = new Array(count);
  for (let t = 0; t < count; t++) {
    const c = topo[t];
    const own = stepOfComp(c);
    if (own >= 0) {
      for (let e = csuccStart[c], end = csuccStart[c + 1]; e < end; e++) {
        const d = csucc[e];
        const target = stepOfComp(d);
        if (target >= 0) addStepEdge(E, own, target);
        else (through[d] ??= new Set<number>()).add(own);
      }
      continue;
    }
    const ups = through[c];
    if (!ups) continue;
    for (let e = csuccStart[c], end = csuccStart[c + 1]; e < end; e++) {
      const d = csucc[e];
      const target = stepOfComp(d);
      if (target >= 0) for (const s of ups) addStepEdge(E, s, target);
      else {
        const set = (through[d] ??= new Set<number>());
        for (const s of ups) set.add(s);
      }
    }
    through[c] = undefined;
  }
  return E;
}

/**
 * Greedy merging of dbt steps of one project while the step DAG stays acyclic. The transitive
 * closure (descendants and ancestors of each step) is kept as bitsets: a and b may merge exactly
 * when no third step is both a descendant of one and an ancestor of the other. A merge only adds
 * paths through the merged step, so only its ancestors' and descendants' rows change.
 * Returns which steps are still alive.
 */
function mergeSteps(steps: WorkStep[], E: StepEdges, stepOf: Int32Array): Uint8Array {
  const S = steps.length;
  const alive = new Uint8Array(S).fill(1);
  const byClass = new Map<number, number[]>();
  for (let s = 0; s < S; s++) {
    if (steps[s].kind !== "dbt") continue;
    let list = byClass.get(steps[s].cls);
    if (!list) byClass.set(steps[s].cls, (list = []));
    list.push(s);
  }
  if (![...byClass.values()].some((list) => list.length > 1)) return alive;
  for (const list of byClass.values()) list.sort((a, b) => steps[a].stage - steps[b].stage || a - b);

  // a topological order of the step DAG (Kahn); it is acyclic by construction, but if it ever were
  // not, merging is skipped rather than risking a wrong plan
  const topo: number[] = [];
  {
    const pending = new Int32Array(S);
    for (let s = 0; s < S; s++) {
      pending[s] = E.pred[s].size;
      if (pending[s] === 0) topo.push(s);
    }
    for (let k = 0; k < topo.length; k++) for (const t of E.succ[topo[k]]) if (--pending[t] === 0) topo.push(t);
    if (topo.length < S) return alive;
  }
  const W = (S + 31) >>> 5;
  const reach = new Uint32Array(S * W);
  const anc = new Uint32Array(S * W);
  for (let k = S - 1; k >= 0; k--) {
    const s = topo[k];
    const base = s * W;
    for (const t of E.succ[s]) {
      reach[base + (t >>> 5)] |= 1 << (t & 31);
      const tb = t * W;
      for (let w = 0; w < W; w++) reach[base + w] |= reach[tb + w];
    }
  }
  for (let k = 0; k < S; k++) {
    const s = topo[k];
    const base = s * W;
    for (const p of E.pred[s]) {
      anc[base + (p >>> 5)] |= 1 << (p & 31);
      const pb = p * W;
      for (let w = 0; w < W; w++) anc[base + w] |= anc[pb + w];
    }
  }
  const mergeable = (a: number, b: number): boolean => {
    const ab = a * W;
    const bb = b * W;
    for (let w = 0; w < W; w++) {
      if ((reach[ab + w] & anc[bb + w]) !== 0 || (reach[bb + w] & anc[ab + w]) !== 0) return false;
    }
    return true;
  };
  const R = new Uint32Array(W);
  const A = new Uint32Array(W);
  const merge = (a: number, b: number): void => {
    const ab = a * W;
    const bb = b * W;
    for (let w = 0; w < W; w++) {
      R[w] = reach[ab + w] | reach[bb + w];
      A[w] = anc[ab + w] | anc[bb + w];
    }
    const aw = a >>> 5;
    const am = 1 << (a & 31);
    const bw = b >>> 5;
    const bm = 1 << (b & 31);
    R[aw] &= ~am;
    R[bw] &= ~bm;
    A[aw] &= ~am;
    A[bw] &= ~bm;
    reach.set(R, ab);
    anc.set(A, ab);
    reach.fill(0, bb, bb + W);
    anc.fill(0, bb, bb + W);
    for (let w = 0; w < W; w++) {
      for (let bits = A[w]; bits !== 0; ) {
        const lowest = bits & -bits;
        bits ^= lowest;
        const xb = ((w << 5) + 31 - Math.clz32(lowest)) * W;
        for (let v = 0; v < W; v++) reach[xb + v] |= R[v];
        reach[xb + bw] &= ~bm;
        reach[xb + aw] |= am;
      }
      for (let bits = R[w]; bits !== 0; ) {
        const lowest = bits & -bits;
        bits ^= lowest;
        const yb = ((w << 5) + 31 - Math.clz32(lowest)) * W;
        for (let v = 0; v < W; v++) anc[yb + v] |= A[v];
        anc[yb + bw] &= ~bm;
        anc[yb + aw] |= am;
      }
    }
    for (const t of E.succ[b]) {
      E.pred[t].delete(b);
      if (t !== a) addStepEdge(E, a, t);
    }
    for (const p of E.pred[b]) {
      E.succ[p].delete(b);
      if (p !== a) addStepEdge(E, p, a);
    }
    E.succ[b].clear();
    E.pred[b].clear();
    for (const m of steps[b].members) {
      steps[a].members.push(m);
      stepOf[m] = a;
    }
    steps[b].members = [];
    steps[a].merged = true;
    alive[b] = 0;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const list of byClass.values()) {
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (!alive[a]) continue;
        for (let j = i + 1; j < list.length; j++) {
          const b = list[j];
          if (alive[b] && mergeable(a, b)) {
            merge(a, b);
            changed = true;
          }
        }
      }
    }
  }
  return alive;
}

/** Longest-path depth of each alive step (0 for steps without predecessors). */
function stepDepths(S: number, alive: Uint8Array, E: StepEdges): Int32Array {
  const depth = new Int32Array(S);
  const pending = new Int32Array(S);
  const queue: number[] = [];
  for (let s = 0; s < S; s++) {
    if (!alive[s]) continue;
    pending[s] = E.pred[s].size;
    if (pending[s] === 0) queue.push(s);
  }
  for (let k = 0; k < queue.length; k++) {
    const s = queue[k];
    for (const t of E.succ[s]) {
      if (depth[s] + 1 > depth[t]) depth[t] = depth[s] + 1;
      if (--pending[t] === 0) queue.push(t);
    }
  }
  return depth;
}

export function planSelection(graph: AssetGraph, selected: Iterable<string>): Plan {
  const G = graphIndex(graph);
  const sel = classify(G, selected);
  const { isSelected, exec, skipped } = sel;
  const R = buildRegion(G, exec);
  const name = (i: number): string => G.ids[R.nodes[i]];
  const C = components(R.n, R.succStart, R.succ);
  const membersOf = (c: number): number[] => Array.from(C.members.subarray(C.compStart[c], C.compStart[c + 1]));

  // executed assets (local indices 0 .. exec.length) go into steps, unless they sit on a cycle
  const inStep = new Uint8Array(R.n);
  inStep.fill(1, 0, exec.length);
  if (C.hasCycle) {
    for (let c = 0; c < C.count; c++) {
      if (C.single[c] >= 0) continue;
      const cycle = membersOf(c);
      let reason: string | undefined;
      for (const m of cycle) {
        if (m >= exec.length) continue;
        inStep[m] = 0;
        reason ??= `on a dependency cycle: ${describeCycle(name, R.succStart, R.succ, C.comp, cycle)}`;
        skipped.push({ id: name(m), reason });
      }
    }
  }
  const D = condense(C, R.succStart, R.succ, name);

  const stepOf = new Int32Array(R.n).fill(-1);
  const steps = initialSteps(G, R, C, D, inStep, stepOf);
  const S = steps.length;
  const E = stepEdges(S, C, D, stepOf);
  const alive = mergeSteps(steps, E, stepOf);
  const depth = stepDepths(S, alive, E);

  // order: depth, then the topological position of the first asset
  const posOf = (i: number): number => D.cpos[C.comp[i]];
  const order: number[] = [];
  const firstPos = new Int32Array(S);
  for (let s = 0; s < S; s++) {
    if (!alive[s]) continue;
    // members were added in topological order; merged steps need a sort
    if (steps[s].merged) steps[s].members.sort((x, y) => posOf(x) - posOf(y));
    firstPos[s] = posOf(steps[s].members[0]);
    order.push(s);
  }
  order.sort((a, b) => depth[a] - depth[b] || firstPos[a] - firstPos[b]);
  const stepId: string[] = new Array(S);
  const rank = new Int32Array(S);
  order.forEach((s, k) => {
    stepId[s] = `step-${k + 1}`;
    rank[s] = k;
  });
  const planSteps = order.map((s): PlanStep => {
    const step = steps[s];
    const out: PlanStep = {
      id: stepId[s],
      kind: step.kind,
      assets: step.members.map(name),
      dependsOn: [...E.pred[s]].sort((x, y) => rank[x] - rank[y]).map((p) => stepId[p]),
      parallelGroup: depth[s],
    };
    if (step.kind === "dbt" && step.project !== undefined) out.project = step.project;
    return out;
  });

  return {
    selection: selectionOrder(G, sel, R, C, D, name),
    steps: planSteps,
    inputs: directInputs(G, R, inStep, isSelected),
    external: sel.external.sort(cmp),
    skipped: skipped.sort((x, y) => cmp(x.id, y.id)),
  };
}

/** Unselected assets that executed assets read directly. */
function directInputs(G: GraphIndex, R: Region, inStep: Uint8Array, isSelected: Uint8Array): string[] {
  const inputs: string[] = [];
  const seen = new Uint8Array(G.ids.length);
  for (let i = 0; i < inStep.length; i++) {
    if (!inStep[i]) continue;
    const g = R.nodes[i];
    for (let e = G.predStart[g], end = G.predStart[g + 1]; e < end; e++) {
      const u = G.pred[e];
      if (!isSelected[u] && !seen[u]) {
        seen[u] = 1;
        inputs.push(G.ids[u]);
      }
    }
  }
  return inputs.sort(cmp);
}

/** The selected ids upstream first: sources outside the region, the region in topological order, then exposures. */
function selectionOrder(G: GraphIndex, sel: Classified, R: Region, C: Components, D: Condensed, name: (i: number) => string): string[] {
  const out: string[] = [];
  const outside = sel.selectedList.filter((g) => R.local[g] < 0);
  outside.sort((a, b) => cmp(G.ids[a], G.ids[b]));
  for (const g of outside) if (G.kind[g] !== KIND_EXPOSURE) out.push(G.ids[g]);
  for (let t = 0; t < C.count; t++) {
    const c = D.topo[t];
    const only = C.single[c];
    if (only >= 0) {
      if (sel.isSelected[R.nodes[only]]) out.push(name(only));
      continue;
    }
    const ids: string[] = [];
    for (let x = C.compStart[c]; x < C.compStart[c + 1]; x++) {
      const m = C.members[x];
      if (sel.isSelected[R.nodes[m]]) ids.push(name(m));
    }
    out.push(...ids.sort(cmp));
  }
  for (const g of outside) if (G.kind[g] === KIND_EXPOSURE) out.push(G.ids[g]);
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `a -> b -> c -> a`, following edges inside the component from its smallest id. */
function describeCycle(
  name: (i: number) => string,
  succStart: Int32Array,
  succ: Int32Array,
  comp: Int32Array,
  members: number[],
): string {
  const c = comp[members[0]];
  let start = members[0];
  for (const m of members) if (name(m) < name(start)) start = m;
  const path = [start];
  const seen = new Set(path);
  let current = start;
  const next = (v: number): number => {
    for (let e = succStart[v], end = succStart[v + 1]; e < end; e++) {
      const w = succ[e];
      if (comp[w] === c && !seen.has(w)) return w;
    }
    return -1;
  };
  for (let w = next(current); w >= 0; w = next(current)) {
    path.push(w);
    seen.add(w);
    current = w;
  }
  let closes = false;
  for (let e = succStart[current], end = succStart[current + 1]; e < end; e++) if (succ[e] === start) closes = true;
  const names = path.map(name);
  const extra = members.length > path.length ? ` (and ${members.length - path.length} more assets in the cycle)` : "";
  if (names.length > MAX_CYCLE_NAMES) return `${names.slice(0, MAX_CYCLE_NAMES).join(" -> ")} -> ...${extra}`;
  return (closes ? [...names, names[0]] : names).join(" -> ") + extra;
}
