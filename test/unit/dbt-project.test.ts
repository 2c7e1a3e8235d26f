import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { readDbtProject, resolveNodeConfig } from "../../server/src/index/dbt/project";

const ROOT = path.resolve("/ws/analytics/jaffle");
const FILE = path.join(ROOT, "dbt_project.yml");
const abs = (...p: string[]) => path.resolve(ROOT, ...p);

function files(map: Record<string, string> = {}): (p: string) => string | undefined {
  return (p) => map[path.resolve(p)];
}

void test("defaults: dbt's resource paths, target and packages paths, empty vars and trees", () => {
  const p = readDbtProject(FILE, "name: jaffle_shop\nversion: '1.0'\nconfig-version: 2\n", files(), {});
  assert.deepEqual(p.diagnostics, []);
  assert.equal(p.name, "jaffle_shop");
  assert.equal(p.root, ROOT);
  assert.equal(p.file, FILE);
  assert.deepEqual(p.modelPaths, [abs("models")]);
  assert.deepEqual(p.seedPaths, [abs("seeds")]);
  assert.deepEqual(p.snapshotPaths, [abs("snapshots")]);
  assert.deepEqual(p.macroPaths, [abs("macros")]);
  assert.deepEqual(p.analysisPaths, [abs("analyses")]);
  assert.deepEqual(p.testPaths, [abs("tests")]);
  assert.equal(p.targetPath, abs("target"));
  assert.equal(p.packagesPath, abs("dbt_packages"));
  assert.equal(p.profile, undefined);
  assert.deepEqual(p.vars, {});
  assert.deepEqual(p.projectDependencies, []);
  assert.deepEqual([p.modelConfig, p.seedConfig, p.snapshotConfig], [{}, {}, {}]);
});

void test("explicit paths: several per setting, paths outside the project, target and packages paths", () => {
  const text = `name: 'warehouse'
profile: 'warehouse_duckdb'
model-paths: ["models", "../../sources", "/abs/shared_models"]
seed-paths:
  - data
  - more_seeds
snapshot-paths: [snaps]
macro-paths: ["macros", "../shared_macros"]
analysis-paths: ["analysis"]
test-paths: ["data-tests"]
target-path: "build/target"
packages-install-path: ../dbt_packages
clean-targets: ["target", "dbt_packages"]
`;
  const p = readDbtProject(FILE, text, files(), {});
  assert.deepEqual(p.diagnostics, []);
  assert.equal(p.profile, "warehouse_duckdb");
  assert.deepEqual(p.modelPaths, [abs("models"), path.resolve("/ws/sources"), path.resolve("/abs/shared_models")]);
  assert.deepEqual(p.seedPaths, [abs("data"), abs("more_seeds")]);
  assert.deepEqual(p.snapshotPaths, [abs("snaps")]);
  assert.deepEqual(p.macroPaths, [abs("macros"), path.resolve("/ws/analytics/shared_macros")]);
  assert.deepEqual(p.analysisPaths, [abs("analysis")]);
  assert.deepEqual(p.testPaths, [abs("data-tests")]);
  assert.equal(p.targetPath, abs("build/target"));
  assert.equal(p.packagesPath, path.resolve("/ws/analytics/dbt_packages"));
});

void test("legacy source-paths / data-paths are fallbacks; the new keys win", () => {
  const legacy = readDbtProject(FILE, "name: old\nsource-paths: [src]\ndata-paths: [data]\n", files(), {});
  assert.deepEqual(legacy.modelPaths, [abs("src")]);
  assert.deepEqual(legacy.seedPaths, [abs("data")]);
  const both = readDbtProject(FILE, "name: x\nsource-paths: [src]\nmodel-paths: [models2]\n", files(), {});
  assert.deepEqual(both.modelPaths, [abs("models2")]);
});

void test("vars: globals, this project's scope flattened (and winning), other packages' scopes left out", () => {
  const text = `name: jaffle_shop
vars:
  start_date: '2020-01-01'
  currency: usd
  truncate_timespan_to: "{{ current_timestamp() }}"
  payment_methods: [credit_card, coupon]
  jaffle_shop:
    currency: eur
    lookback_days: 3
  dbt_utils:
    surrogate_key_treat_nulls_as_empty_strings: true
  dbt_date:
    'dbt_date:time_zone': 'America/Los_Angeles'
  shared_project:
    x: 1
  status_mapping:
    a: active
`;
  const read = files({
    [abs("packages.yml")]: "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    [abs("dependencies.yml")]: "projects:\n  - name: shared_project\n",
    [abs("dbt_packages/dbt_date/dbt_project.yml")]: "name: dbt_date\n",
  });
  const p = readDbtProject(FILE, text, read, {});
  assert.deepEqual(p.diagnostics, []);
  assert.deepEqual(p.vars, {
    start_date: "2020-01-01",
    currency: "eur",
    truncate_timespan_to: "{{ current_timestamp() }}",
    payment_methods: ["credit_card", "coupon"],
    lookback_days: 3,
    // a mapping under a name that is no package stays a (global) dict var, as in dbt
    status_mapping: { a: "active" },
  });
});

