/**
 * Warehouse over @duckdb/node-api: parent folders, plain rows, and `close()` really releasing the
 * database file (another instance, and another process, can then open it read-write).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Warehouse } from "../../server/src/run/warehouse";

const REPO = join(import.meta.dirname, "..", "..");

function childWrites(path: string): string {
  const code = `
    import { DuckDBInstance } from "@duckdb/node-api";
    try {
      const i = await DuckDBInstance.create(${JSON.stringify(path)});
      const c = await i.connect();
      await c.run("insert into t values (99)");
      c.closeSync(); i.closeSync();
      console.log("ok");
    } catch (e) { console.log("locked: " + e.message.split("\\n")[0]); }`;
  return execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: REPO, encoding: "utf8" }).trim();
}

test("open creates parent folders; query returns plain JS values", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-wh-"));
  try {
    const path = join(dir, "a", "b", "w.duckdb");
    const wh = await Warehouse.open(path);
    assert.ok(existsSync(path));
    const [row] = await wh.query(
      "select 1 as i, 12345678901::bigint as b, 9007199254740993::bigint as huge, 1.25::decimal(10,2) as d, date '2020-01-02' as dt, timestamp '2020-01-02 03:04:05' as ts, time '12:30:00' as tm, 'x' as s, null as n, [1, 2] as l, {'k': 3::bigint} as st, ? as p",
      ["param"],
    );
    assert.deepEqual(row, {
      i: 1,
      b: 12345678901,
      huge: "9007199254740993",
      d: 1.25,
      dt: "2020-01-02",
      ts: "2020-01-02T03:04:05.000Z",
      tm: "12:30:00",
      s: "x",
      n: null,
      l: [1, 2],
      st: { k: 3 },
      p: "param",
    });
    await wh.run("create schema s; create table s.t as select 1 as x");
    assert.equal(await wh.tableExists("s", "t"), true);
    assert.equal(await wh.tableExists("s", "nope"), false);
    assert.equal(await wh.relationType("S", "T"), "table");
    assert.deepEqual(await wh.columns("s", "t"), [{ name: "x", type: "INTEGER" }]);
    assert.ok(wh.dbMs > 0);
    wh.close();
    assert.equal(wh.isOpen, false);
    await assert.rejects(() => wh.query("select 1"), /closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("close() releases the file: another process and a new instance can open it read-write", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-wh-"));
  try {
    const path = join(dir, "w.duckdb");
    const wh = await Warehouse.open(path);
    await wh.run("create table t (x integer); insert into t values (1)");
    // while open, another process cannot write
    assert.match(childWrites(path), /^locked: .*lock/i);
    await wh.queryWithin("select count(*) from t", 50); // a timed count must not keep the lock either
    wh.close();
    assert.equal(childWrites(path), "ok");
    const again = await Warehouse.open(path);
    try {
      await again.run("insert into t values (2)");
      assert.deepEqual(await again.query("select x from t order by x"), [{ x: 1 }, { x: 2 }, { x: 99 }]);
    } finally {
      again.close();
    }
    assert.equal(childWrites(path), "ok");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("queryWithin gives up on slow queries and leaves the warehouse usable", async () => {
  const wh = await Warehouse.open(":memory:");
  try {
    const slow = await wh.queryWithin("select count(*) from range(3000000000) a", 30);
    assert.equal(slow, undefined);
    assert.deepEqual(await wh.queryWithin("select 42 as n", 1000), [{ n: 42 }]);
    assert.deepEqual(await wh.query("select 1 as one"), [{ one: 1 }]);
  } finally {
    wh.close();
  }
});
