import assert from "node:assert/strict";
import { test } from "node:test";
import { scanPythonModel } from "../../server/src/index/dbt/python";

const MODEL = `import pandas as pd

def model(dbt, session):
    dbt.config(materialized="table", packages=["pandas"])
    # dbt.ref("commented_out")
    orders = dbt.ref("stg_orders").to_pandas()
    old = dbt.ref('legacy', v=2)
    users = dbt.ref("platform", "dim_users")
    raw = dbt.source("raw", 'payments')
    dynamic = dbt.ref(name)
    return orders
`;

test("python models: literal refs, two-argument refs, versions and sources; comments skipped", () => {
  const facts = scanPythonModel(MODEL, "/p/models/py_model.py");
  const refs = facts.refs.map((r) => r.args.map((a) => (a.type === "string" ? a.value : "?")).join("."));
  assert.deepEqual(refs, ["stg_orders", "legacy", "platform.dim_users"]);
  assert.deepEqual(facts.refs[1].kwargs.v, { type: "number", value: 2 });
  assert.deepEqual(facts.refs[0].nameSpan, { start: { line: 5, character: 21 }, end: { line: 5, character: 33 } });
  assert.equal(facts.sources.length, 1);
  assert.deepEqual(facts.sources[0].args, [{ type: "string", value: "raw" }, { type: "string", value: "payments" }]);
  assert.deepEqual(facts.config.materialized, { type: "string", value: "table" });
  assert.equal(facts.diagnostics.length, 1);
  assert.equal(facts.diagnostics[0].code, "dynamic-ref");
  assert.equal(facts.diagnostics[0].span.start.line, 9);
});
