/**
 * Column-level lineage: the analyzer on DuckDB's real parse trees, then whole projects (the
 * example, and dbt-labs' jaffle_shop_duckdb vendored under test/fixtures) with the expected
 * column edges of their non-trivial models checked by hand.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { analyzeStatement, UnsupportedShape, type AnalyzeEnv } from "../../server/src/columns/analyze";
import { columnLineage, readCatalogColumns } from "../../server/src/columns/lineage";
import { Warehouse } from "../../server/src/run/warehouse";
import { SqlParser } from "../../server/src/columns/parser";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import type { ColumnLineageMap } from "../../server/src/protocol/sql";
import { RunContext } from "../../server/src/run/context";
import { copyExample, EXAMPLE } from "../helpers/workspace";

const parser = new SqlParser();
after(() => parser.close());

/** Tables `orders(id, customer_id, amount)`, `customers(id, name)`; `events` has unknown columns. */
const env: AnalyzeEnv = {
  table: (_c, _s, name) =>
    ({
      orders: { asset: "orders", columns: ["id", "customer_id", "amount"] },
      customers: { asset: "customers", columns: ["id", "name"] },
      events: { asset: "events" },
    })[name.toLowerCase()],
};

async function lineageOf(sql: string): Promise<Record<string, string[]>> {
  const cols = analyzeStatement(await parser.parse(sql), env);
  return Object.fromEntries(cols.map((c) => [c.name, c.upstream.map((u) => `${u.asset}.${u.column}`).sort()]));
}

async function unsupported(sql: string, reason: RegExp): Promise<void> {
  const tree = await parser.parse(sql);
  assert.throws(() => analyzeStatement(tree, env), (e: unknown) => e instanceof UnsupportedShape && reason.test(e.message));
}

