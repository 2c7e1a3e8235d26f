/** `tributary compile` and `tributary graph --columns`: the built bin on a copy of the example. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";
import type { CompileJson } from "../../server/src/cli/compileCommand";
import type { GraphJson } from "../../server/src/cli/graphJson";

describe("tributary compile", () => {
  const ws = copyExample();
  after(() => ws.dispose());

  test("compiles the selection in graph order with the embedded engine's renderer (refs, macros, loops)", () => {
    const { code, stdout, stderr } = runCli(ws.root, ["compile", "+fct_orders", "--json"]);
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as CompileJson;
    assert.deepEqual(out.models.map((m) => m.id), ["stg_orders", "stg_payments", "fct_orders"]);
    const fct = out.models.find((m) => m.id === "fct_orders")!;
    assert.equal(fct.materialized, "table");
    assert.equal(fct.relation, '"main"."fct_orders"');
    assert.equal(fct.file, "models/marts/fct_orders.sql");
    assert.match(fct.sql, /select \* from "main"\."stg_orders"/);
    assert.match(fct.sql, /sum\(case when payment_method = 'gift_card' then amount else 0 end\) as gift_card_amount/);
    assert.doesNotMatch(fct.sql, /\{\{|\{%/);
    const payments = out.models.find((m) => m.id === "stg_payments")!;
    assert.match(payments.sql, /round\(1\.0 \* amount \/ 100, 2\) as amount/, "project macro expanded");
    const human = runCli(ws.root, ["compile", "stg_orders"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^-- stg_orders \(models\/staging\/stg_orders\.sql, view\)\nwith source as/);
  });

  test("a rendering error names the file, the Jinja line and column, and exits 1", () => {
    writeFileSync(path.join(ws.root, "models/broken.sql"), "select 1 as a,\n  {{ no_such_macro(1) }} as b\n");
    const { code, stdout, stderr } = runCli(ws.root, ["compile", "broken", "--json"]);
    assert.equal(code, 1, stderr);
    const out = JSON.parse(stdout) as CompileJson;
    assert.equal(out.models.length, 0);
    assert.equal(out.errors[0].file, "models/broken.sql");
    assert.equal(out.errors[0].line, 2);
    assert.equal(out.errors[0].column, 19);
    assert.match(out.errors[0].message, /no_such_macro/);
    const human = runCli(ws.root, ["compile", "broken"]);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /broken\.sql:2:19: .*no_such_macro/);
  });

  test("bounded: a loop over a huge range() fails with its position instead of rendering for ever", () => {
    writeFileSync(path.join(ws.root, "models/huge.sql"), "select 1 as a\n{% for i in range(100000000000) %}, {{ i }} as c{{ i }}{% endfor %}\n");
    const { code, stdout } = runCli(ws.root, ["compile", "huge", "--json"]);
    assert.equal(code, 1);
    const error = (JSON.parse(stdout) as CompileJson).errors[0];
    assert.equal(error.line, 2);
    assert.match(error.message, /range\(\) of 100,000,000,000 items/);
  });

  test("a selection without SQL models says so", () => {
    const { code, stderr } = runCli(ws.root, ["compile", "raw_orders"]);
    assert.equal(code, 2);
    assert.match(stderr, /matches no dbt model or snapshot written in SQL/);
  });
});

describe("tributary graph --columns", () => {
  const ws = copyExample();
  after(() => ws.dispose());

  test("every asset carries its columns with their upstream columns; unanalyzable models get an info diagnostic", () => {
    writeFileSync(path.join(ws.root, "models/from_function.sql"), "select * from range(3)\n");
    const { code, stdout, stderr } = runCli(ws.root, ["graph", "--json", "--columns"]);
    assert.equal(code, 0, stderr);
    const data = JSON.parse(stdout) as GraphJson;
    const customers = data.assets.find((a) => a.key.join("/") === "customers")!;
    assert.equal(customers.columnLevel, "columns");
    const lifetime = customers.columns!.find((c) => c.name === "lifetime_value")!;
    assert.deepEqual(lifetime.upstream, [{ key: ["fct_orders"], column: "amount" }]);
    assert.equal(lifetime.how, "derived");
    const forecast = data.assets.find((a) => a.key.join("/") === "forecast_vs_actual")!;
    assert.deepEqual(forecast.columns!.find((c) => c.name === "predicted_orders")!.upstream, [{ key: ["forecasting", "predicted_orders"], column: "predicted_orders" }]);
    const broken = data.assets.find((a) => a.key.join("/") === "from_function")!;
    assert.equal(broken.columnLevel, "table");
    const info = data.diagnostics.find((d) => d.code === "column-lineage" && d.file === "models/from_function.sql");
    assert.ok(info, JSON.stringify(data.diagnostics));
    assert.equal(info.severity, "info");
    assert.match(info.message, /table-level only: FROM table function/);
    // Without --columns the shape is unchanged.
    const plain = JSON.parse(runCli(ws.root, ["graph", "--json"]).stdout) as GraphJson;
    assert.equal(plain.assets.find((a) => a.key.join("/") === "customers")!.columns, undefined);
    const human = runCli(ws.root, ["graph", "--columns"]);
    assert.match(human.stdout, /\n {4}\.lifetime_value ← fct_orders\.amount \(derived\)\n/);
  });
});