void test("dependencies.yml projects -> projectDependencies; packages entries are not projects", () => {
  const read = files({
    [abs("dependencies.yml")]: `projects:
  - name: core_platform
  - name: finance
packages:
  - package: dbt-labs/dbt_utils
    version: 1.1.1
`,
    [abs("packages.yml")]: "packages:\n  - local: ../shared\n  - git: https://github.com/org/dbt-thing.git\n",
  });
  const p = readDbtProject(FILE, "name: jaffle_shop\n", read, {});
  assert.deepEqual(p.projectDependencies, ["core_platform", "finance"]);
  assert.deepEqual(p.diagnostics, []);
});

void test("a broken dependencies.yml is reported against that file", () => {
  const depFile = abs("dependencies.yml");
  const p = readDbtProject(FILE, "name: jaffle_shop\n", files({ [depFile]: "projects:\n  - name: a\n  - name: [b\n" }), {});
  assert.equal(p.name, "jaffle_shop");
  const d = p.diagnostics.find((x) => x.code === "yaml-syntax");
  assert.ok(d);
  assert.equal(d.file, depFile);
});

void test("Jinja in values: env_var paths resolved (or defaulted), other Jinja falls back to dbt's default", () => {
  const text = `name: jaffle_shop
profile: "{{ env_var('DBT_PROFILE', 'jaffle') }}"
target-path: "{{ env_var('DBT_TARGET_PATH', 'target_ci') }}"
model-paths: ["models", "{{ env_var('EXTRA_MODELS') }}"]
seed-paths: ["{{ var('seeds_dir') }}"]
packages-install-path: "{{ env_var('PKGS') }}"
`;
  const p = readDbtProject(FILE, text, files(), { EXTRA_MODELS: "extra" });
  assert.equal(p.profile, "jaffle");
  assert.equal(p.targetPath, abs("target_ci"));
  assert.deepEqual(p.modelPaths, [abs("models"), abs("extra")]);
  assert.deepEqual(p.seedPaths, [abs("seeds")]);
  assert.equal(p.packagesPath, abs("dbt_packages"));
  assert.ok(p.diagnostics.every((d) => d.severity === "info" && d.code === "dbt-project-jinja"));
  assert.equal(p.diagnostics.length, 2);
  const withEnv = readDbtProject(FILE, text, files(), { DBT_PROFILE: "prod_profile", DBT_TARGET_PATH: "/tmp/t", PKGS: "pk" });
  assert.equal(withEnv.profile, "prod_profile");
  assert.equal(withEnv.targetPath, path.resolve("/tmp/t"));
  assert.equal(withEnv.packagesPath, abs("pk"));
  assert.deepEqual(withEnv.modelPaths, [abs("models")]);
});

void test("malformed YAML: yaml-syntax error at the error position, defaults, name from the folder", () => {
  const text = "name: jaffle_shop\nmodel-paths: [models\nprofile: x\n";
  const p = readDbtProject(FILE, text, files(), {});
  const syntax = p.diagnostics.filter((d) => d.code === "yaml-syntax");
  assert.equal(syntax.length, 1);
  assert.equal(syntax[0].severity, "error");
  assert.equal(syntax[0].file, FILE);
  assert.deepEqual(syntax[0].span.start, { line: 2, character: 0 });
  assert.equal(p.name, "jaffle_shop"); // still read
  const broken = readDbtProject(FILE, "name: [unclosed\n  : : :\n", files(), {});
  assert.ok(broken.diagnostics.some((d) => d.code === "yaml-syntax" && d.severity === "error"));
  assert.equal(broken.name, "jaffle");
  assert.deepEqual(broken.modelPaths, [abs("models")]);
  const notAMap = readDbtProject(FILE, "just text\n", files(), {});
  assert.equal(notAMap.name, "jaffle");
  assert.ok(notAMap.diagnostics.some((d) => d.code === "yaml-shape"));
});

void test("missing name -> folder name with a yaml-shape warning; wrong shapes are warnings", () => {
  const p = readDbtProject(FILE, "model-paths: 5\nmodels: [a]\nvars: nope\n", files(), {});
  assert.equal(p.name, "jaffle");
  assert.deepEqual(p.modelPaths, [abs("5")]); // a scalar is taken as one folder
  assert.deepEqual(p.modelConfig, {});
  assert.deepEqual(p.vars, {});
  const shapes = p.diagnostics.filter((d) => d.code === "yaml-shape");
  assert.deepEqual(shapes.map((d) => d.span.start.line).sort(), [0, 1, 2]);
});

void test("config trees are kept raw", () => {
  const text = `name: jaffle_shop
models:
  jaffle_shop:
    +materialized: view
    marts:
      +materialized: table
seeds:
  jaffle_shop:
    +schema: raw
snapshots:
  jaffle_shop:
    +target_schema: snapshots
`;
  const p = readDbtProject(FILE, text, files(), {});
  assert.deepEqual(p.modelConfig, { jaffle_shop: { "+materialized": "view", marts: { "+materialized": "table" } } });
  assert.deepEqual(p.seedConfig, { jaffle_shop: { "+schema": "raw" } });
  assert.deepEqual(p.snapshotConfig, { jaffle_shop: { "+target_schema": "snapshots" } });
});

