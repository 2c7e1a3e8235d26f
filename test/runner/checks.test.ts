/**
 * Checks run after each materialization on the embedded engine (real DuckDB, the built CLI): the
 * example's dbt tests and TS checks pass; a failing error-severity test fails its model and skips
 * what is downstream (as `dbt build`); warn-severity tests, `warn_if` / `error_if`, `where`,
 * project `{% test %}` macros with arguments, singular tests; results and the failing query in the
 * history; `--no-checks`; `check-assets`.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { genericTestName } from "../../server/src/index/checks";
import { HistoryStore } from "../../server/src/run/history";
import { Warehouse } from "../../server/src/run/warehouse";
import { runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";

const FAILING = path.resolve(__dirname, "fixtures/checks-failing");

type Event = Record<string, unknown> & { type: string };

function run(root: string, args: string[]) {
  const result = runCli(root, args);
  const events = result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Event);
  return { ...result, events, checks: new Map(events.filter((e) => e.type === "check_result").map((e) => [e.name as string, e])) };
}

describe("asset checks on the embedded engine", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const fresh = (overlay?: string) => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    if (overlay) cpSync(overlay, ws.root, { recursive: true });
    return ws.root;
  };

  test("the example: every dbt test and TS check passes and is recorded", () => {
    const root = fresh();
    const r = run(root, ["materialize", "+forecast_vs_actual +customers", "--json"]);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    assert.deepEqual([...r.checks.keys()].sort(), [
      "accepted_values_fct_orders_status__placed__shipped__completed__return_pending__returned",
      "assert_order_amounts_are_paid",
      "has_predictions",
      "not_null_customers_customer_id",
      "not_null_fct_orders_order_id",
      "predictions_not_negative",
      "relationships_fct_orders_customer_id__customer_id__ref_stg_customers_",
      "unique_customers_customer_id",
      "unique_fct_orders_order_id",
    ]);
    for (const [name, e] of r.checks) assert.equal(e.status, "passed", `${name}: ${String(e.message)}`);
    assert.equal(r.checks.get("predictions_not_negative")!.failures, 0);
    const history = HistoryStore.open(root);
    const last = history.lastCheck("jaffle_forecast.unique_fct_orders_order_id")!;
    assert.equal(last.status, "passed");
    assert.equal(last.failures, 0);
    assert.equal(last.compiledSql, undefined, "a pass keeps no query");
    assert.equal(history.checkResults(last.runId).length, 9);
    assert.equal(history.lastCheck("forecasting/predicted_orders:has_predictions")!.status, "passed");

    // check-assets on a TS asset: its checks run on the stored value (the table), nothing is materialized.
    const materialized = history.materializations("forecasting/predicted_orders").length;
    const again = run(root, ["check-assets", "key:forecasting/predicted_orders", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([...again.checks.entries()].map(([n, e]) => [n, e.status]).sort(), [["has_predictions", "passed"], ["predictions_not_negative", "passed"]]);
    assert.equal(HistoryStore.open(root).materializations("forecasting/predicted_orders").length, materialized);
  });

  test("check-assets on a TS asset never materialized: its checks cannot run, the run fails, no materialization is recorded", () => {
    const root = fresh();
    const r = run(root, ["check-assets", "key:forecasting/predicted_orders order_forecast_model", "--json"]);
    assert.equal(r.code, 1);
    const end = r.events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["forecasting/predicted_orders"]);
    assert.match((end.failed as { error: string }[])[0].error, /its checks could not run/);
    const history = HistoryStore.open(root);
    assert.equal(history.materializations("forecasting/predicted_orders").length, 0);
    assert.equal(history.materializations("order_forecast_model").length, 0);
  });

  test("a failing error test fails its model and skips downstream; warnings warn; the failing query is kept", async () => {
    const root = fresh(FAILING);
    const r = run(root, ["materialize", "+forecast_vs_actual +customers", "--json"]);
    assert.equal(r.code, 1);
    const status = (name: string) => r.checks.get(name)?.status;
    assert.equal(status("accepted_values_fct_orders_status__placed__shipped__completed__return_pending"), "failed");
    assert.equal(r.checks.get("accepted_values_fct_orders_status__placed__shipped__completed__return_pending")!.failures, 1);
    assert.equal(status("is_positive_fct_orders_amount"), "warned");
    assert.equal(r.checks.get("is_positive_fct_orders_amount")!.failures, 6);
    assert.equal(status("assert_no_returned_orders"), "warned");
    assert.equal(r.checks.get("assert_no_returned_orders")!.failures, 7);
    assert.equal(status("at_least_fct_orders_order_id__1"), "passed");
    assert.equal(status("unique_fct_orders_order_id"), "passed");
    assert.equal(status("dbt_utils_expression_is_true_fct_orders_amount_0"), "passed", String(r.checks.get("dbt_utils_expression_is_true_fct_orders_amount_0")?.message));
    // customers was not built: its tests did not run.
    assert.equal(status("not_null_customers_customer_id"), "skipped");
    const end = r.events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string; error: string }[]).map((f) => f.assetId), ["fct_orders"]);
    assert.match((end.failed as { error: string }[])[0].error, /accepted_values_fct_orders_status__placed__shipped__completed__return_pending failed \(1 failing row\)/);
    assert.ok((end.skipped as string[]).includes("customers"));
    assert.ok((end.skipped as string[]).includes("forecast_vs_actual"));
    const history = HistoryStore.open(root);
    assert.equal(history.lastMaterialization("fct_orders")!.status, "failed");
    const failed = history.lastCheck("jaffle_forecast.accepted_values_fct_orders_status__placed__shipped__completed__return_pending")!;
    assert.match(failed.compiledSql!, /where value_field not in \(\s*'placed','shipped','completed','return_pending'\s*\)/);
    // `status` and `history` show the checks' last results.
    const statusJson = JSON.parse(runCli(root, ["status", "fct_orders", "--json"]).stdout) as { checks: { name: string; status: string; failures?: number; compiledSql?: string }[] }[];
    const accepted = statusJson[0].checks.find((c) => c.name.startsWith("accepted_values"))!;
    assert.deepEqual([accepted.status, accepted.failures], ["failed", 1]);
    assert.equal(statusJson[0].checks.find((c) => c.name === "unique_fct_orders_order_id")!.status, "passed");
    assert.match(runCli(root, ["status", "customers"]).stdout, /0\/2 checks passed · 2 not run\n.*○ not_null_customers_customer_id — skipped/);
    const runs = JSON.parse(runCli(root, ["history", "--json"]).stdout) as { id: string; checks: { name: string; status: string }[] }[];
    assert.equal(runs[0].checks.length, r.checks.size);
    const materializations = JSON.parse(runCli(root, ["history", "fct_orders", "--json"]).stdout) as { status: string; checks: { name: string; status: string }[] }[];
    assert.equal(materializations[0].checks.find((c) => c.name.startsWith("accepted_values"))!.status, "failed");
    // store_failures: the failing rows in <schema>_dbt_test__audit.<alias>, as dbt writes them.
    const audit = await Warehouse.open(path.join(root, ".tributary/warehouse.duckdb"), { readOnly: true });
    try {
      const alias = genericTestName("accepted_values", "fct_orders", { column_name: "status", values: ["placed", "shipped", "completed", "return_pending"] }).short;
      assert.match(alias, /^accepted_values_fct_orders_[0-9a-f]{32}$/);
      const stored = await audit.query<{ value_field: string }>(`select value_field from "main_dbt_test__audit"."${alias}"`);
      assert.deepEqual(stored.map((x) => x.value_field), ["returned"]);
    } finally {
      audit.close();
    }
    // The kept query finds the failing rows when run by hand.
    const wh = await Warehouse.open(path.join(root, ".tributary/warehouse.duckdb"), { readOnly: true });
    try {
      const rows = await wh.query<{ value_field: string; n_records: unknown }>(failed.compiledSql!);
      assert.deepEqual(rows.map((x) => [x.value_field, Number(x.n_records)]), [["returned", 7]]);
    } finally {
      wh.close();
    }
  });

  test("--no-checks materializes without testing; check-assets then tests the data that is there", () => {
    const root = fresh(FAILING);
    const built = run(root, ["materialize", "+customers", "--no-checks", "--json"]);
    assert.equal(built.code, 0, built.stderr);
    assert.equal(built.checks.size, 0);
    const materializedBefore = HistoryStore.open(root).materializations("customers").length;

    const customers = run(root, ["check-assets", "customers", "--json"]);
    assert.equal(customers.code, 0, "warnings only");
    assert.equal(customers.checks.get("is_positive_customers_number_of_orders")!.status, "warned");
    assert.equal(customers.checks.get("is_positive_customers_number_of_orders")!.failures, 17);
    assert.equal(customers.checks.get("not_null_customers_customer_id")!.status, "passed");
    assert.equal(customers.events.filter((e) => e.type === "asset_materialized").length, 0);

    const orders = run(root, ["check-assets", "fct_orders"]);
    assert.equal(orders.code, 1);
    assert.match(orders.stdout, /✗ check accepted_values_fct_orders_status__placed__shipped__completed__return_pending failed \(1 failing row\)/);
    assert.match(orders.stdout, /checks: 4 passed, 1 failed, 2 warned, 0 errored, 0 skipped/);
    const history = HistoryStore.open(root);
    assert.equal(history.materializations("customers").length, materializedBefore, "check-assets materializes nothing");
    assert.equal(history.lastMaterialization("fct_orders")!.status, "success");
  });

  test("a blocking TS check that fails fails its asset and skips the dbt model reading it; a non-blocking one warns", () => {
    const root = fresh();
    const file = path.join(root, "assets/forecast.ts");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace("rows.length > 0", "rows.length > 100000")
        .replace('name: "predictions_not_negative",', 'name: "predictions_not_negative",\n        blocking: false,')
        .replace("r.predicted_orders < 0", "r.predicted_orders >= 0"),
    );
    // A check declared apart from its asset, with check(), in another file.
    writeFileSync(
      path.join(root, "assets/checks.ts"),
      `import { check } from "tributary-assets";
import { predictedOrders } from "./forecast";

export const datesAreIso = check({ asset: predictedOrders, name: "dates_are_iso", blocking: false }, (rows: { order_date: string }[]) => {
  const bad = rows.filter((r) => !/^\\d{4}-\\d{2}-\\d{2}$/.test(String(r.order_date))).length;
  return { passed: bad === 0, failures: bad, message: bad ? "dates that are not YYYY-MM-DD" : undefined };
});
`,
    );
    const r = run(root, ["materialize", "+forecast_vs_actual", "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.checks.get("has_predictions")!.status, "failed");
    assert.equal(r.checks.get("dates_are_iso")!.status, "passed", String(r.checks.get("dates_are_iso")?.message));
    assert.equal(r.checks.get("dates_are_iso")!.checkId, "forecasting/predicted_orders:dates_are_iso");
    assert.equal(r.checks.get("predictions_not_negative")!.status, "warned");
    assert.ok(Number(r.checks.get("predictions_not_negative")!.failures) > 0);
    const end = r.events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["forecasting/predicted_orders"]);
    assert.ok((end.skipped as string[]).includes("forecast_vs_actual"));
  });
});

describe("asset checks on the dbt engine (the fake dbt reads the tests as dbt does)", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const FAKE_DBT_DIR = path.resolve(__dirname, "../fixtures/fake-dbt");
  const fresh = () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    return ws.root;
  };
  const dbt = (root: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = runCli(root, [...args, "--engine", "dbt", "--json"], { PATH: `${FAKE_DBT_DIR}${path.delimiter}${process.env.PATH}`, ...env });
    const events = result.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Event);
    return { ...result, events, checks: new Map(events.filter((e) => e.type === "check_result").map((e) => [e.name as string, e])) };
  };

  test("dbt build's test results become check results under the same names as the index's", () => {
    const root = fresh();
    const r = dbt(root, ["materialize", "+customers"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.checks.keys()].sort(), [
      "accepted_values_fct_orders_status__placed__shipped__completed__return_pending__returned",
      "assert_order_amounts_are_paid",
      "not_null_customers_customer_id",
      "not_null_fct_orders_order_id",
      "relationships_fct_orders_customer_id__customer_id__ref_stg_customers_",
      "unique_customers_customer_id",
      "unique_fct_orders_order_id",
    ]);
    for (const e of r.checks.values()) assert.equal(e.status, "passed");
    assert.equal(HistoryStore.open(root).lastCheck("jaffle_forecast.unique_fct_orders_order_id")!.status, "passed");
  });

  test("a failing test fails its model and skips downstream; a warn-severity one warns; the compiled query is kept", () => {
    const root = fresh();
    const yml = path.join(root, "models/marts/schema.yml");
    writeFileSync(yml, readFileSync(yml, "utf8").replace("          - unique\n", "          - unique:\n              config: {severity: warn}\n"));
    const r = dbt(root, ["materialize", "+customers"], { FAKE_DBT_TEST_FAIL: "unique_fct_orders_order_id,not_null_fct_orders_order_id" });
    assert.equal(r.code, 1);
    assert.equal(r.checks.get("unique_fct_orders_order_id")!.status, "warned");
    assert.equal(r.checks.get("not_null_fct_orders_order_id")!.status, "failed");
    assert.equal(r.checks.get("not_null_fct_orders_order_id")!.failures, 3);
    const end = r.events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["fct_orders"]);
    assert.match((end.failed as { error: string }[])[0].error, /test not_null_fct_orders_order_id failed \(3 failing rows\)/);
    assert.ok((end.skipped as string[]).includes("customers"));
    const failed = HistoryStore.open(root).lastCheck("jaffle_forecast.not_null_fct_orders_order_id")!;
    assert.match(failed.compiledSql!, /not_null_fct_orders_order_id/);
  });

  test("--no-checks excludes the tests from dbt build; check-assets runs `dbt test`", () => {
    const root = fresh();
    const argsFile = path.join(root, "dbt-args.json");
    const built = dbt(root, ["materialize", "+fct_orders", "--no-checks"], { FAKE_DBT_ARGS_FILE: argsFile, FAKE_DBT_TEST_FAIL: "not_null_fct_orders_order_id" });
    assert.equal(built.code, 0, built.stderr);
    assert.equal(built.checks.size, 0);
    const argv = JSON.parse(readFileSync(argsFile, "utf8")) as string[];
    assert.deepEqual(argv.slice(argv.indexOf("--exclude"), argv.indexOf("--exclude") + 3), ["--exclude", "resource_type:test", "resource_type:unit_test"]);
    const checked = dbt(root, ["check-assets", "fct_orders"], { FAKE_DBT_ARGS_FILE: argsFile, FAKE_DBT_TEST_FAIL: "not_null_fct_orders_order_id" });
    assert.equal(checked.code, 1);
    assert.equal(JSON.parse(readFileSync(argsFile, "utf8"))[0], "test");
    assert.equal(checked.checks.get("not_null_fct_orders_order_id")!.status, "failed");
    assert.equal(checked.checks.get("unique_fct_orders_order_id")!.status, "passed");
    assert.equal(checked.events.filter((e) => e.type === "asset_materialized").length, 0);
    assert.equal(HistoryStore.open(root).lastMaterialization("fct_orders")!.status, "success");
  });
});

describe("checks on dbt sources", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));

  test("a selected source's tests run before the models reading it; a failing one skips them; check-assets runs them alone", () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    const root = ws.root;
    writeFileSync(
      path.join(root, "models/staging/raw.yml"),
      `sources:
  - name: raw
    schema: main
    tables:
      - name: raw_orders
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: status
            data_tests:
              - accepted_values:
                  arguments: {values: ['placed', 'shipped', 'completed', 'return_pending']}
`,
    );
    writeFileSync(path.join(root, "models/staging/orders_from_source.sql"), "select * from {{ source('raw', 'raw_orders') }}");
    assert.equal(runCli(root, ["materialize", "raw_orders"]).code, 0);

    const only = run(root, ["check-assets", "key:raw/raw_orders", "--json"]);
    assert.equal(only.code, 1);
    assert.equal(only.checks.get("source_unique_raw_raw_orders_id")!.status, "passed");
    assert.equal(only.checks.get("source_not_null_raw_raw_orders_id")!.status, "passed");
    assert.equal(only.checks.get("source_accepted_values_raw_raw_orders_status__placed__shipped__completed__return_pending")!.status, "failed");

    const r = run(root, ["materialize", "key:raw/raw_orders orders_from_source", "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.checks.get("source_accepted_values_raw_raw_orders_status__placed__shipped__completed__return_pending")!.status, "failed");
    const end = r.events.at(-1)!;
    assert.ok((end.skipped as string[]).includes("orders_from_source"), JSON.stringify(end));
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId), ["raw/raw_orders"]);
  });
});

describe("dbt unit tests on the embedded engine", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));

  test("the model runs on the given rows (typed like its input) and is compared with the expected ones; a failing one fails the model", () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    const root = ws.root;
    writeFileSync(
      path.join(root, "models/staging/unit_tests.yml"),
      `unit_tests:
  - name: stg_orders_renames_columns
    model: stg_orders
    given:
      - input: ref('raw_orders')
        rows:
          - {id: 1, user_id: 7, order_date: '2020-01-02', status: placed}
          - {id: 2, user_id: 8, order_date: '2020-01-03'}
    expect:
      rows:
        - {order_id: 1, customer_id: 7, order_date: '2020-01-02', status: placed}
        - {order_id: 2, customer_id: 8, order_date: '2020-01-03', status: null}
  - name: stg_orders_wrong_expectation
    model: stg_orders
    given:
      - input: ref('raw_orders')
        rows:
          - {id: 1, user_id: 7, order_date: '2020-01-02', status: placed}
    expect:
      rows:
        - {order_id: 1, customer_id: 7, status: shipped}
  - name: csv_fixture
    model: stg_payments
    given:
      - input: ref('raw_payments')
        format: csv
        rows: |
          id,order_id,payment_method,amount
          1,1,coupon,100
    expect:
      rows:
        - {payment_id: 1}
`,
    );
    const r = run(root, ["materialize", "+stg_orders +stg_payments", "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.checks.get("stg_orders_renames_columns")!.status, "passed", String(r.checks.get("stg_orders_renames_columns")?.message));
    assert.equal(r.checks.get("stg_orders_wrong_expectation")!.status, "failed");
    assert.equal(r.checks.get("stg_orders_wrong_expectation")!.failures, 2, "the expected row is missing and the actual one is extra");
    assert.equal(r.checks.get("csv_fixture")!.status, "error");
    assert.match(String(r.checks.get("csv_fixture")!.message), /format 'csv' are not supported by the embedded engine/);
    const end = r.events.at(-1)!;
    assert.deepEqual((end.failed as { assetId: string }[]).map((f) => f.assetId).sort(), ["stg_orders", "stg_payments"]);
    // The real tables were built from the seeds, untouched by the fixtures.
    assert.equal(HistoryStore.open(root).lastMaterialization("stg_orders")!.status, "failed");
    assert.match(HistoryStore.open(root).lastCheck("jaffle_forecast.stg_orders_wrong_expectation")!.compiledSql!, /except all/);
  });
});
