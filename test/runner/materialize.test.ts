/**
 * The runner end to end, as users run it: the built `tributary` CLI on a fresh copy of the example,
 * a real DuckDB file, the history under `.tributary/`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { Warehouse } from "../../server/src/run/warehouse";
import { HistoryStore } from "../../server/src/run/history";
import { CLI, runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";


interface Event {
  type: string;
  [key: string]: unknown;
}


function events(root: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; events: Event[]; stderr: string } {
  const { code, stdout, stderr } = runCli(root, [...args, "--json"], env);
  return { code, stderr, events: stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Event) };
}

async function rows(root: string, sql: string): Promise<Record<string, unknown>[]> {
  const warehouse = await Warehouse.open(path.join(root, ".tributary/warehouse.duckdb"), { readOnly: true });
  try {
    return await warehouse.query(sql);
  } finally {
    warehouse.close();
  }
}

function statuses(root: string): Record<string, { state: string; reason?: string }> {
  const { stdout } = runCli(root, ["status", "--json"]);
  return Object.fromEntries((JSON.parse(stdout) as { key: string[]; state: string; reason?: string }[]).map((s) => [s.key.join("/"), s]));
}

describe("materialize the example", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const fresh = () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    return ws.root;
  };

  test("+forecast_vs_actual: two dbt invocations around the TS steps, tables with rows, history, then fresh", async () => {
    const root = fresh();
    const run = events(root, ["materialize", "+forecast_vs_actual"]);
    assert.equal(run.code, 0, run.stderr);
    const start = run.events.find((e) => e.type === "run_start")!;
    const plan = start.plan as { steps: { kind: string; assets: string[] }[] };
    assert.deepEqual(plan.steps.map((s) => s.kind), ["dbt", "ts", "ts", "dbt"]);
    assert.deepEqual(plan.steps[3].assets, ["forecast_vs_actual"]);
    const materialized = run.events.filter((e) => e.type === "asset_materialized").map((e) => e.assetId);
    assert.deepEqual(materialized, ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"]);
    assert.equal(run.events.at(-1)!.type, "run_end");
    assert.equal(run.events.at(-1)!.status, "success");

    const [orders] = await rows(root, "select count(*)::int as n from main.fct_orders");
    assert.equal(orders.n, readFileSync(path.join(root, "seeds/raw_orders.csv"), "utf8").trim().split("\n").length - 1);
    const [predicted] = await rows(root, "select count(*)::int as n, min(order_date)::varchar as first from forecasting.predicted_orders");
    assert.ok((predicted.n as number) > 100);
    const [joined] = await rows(root, "select count(*)::int as n from main.forecast_vs_actual where actual_orders > 0");
    assert.ok((joined.n as number) > 50, "forecast_vs_actual joins predictions with actual orders");
    const views = await rows(root, "select table_name from information_schema.tables where table_type = 'VIEW' order by 1");
    assert.deepEqual(views.map((v) => v.table_name), ["stg_orders", "stg_payments"]);
    const model = JSON.parse(readFileSync(path.join(root, ".tributary/storage/order_forecast_model.json"), "utf8")) as { slope: number; trainedOn: number };
    assert.equal(model.trainedOn, orders.n);

    const history = HistoryStore.open(root);
    const last = history.lastRun()!;
    assert.equal(last.status, "success");
    assert.equal(history.steps(last.id).length, 4);
    assert.equal(history.lastSuccess("forecasting/predicted_orders")!.rows, predicted.n);
    assert.equal(history.lastSuccess("stg_orders")!.rows, orders.n, "a view's row count is recorded when it is cheap");
    assert.equal(history.lastSuccess("order_forecast_model")!.metadata!.slope, model.slope, "ctx.metadata() is recorded");
    const status = statuses(root);
    assert.equal(status.forecast_vs_actual.state, "fresh");
    assert.equal(status.order_forecast_model.state, "fresh");
    assert.equal(status.customers.state, "missing");
  });

  test("editing a model makes it and its downstream stale, across technologies", () => {
    const root = fresh();
    assert.equal(runCli(root, ["materialize", "+forecast_vs_actual"]).code, 0);
    const file = path.join(root, "models/staging/stg_orders.sql");
    writeFileSync(file, readFileSync(file, "utf8").replace("status\nfrom source", "status,\n    1 as edited\nfrom source"));
    const status = statuses(root);
    assert.equal(status.stg_orders.state, "stale");
    assert.match(status.stg_orders.reason!, /code changed/);
    for (const id of ["fct_orders", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"]) assert.equal(status[id].state, "stale", id);
    assert.equal(status.stg_payments.state, "fresh");
    assert.equal(status.raw_orders.state, "fresh");
  });

  test("a failing SQL model skips exactly its downstream; --retry-failed reruns exactly those", () => {
    const root = fresh();
    const file = path.join(root, "models/marts/fct_orders.sql");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, original.replace("from orders\nleft join", "from no_such_table\nleft join"));
    const failed = events(root, ["materialize", "+forecast_vs_actual +customers"]);
    assert.equal(failed.code, 1);
    const end = failed.events.at(-1)!;
    assert.equal(end.status, "failed");
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["fct_orders"]);
    assert.match((end.failed as { error: string }[])[0].error, /fct_orders|no_such_table/);
    const ok = failed.events.filter((e) => e.type === "asset_materialized").map((e) => e.assetId).sort();
    assert.deepEqual(ok, ["raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_orders", "stg_payments"]);
    assert.deepEqual([...(end.skipped as string[])].sort(), ["customers", "forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);

    writeFileSync(file, original);
    const retry = events(root, ["materialize", "--retry-failed"]);
    assert.equal(retry.code, 0, retry.stderr);
    // The failed dbt step's models that had succeeded (seeds, staging) are not rebuilt.
    const rerun = retry.events.filter((e) => e.type === "asset_materialized").map((e) => e.assetId).sort();
    assert.deepEqual(rerun, ["customers", "fct_orders", "forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);
  });

  test("a TS asset that throws fails its step with the error and skips its downstream", () => {
    const root = fresh();
    const file = path.join(root, "assets/forecast.ts");
    writeFileSync(file, readFileSync(file, "utf8").replace("const model = train(fct_orders);", 'const model = train(fct_orders);\n    if (model) throw new Error("model did not converge");'));
    const run = events(root, ["materialize", "+forecast_vs_actual"]);
    assert.equal(run.code, 1);
    const stepFailed = run.events.find((e) => e.type === "step_failed")!;
    assert.deepEqual(stepFailed.assets, ["order_forecast_model"]);
    assert.match(String(stepFailed.error), /model did not converge/);
    assert.match(String(stepFailed.error), /forecast\.ts:\d+/, "the stack points into the user's TS file");
    assert.deepEqual([...(run.events.at(-1)!.skipped as string[])].sort(), ["forecast_vs_actual", "forecasting/predicted_orders"]);
    assert.equal(HistoryStore.open(root).lastMaterialization("order_forecast_model")!.status, "failed");
  });

  test("a custom IO manager registered by the user's module stores and loads the asset", async () => {
    const root = fresh();
    writeFileSync(
      path.join(root, "assets/report.ts"),
      `import { writeFileSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { asset, registerIOManager } from "tributary-assets";

const file = (key: string[]) => path.join(__dirname, "..", key.join("_") + ".txt");
registerIOManager("text", {
  async load(key) { return readFileSync(file(key), "utf8"); },
  async store(key, value) { writeFileSync(file(key), String(value)); return { rows: 1, metadata: { bytes: String(value).length } }; },
});

export const orderReport = asset({ key: "order_report", deps: ["fct_orders"], io: "text" }, async ({ fct_orders }, ctx) => {
  ctx.log.info("writing the report");
  return \`orders: \${fct_orders.length}\`;
});

export const reportLength = asset({ key: "report_length", deps: [orderReport] }, async ({ order_report }) => order_report.length);
`,
    );
    const run = events(root, ["materialize", "+report_length"]);
    assert.equal(run.code, 0, run.stderr + JSON.stringify(run.events.filter((e) => e.type === "step_failed")));
    const [orders] = await rows(root, "select count(*)::int as n from main.fct_orders");
    assert.equal(readFileSync(path.join(root, "order_report.txt"), "utf8"), `orders: ${orders.n}`);
    const history = HistoryStore.open(root);
    assert.deepEqual(history.lastSuccess("order_report")!.metadata, { bytes: `orders: ${orders.n}`.length });
    assert.match(history.lastSuccess("order_report")!.log!, /writing the report/);
    assert.equal(JSON.parse(readFileSync(path.join(root, ".tributary/storage/report_length.json"), "utf8")), `orders: ${orders.n}`.length);
  });

  test("the built-in IO managers are registered like a user's: the module finds them, and its own `json` replaces the built-in", async () => {
    const root = fresh();
    writeFileSync(
      path.join(root, "assets/probe.ts"),
      `import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { asset, getIOManager, registerIOManager } from "tributary-assets";

const builtins = ["json", "table"].filter((name) => getIOManager(name) !== undefined);
const builtinJson = getIOManager("json")!;
registerIOManager("json", {
  load: (key, ctx) => builtinJson.load(key, ctx),
  async store(key, value, ctx) {
    writeFileSync(path.join(__dirname, "..", key.join("_") + ".override.json"), JSON.stringify({ value, builtins }));
    return builtinJson.store(key, value, ctx);
  },
});

export const probe = asset({ key: "probe" }, async () => 41);
export const probePlusOne = asset({ key: "probe_plus_one", deps: [probe] }, async ({ probe }) => probe + 1);
`,
    );
    const run = events(root, ["materialize", "+probe_plus_one"]);
    assert.equal(run.code, 0, run.stderr + JSON.stringify(run.events.filter((e) => e.type === "step_failed")));
    assert.deepEqual(JSON.parse(readFileSync(path.join(root, "probe.override.json"), "utf8")), { value: 41, builtins: ["json", "table"] });
    assert.deepEqual(JSON.parse(readFileSync(path.join(root, "probe_plus_one.override.json"), "utf8")), { value: 42, builtins: ["json", "table"] });
    assert.equal(JSON.parse(readFileSync(path.join(root, ".tributary/storage/probe_plus_one.json"), "utf8")), 42, "the built-in, called by the user's manager, still stores");
  });

  test("a second run while one holds the warehouse is refused with a clear message", async () => {
    const root = fresh();
    const file = path.join(root, "assets/forecast.ts");
    // A slow asset keeps the first run busy while the second one starts.
    writeFileSync(file, readFileSync(file, "utf8").replace("const model = train(fct_orders);", "const model = train(fct_orders);\n    await new Promise((r) => setTimeout(r, 4000));"));
    const first = spawn(process.execPath, [CLI, "materialize", "+order_forecast_model", "--json"], { cwd: root });
    let output = "";
    first.stdout.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.split("\n").some((l) => l.includes('"type":"asset_start"') && l.includes('"assetId":"order_forecast_model"')), 20_000);
    const second = runCli(root, ["materialize", "raw_orders"]);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /Another Tributary run \(run [\w-]+, pid \d+\) is writing this warehouse/);
    const code = await new Promise<number | null>((resolve) => first.on("exit", resolve));
    assert.equal(code, 0);
  });

  // How fast a cancel stops the run is a figure of `npm run bench -- run` (cancelMs), not asserted here.
  test("cancel (SIGINT) stops the run and records it as cancelled", async () => {
    const root = fresh();
    const file = path.join(root, "assets/forecast.ts");
    writeFileSync(file, readFileSync(file, "utf8").replace("const model = train(fct_orders);", "const model = train(fct_orders);\n    await new Promise((r) => setTimeout(r, 30000));"));
    const child = spawn(process.execPath, [CLI, "materialize", "+forecast_vs_actual", "--json"], { cwd: root });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.split("\n").some((l) => l.includes('"type":"asset_start"') && l.includes('"assetId":"order_forecast_model"')), 20_000);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 130);
    const history = HistoryStore.open(root);
    assert.equal(history.lastRun()?.status, "cancelled", output + readFileSync(path.join(root, ".tributary/history/events.jsonl"), "utf8"));
    assert.equal(history.lastSuccess("fct_orders")!.status, "success", "work done before the cancel is kept");
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}
