/**
 * Embedded engine on a real DuckDB file: the example project (seeds, staging, marts), view vs
 * table, incremental append/merge, is_incremental(), ephemeral inlining, +schema naming, vars,
 * failures and skips, unrenderable models.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runEmbeddedStep } from "../../server/src/run/embedded/engine";
import type { EmbeddedNodeEvent, EmbeddedNodeResult } from "../../server/src/run/embedded/engine";
import { MATERIALIZATIONS, type Materialization } from "../../server/src/run/embedded/materialize";
import { contextFor, loadProject, stepNodes, tempWarehouse, writeProject } from "./fixtures/embedded-lib/project";
import type { TempWarehouse } from "./fixtures/embedded-lib/project";

const EXAMPLE = join(import.meta.dirname, "..", "..", "examples", "jaffle-forecast");

function csvRows(file: string): number {
  return readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim()).length - 1;
}

function byId(results: EmbeddedNodeResult[]): Record<string, EmbeddedNodeResult> {
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

async function count(t: TempWarehouse, rel: string): Promise<number> {
  return Number(await t.wh.scalar(`select count(*) from ${rel}`));
}

async function relationType(t: TempWarehouse, schema: string, name: string): Promise<string | undefined> {
  return t.wh.relationType(schema, name);
}

describe("example project (jaffle-forecast)", () => {
  const p = loadProject(EXAMPLE);
  let t: TempWarehouse;
  let results: Record<string, EmbeddedNodeResult>;
  const events: EmbeddedNodeEvent[] = [];

  before(async () => {
    t = await tempWarehouse();
    const nodes = stepNodes(p).filter((n) => n.name !== "forecast_vs_actual"); // reads a TS-produced source
    results = byId(await runEmbeddedStep(nodes, contextFor(p, t.wh, { onNodeEvent: (e) => events.push(e) })));
  });
  after(() => t.cleanup());

  test("every node succeeds", () => {
    for (const r of Object.values(results)) assert.equal(r.status, "success", `${r.id}: ${r.error}`);
    assert.deepEqual(Object.keys(results).sort(), ["customers", "fct_orders", "raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_orders", "stg_payments"]);
  });

  test("seeds load every CSV row", async () => {
    const expected = { raw_customers: 100, raw_orders: 180, raw_payments: csvRows(join(EXAMPLE, "seeds", "raw_payments.csv")) };
    assert.equal(csvRows(join(EXAMPLE, "seeds", "raw_customers.csv")), 100);
    assert.equal(csvRows(join(EXAMPLE, "seeds", "raw_orders.csv")), 180);
    for (const [name, n] of Object.entries(expected)) {
      assert.equal(results[name].rows, n, name);
      assert.equal(await count(t, `main.${name}`), n, name);
    }
    // types inferred from the CSV
    const cols = await t.wh.columns("main", "raw_orders");
    assert.equal(cols.find((c) => c.name === "order_date")?.type, "DATE");
  });

  test("staging models are views, marts are tables, with the right row counts", async () => {
    for (const name of ["stg_customers", "stg_orders", "stg_payments"]) {
      assert.equal(await relationType(t, "main", name), "view", name);
      assert.equal(results[name].materialized, "view");
    }
    for (const name of ["fct_orders", "customers"]) {
      assert.equal(await relationType(t, "main", name), "table", name);
      assert.equal(results[name].materialized, "table");
    }
    assert.equal(results.stg_payments.rows, csvRows(join(EXAMPLE, "seeds", "raw_payments.csv")));
    assert.equal(results.fct_orders.rows, 180);
    assert.equal(results.customers.rows, 100);
    assert.equal(await count(t, "main.fct_orders"), 180);
    assert.equal(await count(t, "main.customers"), 100);
    assert.equal(results.fct_orders.relation, '"main"."fct_orders"');
  });

  test("the project macro cents_to_dollars is applied (stg_payments)", async () => {
    assert.match(results.stg_payments.compiledSql ?? "", /round\(1\.0 \* amount \/ 100, 2\)/);
    const cents = Number(await t.wh.scalar("select sum(amount) from main.raw_payments"));
    const dollars = Number(await t.wh.scalar("select sum(amount) from main.stg_payments"));
    assert.equal(Math.round(dollars * 100), cents);
  });

  test("fct_orders: {% set %} list and {% for %} loops produce one column per payment method", async () => {
    const sql = results.fct_orders.compiledSql ?? "";
    for (const m of ["credit_card", "coupon", "bank_transfer", "gift_card"]) {
      assert.match(sql, new RegExp(`payment_method = '${m}' then amount`));
      assert.match(sql, new RegExp(`coalesce\\(order_payments\\.${m}_amount, 0\\) as ${m}_amount`));
    }
    const cols = (await t.wh.columns("main", "fct_orders")).map((c) => c.name);
    assert.deepEqual(cols, ["order_id", "customer_id", "order_date", "status", "credit_card_amount", "coupon_amount", "bank_transfer_amount", "gift_card_amount", "amount"]);
    const [row] = await t.wh.query<{ a: number; b: number }>(
      "select sum(amount) as a, sum(credit_card_amount + coupon_amount + bank_transfer_amount + gift_card_amount) as b from main.fct_orders",
    );
    assert.ok(Math.abs(row.a - row.b) < 1e-6);
    const total = Number(await t.wh.scalar("select sum(amount) from main.stg_payments"));
    assert.ok(Math.abs(row.a - total) < 1e-6);
  });

  test("events: start then success for each node, with rows and timing", () => {
    for (const id of Object.keys(results)) {
      const mine = events.filter((e) => e.id === id).map((e) => e.phase);
      assert.deepEqual(mine, ["start", "success"], id);
    }
    const done = events.find((e) => e.id === "customers" && e.phase === "success");
    assert.equal(done?.rows, 100);
    assert.ok((done?.ms ?? -1) >= 0);
  });
});

describe("materializations", () => {
  test("view vs table, and switching a relation from view to table", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "models/a_view.sql": "select 1 as x union all select 2",
        "models/b_table.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('a_view') }}",
      });
      // A view is counted when the count answers within its budget: a generous one here, so a loaded machine cannot skip it.
      const r1 = byId(await runEmbeddedStep(stepNodes(p), { ...contextFor(p, t.wh), viewCountMs: 60_000 }));
      assert.equal(r1.a_view.status, "success", r1.a_view.error);
      assert.equal(r1.b_table.status, "success", r1.b_table.error);
      assert.equal(await relationType(t, "main", "a_view"), "view");
      assert.equal(await relationType(t, "main", "b_table"), "table");
      assert.equal(r1.a_view.rows, 2); // cheap count of a view
      assert.equal(r1.b_table.rows, 2);
      // a_view becomes a table, b_table a view: the old relations are replaced
      p.nodes.get("a_view")!.config = { materialized: "table" };
      p.nodes.get("b_table")!.config = {};
      const p2 = { ...p };
      const r2 = byId(await runEmbeddedStep(stepNodes(p2), contextFor(p2, t.wh)));
      assert.equal(r2.a_view.status, "success", r2.a_view.error);
      assert.equal(await relationType(t, "main", "a_view"), "table");
      assert.equal(r2.b_table.materialized, "table"); // in-file config wins over the node config
    } finally {
      t.cleanup();
    }
  });

  // One expectation per table entry: a materialization added to MATERIALIZATIONS without one here does not compile.
  const BUILT: Record<keyof typeof MATERIALIZATIONS, { node: string; relation: "view" | "table" | undefined; rows: number }> = {
    view: { node: "m_view", relation: "view", rows: 2 },
    table: { node: "m_table", relation: "table", rows: 2 },
    incremental: { node: "m_incremental", relation: "table", rows: 2 },
    ephemeral: { node: "m_ephemeral", relation: undefined, rows: 2 },
    seed: { node: "s_seed", relation: "table", rows: 3 },
    snapshot: { node: "m_snapshot", relation: "table", rows: 2 },
  };

  test("every materialization of the table builds its node; an unknown one fails naming the table's materializations for a model", async () => {
    const t = await tempWarehouse();
    try {
      const rows = "select 1 as id, 'a' as v union all select 2, 'b'";
      const p = writeProject({
        "seeds/s_seed.csv": "id,v\n1,a\n2,b\n3,c\n",
        "models/m_view.sql": `{{ config(materialized='view') }}\n${rows}`,
        "models/m_table.sql": `{{ config(materialized='table') }}\n${rows}`,
        "models/m_incremental.sql": `{{ config(materialized='incremental') }}\n${rows}`,
        "models/m_ephemeral.sql": `{{ config(materialized='ephemeral') }}\n${rows}`,
        "models/m_reads_ephemeral.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('m_ephemeral') }}",
        "models/m_snapshot.sql": `{{ config(materialized='snapshot', unique_key='id', strategy='check', check_cols='all') }}\n${rows}`,
        "models/m_unknown.sql": "{{ config(materialized='dynamic_table', pre_hook='create table main.hook_ran as select 1 as x') }}\nselect 1 as id",
        "models/m_seed_config.sql": "{{ config(materialized='seed') }}\nselect 1 as id",
      });
      const results = byId(await runEmbeddedStep(stepNodes(p), { ...contextFor(p, t.wh), viewCountMs: 60_000 }));
      for (const name of Object.keys(MATERIALIZATIONS) as (keyof typeof MATERIALIZATIONS)[]) {
        const { node, relation, rows: expected } = BUILT[name];
        const r = results[node];
        assert.equal(r.status, "success", `${name}: ${r.error}`);
        assert.equal(r.materialized, name);
        assert.equal(await relationType(t, "main", node), relation, name);
        if (relation) assert.equal(await count(t, `main.${node}`), expected, name);
      }
      assert.equal(await count(t, "main.m_reads_ephemeral"), BUILT.ephemeral.rows, "the ephemeral model is inlined into its reader");

      const forModels = Object.entries(MATERIALIZATIONS as Record<string, Materialization>).filter(([, m]) => m.for.includes("model")).map(([n]) => n);
      for (const [node, name] of [["m_unknown", "dynamic_table"], ["m_seed_config", "seed"]]) {
        const r = results[node];
        assert.equal(r.status, "error", node);
        assert.match(r.error ?? "", new RegExp(`materialization '${name}' is not supported by the embedded engine for a model \\(${forModels.join(", ")} are\\)`), r.error);
        assert.equal(await relationType(t, "main", node), undefined, node);
      }
      assert.equal(await relationType(t, "main", "hook_ran"), undefined, "no pre-hook runs for a materialization the engine does not have");
    } finally {
      t.cleanup();
    }
  });

  test("incremental: append without unique_key, merge on unique_key (string and list), across two runs; is_incremental() switches", async () => {
    const t = await tempWarehouse();
    try {
      await t.wh.run("create schema raw");
      await t.wh.run(
        "create table raw.events as select * from (values (1, 'a', 'placed', timestamp '2024-01-01 10:00'), (2, 'a', 'placed', timestamp '2024-01-01 11:00'), (3, 'b', 'placed', timestamp '2024-01-01 12:00')) v(id, shop, status, updated_at)",
      );
      const body = `select id, shop, status, updated_at, {{ 'true' if is_incremental() else 'false' }} as loaded_incrementally
from {{ source('raw', 'events') }}
{% if is_incremental() %}
where updated_at > (select max(updated_at) from {{ this }})
{% endif %}`;
      const p = writeProject({
        "models/sources.yml": "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n",
        "models/ev_append.sql": `{{ config(materialized='incremental') }}\n${body}`,
        "models/ev_merge.sql": `{{ config(materialized='incremental', unique_key='id') }}\n${body}`,
        "models/ev_merge_list.sql": `{{ config(materialized='incremental', unique_key=['id', 'shop'], incremental_strategy='merge') }}\n${body}`,
        "models/ev_delete_insert.sql": `{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert') }}\n${body}`,
        // config() after is_incremental()/this: rendered again once the materialization is known
        "models/ev_late_config.sql": `${body}\n{{ config(materialized='incremental', unique_key='id') }}`,
      });
      const ctx = contextFor(p, t.wh);
      const r1 = byId(await runEmbeddedStep(stepNodes(p), ctx));
      for (const r of Object.values(r1)) {
        assert.equal(r.status, "success", r.error);
        assert.equal(r.rows, 3);
        assert.doesNotMatch(r.compiledSql ?? "", /where updated_at >/, "first run is not incremental");
      }
      // one changed row, one new row
      await t.wh.run("update raw.events set status = 'shipped', updated_at = timestamp '2024-01-02 09:00' where id = 2");
      await t.wh.run("insert into raw.events values (4, 'b', 'placed', timestamp '2024-01-02 10:00')");
      const r2 = byId(await runEmbeddedStep(stepNodes(p), ctx));
      for (const r of Object.values(r2)) {
        assert.equal(r.status, "success", r.error);
        assert.match(r.compiledSql ?? "", /where updated_at > \(select max\(updated_at\) from "main"\."ev_\w+"\)/);
        assert.equal(r.rows, 2, `${r.id} inserts the 2 new/changed rows`);
      }
      assert.equal(await count(t, "main.ev_append"), 5); // appended: the old version of id 2 stays
      assert.equal(await count(t, "main.ev_append where id = 2"), 2);
      for (const name of ["ev_merge", "ev_merge_list", "ev_delete_insert", "ev_late_config"]) {
        assert.equal(await count(t, `main.${name}`), 4, name);
        const rows = await t.wh.query<{ id: number; status: string; loaded_incrementally: boolean }>(`select id, status, loaded_incrementally from main.${name} order by id`);
        assert.deepEqual(rows.map((r) => [r.id, r.status, r.loaded_incrementally]), [
          [1, "placed", false],
          [2, "shipped", true],
          [3, "placed", false],
          [4, "placed", true],
        ]);
      }
      // full refresh rebuilds from scratch
      const r3 = byId(await runEmbeddedStep(stepNodes(p, ["ev_append"]), { ...ctx, fullRefresh: true }));
      assert.equal(r3.ev_append.rows, 4);
      assert.doesNotMatch(r3.ev_append.compiledSql ?? "", /where updated_at >/);
      assert.equal(await count(t, "main.ev_append"), 4);
    } finally {
      t.cleanup();
    }
  });

  test("incremental on_schema_change=append_new_columns adds the new column", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({ "models/inc.sql": "{{ config(materialized='incremental', on_schema_change='append_new_columns') }}\nselect 1 as id" });
      await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh));
      const p2 = writeProject({ "models/inc.sql": "{{ config(materialized='incremental', on_schema_change='append_new_columns') }}\nselect 2 as id, 'x' as extra" });
      const r = byId(await runEmbeddedStep(stepNodes(p2), contextFor(p2, t.wh)));
      assert.equal(r.inc.status, "success", r.inc.error);
      assert.deepEqual((await t.wh.columns("main", "inc")).map((c) => c.name), ["id", "extra"]);
      assert.deepEqual(await t.wh.query("select id, extra from main.inc order by id"), [
        { id: 1, extra: null },
        { id: 2, extra: "x" },
      ]);
    } finally {
      t.cleanup();
    }
  });

  test("ephemeral models are inlined as __dbt__cte__ CTEs (also into a model that starts with `with`), no relation is created", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "models/eph_base.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as id, 'a' as name union all select 2, 'b'",
        "models/eph_mid.sql": "{{ config(materialized='ephemeral') }}\n-- a comment first\nwith x as (select * from {{ ref('eph_base') }}) select id * 10 as id, name from x",
        "models/uses_with.sql": "-- leading comment\nwith y as (\n  select * from {{ ref('eph_mid') }}\n)\nselect * from y",
        "models/uses_plain.sql": "{{ config(materialized='table') }}\nselect b.id, m.id as mid from {{ ref('eph_base') }} b join {{ ref('eph_mid') }} m on m.id = b.id * 10",
      });
      const r = byId(await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh)));
      for (const x of Object.values(r)) assert.equal(x.status, "success", `${x.id}: ${x.error}`);
      assert.equal(r.eph_base.materialized, "ephemeral");
      assert.equal(r.eph_base.relation, undefined);
      assert.equal(await t.wh.tableExists("main", "eph_base"), false);
      assert.equal(await t.wh.tableExists("main", "eph_mid"), false);
      const sql = r.uses_with.compiledSql ?? "";
      assert.match(sql, /^-- leading comment\nwith __dbt__cte__eph_base as \(/);
      assert.ok(sql.indexOf("__dbt__cte__eph_base as (") < sql.indexOf("__dbt__cte__eph_mid as ("), "nested ephemeral first");
      assert.match(sql, /\), y as \(\n {2}select \* from __dbt__cte__eph_mid\n\)/);
      assert.equal((sql.match(/__dbt__cte__eph_base as \(/g) ?? []).length, 1);
      assert.match(r.uses_plain.compiledSql ?? "", /^\s*with __dbt__cte__eph_base as \(/);
      assert.deepEqual(await t.wh.query("select * from main.uses_with order by id"), [
        { id: 10, name: "a" },
        { id: 20, name: "b" },
      ]);
      assert.equal(await count(t, "main.uses_plain"), 2);
    } finally {
      t.cleanup();
    }
  });

  test("+schema / schema config: <target_schema>_<custom>; alias overrides the identifier; `this` renders schema.identifier", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject(
        {
          "models/marts/m1.sql": "select '{{ this }}' as me, '{{ this.schema }}' as s, '{{ this.identifier }}' as i",
          "models/marts/m2.sql": "{{ config(schema='finance', alias='m2_renamed') }}\nselect * from {{ ref('m1') }}",
          "models/plain.sql": "select * from {{ ref('m2') }}",
        },
        "name: idioms\nmodels:\n  idioms:\n    marts:\n      +schema: analytics\n      +materialized: table\n",
      );
      const r = byId(await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh)));
      for (const x of Object.values(r)) assert.equal(x.status, "success", `${x.id}: ${x.error}`);
      assert.equal(r.m1.relation, '"main_analytics"."m1"');
      assert.equal(r.m2.relation, '"main_finance"."m2_renamed"');
      assert.equal(r.plain.relation, '"main"."plain"');
      assert.match(r.plain.compiledSql ?? "", /from "main_finance"\."m2_renamed"/);
      assert.deepEqual(await t.wh.query("select * from main_analytics.m1"), [{ me: '"main_analytics"."m1"', s: "main_analytics", i: "m1" }]);
      assert.equal(await relationType(t, "main_finance", "m2_renamed"), "table");
    } finally {
      t.cleanup();
    }
  });

  test("a project generate_schema_name macro overrides dbt's default naming", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "macros/naming.sql":
          "{% macro generate_schema_name(custom_schema_name, node) -%}\n  {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n{%- endmacro %}",
        "models/m.sql": "{{ config(schema='reporting') }}\nselect 1 as x",
        "models/n.sql": "select * from {{ ref('m') }}",
      });
      const r = byId(await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh)));
      assert.equal(r.m.status, "success", r.m.error);
      assert.equal(r.m.relation, '"reporting"."m"');
      assert.match(r.n.compiledSql ?? "", /from "reporting"\."m"/);
    } finally {
      t.cleanup();
    }
  });
});

describe("vars", () => {
  test("var(): cli vars win over project vars (global and project-scoped); default; missing var names the var", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject(
        {
          "models/v.sql": "select '{{ var(\"start_date\") }}' as start_date, '{{ var(\"scoped\") }}' as scoped, '{{ var(\"overridden\") }}' as overridden, '{{ var(\"missing\", \"fallback\") }}' as dflt, {{ var('methods') | length }} as n",
          "models/bad.sql": "select {{ var('not_defined_anywhere') }} as x",
        },
        "name: idioms\nvars:\n  start_date: '2018-01-01'\n  overridden: project\n  methods: [a, b, c]\n  idioms:\n    scoped: scoped-value\n",
      );
      const r = byId(await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh, { cliVars: { overridden: "cli" } })));
      assert.equal(r.v.status, "success", r.v.error);
      assert.deepEqual(await t.wh.query("select * from main.v"), [{ start_date: "2018-01-01", scoped: "scoped-value", overridden: "cli", dflt: "fallback", n: 3 }]);
      assert.equal(r.bad.status, "error");
      assert.match(r.bad.error ?? "", /Required var 'not_defined_anywhere' not found/);
      assert.match(r.bad.error ?? "", /bad\.sql:1/);
    } finally {
      t.cleanup();
    }
  });
});

describe("failures", () => {
  test("a failing SQL model reports its file; its downstream is skipped; an independent model succeeds", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "models/a_ok.sql": "select 1 as id",
        "models/b_broken.sql": "select id from {{ ref('a_ok') }} where no_such_column = 1",
        "models/c_downstream.sql": "select * from {{ ref('b_broken') }}",
        "models/d_downstream2.sql": "select * from {{ ref('c_downstream') }}",
        "models/e_independent.sql": "select 42 as answer",
        "models/f_eph_broken.sql": "{{ config(materialized='ephemeral') }}\nselect {{ var('undefined_var_for_eph') }} as x",
        "models/g_uses_eph.sql": "select * from {{ ref('f_eph_broken') }}",
      });
      const events: EmbeddedNodeEvent[] = [];
      const nodes = stepNodes(p);
      const r = byId(await runEmbeddedStep(nodes, contextFor(p, t.wh, { onNodeEvent: (e) => events.push(e) })));
      assert.equal(r.a_ok.status, "success");
      assert.equal(r.b_broken.status, "error");
      assert.match(r.b_broken.error ?? "", /b_broken\.sql/);
      assert.match(r.b_broken.error ?? "", /no_such_column/);
      assert.equal(r.c_downstream.status, "skipped");
      assert.equal(r.d_downstream2.status, "skipped");
      assert.equal(r.e_independent.status, "success");
      assert.equal(await t.wh.tableExists("main", "c_downstream"), false);
      assert.equal(Number(await t.wh.scalar("select answer from main.e_independent")), 42);
      assert.deepEqual(events.filter((e) => e.id === "c_downstream").map((e) => e.phase), ["skipped"]);
      // without dependsOn, the refs found while rendering are enough
      const r2 = byId(await runEmbeddedStep(nodes.map(({ dependsOn: _d, ...n }) => n), contextFor(p, t.wh)));
      assert.equal(r2.b_broken.status, "error");
      assert.equal(r2.c_downstream.status, "skipped");
      assert.equal(r2.d_downstream2.status, "skipped");
      assert.equal(r2.e_independent.status, "success");
      // an ephemeral upstream that fails to render: its downstream is skipped, not failed
      assert.equal(r2.f_eph_broken.status, "error");
      assert.match(r2.f_eph_broken.error ?? "", /undefined_var_for_eph/);
      assert.equal(r2.g_uses_eph.status, "skipped");
      assert.match(r2.g_uses_eph.error ?? "", /f_eph_broken/);
    } finally {
      t.cleanup();
    }
  });

  test("an unrenderable model fails with file, line, construct and a dbt-engine hint; the step goes on", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "models/uses_unknown_macro.sql": "select\n  1 as a,\n  {{ some_package.fancy_macro('x') }} as b",
        "models/uses_unknown_tag.sql": "select 1 as a\n{% materialization custom, adapter='duckdb' %}\n{% endmaterialization %}",
        "models/uses_adapter.sql": "{% set cols = adapter.get_catalog_stats(this) %}\nselect 1 as a",
        "models/recursive_loop.sql": "select 1\n\n{% for x in [1, 2] recursive %}, {{ x }}{% endfor %}",
        "models/fine.sql": "select 1 as a",
      });
      const r = byId(await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh)));
      const expectations: [string, RegExp, RegExp][] = [
        ["uses_unknown_macro", /uses_unknown_macro\.sql:3:\d+/, /some_package\.fancy_macro/],
        ["uses_unknown_tag", /uses_unknown_tag\.sql:2/, /\{% materialization %\}/],
        ["uses_adapter", /uses_adapter\.sql:1/, /adapter\.get_catalog_stats/],
        ["recursive_loop", /recursive_loop\.sql:3/, /for \.\.\. recursive/],
      ];
      for (const [id, where, construct] of expectations) {
        assert.equal(r[id].status, "error", id);
        assert.match(r[id].error ?? "", where, `${id}: ${r[id].error}`);
        assert.match(r[id].error ?? "", construct, `${id}: ${r[id].error}`);
        assert.match(r[id].error ?? "", /--engine dbt/, id);
        assert.ok((r[id].error ?? "").includes(p.nodes.get(id)!.file), `${id} names the absolute file`);
      }
      assert.equal(r.fine.status, "success");
    } finally {
      t.cleanup();
    }
  });

  test("cancellation skips the remaining nodes", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({ "models/m1.sql": "select 1 as x", "models/m2.sql": "select 2 as x", "models/m3.sql": "select 3 as x" });
      const ac = new AbortController();
      const r = byId(
        await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh, { signal: ac.signal, onNodeEvent: (e) => e.id === "m1" && e.phase === "success" && ac.abort() })),
      );
      assert.equal(r.m1.status, "success");
      assert.equal(r.m2.status, "skipped");
      assert.equal(r.m3.status, "skipped");
      assert.equal(r.m3.error, "cancelled");
    } finally {
      t.cleanup();
    }
  });
});