describe("column lineage analyzer", () => {
  test("a join with an aggregate: each output column from the columns its expression reads", async () => {
    assert.deepEqual(
      await lineageOf("select c.name, count(o.id) as n, sum(o.amount) * 2 as total from customers c join orders o on o.customer_id = c.id group by c.name"),
      { name: ["customers.name"], n: ["orders.id"], total: ["orders.amount"] },
    );
  });

  test("select * through CTEs expands to the upstream's columns; renames keep the source column", async () => {
    const result = await lineageOf("with a as (select * from orders), b as (select id as order_id, amount from a) select * from b");
    assert.deepEqual(result, { order_id: ["orders.id"], amount: ["orders.amount"] });
  });

  test("copy vs derived", async () => {
    const cols = analyzeStatement(await parser.parse("select id as k, amount + 1 as a1, 42 as c from orders"), env);
    assert.deepEqual(cols.map((c) => [c.name, c.how, c.upstream.length]), [["k", "copy", 1], ["a1", "derived", 1], ["c", "derived", 0]]);
  });

  test("USING joins: the key once in *, from the left side of a left join", async () => {
    const result = await lineageOf("select * from (select id, name from customers) c left join (select customer_id as id, amount from orders) o using (id)");
    assert.deepEqual(result, { id: ["customers.id"], name: ["customers.name"], amount: ["orders.amount"] });
    const full = await lineageOf("select id from (select id from customers) c full outer join (select customer_id as id from orders) o using (id)");
    assert.deepEqual(full, { id: ["customers.id", "orders.customer_id"] });
    // DuckDB keeps the key where the left side has it: `*` lists name, id, amount here.
    const order = analyzeStatement(await parser.parse("select * from (select name, id from customers) c full join (select customer_id as id, amount from orders) o using (id)"), env);
    assert.deepEqual(order.map((c) => [c.name, c.upstream.length]), [["name", 1], ["id", 2], ["amount", 1]]);
  });

  test("UNION ALL merges positionally; qualified * EXCLUDE; window expressions include their partition", async () => {
    assert.deepEqual(await lineageOf("select id, name from customers union all select customer_id, cast(amount as varchar) from orders"), { id: ["customers.id", "orders.customer_id"], name: ["customers.name", "orders.amount"] });
    assert.deepEqual(await lineageOf("select o.* exclude (amount) from orders o"), { id: ["orders.id"], customer_id: ["orders.customer_id"] });
    assert.deepEqual(await lineageOf("select * from customers c semi join orders o on o.customer_id = c.id"), { id: ["customers.id"], name: ["customers.name"] });
    assert.deepEqual(await lineageOf("select row_number() over (partition by customer_id order by id) as rn from orders"), { rn: ["orders.customer_id", "orders.id"] });
  });

  test("qualified names over a relation with unknown columns are exact; a later expression may use an earlier alias", async () => {
    assert.deepEqual(await lineageOf("select e.user_id, e.ts::date as day from events e"), { user_id: ["events.user_id"], day: ["events.ts"] });
    assert.deepEqual(await lineageOf("select amount * 2 as dbl, dbl + 1 as d3 from orders"), { dbl: ["orders.amount"], d3: ["orders.amount"] });
    // `day` could be events.day (a FROM column wins over an alias in DuckDB) or the alias: no guess.
    await unsupported("select e.ts::date as day, day as d2 from events e", /earlier alias/);
  });

  test("an unqualified name listed by one relation is that relation's (DuckDB rejects ambiguous names), even beside unknown columns", async () => {
    assert.deepEqual(await lineageOf("select amount, e.kind from orders join events e on true"), { amount: ["orders.amount"], kind: ["events.kind"] });
  });

  test("a partly documented relation: listed names as listed, other names only when no other relation may hold them", async () => {
    const partial: AnalyzeEnv = { table: (_c, _s, name) => (name === "docs" ? { asset: "docs", columns: ["id"], partial: true } : env.table("", "", name)) };
    const run = async (sql: string) => analyzeStatement(await parser.parse(sql), partial).map((c) => `${c.name}<-${c.upstream.map((u) => `${u.asset}.${u.column}`).join("|")}`);
    assert.deepEqual(await run("select id, undocumented from docs"), ["id<-docs.id", "undocumented<-docs.undocumented"]);
    assert.deepEqual(await run("select * from docs"), ["id<-docs.id"]);
    assert.deepEqual(await run("select name, extra from customers join docs on true"), ["name<-customers.name", "extra<-docs.extra"]);
    await assert.rejects(run("select extra from docs join events on true"), /could come from/);
  });

  test("shapes it cannot follow degrade instead of guessing", async () => {
    await unsupported("select * from events", /unknown/);
    await unsupported("select user_id from events e1 join events e2 on true", /could come from/);
    await unsupported("select * from range(3)", /table function/);
    await unsupported("select (select max(id) from customers) as m from orders", /subqueries/);
    await unsupported("select columns('a.*') from orders", /COLUMNS/);
    await unsupported("select id + 1 from orders", /no alias/);
    await unsupported("select * from raw.unknown_table", /neither an asset/);
    await unsupported("with recursive r as (select 1 as n union all select n + 1 from r) select * from r", /recursive/);
    await unsupported("select list_transform([1], x -> x + 1) as l from orders", /lambda|not found/);
    await unsupported("select id from orders where", /parser/);
  });
});

function edges(map: ColumnLineageMap, id: string): Record<string, string[]> {
  const entry = map[id];
  assert.ok(entry, `no lineage for ${id}`);
  assert.equal(entry.level, "columns", `${id}: ${entry.reason ?? ""}`);
  return Object.fromEntries(entry.columns.map((c) => [c.name, c.upstream.map((u) => `${u.asset}.${u.column}`).sort()]));
}

