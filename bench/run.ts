/**
 * `npm run bench -- run`: planner and runner speed. Prints one JSON line:
 *   planMs10k          planning `+sink` over a generated 10,000-node graph (bench/plan.ts)
 *   perModelOverheadMs embedded engine time per model minus DuckDB's own query time, on a chain of
 *                      200 trivial models
 *   checksPerModelMs   embedded engine: 5 generic dbt tests per model (not_null, unique, accepted_values,
 *                      relationships, a where-filtered not_null) on 1,000 table models of 100 rows,
 *                      time of the tests (render + DuckDB) per model; perCheckMs is that / 5
 *   exampleColdMs      `tributary materialize +forecast_vs_actual` on the example as a fresh process
 *   exampleWarmMs      the same run inside a warm process (index loaded, modules compiled)
 *   cancelMs           SIGINT to `tributary materialize` while a TS asset runs, until the process has exited
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { WorkspaceIndex } from "../server/src/index/workspace";
import { planSelection } from "../server/src/plan/planner";
import { RunContext } from "../server/src/run/context";
import { runEmbeddedStep, type EmbeddedTest } from "../server/src/run/embedded/engine";
import type { EmbeddedNode } from "../server/src/run/embedded/nodes";
import { Warehouse } from "../server/src/run/warehouse";
import { runPlan } from "../server/src/run/runner";
import { benchPlan } from "./plan";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "packages/tributary-assets/dist/cli.js");
const EXAMPLE = path.join(ROOT, "examples/jaffle-forecast");
const round = (n: number) => Math.round(n * 10) / 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function copyExample(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tributary-bench-run-"));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/\.tributary|node_modules|[/\\]target([/\\]|$)/.test(path.relative(EXAMPLE, src)) });
  return dir;
}

async function perModelOverhead(models = 200): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), "tributary-bench-chain-"));
  try {
    mkdirSync(path.join(dir, "models"));
    const nodes: EmbeddedNode[] = [];
    for (let i = 0; i < models; i++) {
      const file = path.join(dir, "models", `m${i}.sql`);
      writeFileSync(file, i === 0 ? "select 1 as id, 'a' as name" : `{{ config(materialized='table') }}\nselect id + 1 as id, name from {{ ref('m${i - 1}') }}`);
      nodes.push({ id: `m${i}`, resourceType: "model", name: `m${i}`, file, config: { materialized: "table" }, dependsOn: i ? [`m${i - 1}`] : [] });
    }
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const warehouse = await Warehouse.open(path.join(dir, `w${run}.duckdb`));
      try {
        const results = await runEmbeddedStep(nodes, {
          project: { name: "chain", root: dir, vars: {} },
          target: { name: "dev", type: "duckdb", schema: "main", database: `w${run}`, path: path.join(dir, `w${run}.duckdb`), threads: 2 },
          cliVars: {},
          macroFiles: [],
          relations: { ref: (name) => (byName.has(name) ? { kind: "node", node: byName.get(name)! } : undefined), source: () => undefined },
          connection: warehouse,
          viewCountMs: 0,
        });
        if (results.some((r) => r.status !== "success")) throw new Error(JSON.stringify(results.find((r) => r.status !== "success")));
        samples.push(results.reduce((sum, r) => sum + (r.ms - (r.dbMs ?? 0)), 0) / models);
      } finally {
        warehouse.close();
      }
    }
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function checksPerModel(models = 1000): Promise<{ perModel: number; perCheck: number; checks: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), "tributary-bench-checks-"));
  try {
    mkdirSync(path.join(dir, "models"));
    const nodes: EmbeddedNode[] = [];
    const tests: EmbeddedTest[] = [];
    for (let i = 0; i < models; i++) {
      const file = path.join(dir, "models", `m${i}.sql`);
      writeFileSync(file, "select range as id, 'a' || (range % 3) as status, range % 10 as parent_id from range(100)");
      nodes.push({ id: `m${i}`, resourceType: "model", name: `m${i}`, file, config: { materialized: "table" }, dependsOn: [] });
      const test = (name: string, testName: string, column: string, args: Record<string, unknown> = {}, where?: string): EmbeddedTest => ({
        id: `bench.${name}_m${i}_${column}`, name: `${name}_m${i}_${column}`, file, severity: "error", config: where ? { where } : {}, waitFor: [`m${i}`], attachedTo: [`m${i}`],
        generic: { test: testName, model: { ref: `m${i}` }, column, args },
      });
      tests.push(
        test("not_null", "not_null", "id"),
        test("unique", "unique", "id"),
        test("accepted_values", "accepted_values", "status", { values: ["a0", "a1", "a2"] }),
        test("relationships", "relationships", "parent_id", { to: "ref('m0')", field: "id" }),
        test("not_null_where", "not_null", "status", {}, "id > 10"),
      );
    }
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const warehouse = await Warehouse.open(path.join(dir, `c${run}.duckdb`));
      let testMs = 0;
      const failed: string[] = [];
      try {
        await runEmbeddedStep(nodes, {
          project: { name: "bench", root: dir, vars: {} },
          target: { name: "dev", type: "duckdb", schema: "main", database: `c${run}`, path: path.join(dir, `c${run}.duckdb`), threads: 2 },
          cliVars: {},
          macroFiles: [],
          relations: { ref: (name) => (byName.has(name) ? { kind: "node", node: byName.get(name)! } : undefined), source: () => undefined },
          connection: warehouse,
          viewCountMs: 0,
          tests,
          onTestResult: (r) => {
            testMs += r.ms;
            if (r.status !== "pass") failed.push(`${r.id}: ${r.status} ${r.error ?? ""}`);
          },
        });
        if (failed.length) throw new Error(`bench tests did not pass: ${failed.slice(0, 3).join("; ")}`);
        samples.push(testMs / models);
      } finally {
        warehouse.close();
      }
    }
    const perModel = median(samples);
    return { perModel, perCheck: perModel / 5, checks: tests.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function exampleCold(): number {
  const samples: number[] = [];
  for (let run = 0; run < 3; run++) {
    const dir = copyExample();
    try {
      const t = performance.now();
      execFileSync(process.execPath, [CLI, "materialize", "+forecast_vs_actual"], { cwd: dir, stdio: "ignore" });
      samples.push(performance.now() - t);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return median(samples);
}

async function exampleWarm(): Promise<number> {
  const dir = copyExample();
  try {
    const samples: number[] = [];
    for (let run = 0; run < 4; run++) {
      const t = performance.now();
      const index = new WorkspaceIndex({ roots: [dir] });
      index.load();
      const ids = ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"];
      const summary = await runPlan(new RunContext(index, dir), planSelection(index.graph, ids), { selection: "+forecast_vs_actual" });
      if (summary.status !== "success") throw new Error(`warm run ${summary.status}: ${JSON.stringify(summary.failed)}`);
      if (run > 0) samples.push(performance.now() - t); // the first run warms the process up
    }
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A run is cancelled while a TS asset sleeps: time from SIGINT to the runner's exit. */
async function cancelLatency(): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < 3; run++) {
    const dir = copyExample();
    try {
      const file = path.join(dir, "assets/forecast.ts");
      writeFileSync(file, readFileSync(file, "utf8").replace("const model = train(fct_orders);", "const model = train(fct_orders);\n    await new Promise((r) => setTimeout(r, 30000));"));
      const child = spawn(process.execPath, [CLI, "materialize", "+forecast_vs_actual", "--json"], { cwd: dir, stdio: ["ignore", "pipe", "ignore"] });
      let output = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          output += d.toString();
          if (/"type":"asset_start"[^\n]*"assetId":"order_forecast_model"/.test(output)) resolve();
        });
        child.on("exit", () => reject(new Error(`the run ended before the TS asset started: ${output}`)));
      });
      const t = performance.now();
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGINT");
      await exited;
      samples.push(performance.now() - t);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return median(samples);
}

async function main(): Promise<void> {
  const plan = await benchPlan();
  const perModelOverheadMs = await perModelOverhead();
  const checks = await checksPerModel();
  const exampleColdMs = exampleCold();
  const exampleWarmMs = await exampleWarm();
  const cancelMs = await cancelLatency();
  console.log(
    JSON.stringify({
      planMs10k: plan.planMs10k,
      perModelOverheadMs: round(perModelOverheadMs),
      checksPerModelMs: round(checks.perModel),
      perCheckMs: Math.round(checks.perCheck * 100) / 100,
      checksRun: checks.checks,
      exampleColdMs: Math.round(exampleColdMs),
      exampleWarmMs: Math.round(exampleWarmMs),
      cancelMs: Math.round(cancelMs),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg().map(round), node: process.version },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
