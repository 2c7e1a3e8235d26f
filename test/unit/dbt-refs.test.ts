/** ref() / source() arguments: one rule (server/src/dbt/refs.ts) for the linker and the renderer, every form dbt accepts linked. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { refArguments, sourceArguments } from "../../server/src/dbt/refs";
import { WorkspaceIndex } from "../../server/src/index/workspace";

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

void test("refArguments: one or two positional arguments, the keyword forms, the version", () => {
  assert.deepEqual(refArguments({ pos: ["m"], kw: {} }), { name: "m", package: undefined, version: undefined });
  assert.deepEqual(refArguments({ pos: ["p", "m"], kw: { v: "2" } }), { name: "m", package: "p", version: "2" });
  assert.deepEqual(refArguments({ pos: [], kw: { model_name: "m", package: "p", version: "3" } }), { name: "m", package: "p", version: "3" });
  assert.deepEqual(refArguments({ pos: [], kw: { name: "m" } }), { name: "m", package: undefined, version: undefined });
});

void test("sourceArguments: positional or by keyword", () => {
  assert.deepEqual(sourceArguments({ pos: ["s", "t"], kw: {} }), { source: "s", table: "t" });
  assert.deepEqual(sourceArguments({ pos: [], kw: { source_name: "s", table_name: "t" } }), { source: "s", table: "t" });
  assert.deepEqual(sourceArguments({ pos: ["s"], kw: { table_name: "t" } }), { source: "s", table: "t" });
});

void test("the linker links every ref() / source() form the renderer accepts", () => {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-refs-"));
  roots.push(root);
  const w = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  w("dbt_project.yml", "name: shop\n");
  w("models/base.sql", "select 1 as id");
  w("models/orders_v1.sql", "select 1 as id");
  w("models/orders_v2.sql", "select 2 as id");
  w("models/schema.yml", "version: 2\nmodels:\n  - name: orders\n    latest_version: 1\n    versions:\n      - v: 1\n      - v: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n");
  w("dbt_packages/pkg/dbt_project.yml", "name: pkg\n");
  w("dbt_packages/pkg/models/util.sql", "select 1 as id");
  w("models/by_model_name.sql", "select * from {{ ref(model_name='base') }}");
  w("models/by_name.sql", "select * from {{ ref(name='base') }}");
  w("models/by_package.sql", "select * from {{ ref('pkg', 'util') }}");
  w("models/by_package_keyword.sql", "select * from {{ ref('util', package='pkg') }}");
  w("models/by_version.sql", "select * from {{ ref('orders', v=2) }}");
  w("models/by_source_keywords.sql", "select * from {{ source(source_name='raw', table_name='events') }}");
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();
  const up = (id: string) => [...index.graph.upstream(id)].map((u) => index.graph.get(u)!.key.join("/"));
  assert.deepEqual(up("by_model_name"), ["base"]);
  assert.deepEqual(up("by_name"), ["base"]);
  assert.deepEqual(up("by_package"), ["util"]);
  assert.deepEqual(up("by_package_keyword"), ["util"]);
  assert.deepEqual(up("by_version"), ["orders/v2"]);
  assert.deepEqual(up("by_source_keywords"), ["raw/events"]);
  const refDiagnostics = [...index.diagnostics().values()].flat().filter((d) => /ref|source/.test(d.code ?? ""));
  assert.deepEqual(refDiagnostics, []);
});
