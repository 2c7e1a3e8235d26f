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
 * 3. Greedy merging: the step DAG's transitive closure is kept as bitsets; two dbt steps of the same
 *    project can merge exactly when no third step lies between them (that would be a cycle after
 *    merging). Pairs are tried in stage order, repeatedly, until no pair can merge; each merge
 *    updates the closure incrementally. The result is pairwise maximal: any two dbt steps of one
 *    project that remain separate have a step (typically a TS one) on a path between them.
 * 4. Steps are sorted by depth in the step DAG (longest path, the `parallelGroup`), then by the
 *    topological position of their first asset.
 */
import type { AssetGraph } from "../graph/graph";
import type { Plan, PlanSkip, PlanStep } from "../protocol/plan";
import type { AssetKind } from "../protocol/types";

const DBT_EXECUTABLE: ReadonlySet<AssetKind> = new Set<AssetKind>(["dbt_model", "dbt_seed", "dbt_snapshot"]);

interface WorkStep {
  kind: "dbt" | "ts";
  cls: number;
  stage: number;
  /** Region indices. */
  members: number[];
  project?: string;
}

const MAX_CYCLE_NAMES = 8;

export function planSelection(graph: AssetGraph, selected: Iterable<string>): Plan {
  // ---- 1. classify the selection
  const selectedSet = new Set<string>();
  const skipped: PlanSkip[] = [];
  const external: string[] = [];
  const exec: string[] = [];
  const unknown = new Set<string>();
  for (const id of selected) {
    if (selectedSet.has(id)) continue;
    const node = graph.get(id);
    if (!node) {
      if (!unknown.has(id)) {
        unknown.add(id);
        skipped.push({ id, reason: "not an asset in the graph" });
      }
      continue;
    }
    selectedSet.add(id);
    if (node.kind === "ts_asset" || DBT_EXECUTABLE.has(node.kind)) exec.push(id);
    else if (node.kind === "dbt_source") external.push(id);
    else skipped.push({ id, reason: "dbt exposure: describes a downstream use of the data, never executed" });
  }

  // ---- 2. the region between executed assets
  const downSet = new Set<string>(exec);
  {
    const stack = [...exec];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const d of graph.downstream(id)) {
        if (!downSet.has(d)) {
          downSet.add(d);
          stack.push(d);
        }
      }
    }
  }
  const region: string[] = [];
  const index = new Map<string, number>();
  for (const id of exec) {
    index.set(id, region.length);
    region.push(id);
  }
  {
    const stack = [...exec];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const u of graph.upstream(id)) {
        if (downSet.has(u) && !index.has(u)) {
          index.set(u, region.length);
          region.push(u);
          stack.push(u);
        }
      }
    }
  }
  const n = region.length;
  const execCount = exec.length; // region[0 .. execCount) are the executed candidates
  const succ: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const out: number[] = [];
    for (const d of graph.downstream(region[i])) {
      const j = index.get(d);
      if (j !== undefined) out.push(j);
    }
    succ[i] = out;
  }

  // ---- 3. strongly connected components (iterative Tarjan)
  const comp = new Int32Array(n).fill(-1);
  const compMembers: number[][] = [];
  {
    const order = new Int32Array(n).fill(-1);
    const low = new Int32Array(n);
    const onStack = new Uint8Array(n);
    const nextChild = new Int32Array(n);
    const stack: number[] = [];
    const calls: number[] = [];
    let counter = 0;
    for (let root = 0; root < n; root++) {
      if (order[root] >= 0) continue;
      order[root] = low[root] = counter++;
      stack.push(root);
      onStack[root] = 1;
      calls.push(root);
      while (calls.length > 0) {
        const v = calls[calls.length - 1];
        const children = succ[v];
        if (nextChild[v] < children.length) {
          const w = children[nextChild[v]++];
          if (order[w] < 0) {
            order[w] = low[w] = counter++;
            stack.push(w);
            onStack[w] = 1;
            calls.push(w);
          } else if (onStack[w] && order[w] < low[v]) {
            low[v] = order[w];
          }
          continue;
        }
        calls.pop();
        if (calls.length > 0) {
          const p = calls[calls.length - 1];
          if (low[v] < low[p]) low[p] = low[v];
        }
        if (low[v] === order[v]) {
          const members: number[] = [];
          let m: number;
          do {
            m = stack.pop()!;
            onStack[m] = 0;
            comp[m] = compMembers.length;
            members.push(m);
          } while (m !== v);
          compMembers.push(members);
        }
      }
    }
  }
  const compCount = compMembers.length;

  // executed assets on a cycle are skipped
  const inStep = new Uint8Array(n); // 1 for assets that will be in a step
  for (let i = 0; i < execCount; i++) inStep[i] = 1;
  for (const members of compMembers) {
    if (members.length < 2) continue;
    let reason: string | undefined;
    for (const m of members) {
      if (m >= execCount) continue;
      inStep[m] = 0;
      reason ??= `on a dependency cycle: ${describeCycle(region, succ, comp, members)}`;
      skipped.push({ id: region[m], reason });
    }
  }

  // ---- condensed DAG and a topological order of it (Kahn, roots by id, then FIFO)
  const csucc: number[][] = new Array(compCount);
  const indegree = new Int32Array(compCount);
  {
    const mark = new Int32Array(compCount).fill(-1);
    for (let c = 0; c < compCount; c++) {
      const out: number[] = [];
      mark[c] = c;
      for (const m of compMembers[c]) {
        for (const w of succ[m]) {
          const d = comp[w];
          if (mark[d] !== c) {
            mark[d] = c;
            out.push(d);
            indegree[d]++;
          }
        }
      }
      csucc[c] = out;
    }
  }
  const compName = (c: number): string => {
    const members = compMembers[c];
    if (members.length === 1) return region[members[0]];
    let best = region[members[0]];
    for (const m of members) if (region[m] < best) best = region[m];
    return best;
  };
  const topo: number[] = [];
  {
    const roots: number[] = [];
    for (let c = 0; c < compCount; c++) if (indegree[c] === 0) roots.push(c);
    roots.sort((a, b) => cmp(compName(a), compName(b)));
    topo.push(...roots);
    for (let k = 0; k < topo.length; k++) {
      for (const d of csucc[topo[k]]) if (--indegree[d] === 0) topo.push(d);
    }
  }
  const cpos = new Int32Array(compCount);
  for (let k = 0; k < topo.length; k++) cpos[topo[k]] = k;

  // ---- 4. classes and stages
  const cls = new Int32Array(n).fill(-1);
  const projectClass = new Map<string, number>();
  let nextClass = 0;
  for (let i = 0; i < execCount; i++) {
    if (!inStep[i]) continue;
    const node = graph.get(region[i])!;
    if (node.kind === "ts_asset") {
      cls[i] = nextClass++;
    } else {
      const project = node.project ?? "";
      let c = projectClass.get(project);
      if (c === undefined) {
        c = nextClass++;
        projectClass.set(project, c);
      }
      cls[i] = c;
    }
  }
  // best two (stage, class) pairs of distinct classes reaching each component
  const b1v = new Int32Array(compCount).fill(-1);
  const b1c = new Int32Array(compCount).fill(-1);
  const b2v = new Int32Array(compCount).fill(-1);
  const b2c = new Int32Array(compCount).fill(-1);
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
  const stage = new Int32Array(n);
  const stepOf = new Int32Array(n).fill(-1);
  const steps: WorkStep[] = [];
  const dbtGroups = new Map<string, number>();
  for (const c of topo) {
    const members = compMembers[c];
    const only = members.length === 1 ? members[0] : -1;
    if (only >= 0 && inStep[only]) {
      const k = cls[only];
      let s: number;
      if (b1c[c] === -1) s = 0;
      else if (b1c[c] !== k) s = b1v[c] + 1;
      else s = Math.max(b1v[c], b2c[c] === -1 ? 0 : b2v[c] + 1);
      stage[only] = s;
      for (const d of csucc[c]) offer(d, s, k);
      const node = graph.get(region[only])!;
      if (node.kind === "ts_asset") {
        stepOf[only] = steps.length;
        steps.push({ kind: "ts", cls: k, stage: s, members: [only] });
      } else {
        const groupKey = `${k}:${s}`;
        let step = dbtGroups.get(groupKey);
        if (step === undefined) {
          step = steps.length;
          dbtGroups.set(groupKey, step);
          steps.push({ kind: "dbt", cls: k, stage: s, members: [], project: node.project });
        }
        steps[step].members.push(only);
        stepOf[only] = step;
      }
    } else if (b1c[c] !== -1) {
      for (const d of csucc[c]) {
        offer(d, b1v[c], b1c[c]);
        if (b2c[c] !== -1) offer(d, b2v[c], b2c[c]);
      }
    }
  }

  // ---- direct step edges: an asset of A reaches one of B through nodes outside steps
  const S = steps.length;
  const stepSucc: Set<number>[] = Array.from({ length: S }, () => new Set<number>());
  const stepPred: Set<number>[] = Array.from({ length: S }, () => new Set<number>());
  const addEdge = (a: number, b: number): void => {
    if (a === b) return;
    stepSucc[a].add(b);
    stepPred[b].add(a);
  };
  {
    const through: (Set<number> | undefined)[] = new Array(compCount);
    const stepOfComp = (c: number): number => {
      const members = compMembers[c];
      return members.length === 1 ? stepOf[members[0]] : -1;
    };
    for (const c of topo) {
      const own = stepOfComp(c);
      if (own >= 0) {
        for (const d of csucc[c]) {
          const t = stepOfComp(d);
          if (t >= 0) addEdge(own, t);
          else (through[d] ??= new Set<number>()).add(own);
        }
      } else {
        const ups = through[c];
        if (!ups) continue;
        for (const d of csucc[c]) {
          const t = stepOfComp(d);
          if (t >= 0) for (const s of ups) addEdge(s, t);
          else {
            const set = (through[d] ??= new Set<number>());
            for (const s of ups) set.add(s);
          }
        }
        through[c] = undefined;
      }
    }
  }

  // ---- 5. greedy merging of dbt steps of one project, with the closure as bitsets
  const alive = new Uint8Array(S).fill(1);
  const dbtByClass = new Map<number, number[]>();
  for (let s = 0; s < S; s++) {
    if (steps[s].kind !== "dbt") continue;
    let list = dbtByClass.get(steps[s].cls);
    if (!list) dbtByClass.set(steps[s].cls, (list = []));
    list.push(s);
  }
  if ([...dbtByClass.values()].some((list) => list.length > 1)) {
    const W = (S + 31) >>> 5;
    const reach = new Uint32Array(S * W);
    const anc = new Uint32Array(S * W);
    // inter-step edges strictly increase the stage: stage order is a topological order
    const byStage = Array.from({ length: S }, (_, s) => s).sort((a, b) => steps[a].stage - steps[b].stage);
    for (let k = S - 1; k >= 0; k--) {
      const s = byStage[k];
      const base = s * W;
      for (const t of stepSucc[s]) {
        reach[base + (t >>> 5)] |= 1 << (t & 31);
        const tb = t * W;
        for (let w = 0; w < W; w++) reach[base + w] |= reach[tb + w];
      }
    }
    for (let k = 0; k < S; k++) {
      const s = byStage[k];
      const base = s * W;
      for (const p of stepPred[s]) {
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
    const merge = (a: number, b: number): void => {
      const ab = a * W;
      const bb = b * W;
      const R = new Uint32Array(W);
      const A = new Uint32Array(W);
      for (let w = 0; w < W; w++) {
        R[w] = reach[ab + w] | reach[bb + w];
        A[w] = anc[ab + w] | anc[bb + w];
      }
      const clear = (bits: Uint32Array, off: number, i: number): void => {
        bits[off + (i >>> 5)] &= ~(1 << (i & 31));
      };
      const set = (bits: Uint32Array, off: number, i: number): void => {
        bits[off + (i >>> 5)] |= 1 << (i & 31);
      };
      clear(R, 0, a);
      clear(R, 0, b);
      clear(A, 0, a);
      clear(A, 0, b);
      reach.set(R, ab);
      anc.set(A, ab);
      reach.fill(0, bb, bb + W);
      anc.fill(0, bb, bb + W);
      for (let w = 0; w < W; w++) {
        let bits = A[w];
        while (bits !== 0) {
          const low = bits & -bits;
          const x = (w << 5) + (31 - Math.clz32(low));
          bits ^= low;
          const xb = x * W;
          for (let v = 0; v < W; v++) reach[xb + v] |= R[v];
          clear(reach, xb, b);
          set(reach, xb, a);
        }
        bits = R[w];
        while (bits !== 0) {
          const low = bits & -bits;
          const y = (w << 5) + (31 - Math.clz32(low));
          bits ^= low;
          const yb = y * W;
          for (let v = 0; v < W; v++) anc[yb + v] |= A[v];
          clear(anc, yb, b);
          set(anc, yb, a);
        }
      }
      // direct edges and members
      for (const t of stepSucc[b]) {
        stepPred[t].delete(b);
        if (t !== a) addEdge(a, t);
      }
      for (const p of stepPred[b]) {
        stepSucc[p].delete(b);
        if (p !== a) addEdge(p, a);
      }
      stepSucc[a].delete(b);
      stepPred[a].delete(b);
      stepSucc[b].clear();
      stepPred[b].clear();
      for (const m of steps[b].members) {
        steps[a].members.push(m);
        stepOf[m] = a;
      }
      steps[b].members = [];
      alive[b] = 0;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (const list of dbtByClass.values()) {
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
  }

  // ---- 6. order steps: depth (longest path), then the position of their first asset
  const depth = new Int32Array(S);
  {
    const pending = new Int32Array(S);
    const queue: number[] = [];
    for (let s = 0; s < S; s++) {
      if (!alive[s]) continue;
      pending[s] = stepPred[s].size;
      if (pending[s] === 0) queue.push(s);
    }
    for (let k = 0; k < queue.length; k++) {
      const s = queue[k];
      for (const t of stepSucc[s]) {
        if (depth[s] + 1 > depth[t]) depth[t] = depth[s] + 1;
        if (--pending[t] === 0) queue.push(t);
      }
    }
  }
  const posOf = (i: number): number => cpos[comp[i]];
  const order: number[] = [];
  const firstPos = new Int32Array(S);
  for (let s = 0; s < S; s++) {
    if (!alive[s]) continue;
    steps[s].members.sort((x, y) => posOf(x) - posOf(y));
    firstPos[s] = posOf(steps[s].members[0]);
    order.push(s);
  }
  order.sort((a, b) => depth[a] - depth[b] || firstPos[a] - firstPos[b]);
  const stepId = new Map<number, string>();
  order.forEach((s, k) => stepId.set(s, `step-${k + 1}`));
  const rank = new Int32Array(S);
  order.forEach((s, k) => (rank[s] = k));
  const planSteps: PlanStep[] = order.map((s) => {
    const step = steps[s];
    const out: PlanStep = {
      id: stepId.get(s)!,
      kind: step.kind,
      assets: step.members.map((m) => region[m]),
      dependsOn: [...stepPred[s]].sort((x, y) => rank[x] - rank[y]).map((p) => stepId.get(p)!),
      parallelGroup: depth[s],
    };
    if (step.kind === "dbt" && step.project !== undefined) out.project = step.project;
    return out;
  });

  // ---- 7. inputs, selection order
  const inputs = new Set<string>();
  for (let i = 0; i < execCount; i++) {
    if (!inStep[i]) continue;
    for (const u of graph.upstream(region[i])) if (!selectedSet.has(u)) inputs.add(u);
  }
  const selectionOrder: string[] = [];
  {
    const inRegion: number[] = [];
    const rest: string[] = [];
    for (const id of selectedSet) {
      const i = index.get(id);
      if (i === undefined) rest.push(id);
      else inRegion.push(i);
    }
    inRegion.sort((x, y) => posOf(x) - posOf(y) || cmp(region[x], region[y]));
    rest.sort(cmp);
    // unexecuted selected assets outside the region (sources, exposures): sources first, exposures last
    const kindRank = (id: string): number => (graph.get(id)!.kind === "dbt_exposure" ? 1 : 0);
    for (const id of rest) if (kindRank(id) === 0) selectionOrder.push(id);
    for (const i of inRegion) selectionOrder.push(region[i]);
    for (const id of rest) if (kindRank(id) === 1) selectionOrder.push(id);
  }

  return {
    selection: selectionOrder,
    steps: planSteps,
    inputs: [...inputs].sort(cmp),
    external: external.sort(cmp),
    skipped: skipped.sort((x, y) => cmp(x.id, y.id)),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `a -> b -> c -> a`, following edges inside the component from its smallest id. */
function describeCycle(region: string[], succ: number[][], comp: Int32Array, members: number[]): string {
  const c = comp[members[0]];
  let start = members[0];
  for (const m of members) if (region[m] < region[start]) start = m;
  const path = [start];
  const seen = new Set(path);
  let current = start;
  for (;;) {
    const next = succ[current].find((w) => comp[w] === c && !seen.has(w));
    if (next === undefined) break;
    path.push(next);
    seen.add(next);
    current = next;
  }
  // close the loop only when the walk's last node really points back to the start
  const closes = succ[current].includes(start);
  const names = path.map((m) => region[m]);
  const shown = names.length > MAX_CYCLE_NAMES ? [...names.slice(0, MAX_CYCLE_NAMES), "..."] : names;
  const extra = members.length > path.length ? ` (and ${members.length - path.length} more assets in the cycle)` : "";
  return (closes && names.length <= MAX_CYCLE_NAMES ? [...shown, names[0]] : shown).join(" -> ") + extra;
}
