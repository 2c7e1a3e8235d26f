/** dbt's config rules (server/src/dbt/config.ts), shared by the index and the embedded renderer. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { configKey, mergeConfig, normalizeConfig } from "../../server/src/dbt/config";
import { WorkspaceIndex } from "../../server/src/index/workspace";

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

void test("configKey: one spelling for `+key` and the hooks' two spellings", () => {
  assert.equal(configKey("+materialized"), "materialized");
  assert.equal(configKey("pre-hook"), "pre_hook");
  assert.equal(configKey("+post-hook"), "post_hook");
  assert.deepEqual(normalizeConfig({ "+schema": "s", "pre-hook": "a", __keywords: true }), { schema: "s", pre_hook: "a" });
});

void test("mergeConfig: tags add up once each, hooks append, mappings merge, the rest is replaced", () => {
  const config: Record<string, unknown> = { tags: ["a"], pre_hook: "first", meta: { owner: "x", tier: 1 }, materialized: "view" };
  mergeConfig(config, { tags: ["a", "b"], "pre-hook": ["second"], meta: { tier: 2 }, materialized: "table", __keywords: true });
  assert.deepEqual(config, { tags: ["a", "b"], pre_hook: ["first", "second"], meta: { owner: "x", tier: 2 }, materialized: "table" });
});

void test("a model's hooks add up from dbt_project.yml, its property YAML and its config() (dbt: hooks are additive)", () => {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-config-"));
  roots.push(root);
  const w = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  w("dbt_project.yml", "name: shop\nmodels:\n  shop:\n    +pre-hook: \"select 'folder'\"\n    +tags: [folder]\n    +meta: {owner: data}\n");
  w("models/schema.yml", "version: 2\nmodels:\n  - name: m\n    config:\n      pre_hook: \"select 'yaml'\"\n      tags: [yaml]\n      meta: {tier: 1}\n");
  w("models/m.sql", "{{ config(pre_hook=\"select 'file'\", tags=['file', 'folder'], materialized='table') }}\nselect 1 as id");
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();
  const config = index.configOf("m");
  assert.deepEqual(config.pre_hook, ["select 'folder'", "select 'yaml'", "select 'file'"]);
  assert.deepEqual(config.tags, ["folder", "yaml", "file"]);
  assert.deepEqual(config.meta, { owner: "data", tier: 1 });
  assert.equal(config.materialized, "table");
});