// ---------------------------------------------------------------- resolveNodeConfig

const CONFIG_PROJECT = `name: jaffle_shop
models:
  +persist_docs: {relation: true}
  jaffle_shop:
    +materialized: view
    +tags: [base]
    +meta: {owner: data, tier: 3}
    staging:
      +tags: ["staging", base]
      +schema: staging
      enabled: true
      stripe:
        +tags: stripe
        materialized: ephemeral
        +meta: {tier: 2}
    marts:
      materialized: table
      +post-hook: "grant select on {{ this }} to reporter"
      finance:
        +post-hook: ["analyze {{ this }}"]
        fct_orders:
          +materialized: incremental
          unique_key: order_id
    schema:
      +tags: [folder_named_schema]
    meta:
      +tags: [folder_named_meta]
  dbt_utils:
    +materialized: table
seeds:
  jaffle_shop:
    +schema: raw
    lookups:
      +tags: lookup
      +column_types: {code: varchar}
`;

void test("resolveNodeConfig: deeper wins, tags union, meta merges, + and bare keys, packages ignored", () => {
  const p = readDbtProject(FILE, CONFIG_PROJECT, files(), {});
  assert.deepEqual(p.diagnostics, []);
  assert.deepEqual(resolveNodeConfig(p, "models", ["staging", "stripe", "stg_payments.sql"]), {
    persist_docs: { relation: true },
    materialized: "ephemeral",
    tags: ["base", "staging", "stripe"],
    meta: { owner: "data", tier: 2 },
    schema: "staging",
    enabled: true,
  });
  assert.deepEqual(resolveNodeConfig(p, "models", ["staging", "stg_customers"]), {
    persist_docs: { relation: true },
    materialized: "view",
    tags: ["base", "staging"],
    meta: { owner: "data", tier: 3 },
    schema: "staging",
    enabled: true,
  });
  // the node's own level, hooks appended parent first
  assert.deepEqual(resolveNodeConfig(p, "models", ["marts", "finance", "fct_orders.sql"]), {
    persist_docs: { relation: true },
    materialized: "incremental",
    tags: ["base"],
    meta: { owner: "data", tier: 3 },
    post_hook: ["grant select on {{ this }} to reporter", "analyze {{ this }}"],
    unique_key: "order_id",
  });
  // a model at the root of models/
  assert.equal(resolveNodeConfig(p, "models", ["root_model.sql"]).materialized, "view");
});

void test("resolveNodeConfig: a sub-folder named like a config is a folder on its path", () => {
  const p = readDbtProject(FILE, CONFIG_PROJECT, files(), {});
  const inSchemaFolder = resolveNodeConfig(p, "models", ["schema", "m.sql"]);
  assert.deepEqual(inSchemaFolder.tags, ["base", "folder_named_schema"]);
  assert.equal(inSchemaFolder.schema, undefined);
  const inMetaFolder = resolveNodeConfig(p, "models", ["meta", "m.sql"]);
  assert.deepEqual(inMetaFolder.tags, ["base", "folder_named_meta"]);
  assert.deepEqual(inMetaFolder.meta, { owner: "data", tier: 3 });
  // elsewhere, the `meta:` folder holding `+` configs is not taken for a meta config
  assert.deepEqual(resolveNodeConfig(p, "models", ["other", "m.sql"]).meta, { owner: "data", tier: 3 });
});

void test("resolveNodeConfig: seeds tree, unknown project / empty tree", () => {
  const p = readDbtProject(FILE, CONFIG_PROJECT, files(), {});
  assert.deepEqual(resolveNodeConfig(p, "seeds", ["lookups", "country_codes.csv"]), {
    schema: "raw",
    tags: ["lookup"],
    column_types: { code: "varchar" },
  });
  assert.deepEqual(resolveNodeConfig(p, "snapshots", ["orders_snapshot"]), {});
  const other = readDbtProject(path.join("/ws/other", "dbt_project.yml"), CONFIG_PROJECT.replace("name: jaffle_shop", "name: other"), files(), {});
  // the tree's `jaffle_shop:` key is now another package's: only root-level configs apply
  assert.deepEqual(resolveNodeConfig(other, "models", ["staging", "m.sql"]), { persist_docs: { relation: true } });
});

void test("resolveNodeConfig: bare dict configs (meta, docs) without + are configs", () => {
  const text = `name: p
models:
  p:
    docs: {show: false}
    meta: {a: 1}
    sub:
      meta: {b: 2}
      tags: x
`;
  const p = readDbtProject(path.join("/ws/p", "dbt_project.yml"), text, files(), {});
  assert.deepEqual(resolveNodeConfig(p, "models", ["sub", "m.sql"]), {
    docs: { show: false },
    meta: { a: 1, b: 2 },
    tags: ["x"],
  });
});
