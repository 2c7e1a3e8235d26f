/**
 * The dbt engine path end to end through the CLI, against the fake `dbt` (dbt itself cannot be
 * installed here), and the automatic engine choice.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { HistoryStore } from "../../server/src/run/history";
import { runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";

const FAKE_DBT_DIR = path.resolve(__dirname, "../fixtures/fake-dbt");

function run(root: string, args: string[], env: NodeJS.ProcessEnv) {
  const result = runCli(root, args, env);
  const events = result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: result.code, events, stderr: result.stderr, stdout: result.stdout };
}

describe("dbt engine", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const fresh = () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    return ws.root;
  };
  const withFakeDbt = { PATH: `${FAKE_DBT_DIR}${path.delimiter}${process.env.PATH}` };

  test("--engine dbt runs one `dbt build` per dbt step with argument arrays and records dbt's results", () => {
    const root = fresh();
    const argsFile = path.join(root, "dbt-args.json");
    const { code, events, stderr } = run(root, ["materialize", "+fct_orders", "--engine", "dbt", "--json"], { ...withFakeDbt, FAKE_DBT_ARGS_FILE: argsFile, FAKE_DBT_ROWS: JSON.stringify({ fct_orders: 180 }) });
    assert.equal(code, 0, stderr);
    assert.equal(events[0].engine, "dbt");
    const argv = JSON.parse(readFileSync(argsFile, "utf8")) as string[];
    assert.equal(argv[0], "build");
    assert.deepEqual(argv.slice(argv.indexOf("--project-dir"), argv.indexOf("--project-dir") + 2), ["--project-dir", root]);
    assert.ok(argv.includes("--log-format") && argv[argv.indexOf("--log-format") + 1] === "json");
    for (const name of ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders"]) assert.ok(argv.includes(`package:jaffle_forecast,${name}`), `${name} selected`);
    const materialized = events.filter((e) => e.type === "asset_materialized");
    assert.deepEqual(materialized.map((e) => e.assetId).sort(), ["fct_orders", "raw_orders", "raw_payments", "stg_orders", "stg_payments"]);
    assert.equal(materialized.find((e) => e.assetId === "fct_orders")!.rows, 180);
    assert.equal(HistoryStore.open(root).lastSuccess("fct_orders")!.rows, 180);
  });

  test("a model dbt reports as failed fails its asset and skips its downstream", () => {
    const root = fresh();
    const { code, events } = run(root, ["materialize", "+fct_orders", "--engine", "dbt", "--json"], { ...withFakeDbt, FAKE_DBT_FAIL: "stg_orders" });
    assert.equal(code, 1);
    const end = events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["stg_orders"]);
    assert.match((end.failed as { error: string }[])[0].error, /Runtime Error/);
    assert.ok((end.skipped as string[]).includes("fct_orders"));
  });

  test("the engine is chosen automatically: dbt when installed and the project uses packages, else embedded", () => {
    const root = fresh();
    const plain = run(root, ["materialize", "raw_orders", "--json"], withFakeDbt);
    assert.equal(plain.events[0].engine, "embedded");
    writeFileSync(path.join(root, "packages.yml"), "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n");
    const withPackages = run(root, ["materialize", "raw_orders", "--json"], withFakeDbt);
    assert.equal(withPackages.events[0].engine, "dbt");
    const noDbt = run(root, ["materialize", "raw_orders", "--json"], { PATH: path.dirname(process.execPath) });
    assert.equal(noDbt.events[0].engine, "embedded");
  });

  test("--engine dbt without dbt installed says so", () => {
    const root = fresh();
    const { code, stderr } = run(root, ["materialize", "raw_orders", "--engine", "dbt"], { PATH: path.dirname(process.execPath) });
    assert.equal(code, 2);
    assert.match(stderr, /The dbt engine needs the dbt executable: 'dbt' is not on PATH/);
  });
});
