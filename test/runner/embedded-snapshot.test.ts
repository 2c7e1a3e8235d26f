/**
 * Snapshots on the embedded engine: timestamp and check strategies, hard deletes, across runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runEmbeddedStep } from "../../server/src/run/embedded/engine";
import { contextFor, stepNodes, tempWarehouse, writeProject } from "./fixtures/embedded-lib/project";

const SOURCES = "version: 2\nsources:\n  - name: app\n    schema: app\n    tables:\n      - name: customers\n";

interface SnapRow {
  id: number;
  name: string;
  valid_from: string;
  valid_to: string | null;
}

test("timestamp strategy: changed rows get a new version, the old one is closed; hard deletes invalidated", async () => {
  const t = await tempWarehouse();
  try {
    await t.wh.run("create schema app");
    await t.wh.run(
      "create table app.customers as select * from (values (1, 'ann', timestamp '2024-01-01'), (2, 'bob', timestamp '2024-01-01'), (3, 'cy', timestamp '2024-01-01')) v(id, name, updated_at)",
    );
    const p = writeProject({
      "models/sources.yml": SOURCES,
      "snapshots/customers_snapshot.sql": `{% snapshot customers_snapshot %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=True) }}
select * from {{ source('app', 'customers') }}
{% endsnapshot %}`,
    });
    const nodes = stepNodes(p);
    assert.deepEqual(nodes.map((n) => [n.id, n.resourceType]), [["customers_snapshot", "snapshot"]]);
    const r1 = await runEmbeddedStep(nodes, contextFor(p, t.wh));
    assert.equal(r1[0].status, "success", r1[0].error);
    assert.equal(r1[0].relation, '"snapshots"."customers_snapshot"');
    assert.equal(r1[0].rows, 3);
    const cols = (await t.wh.columns("snapshots", "customers_snapshot")).map((c) => c.name);
    assert.deepEqual(cols, ["id", "name", "updated_at", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]);

    // bob renamed, cy deleted, dan added; ann untouched
    await t.wh.run("update app.customers set name = 'bobby', updated_at = timestamp '2024-02-01' where id = 2");
    await t.wh.run("delete from app.customers where id = 3");
    await t.wh.run("insert into app.customers values (4, 'dan', timestamp '2024-02-01')");
    const r2 = await runEmbeddedStep(nodes, contextFor(p, t.wh, { runStartedAt: new Date("2024-03-01T00:00:00Z") }));
    assert.equal(r2[0].status, "success", r2[0].error);
    const rows = await t.wh.query<SnapRow>(
      "select id, name, strftime(dbt_valid_from, '%Y-%m-%d') as valid_from, strftime(dbt_valid_to, '%Y-%m-%d') as valid_to from snapshots.customers_snapshot order by id, dbt_valid_from",
    );
    assert.deepEqual(rows, [
      { id: 1, name: "ann", valid_from: "2024-01-01", valid_to: null },
      { id: 2, name: "bob", valid_from: "2024-01-01", valid_to: "2024-02-01" },
      { id: 2, name: "bobby", valid_from: "2024-02-01", valid_to: null },
      { id: 3, name: "cy", valid_from: "2024-01-01", valid_to: "2024-03-01" },
      { id: 4, name: "dan", valid_from: "2024-02-01", valid_to: null },
    ]);
    assert.equal(r2[0].rows, 4); // 1 closed by change + 2 inserted + 1 invalidated
    // a third run without source changes changes nothing
    const r3 = await runEmbeddedStep(nodes, contextFor(p, t.wh));
    assert.equal(r3[0].rows, 0);
    assert.equal(Number(await t.wh.scalar("select count(*) from snapshots.customers_snapshot")), 5);
    const ids = await t.wh.query<{ n: number }>("select count(distinct dbt_scd_id) as n from snapshots.customers_snapshot");
    assert.equal(ids[0].n, 5);
  } finally {
    t.cleanup();
  }
});

test("check strategy on check_cols; snapshot time is the step's start", async () => {
  const t = await tempWarehouse();
  try {
    await t.wh.run("create schema app");
    await t.wh.run("create table app.customers as select * from (values (1, 'ann', 'x'), (2, 'bob', 'y')) v(id, name, noise)");
    const p = writeProject({
      "models/sources.yml": SOURCES,
      "snapshots/snap.sql": `{% snapshot customers_check %}
{{ config(unique_key='id', strategy='check', check_cols=['name']) }}
select * from {{ source('app', 'customers') }}
{% endsnapshot %}`,
    });
    const nodes = stepNodes(p);
    const r1 = await runEmbeddedStep(nodes, contextFor(p, t.wh, { runStartedAt: new Date("2024-01-01T00:00:00Z") }));
    assert.equal(r1[0].status, "success", r1[0].error);
    assert.equal(r1[0].relation, '"main"."customers_check"');
    await t.wh.run("update app.customers set noise = 'changed only noise' where id = 1");
    await t.wh.run("update app.customers set name = 'bobby' where id = 2");
    const r2 = await runEmbeddedStep(nodes, contextFor(p, t.wh, { runStartedAt: new Date("2024-05-01T00:00:00Z") }));
    assert.equal(r2[0].status, "success", r2[0].error);
    assert.deepEqual(
      await t.wh.query<SnapRow>(
        "select id, name, strftime(dbt_valid_from, '%Y-%m-%d') as valid_from, strftime(dbt_valid_to, '%Y-%m-%d') as valid_to from main.customers_check order by id, dbt_valid_from",
      ),
      [
        { id: 1, name: "ann", valid_from: "2024-01-01", valid_to: null },
        { id: 2, name: "bob", valid_from: "2024-01-01", valid_to: "2024-05-01" },
        { id: 2, name: "bobby", valid_from: "2024-05-01", valid_to: null },
      ],
    );
  } finally {
    t.cleanup();
  }
});
