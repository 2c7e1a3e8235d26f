/**
 * dbt tests and TS checks read from a workspace: every YAML form dbt accepts, dbt's test names
 * (long ones hashed as dbt does), singular tests attached to what they ref, unit tests listed, TS
 * `checks:` on assets; bad entries become diagnostics, never crashes.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { parseSelection, selectAssets } from "../../server/src/graph/selection";
import { genericTestName } from "../../server/src/index/checks";
import { parsePropertiesYaml } from "../../server/src/index/dbt/yaml";
import { WorkspaceIndex } from "../../server/src/index/workspace";

function workspace(files: Record<string, string>): { root: string; index: WorkspaceIndex } {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-checks-"));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();
  return { root, index };
}

const PROJECT = "name: shop\nconfig-version: 2\nprofile: shop\n";

describe("dbt test names", () => {
  test("names are type_target_args (dbt's node name); from 64 characters on the alias is hashed exactly as dbt-core does", () => {
    assert.equal(genericTestName("not_null", "orders", { column_name: "order_id" }).short, "not_null_orders_order_id");
    assert.equal(genericTestName("source_unique", "jaffle_raw_orders", { column_name: "id" }).short, "source_unique_jaffle_raw_orders_id");
    // Name and alias dbt gives jaffle_shop's test (dbt-core's own test of generic test arguments asserts both).
    const values = ["placed", "shipped", "completed", "return_pending", "returned"];
    assert.deepEqual(genericTestName("accepted_values", "orders", { column_name: "status", values }), {
      short: "accepted_values_orders_1ce6ab157c285f7cd2ac656013faf758",
      full: "accepted_values_orders_status__placed__shipped__completed__return_pending__returned",
    });
    assert.equal(genericTestName("accepted_values", "stg_orders", { column_name: "status", values }).short, "accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58");
    assert.equal(genericTestName("relationships", "orders", { column_name: "customer_id", to: "ref('customers')", field: "customer_id" }).short, "relationships_orders_customer_id__customer_id__ref_customers_");
    // Python's str() of booleans and None, and dict values.
    assert.equal(genericTestName("t", "m", { b: true, n: null, d: { x: 1 } }).short, "t_m_True__1__None");
    // A quoted column (`quote: true`) is cleaned like any argument.
    assert.equal(genericTestName("not_null", "orders", { column_name: '"Order Status"' }).full, "not_null_orders__Order_Status_");
  });
});

describe("reading data tests from property YAML", () => {
  test("data_tests and legacy tests, bare / nested / test_name / arguments forms, configs", () => {
    const facts = parsePropertiesYaml(
      `version: 2
models:
  - name: orders
    data_tests:
      - dbt_utils.expression_is_true:
          arguments: {expression: "amount >= 0"}
          config: {severity: warn}
    columns:
      - name: id
        tests:
          - not_null
          - unique:
              where: "id > 0"
              limit: 10
      - name: Order Status
        quote: true
        data_tests: [not_null]
      - name: status
        data_tests:
          - name: status_is_known
            test_name: accepted_values
            values: [a, b]
            config: {warn_if: ">10", error_if: ">100", store_failures: true}
          - 42
          - {a: {}, b: {}}
sources:
  - name: raw
    tables:
      - name: orders
        columns:
          - name: id
            data_tests: [not_null]
unit_tests:
  - name: test_amounts
    model: orders
    given: []
    expect: {rows: []}
`,
      "/p/models/schema.yml",
    );
    const tests = facts.dataTests ?? [];
    assert.deepEqual(
      tests.map((t) => [t.resource, t.sourceName ?? null, t.target, t.column ?? null, t.testName, t.args, t.config, t.customName ?? null]),
      [
        ["model", null, "orders", null, "dbt_utils.expression_is_true", { expression: "amount >= 0" }, { severity: "warn" }, null],
        ["model", null, "orders", "id", "not_null", {}, {}, null],
        ["model", null, "orders", "id", "unique", {}, { where: "id > 0", limit: 10 }, null],
        ["model", null, "orders", '"Order Status"', "not_null", {}, {}, null],
        ["model", null, "orders", "status", "accepted_values", { values: ["a", "b"] }, { warn_if: ">10", error_if: ">100", store_failures: true }, "status_is_known"],
        ["source", "raw", "orders", "id", "not_null", {}, {}, null],
      ],
    );
    assert.deepEqual(facts.unitTests?.map((u) => [u.name, u.model]), [["test_amounts", "orders"]]);
    const shapes = facts.diagnostics.filter((d) => d.code === "yaml-shape");
    assert.equal(shapes.length, 2, JSON.stringify(shapes));
    assert.match(shapes[0].message, /test name or a mapping|not a test name/);
    assert.match(shapes[1].message, /one key/);
    assert.equal(shapes[1].span.start.line, 24);
  });
});

describe("checks in a workspace", () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  test("generic, singular and unit tests attach to their assets; relationships reads its `to:`", () => {
    const { root, index } = workspace({
      "dbt_project.yml": PROJECT,
      "models/orders.sql": "select 1 as id, 2 as customer_id, 'a' as status",
      "models/customers.sql": "select 2 as customer_id",
      "models/schema.yml": `models:
  - name: orders
    columns:
      - name: customer_id
        data_tests:
          - relationships: {arguments: {to: ref('customers'), field: customer_id}, config: {severity: warn}}
          - relationships: {to: ref('nowhere'), field: id}
      - name: status
        data_tests: [not_null]
unit_tests:
  - {name: ut_orders, model: orders}
sources:
  - name: raw
    tables:
      - name: payments
        columns:
          - name: id
            data_tests: [unique]
`,
      "tests/assert_customers_have_orders.sql": "select * from {{ ref('customers') }} c left join {{ ref('orders') }} o using (customer_id) where o.id is null",
      "tests/generic/positive.sql": "{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} <= 0{% endtest %}",
      "seeds/countries.csv": "code,name\nFR,France\n",
      "seeds/props.yml": "seeds:\n  - name: countries\n    columns:\n      - name: code\n        data_tests: [unique, positive]\n",
    });
    roots.push(root);
    const checks = index.checks();
    const rows = checks.checks.map((c) => [c.id, c.kind, c.assets.join(","), c.reads.join(","), c.severity]);
    assert.deepEqual(rows, [
      ["shop.relationships_orders_customer_id__customer_id__ref_customers_", "generic", "orders", "customers", "warn"],
      ["shop.relationships_orders_customer_id__id__ref_nowhere_", "generic", "orders", "", "error"],
      ["shop.not_null_orders_status", "generic", "orders", "", "error"],
      ["shop.source_unique_raw_payments_id", "generic", "raw/payments", "", "error"],
      ["shop.ut_orders", "unit", "orders", "", "error"],
      ["shop.unique_countries_code", "generic", "countries", "", "error"],
      ["shop.positive_countries_code", "generic", "countries", "", "error"],
      ["shop.assert_customers_have_orders", "singular", "customers,orders", "", "error"],
    ]);
    assert.deepEqual(checks.byAsset.get("customers")?.map((c) => c.name), ["assert_customers_have_orders"]);
    const unknown = [...index.diagnostics().values()].flat().filter((d) => d.code === "unknown-ref" && d.message.includes("nowhere"));
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0].file, path.join(root, "models/schema.yml"));
    assert.equal(unknown[0].span.start.line, 6);
  });

  test("editing a test file updates the checks without relinking the graph", () => {
    const { root, index } = workspace({
      "dbt_project.yml": PROJECT,
      "models/orders.sql": "select 1 as id",
      "tests/t1.sql": "select * from {{ ref('orders') }} where id < 0",
    });
    roots.push(root);
    const graph = index.graph;
    assert.deepEqual(index.checks().checks.map((c) => c.name), ["t1"]);
    writeFileSync(path.join(root, "tests/t2.sql"), "{{ config(severity='warn') }} select * from {{ ref('orders') }}");
    index.update(path.join(root, "tests/t2.sql"));
    assert.equal(index.graph, graph);
    assert.deepEqual(index.checks().checks.map((c) => [c.name, c.severity]), [["t1", "error"], ["t2", "warn"]]);
    index.update(path.join(root, "tests/t1.sql"), false);
    assert.deepEqual(index.checks().checks.map((c) => c.name), ["t2"]);
  });

  test("TS assets declare checks: read statically, blocking unless `blocking: false`", () => {
    const { root, index } = workspace({
      "assets/a.ts": `import { asset } from "tributary-assets";
export const scores = asset(
  {
    key: "ml/scores",
    checks: [
      { name: "has_rows", fn: (rows: unknown[]) => rows.length > 0 },
      { name: "in_range", blocking: false, description: "scores in [0, 1]", fn: () => true },
      { name: computedName(), fn: () => true },
    ],
  },
  async () => [],
);
function computedName() { return "x"; }
`,
    });
    roots.push(root);
    assert.deepEqual(index.checks().checks.map((c) => [c.id, c.kind, c.severity, c.span.start.line]), [
      ["ml/scores:has_rows", "ts", "error", 5],
      ["ml/scores:in_range", "ts", "warn", 6],
    ]);
    const diags = [...index.diagnostics().values()].flat().filter((d) => d.code === "ts-dynamic-check");
    assert.equal(diags.length, 1);
    assert.equal(diags[0].span.start.line, 7);
  });

  test("check() declared apart from its asset: by constant (through imports) or key; unexported and unknown ones are diagnosed", () => {
    const { root, index } = workspace({
      "assets/a.ts": `import { asset } from "tributary-assets";
export const scores = asset({ key: "ml/scores" }, async () => []);
`,
      "assets/checks.ts": `import { check as assetCheck } from "tributary-assets";
import { scores } from "./a";
export const nonEmpty = assetCheck({ asset: scores, name: "non_empty" }, (rows: unknown[]) => rows.length > 0);
export const byKey = assetCheck({ asset: "ml/scores", name: "by_key", blocking: false }, () => true);
const hidden = assetCheck({ asset: scores, name: "hidden" }, () => true);
export const lost = assetCheck({ asset: "ml/nothing", name: "lost" }, () => true);
void hidden;
`,
    });
    roots.push(root);
    assert.deepEqual(index.checks().byAsset.get("ml/scores")?.map((c) => [c.id, c.severity, c.exportName ?? null]), [
      ["ml/scores:non_empty", "error", "nonEmpty"],
      ["ml/scores:by_key", "warn", "byKey"],
      ["ml/scores:hidden", "error", null],
    ]);
    const diags = [...index.diagnostics().values()].flat().filter((d) => d.file.endsWith("checks.ts")).map((d) => [d.code, d.span.start.line]);
    assert.deepEqual(diags.sort(), [["ts-check-not-exported", 4], ["unknown-dep", 5]]);
  });

  test("the example's tests: dbt names, attached to fct_orders and customers", () => {
    const index = new WorkspaceIndex({ roots: [path.resolve(__dirname, "../../examples/jaffle-forecast")] });
    index.load();
    const byAsset = index.checks().byAsset;
    assert.deepEqual(byAsset.get("customers")?.map((c) => c.name), ["not_null_customers_customer_id", "unique_customers_customer_id"]);
    assert.deepEqual(byAsset.get("fct_orders")?.map((c) => c.name), [
      "not_null_fct_orders_order_id",
      "unique_fct_orders_order_id",
      "relationships_fct_orders_customer_id__customer_id__ref_stg_customers_",
      "accepted_values_fct_orders_status__placed__shipped__completed__return_pending__returned",
      "assert_order_amounts_are_paid",
    ]);
    const accepted = index.checks().byId.get("jaffle_forecast.accepted_values_fct_orders_status__placed__shipped__completed__return_pending__returned")!;
    assert.equal(accepted.alias, "accepted_values_fct_orders_910d5f3356b5e7a6f7932211f0768f81");
    assert.equal(index.checks().byId.get("jaffle_forecast.unique_fct_orders_order_id")!.alias, "unique_fct_orders_order_id");
  });

  test("a project shaped like dbt-labs/jaffle-shop: the names dbt gives its tests", () => {
    const index = new WorkspaceIndex({ roots: [path.resolve(__dirname, "../fixtures/jaffle-shop-shaped")] });
    index.load();
    const byAsset = (id: string) => index.checks().byAsset.get(id)?.map((c) => c.name);
    // The dbt_utils and accepted_values / relationships names below are those dbt prints for jaffle-shop.
    assert.deepEqual(byAsset("orders"), [
      "dbt_utils_expression_is_true_orders_order_items_subtotal_subtotal",
      "dbt_utils_expression_is_true_orders_order_total_subtotal_tax_paid",
      "not_null_orders_order_id",
      "unique_orders_order_id",
      "relationships_orders_customer_id__customer_id__ref_stg_customers_",
      "test_order_totals_add_up",
    ]);
    assert.deepEqual(byAsset("customers"), [
      "dbt_utils_expression_is_true_customers_lifetime_spend_pretax_lifetime_tax_paid_lifetime_spend",
      "not_null_customers_customer_id",
      "unique_customers_customer_id",
      "accepted_values_customers_customer_type__new__returning",
    ]);
    assert.deepEqual(byAsset("stg_orders"), ["dbt_utils_expression_is_true_stg_orders_order_total_tax_paid_subtotal", "not_null_stg_orders_order_id", "unique_stg_orders_order_id"]);
    const relationships = index.checks().byId.get("jaffle_shop.relationships_orders_customer_id__customer_id__ref_stg_customers_")!;
    assert.deepEqual(relationships.reads, ["stg_customers"]);
    assert.equal(index.checks().byId.get("jaffle_shop.test_order_totals_add_up")!.kind, "unit");
    const expression = index.checks().byId.get("jaffle_shop.dbt_utils_expression_is_true_orders_order_total_subtotal_tax_paid")!;
    assert.deepEqual([expression.testName, expression.args], ["dbt_utils.expression_is_true", { expression: "order_total = subtotal + tax_paid" }]);
    assert.match(expression.alias!, /^dbt_utils_expression_is_true_o_[0-9a-f]{32}$/);
    assert.deepEqual([...index.diagnostics().values()].flat().filter((d) => d.severity !== "info").map((d) => d.message), []);
  });

  test("selection: test_name: and test_type: pick the assets that have such checks", () => {
    const index = new WorkspaceIndex({ roots: [path.resolve(__dirname, "../fixtures/jaffle-shop-shaped")] });
    index.load();
    const pick = (text: string) => {
      const r = selectAssets(text, index.graph, { checks: (id) => index.checks().byAsset.get(id) ?? [] });
      assert.ok(r.ok, text);
      return [...r.ids].sort();
    };
    assert.deepEqual(pick("test_name:accepted_values"), ["customers"]);
    assert.deepEqual(pick("test_name:expression_is_true"), ["customers", "orders", "stg_orders"]);
    assert.deepEqual(pick("test_name:dbt_utils.expression_is_true and not kind:model"), []);
    assert.deepEqual(pick("test_name:relationships_orders_*"), ["orders"]);
    assert.deepEqual(pick("test_type:unit"), ["orders"]);
    assert.deepEqual(pick("test_type:data"), ["customers", "orders", "stg_orders"]);
    assert.deepEqual(pick("+test_type:unit"), ["orders", "stg_orders"]);
    const bad = parseSelection("test_type:flaky");
    assert.ok(!bad.ok);
    assert.equal(bad.error.column, 11);
    assert.match(bad.error.message, /unknown test type 'flaky'/);
  });
});
