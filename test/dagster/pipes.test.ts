/**
 * Dagster Pipes end to end: a Python orchestrator written from the protocol (fixtures/pipes_harness.py,
 * standard library only) encodes the bootstrap params as the spec says, launches the built
 * `tributary run-asset`, and reads back the messages it wrote; the test asserts what Dagster would
 * receive: opened, logs, the materialization with its metadata and data version, closed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI, runCli } from "../helpers/cli";
import { PYTHON } from "../helpers/python";
import { copyExample } from "../helpers/workspace";

const HARNESS = path.join(__dirname, "fixtures", "pipes_harness.py");

interface PipesMessage {
  __dagster_pipes_version: string;
  method: string;
  params: Record<string, unknown> | null;
}

interface HarnessResult {
  exit_code: number;
  messages: PipesMessage[];
  problems: string[];
  other_output: string;
}

function context(assetKeys: string[] | null, extra: Record<string, unknown> = {}) {
  return {
    asset_keys: assetKeys,
    code_version_by_asset_key: null,
    provenance_by_asset_key: null,
    partition_key: null,
    partition_key_range: null,
    partition_time_window: null,
    run_id: "0f3e5a1c-dagster-run",
    job_name: "forecast_job",
    retry_number: 0,
    extras: {},
    ...extra,
  };
}

function viaPipes(config: { context: unknown; context_mode?: "path" | "data"; messages_mode?: "path" | "stdout" | "stderr" }, args: string[]): HarnessResult {
  const result = spawnSync(PYTHON, [HARNESS, JSON.stringify(config), "--", process.execPath, CLI, ...args], { encoding: "utf8" });
  assert.equal(result.status, 0, `the harness itself failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as HarnessResult;
}

const methods = (r: HarnessResult) => r.messages.map((m) => m.method);
const only = (r: HarnessResult, method: string) => r.messages.filter((m) => m.method === method).map((m) => m.params!);

describe("tributary run-asset under Dagster Pipes (the example)", () => {
  let ws: { root: string; dispose: () => void };
  before(() => {
    ws = copyExample();
    const upstream = runCli(ws.root, ["materialize", "+fct_orders"]);
    assert.equal(upstream.code, 0, upstream.stdout + upstream.stderr);
  });
  after(() => ws.dispose());

  test("a JSON-stored asset: opened, its log line, the materialization with ctx.metadata and the data version, closed", () => {
    const r = viaPipes({ context: context(["order_forecast_model"]) }, ["run-asset", "order_forecast_model", "--dir", ws.root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 0, r.other_output);
    assert.equal(methods(r)[0], "opened");
    assert.equal(methods(r).at(-1), "closed");
    assert.deepEqual(r.messages.at(-1)!.params, {});
    assert.ok(r.messages.every((m) => m.__dagster_pipes_version === "0.1"));
    assert.deepEqual(only(r, "log"), [{ message: "training on 180 orders", level: "INFO" }]);
    const [materialization] = only(r, "report_asset_materialization");
    assert.equal(materialization.asset_key, "order_forecast_model");
    // Tributary's history recorded the same run, with the same figures.
    const history = JSON.parse(runCli(ws.root, ["history", "order_forecast_model", "--json"]).stdout) as { runId: string; metadata: Record<string, number>; codeVersion: string }[];
    const recorded = history[0];
    assert.equal(materialization.data_version, recorded.runId);
    const metadata = materialization.metadata as Record<string, { type: string; raw_value: unknown }>;
    assert.deepEqual(metadata.slope, { type: "__infer__", raw_value: recorded.metadata.slope });
    assert.deepEqual(metadata.intercept, { type: "__infer__", raw_value: recorded.metadata.intercept });
    assert.equal(typeof recorded.metadata.slope, "number");
    assert.deepEqual(metadata["tributary/run_id"], { type: "text", raw_value: recorded.runId });
    assert.deepEqual(metadata["tributary/code_version"], { type: "text", raw_value: recorded.codeVersion });
    assert.equal(metadata["dagster/row_count"], undefined, "a JSON value has no row count");
    const runs = JSON.parse(runCli(ws.root, ["history", "--json"]).stdout) as { id: string; trigger: string }[];
    assert.equal(runs.find((run) => run.id === recorded.runId)!.trigger, "dagster 0f3e5a1c-dagster-run");
  });

  test("a table asset with inline context and messages on stdout: dagster/row_count is the rows written; the key defaults to Dagster's", () => {
    const r = viaPipes({ context: context(["forecasting/predicted_orders"]), context_mode: "data", messages_mode: "stdout" }, ["run-asset", "--dir", ws.root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 0, r.other_output);
    const [materialization] = only(r, "report_asset_materialization");
    assert.equal(materialization.asset_key, "forecasting/predicted_orders");
    const rows = JSON.parse(runCli(ws.root, ["show", "forecasting/predicted_orders", "--limit", "1000", "--json"]).stdout) as unknown[];
    assert.ok(rows.length > 14);
    assert.deepEqual((materialization.metadata as Record<string, unknown>)["dagster/row_count"], { type: "int", raw_value: rows.length });
  });

  test("a dbt model or a key outside Dagster's scope is refused, and Dagster is told why in `closed`", () => {
    const dbt = viaPipes({ context: context(["fct_orders"]) }, ["run-asset", "fct_orders", "--dir", ws.root]);
    assert.deepEqual(dbt.problems, []);
    assert.equal(dbt.exit_code, 2);
    assert.deepEqual(methods(dbt), ["opened", "closed"]);
    const exception = dbt.messages[1].params!.exception as { message: string; name: string; stack: string[] };
    assert.match(exception.message, /'fct_orders' is a dbt model: run-asset runs one TypeScript asset/);
    const wrong = viaPipes({ context: context(["forecasting/predicted_orders"]) }, ["run-asset", "order_forecast_model", "--dir", ws.root]);
    assert.equal(wrong.exit_code, 2);
    assert.match((wrong.messages.at(-1)!.params!.exception as { message: string }).message, /Dagster asked for 'forecasting\/predicted_orders', but run-asset was given 'order_forecast_model'/);
  });
});

describe("tributary run-asset under Dagster Pipes (a TS-only workspace)", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "tributary-pipes-"));
    mkdirSync(path.join(root, "assets"));
    writeFileSync(
      path.join(root, "assets", "pipes.ts"),
      [
        'import { asset } from "tributary-assets";',
        "const checks = [",
        "  { name: \"has_run_id\", fn: (v: any) => Boolean(v?.runId) },",
        "  { name: \"us_only\", blocking: false, fn: (v: any) => ({ passed: v?.extras.region === \"us\", message: `region ${v?.extras.region}` }) },",
        "  { name: \"explodes\", blocking: false, fn: () => { throw new Error(\"bad check\"); } },",
        "];",
        "export const echo = asset({ key: \"echo\", checks }, async (_inputs, ctx) => {",
        "  ctx.log.warn(`partition ${ctx.dagster?.partitionKey}`);",
        "  ctx.metadata({ region: ctx.dagster?.extras.region, big: 12345678901234567890n, nested: { a: [1, 2] }, link: { type: \"url\", raw_value: \"https://example.org/x\" } });",
        "  return ctx.dagster;",
        "});",
        "export const strict = asset({ key: \"strict\", checks: [{ name: \"never\", fn: () => ({ passed: false, failures: 2 }) }] }, async () => [1, 2]);",
        "export const plain = asset({ key: \"plain\", checks: [{ name: \"ok\", fn: () => true }, { name: \"soft\", blocking: false, fn: () => false }] }, async () => [1, 2]);",
        "export const boom = asset({ key: [\"ops\", \"boom\"] }, async () => {",
        "  throw new Error(\"no forecast today\");",
        "});",
        "",
      ].join("\n"),
    );
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("the asset sees Dagster's run id, partition key, job and extras as ctx.dagster; metadata keeps explicit types and survives bigints", () => {
    const r = viaPipes({ context: context(["echo"], { partition_key: "2026-12-01", extras: { region: "eu" }, retry_number: 1 }) }, ["run-asset", "echo", "--dir", root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 0, r.other_output);
    assert.deepEqual(only(r, "log"), [{ message: "partition 2026-12-01", level: "WARNING" }]);
    const stored = JSON.parse(readFileSync(path.join(root, ".tributary", "storage", "echo.json"), "utf8")) as unknown;
    assert.deepEqual(stored, { runId: "0f3e5a1c-dagster-run", jobName: "forecast_job", partitionKey: "2026-12-01", retryNumber: 1, extras: { region: "eu" } });
    const metadata = only(r, "report_asset_materialization")[0].metadata as Record<string, unknown>;
    assert.deepEqual(metadata.region, { type: "__infer__", raw_value: "eu" });
    assert.deepEqual(metadata.big, { type: "__infer__", raw_value: "12345678901234567890" });
    assert.deepEqual(metadata.nested, { type: "__infer__", raw_value: { a: [1, 2] } });
    assert.deepEqual(metadata.link, { type: "url", raw_value: "https://example.org/x" });
  });

  test("the asset's checks are reported after the materialization, with severity and metadata; a throwing check has failed; non-blocking ones only warn", () => {
    const r = viaPipes({ context: context(["echo"], { extras: { region: "eu" } }) }, ["run-asset", "echo", "--dir", root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 0, r.other_output);
    assert.deepEqual(methods(r).filter((m) => m.startsWith("report")), ["report_asset_materialization", "report_asset_check", "report_asset_check", "report_asset_check"]);
    const reports = only(r, "report_asset_check");
    assert.deepEqual(reports.slice(0, 2), [
      { asset_key: "echo", check_name: "has_run_id", passed: true, metadata: null, severity: "ERROR" },
      { asset_key: "echo", check_name: "us_only", passed: false, metadata: { message: { type: "text", raw_value: "region eu" } }, severity: "WARN" },
    ]);
    const explodes = reports[2] as { check_name: string; passed: boolean; severity: string; metadata: { message: { raw_value: string } } };
    assert.deepEqual([explodes.check_name, explodes.passed, explodes.severity], ["explodes", false, "WARN"]);
    assert.match(explodes.metadata.message.raw_value, /bad check/);
  });

  test("a failing asset reports no materialization, closes with the exception (message, name, stack) and exits 1", () => {
    const r = viaPipes({ context: context(["ops/boom"]), messages_mode: "stderr" }, ["run-asset", "ops/boom", "--dir", root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 1);
    assert.deepEqual(only(r, "report_asset_materialization"), []);
    const exception = r.messages.at(-1)!.params!.exception as { message: string; name: string; stack: string[]; cause: unknown; context: unknown };
    assert.match(exception.message, /ops\/boom failed: .*no forecast today/);
    assert.equal(exception.name, "AssetFailedError");
    assert.ok(Array.isArray(exception.stack));
  });

  test("malformed Pipes params are a clear error naming the variable, before anything runs", () => {
    const bad = runCli(root, ["run-asset", "echo"], { DAGSTER_PIPES_CONTEXT: "not-base64-zlib", DAGSTER_PIPES_MESSAGES: "x" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Dagster Pipes: DAGSTER_PIPES_CONTEXT is not base64 of zlib-compressed JSON/);
  });

  test("without Pipes, run-asset is a one-asset materialize that prints what it did and its checks", () => {
    const plain = runCli(root, ["run-asset", "plain"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^plain: materialized, 2 rows \(run \d{8}-\d{6}-[0-9a-f]+\)\n  check ok: passed\n  check soft: warned\n$/);
  });

  test("a blocking check that fails fails the asset: Dagster hears of the check, then the failure (exit 1)", () => {
    // Outside Dagster ctx.dagster is undefined, so echo's blocking has_run_id fails.
    const plainRun = runCli(root, ["run-asset", "echo"]);
    assert.equal(plainRun.code, 1, plainRun.stdout);
    assert.match(plainRun.stderr, /echo failed: check has_run_id failed/);
    assert.equal(JSON.parse(readFileSync(path.join(root, ".tributary", "storage", "echo.json"), "utf8")), null, "ctx.dagster is undefined outside Dagster");
    const r = viaPipes({ context: context(["strict"]) }, ["run-asset", "strict", "--dir", root]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.exit_code, 1, r.other_output);
    assert.deepEqual(only(r, "report_asset_materialization"), []);
    assert.deepEqual(only(r, "report_asset_check"), [{ asset_key: "strict", check_name: "never", passed: false, metadata: { failures: { type: "int", raw_value: 2 } }, severity: "ERROR" }]);
    assert.deepEqual(methods(r).slice(-2), ["report_asset_check", "closed"]);
    const exception = r.messages.at(-1)!.params!.exception as { message: string };
    assert.match(exception.message, /strict failed: check never failed \(2 failing\)/);
  });
});