describe("column lineage of the example (jaffle-forecast)", () => {
  const index = new WorkspaceIndex({ roots: [EXAMPLE] });
  index.load();
  const ws = copyExample();
  after(() => ws.dispose());

  test("staging, marts (CTEs, select *, aggregates, USING joins) and the TS table read as a source", async () => {
    const map = await columnLineage(new RunContext(index, ws.root), undefined, { parser });
    assert.deepEqual(edges(map, "raw_orders"), { id: [], user_id: [], order_date: [], status: [] });
    assert.equal(map.raw_orders.origin, "csv");
    assert.deepEqual(edges(map, "stg_payments"), { payment_id: ["raw_payments.id"], order_id: ["raw_payments.order_id"], payment_method: ["raw_payments.payment_method"], amount: ["raw_payments.amount"] });
    assert.deepEqual(edges(map, "fct_orders"), {
      order_id: ["stg_orders.order_id"],
      customer_id: ["stg_orders.customer_id"],
      order_date: ["stg_orders.order_date"],
      status: ["stg_orders.status"],
      credit_card_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      coupon_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      bank_transfer_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      gift_card_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      amount: ["stg_payments.amount"],
    });
    assert.deepEqual(edges(map, "customers"), {
      customer_id: ["stg_customers.customer_id"],
      first_name: ["stg_customers.first_name"],
      last_name: ["stg_customers.last_name"],
      first_order: ["fct_orders.order_date"],
      most_recent_order: ["fct_orders.order_date"],
      number_of_orders: ["fct_orders.order_id"],
      lifetime_value: ["fct_orders.amount"],
    });
    // The TS asset declares its columns; dbt reads it as source('forecasting', 'predicted_orders').
    assert.equal(map["forecasting/predicted_orders"].origin, "declared");
    assert.deepEqual(edges(map, "forecast_vs_actual"), {
      order_date: ["forecasting/predicted_orders.order_date"],
      predicted_orders: ["forecasting/predicted_orders.predicted_orders"],
      actual_orders: [], // count(*)
      error: ["forecasting/predicted_orders.predicted_orders"],
    });
    assert.equal(map.order_forecast_model.level, "table");
  });

  test("an unanalyzable model degrades to table-level with the reason, and its readers fall back to its YAML columns", async () => {
    const file = path.join(ws.root, "models/staging/stg_customers.sql");
    writeFileSync(file, "select * from range(3) as r(customer_id)\n");
    const yaml = path.join(ws.root, "models/staging/schema.yml");
    writeFileSync(yaml, "version: 2\nmodels:\n  - name: stg_customers\n    columns:\n      - name: customer_id\n      - name: first_name\n      - name: last_name\n");
    const local = new WorkspaceIndex({ roots: [ws.root] });
    local.load();
    const map = await columnLineage(new RunContext(local, ws.root), ["customers"], { parser });
    assert.equal(map.stg_customers.level, "table");
    assert.match(map.stg_customers.reason ?? "", /table function/);
    assert.deepEqual(edges(map, "customers").first_name, ["stg_customers.first_name"]);
    assert.equal(map.forecast_vs_actual, undefined, "only the upstream closure of the asked ids is computed");
  });
});

describe("snapshots", () => {
  test("a snapshot's columns are its SELECT's plus dbt's validity columns, and its readers see them", async () => {
    const ws = copyExample();
    try {
      mkdirSync(path.join(ws.root, "snapshots"));
      writeFileSync(path.join(ws.root, "snapshots/orders_snapshot.sql"), "{% snapshot orders_snapshot %}\n{{ config(target_schema='snapshots', unique_key='order_id', strategy='check', check_cols=['status']) }}\nselect * from {{ ref('stg_orders') }}\n{% endsnapshot %}\n");
      writeFileSync(path.join(ws.root, "models/marts/open_orders.sql"), "select order_id, dbt_valid_from as since from {{ ref('orders_snapshot') }} where dbt_valid_to is null\n");
      const index = new WorkspaceIndex({ roots: [ws.root] });
      index.load();
      const map = await columnLineage(new RunContext(index, ws.root), ["open_orders"], { parser });
      assert.deepEqual(Object.keys(edges(map, "orders_snapshot")), ["order_id", "customer_id", "order_date", "status", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]);
      assert.deepEqual(edges(map, "open_orders"), { order_id: ["orders_snapshot.order_id"], since: ["orders_snapshot.dbt_valid_from"] });
    } finally {
      ws.dispose();
    }
  });
});

