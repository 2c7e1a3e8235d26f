/**
 * Planner benchmark: a 10,000-node graph (layers of dbt models with a few hundred TS assets
 * interleaved), selection `+sink`, median planning time over 7 runs.
 *
 *   npx tsx bench/plan.ts  (or `npm run bench -- plan`)  -> {"planMs10k": ..., ...}
 */
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { AssetGraph } from "../server/src/graph/graph";
import { selectAssets } from "../server/src/graph/selection";
import { planSelection } from "../server/src/plan/planner";
import type { AssetKind } from "../server/src/protocol/types";
import { prng } from "./prng";


export interface BenchGraph {
  graph: AssetGraph;
  sink: string;
  tsCount: number;
}

/**
 * `layers` x `width` nodes plus one sink: layer 0 seeds, then dbt models reading 1–3 nodes of the
 * previous two layers; `tsCount` random nodes outside layer 0 are TS assets instead.
 */
export function benchGraph(seed = 7, layers = 50, width = 200, tsCount = 300): BenchGraph {
  const rand = prng(seed);
  const graph = new AssetGraph();
  const ids: string[][] = [];
  const ts = new Set<number>();
  while (ts.size < tsCount) ts.add(width + Math.floor(rand() * (layers - 1) * width));
  for (let l = 0; l < layers; l++) {
    const row: string[] = [];
    for (let i = 0; i < width; i++) {
      const flat = l * width + i;
      const kind: AssetKind = l === 0 ? "dbt_seed" : ts.has(flat) ? "ts_asset" : "dbt_model";
      const id = kind === "ts_asset" ? `ml/asset_${l}_${i}` : `model_${l}_${i}`;
      graph.addNode({
        id,
        key: id.split("/"),
        kind,
        tags: [],
        owners: [],
        alsoAt: [],
        ...(kind === "ts_asset" ? {} : { project: "warehouse", dbtName: id }),
      });
      row.push(id);
      if (l > 0) {
        const parents = 1 + Math.floor(rand() * 3);
        for (let p = 0; p < parents; p++) {
          const from = l >= 2 && rand() < 0.3 ? ids[l - 2] : ids[l - 1];
          graph.addEdge({ from: from[Math.floor(rand() * width)], to: id, origin: "sql" });
        }
      }
    }
    ids.push(row);
  }
  const sink = "reporting_sink";
  graph.addNode({ id: sink, key: [sink], kind: "dbt_model", tags: [], owners: [], alsoAt: [], project: "warehouse", dbtName: sink });
  for (const id of ids[layers - 1]) graph.addEdge({ from: id, to: sink, origin: "sql" });
  return { graph, sink, tsCount };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export interface PlanBench {
  /**
   * Median over 7 plans of `+sink` on one graph, after 5 warm-up plans (the planner's integer index
   * of the graph is cached per graph instance, as in the server between two edits).
   */
  planMs10k: number;
  /** Median over the first plan on each of 7 freshly built graphs (building the integer index included). */
  planMs10kCold: number;
  selected: number;
  steps: number;
  dbtSteps: number;
  /** Median time of `selectAssets("+sink")`. */
  selectMs10k: number;
}

export async function benchPlan(): Promise<PlanBench> {
  // 49 full layers + the seed layer + the sink: 10,001 nodes
  const { graph, sink } = benchGraph(7, 50, 200, 300);
  const selectTimes: number[] = [];
  let ids = new Set<string>();
  for (let run = 0; run < 7; run++) {
    const t0 = performance.now();
    const result = selectAssets(`+${sink}`, graph);
    selectTimes.push(performance.now() - t0);
    if (!result.ok) throw new Error(result.error.message);
    ids = result.ids;
  }
  for (let run = 0; run < 5; run++) planSelection(graph, ids); // JIT warm-up
  const times: number[] = [];
  let plan = planSelection(graph, ids);
  for (let run = 0; run < 7; run++) {
    const t0 = performance.now();
    plan = planSelection(graph, ids);
    times.push(performance.now() - t0);
  }
  const coldTimes: number[] = [];
  const fresh = Array.from({ length: 7 }, () => benchGraph(7, 50, 200, 300).graph);
  for (const g of fresh) {
    const t0 = performance.now();
    planSelection(g, ids);
    coldTimes.push(performance.now() - t0);
  }
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    planMs10k: round(median(times)),
    planMs10kCold: round(median(coldTimes)),
    selected: ids.size,
    steps: plan.steps.length,
    dbtSteps: plan.steps.filter((s) => s.kind === "dbt").length,
    selectMs10k: round(median(selectTimes)),
  };
}

// run directly (`npx tsx bench/plan.ts`, `npm run bench -- plan`), not when imported by a test
const invokedDirectly = /(^|[\\/])bench[\\/]plan\.ts$/.test(process.argv[1] ?? "");

if (invokedDirectly) {
  benchPlan().then(
    (result) =>
      console.log(
        JSON.stringify({
          ...result,
          machine: { cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 10) / 10), node: process.version },
        }),
      ),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
