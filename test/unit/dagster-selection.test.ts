/** Tributary selections -> Dagster's asset selection syntax, on the example's real graph. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parseSelection } from "../../server/src/graph/selection";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { dagsterTags } from "../../server/src/export/dagster/model";
import { SelectionNotExportable, toDagsterSelection, type DagsterSelectionContext } from "../../server/src/export/dagster/selection";
import { EXAMPLE } from "../helpers/workspace";

const index = new WorkspaceIndex({ roots: [EXAMPLE] });
index.load();
const graph = index.graph;
const ctx: DagsterSelectionContext = {
  graph,
  roots: [EXAMPLE],
  groupOf: (id) => graph.get(id)?.group,
  tagsOf: (id) => dagsterTags(graph.get(id)?.tags ?? []),
  kindsOf: (id) => (graph.get(id)?.kind === "ts_asset" ? ["typescript"] : ["dbt", "duckdb"]),
};

function translate(text: string): string {
  const parsed = parseSelection(text);
  assert.ok(parsed.ok, text);
  return toDagsterSelection(parsed.ast, ctx);
}

describe("job selections in Dagster's syntax", () => {
  const cases: [string, string][] = [
    ["*order_forecast_model", '+key:"order_forecast_model"'],
    ["+order_forecast_model", '+key:"order_forecast_model"'],
    ["2+forecast_vs_actual", '2+key:"forecast_vs_actual"'],
    ["fct_orders+1", 'key:"fct_orders"+1'],
    ["@order_forecast_model", '+(key:"order_forecast_model"+)'],
    ["predicted_orders", 'key:"forecasting/predicted_orders"'],
    ['key:"forecasting/*"', 'key:"forecasting/*"'],
    ["stg_*", 'key:"stg_*"'],
    ["fct_orders+ and group:forecasting", '(key:"fct_orders"+) and group:"forecasting"'],
    ["group:finance or tag:forecasting", 'group:"finance" or tag:"forecasting"'],
    ["not kind:dbt", 'not kind:"dbt"'],
    ["kind:ts", 'kind:"typescript"'],
    ["kind:seed", '(key:"raw_customers" or key:"raw_orders" or key:"raw_payments")'],
    ["path:models/staging", '(key:"stg_customers" or key:"stg_orders" or key:"stg_payments")'],
    ["roots(+forecast_vs_actual)", 'roots(+key:"forecast_vs_actual")'],
    ["sinks(kind:ts) , customers", 'sinks(kind:"typescript") or key:"customers"'],
  ];
  for (const [tributary, dagster] of cases) {
    test(`${tributary}  ->  ${dagster}`, () => assert.equal(translate(tributary), dagster));
  }

  test("status: depends on Tributary's history and is refused with the reason", () => {
    assert.throws(() => translate("+status:stale"), (e: unknown) => e instanceof SelectionNotExportable && /'status:stale' depends on Tributary's run history/.test(e.message));
  });

  test("a filter that selects nothing is refused (Dagster has no empty selection)", () => {
    assert.throws(() => translate("owner:nobody"), /'owner:nobody' selects no asset/);
  });

  test("tag:k also selects k=v in Tributary, so every value present becomes a Dagster alternative", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-tags-"));
    try {
      writeFileSync(
        path.join(root, "a.ts"),
        'import { asset } from "tributary-assets";\nexport const a = asset({ key: "a", tags: { team: "growth" } }, () => 1);\nexport const b = asset({ key: "b", tags: ["team"] }, () => 1);\nexport const c = asset({ key: "c", tags: ["other"] }, () => 1);\n',
      );
      const tagged = new WorkspaceIndex({ roots: [root] });
      tagged.load();
      const tctx: DagsterSelectionContext = { graph: tagged.graph, roots: [root], groupOf: () => undefined, tagsOf: (id) => dagsterTags(tagged.graph.get(id)?.tags ?? []), kindsOf: () => ["typescript"] };
      const parsed = parseSelection("tag:team");
      assert.ok(parsed.ok);
      assert.equal(toDagsterSelection(parsed.ast, tctx), '(tag:"team" or tag:"team"="growth")');
      const exact = parseSelection("tag:team=growth");
      assert.ok(exact.ok);
      assert.equal(toDagsterSelection(exact.ast, tctx), 'tag:"team"="growth"');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("Dagster tags: list tags get an empty value, k=v a value, invalid ones are left out", () => {
    assert.deepEqual(dagsterTags(["daily", "team=growth", "has space", "x=" + "v".repeat(64)]), { daily: "", team: "growth" });
  });
});
