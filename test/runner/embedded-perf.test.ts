/**
 * Per-model overhead of the embedded engine (everything but DuckDB's own query time) on a
 * generated chain of 200 trivial models, each calling a project macro. Prints JSON figures.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runEmbeddedStep } from "../../server/src/run/embedded/engine";
import { contextFor, stepNodes, tempWarehouse, writeProject } from "./fixtures/embedded-lib/project";

const N = 200;
const BUDGET_MS = 10;

function chain(materialized: string): Record<string, string> {
  const files: Record<string, string> = {
    "macros/plus_one.sql": "{% macro plus_one(col) -%}\n  ({{ col }} + 1)\n{%- endmacro %}",
  };
  for (let i = 0; i < N; i++) {
    const name = `m${String(i).padStart(3, "0")}`;
    files[`models/${name}.sql`] =
      i === 0
        ? `{{ config(materialized='${materialized}') }}\nselect 1 as x, '{{ var("label", "chain") }}' as label`
        : `{{ config(materialized='${materialized}') }}\nselect {{ plus_one('x') }} as x, label from {{ ref('m${String(i - 1).padStart(3, "0")}') }}`;
  }
  return files;
}

for (const materialized of ["view", "table"]) {
  test(`${N} chained ${materialized} models: engine overhead per model <= ${BUDGET_MS} ms`, async () => {
    const p = writeProject(chain(materialized));
    const t = await tempWarehouse();
    try {
      const nodes = stepNodes(p);
      assert.equal(nodes.length, N);
      const runs: { totalMs: number; dbMs: number; overheadPerModelMs: number; maxOverheadMs: number }[] = [];
      for (let run = 0; run < 2; run++) {
        const t0 = performance.now();
        const db0 = t.wh.dbMs;
        const results = await runEmbeddedStep(nodes, contextFor(p, t.wh));
        const totalMs = performance.now() - t0;
        const dbMs = t.wh.dbMs - db0;
        for (const r of results) assert.equal(r.status, "success", r.error);
        const perNode = results.map((r) => r.ms - (r.dbMs ?? 0));
        runs.push({
          totalMs: Math.round(totalMs),
          dbMs: Math.round(dbMs),
          overheadPerModelMs: Number(((totalMs - dbMs) / N).toFixed(2)),
          maxOverheadMs: Number(Math.max(...perNode).toFixed(2)),
        });
        assert.equal(Number(await t.wh.scalar(`select x from main.m${N - 1}`)), N);
      }
      console.log(JSON.stringify({ bench: "embedded-chain", models: N, materialized, runs }));
      // the first run includes the one-off costs (Jinja environment, macro parsing)
      for (const r of runs) assert.ok(r.overheadPerModelMs <= BUDGET_MS, `overhead ${r.overheadPerModelMs} ms/model`);
    } finally {
      t.cleanup();
    }
  });
}
