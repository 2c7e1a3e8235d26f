/**
 * The workspace index on real folders: discovery, linking, diagnostics, and incremental updates
 * that must give exactly what a fresh index of the same files gives.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { generateWorkspace } from "../../bench/generate";
import { copyExample } from "../helpers/workspace";

function snapshot(index: WorkspaceIndex) {
  const graph = index.graph;
  const nodes = [...graph.nodes.values()].map((n) => JSON.stringify({ ...n, alsoAt: n.alsoAt })).sort();
  const edges = graph.edges.map((e) => `${e.from} -> ${e.to} (${e.origin})`).sort();
  const diagnostics = [...index.diagnostics().values()].flat().map((d) => `${d.file}:${d.span.start.line}:${d.span.start.character} ${d.code} ${d.message}`).sort();
  const occurrences = [...index.occurrences.entries()].flatMap(([file, list]) => list.map((o) => `${file}:${o.span.start.line}:${o.span.start.character} ${o.role} ${o.target}`)).sort();
  return { nodes, edges, diagnostics, occurrences };
}

function fresh(root: string): WorkspaceIndex {
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();
  return index;
}

describe("workspace index", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));

  test("the example: every asset, the cross-technology chain, no diagnostics", () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    const index = fresh(ws.root);
    const graph = index.graph;
    assert.deepEqual([...graph.nodes.keys()].sort(), [
      "customers",
      "fct_orders",
      "forecast_vs_actual",
      "forecasting/predicted_orders",
      "order_forecast_model",
      "raw_customers",
      "raw_orders",
      "raw_payments",
      "stg_customers",
      "stg_orders",
      "stg_payments",
    ]);
    const predicted = graph.get("forecasting/predicted_orders")!;
    assert.equal(predicted.kind, "ts_asset");
    assert.equal(predicted.producedByTs, true);
    assert.equal(predicted.sourceName, "forecasting");
    assert.deepEqual([...graph.upstream("forecast_vs_actual")].sort(), ["fct_orders", "forecasting/predicted_orders"]);
    assert.deepEqual([...graph.upstream("order_forecast_model")], ["fct_orders"]);
    assert.equal(graph.get("fct_orders")!.materialized, "table");
    assert.equal(graph.get("stg_orders")!.materialized, "view");
    assert.deepEqual(graph.get("forecast_vs_actual")!.tags, ["forecasting"]);
    assert.equal(graph.get("fct_orders")!.group, "finance");
    assert.deepEqual(graph.get("fct_orders")!.tags, ["finance"]);
    assert.equal([...index.diagnostics().values()].flat().length, 0, JSON.stringify([...index.diagnostics().values()].flat()));
  });

  test("edits relinked in place equal a fresh index of the same files", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-ws-"));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const ws = generateWorkspace(root, 300, 30);
    const index = fresh(root);
    void index.graph;
    const original = readFileSync(ws.sampleModel, "utf8");
    const edits = [
      original.replace("select * from final", "select * from final -- {{ ref('model_1') }} {{ ref('model_2') }}"),
      original.replace("select * from final", "select * from {{ ref('no_such_model') }}"),
      original.replace("{{ config(", "{{ config(tags=['edited'], "),
      original.replace("select * from final", "select * from final -- {{ ref('model_299') }}"), // may close a cycle
      original.slice(0, original.length / 2), // truncated mid-file
      original,
    ];
    for (const text of edits) {
      writeFileSync(ws.sampleModel, text);
      index.update(ws.sampleModel);
      assert.deepEqual(snapshot(index), snapshot(fresh(root)));
    }
    const tsFile = path.join(root, "assets/file_3.ts");
    const tsText = readFileSync(tsFile, "utf8");
    for (const text of [tsText.replace('"model_', '"nope_model_'), tsText.replace("group: \"g3\"", "group: \"changed\""), tsText.replace("asset_3_1 =", "renamed =")]) {
      writeFileSync(tsFile, text);
      index.update(tsFile);
      assert.deepEqual(snapshot(index), snapshot(fresh(root)));
    }
  });

  test("created, deleted files and a changed dbt_project.yml are picked up", () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    const index = fresh(ws.root);
    const created = path.join(ws.root, "models/marts/orders_per_day.sql");
    writeFileSync(created, "select * from {{ ref('fct_orders') }}");
    index.update(created);
    assert.deepEqual([...index.graph.upstream("orders_per_day")], ["fct_orders"]);
    rmSync(created);
    index.update(created, false);
    assert.equal(index.graph.get("orders_per_day"), undefined);
    const projectFile = path.join(ws.root, "dbt_project.yml");
    writeFileSync(projectFile, readFileSync(projectFile, "utf8").replace("+materialized: view", "+materialized: table"));
    index.update(projectFile);
    assert.equal(index.graph.get("stg_orders")!.materialized, "table");
  });

  test("several projects, cross-project refs, packages, folders outside the project", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-multi-"));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const w = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    w("platform/dbt_project.yml", "name: platform\nmodel-paths: ['models', '../shared_models']\n");
    w("platform/models/dim_users.sql", "select 1 as id");
    w("shared_models/calendar.sql", "select 1 as d");
    w("finance/dbt_project.yml", "name: finance\n");
    w("finance/dependencies.yml", "projects:\n  - name: platform\n");
    w("finance/models/revenue.sql", "select * from {{ ref('platform', 'dim_users') }} join {{ ref('calendar') }} using (id) join {{ dbt_utils.star(ref('util_model')) }}");
    w("finance/dbt_packages/dbt_utils/dbt_project.yml", "name: dbt_utils\n");
    w("finance/dbt_packages/dbt_utils/models/util_model.sql", "select 1");
    w("finance/dbt_packages/dbt_utils/macros/star.sql", "{% macro star(from) %}*{% endmacro %}");
    w("finance/target/manifest.json", "{not json");
    const index = fresh(root);
    assert.deepEqual([...index.graph.upstream("revenue")].sort(), ["calendar", "dim_users", "util_model"]);
    assert.equal(index.graph.get("calendar")!.project, "platform");
    // A malformed manifest older than the sources is ignored silently; when newer it is reported once.
    const diagnostics = [...index.diagnostics().values()].flat();
    assert.ok(diagnostics.every((d) => d.code !== "unknown-ref"), JSON.stringify(diagnostics));
  });

  test("duplicate keys and unknown sources are reported at the right places", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-dup-"));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(path.join(root, "models/a"), { recursive: true });
    mkdirSync(path.join(root, "models/b"), { recursive: true });
    writeFileSync(path.join(root, "dbt_project.yml"), "name: dup\n");
    writeFileSync(path.join(root, "models/a/orders.sql"), "select 1");
    writeFileSync(path.join(root, "models/b/orders.sql"), "select 2");
    writeFileSync(path.join(root, "models/c.sql"), "select * from {{ source('raw', 'ordrs') }}");
    writeFileSync(path.join(root, "models/sources.yml"), "sources:\n  - name: raw\n    tables:\n      - name: orders\n");
    const index = fresh(root);
    const all = [...index.diagnostics().values()].flat();
    const duplicates = all.filter((d) => d.code === "duplicate-key");
    assert.equal(duplicates.length, 2);
    assert.match(duplicates[0].message, /Duplicate asset key 'orders'/);
    assert.match(duplicates[0].message, /dbt_model in a[\\/]orders\.sql, dbt_model in b[\\/]orders\.sql/, "the places tell the two files apart");
    const unknown = all.find((d) => d.code === "unknown-source")!;
    assert.match(unknown.message, /Source 'raw' has no table 'ordrs'. Did you mean 'orders'\?/);
    assert.equal(unknown.file, path.join(root, "models/c.sql"));
    assert.equal(unknown.span.start.character, "select * from {{ source('raw', ".length);
  });
});