describe("column lists from the warehouse catalog", () => {
  test("a TS table asset without a declared `columns` option gets the columns of its last materialization", async () => {
    const ws = copyExample();
    try {
      const ts = path.join(ws.root, "assets/forecast.ts");
      writeFileSync(ts, readFileSync(ts, "utf8").replace(`columns: ["order_date", "predicted_orders"],`, ""));
      const index = new WorkspaceIndex({ roots: [ws.root] });
      index.load();
      const ctx = new RunContext(index, ws.root);
      const before = await columnLineage(ctx, ["forecast_vs_actual"], { parser });
      assert.equal(before["forecasting/predicted_orders"].level, "table");
      assert.equal(before.forecast_vs_actual.level, "table", "select * over a table of unknown columns");
      const warehouse = await Warehouse.open(ctx.target("jaffle_forecast").path);
      try {
        await warehouse.run("create schema forecasting; create table forecasting.predicted_orders (order_date date, predicted_orders double, model_version varchar)");
        const after = await columnLineage(ctx, ["forecast_vs_actual"], { parser, catalogColumns: await readCatalogColumns(warehouse) });
        assert.equal(after["forecasting/predicted_orders"].origin, "catalog");
        assert.deepEqual(edges(after, "forecasting/predicted_orders"), { order_date: [], predicted_orders: [], model_version: [] });
        assert.deepEqual(edges(after, "forecast_vs_actual").predicted_orders, ["forecasting/predicted_orders.predicted_orders"]);
      } finally {
        warehouse.close();
      }
    } finally {
      ws.dispose();
    }
  });
});

describe("column lineage of dbt-labs/jaffle_shop_duckdb (vendored)", () => {
  const root = path.resolve(__dirname, "../fixtures/jaffle_shop_duckdb");
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();

  test("orders, customers and the staging models, checked by hand against the SQL", async () => {
    const map = await columnLineage(new RunContext(index, root), undefined, { parser });
    // stg_payments: a CTE renaming the seed's columns, then `select * from renamed`.
    assert.deepEqual(edges(map, "stg_payments"), { payment_id: ["raw_payments.id"], order_id: ["raw_payments.order_id"], payment_method: ["raw_payments.payment_method"], amount: ["raw_payments.amount"] });
    // orders: pivot of payments by method (aggregates in a CTE), joined ON (not USING) to orders, `select * from final`.
    assert.deepEqual(edges(map, "orders"), {
      order_id: ["stg_orders.order_id"],
      customer_id: ["stg_orders.customer_id"],
      order_date: ["stg_orders.order_date"],
      status: ["stg_orders.status"],
      credit_card_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      coupon_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      bank_transfer_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      gift_card_amount: ["stg_payments.amount", "stg_payments.payment_method"],
      amount: ["stg_payments.amount"],
    });
    // customers: two aggregating CTEs, one over a join where the unqualified `amount` can only be payments'.
    assert.deepEqual(edges(map, "customers"), {
      customer_id: ["stg_customers.customer_id"],
      first_name: ["stg_customers.first_name"],
      last_name: ["stg_customers.last_name"],
      first_order: ["stg_orders.order_date"],
      most_recent_order: ["stg_orders.order_date"],
      number_of_orders: ["stg_orders.order_id"],
      customer_lifetime_value: ["stg_payments.amount"],
    });
    const copies = map.orders.columns.filter((c) => c.how === "copy").map((c) => c.name);
    assert.deepEqual(copies, ["order_id", "customer_id", "order_date", "status"], "the pivoted amounts are sums, not copies");
  });
});
