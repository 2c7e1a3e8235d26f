/** The `tributary` CLI as users run it: the built bin, a real process, the example workspace. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { copyExample, EXAMPLE } from "../helpers/workspace";

function tributary(args: string[], cwd = EXAMPLE) {
  return runCli(cwd, args);
}

describe("tributary graph / check", () => {
  test("graph --json prints the contract shape with relative paths and 1-based lines", () => {
    const { code, stdout } = tributary(["graph", "--json", EXAMPLE], "/");
    assert.equal(code, 0);
    const data = JSON.parse(stdout) as { assets: { key: string[]; kind: string; file: string; line: number; upstream: string[][]; downstream: string[][] }[]; diagnostics: unknown[] };
    assert.deepEqual(Object.keys(data).sort(), ["assets", "diagnostics"]);
    const fct = data.assets.find((a) => a.key.join("/") === "fct_orders")!;
    assert.deepEqual(Object.keys(fct), ["key", "kind", "file", "line", "upstream", "downstream", "checks"]);
    assert.equal(fct.kind, "dbt_model");
    assert.equal(fct.file, "models/marts/fct_orders.sql");
    assert.equal(fct.line, 1);
    assert.deepEqual(fct.upstream, [["stg_orders"], ["stg_payments"]]);
    assert.deepEqual(fct.downstream, [["customers"], ["forecast_vs_actual"], ["forecasting", "predicted_orders"], ["order_forecast_model"]]);
    const model = data.assets.find((a) => a.key.join("/") === "order_forecast_model")!;
    assert.equal(model.kind, "ts_asset");
    assert.equal(model.file, "assets/forecast.ts");
    const tsLines = readFileSync(path.join(EXAMPLE, "assets/forecast.ts"), "utf8").split("\n");
    assert.equal(model.line, tsLines.findIndex((l) => l.includes("export const orderForecastModel")) + 1);
    assert.deepEqual(data.diagnostics, []);
  });

  test("graph without --json prints one line per asset in dependency order", () => {
    const { code, stdout } = tributary(["graph"]);
    assert.equal(code, 0);
    const lines = stdout.trim().split("\n");
    const at = (key: string) => lines.findIndex((l) => l.startsWith(key + " "));
    assert.ok(at("fct_orders") < at("order_forecast_model"));
    assert.ok(at("order_forecast_model") < at("forecasting/predicted_orders"));
    assert.ok(at("forecasting/predicted_orders") < at("forecast_vs_actual"));
  });

  test("check exits 0 on the example and 1 with an error, printing file:line:column", () => {
    assert.equal(tributary(["check"]).code, 0);
    const ws = copyExample();
    try {
      writeFileSync(path.join(ws.root, "models/marts/broken.sql"), "select 1\nfrom {{ ref('stg_ordres') }}\n");
      const { code, stdout } = tributary(["check", ws.root], "/");
      assert.equal(code, 1);
      assert.match(stdout, /models\/marts\/broken\.sql:2:13: error: Unknown model 'stg_ordres' in ref\(\)\. Did you mean 'stg_orders'\?/);
    } finally {
      ws.dispose();
    }
  });
});
