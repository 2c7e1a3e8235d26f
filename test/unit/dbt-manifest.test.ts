import { test } from "node:test";
import assert from "node:assert/strict";
import { parseManifest } from "../../server/src/index/dbt/manifest";

const FILE = "/ws/proj/target/manifest.json";

function v12Manifest(): Record<string, unknown> {
  return {
    metadata: { dbt_schema_version: "https://schemas.getdbt.com/dbt/manifest/v12.json", dbt_version: "1.9.1", project_name: "jaffle_shop" },
    nodes: {
      "model.jaffle_shop.stg_orders": {
        resource_type: "model",
        package_name: "jaffle_shop",
        name: "stg_orders",
        original_file_path: "models/staging/stg_orders.sql",
        version: null,
        depends_on: { macros: [], nodes: ["source.jaffle_shop.raw.orders"] },
      },
      "model.jaffle_shop.fct_orders.v2": {
        resource_type: "model",
        package_name: "jaffle_shop",
        name: "fct_orders",
        version: 2,
        original_file_path: "models/marts/fct_orders_v2.sql",
        depends_on: { nodes: ["model.jaffle_shop.stg_orders"] },
      },
      "seed.jaffle_shop.country_codes": { resource_type: "seed", package_name: "jaffle_shop", name: "country_codes", original_file_path: "seeds/country_codes.csv", depends_on: { nodes: [] } },
      "test.jaffle_shop.unique_stg_orders_id.abc": { resource_type: "test", package_name: "jaffle_shop", name: "unique_stg_orders_id", depends_on: { nodes: ["model.jaffle_shop.stg_orders"] } },
    },
    sources: {
      "source.jaffle_shop.raw.orders": { resource_type: "source", package_name: "jaffle_shop", name: "orders", source_name: "raw", original_file_path: "models/sources.yml" },
    },
    exposures: {
      "exposure.jaffle_shop.dash": { resource_type: "exposure", package_name: "jaffle_shop", name: "dash", depends_on: { nodes: ["model.jaffle_shop.fct_orders.v2"] } },
    },
    macros: {},
    parent_map: {
      "model.jaffle_shop.stg_orders": ["source.jaffle_shop.raw.orders", "model.jaffle_shop.macro_edge"],
      "model.jaffle_shop.fct_orders.v2": ["model.jaffle_shop.stg_orders"],
      "source.jaffle_shop.raw.orders": [],
      "exposure.jaffle_shop.dash": ["model.jaffle_shop.fct_orders.v2"],
    },
    child_map: {},
  };
}

void test("v12 manifest: parent_map is used as is; nodes, sources, exposures summarised", () => {
  const f = parseManifest(JSON.stringify(v12Manifest()), FILE);
  assert.deepEqual(f.diagnostics, []);
  // parent_map wins over depends_on (it holds the macro-made edge)
  assert.deepEqual(f.parents["model.jaffle_shop.stg_orders"], ["source.jaffle_shop.raw.orders", "model.jaffle_shop.macro_edge"]);
  assert.deepEqual(Object.keys(f.parents).sort(), [
    "exposure.jaffle_shop.dash",
    "model.jaffle_shop.fct_orders.v2",
    "model.jaffle_shop.stg_orders",
    "source.jaffle_shop.raw.orders",
  ]);
  assert.deepEqual(f.nodes["model.jaffle_shop.stg_orders"], {
    resourceType: "model",
    packageName: "jaffle_shop",
    name: "stg_orders",
    originalFilePath: "models/staging/stg_orders.sql",
  });
  assert.deepEqual(f.nodes["model.jaffle_shop.fct_orders.v2"], {
    resourceType: "model",
    packageName: "jaffle_shop",
    name: "fct_orders",
    version: "2",
    originalFilePath: "models/marts/fct_orders_v2.sql",
  });
  assert.deepEqual(f.nodes["source.jaffle_shop.raw.orders"], {
    resourceType: "source",
    packageName: "jaffle_shop",
    name: "orders",
    sourceName: "raw",
    originalFilePath: "models/sources.yml",
  });
  assert.equal(f.nodes["exposure.jaffle_shop.dash"].resourceType, "exposure");
  assert.equal(f.nodes["seed.jaffle_shop.country_codes"].resourceType, "seed");
});

void test("old-style manifest without parent_map: parents from each node's depends_on.nodes", () => {
  const m = v12Manifest();
  delete m.parent_map;
  delete m.child_map;
  m.metadata = { dbt_schema_version: "https://schemas.getdbt.com/dbt/manifest/v4.json" };
  delete m.exposures;
  const f = parseManifest(JSON.stringify(m), FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.parents["model.jaffle_shop.stg_orders"], ["source.jaffle_shop.raw.orders"]);
  assert.deepEqual(f.parents["model.jaffle_shop.fct_orders.v2"], ["model.jaffle_shop.stg_orders"]);
  assert.deepEqual(f.parents["seed.jaffle_shop.country_codes"], []);
  assert.equal(f.nodes["source.jaffle_shop.raw.orders"].sourceName, "raw");
  assert.equal(f.nodes["exposure.jaffle_shop.dash"], undefined);
});

void test("parent_map: null (some dbt commands) falls back to depends_on", () => {
  const m = v12Manifest();
  m.parent_map = null;
  const f = parseManifest(JSON.stringify(m), FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.parents["model.jaffle_shop.stg_orders"], ["source.jaffle_shop.raw.orders"]);
  assert.deepEqual(f.parents["exposure.jaffle_shop.dash"], ["model.jaffle_shop.fct_orders.v2"]);
});

void test("entries without resource_type / package_name take them from the unique_id; junk entries skipped", () => {
  const f = parseManifest(
    JSON.stringify({ nodes: { "model.pkg.a": { name: "a", depends_on: { nodes: ["model.pkg.b", 3] } }, "model.pkg.bad": 42 } }),
    FILE,
  );
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.nodes, { "model.pkg.a": { resourceType: "model", packageName: "pkg", name: "a" } });
  assert.deepEqual(f.parents, { "model.pkg.a": ["model.pkg.b"] });
});

for (const [what, text] of [
  ["invalid JSON", '{"nodes": {'],
  ["empty file", ""],
  ["a JSON array", "[1, 2]"],
  ["no nodes (run_results.json)", JSON.stringify({ metadata: {}, results: [] })],
  ["nodes is a list", JSON.stringify({ nodes: [] })],
  ["parent_map is a list", JSON.stringify({ nodes: {}, parent_map: [] })],
  ["sources is a string", JSON.stringify({ nodes: {}, sources: "x" })],
] as const) {
  void test(`malformed manifest (${what}) -> exactly one manifest-malformed warning and empty facts`, () => {
    const f = parseManifest(text, FILE);
    assert.deepEqual(f.parents, {});
    assert.deepEqual(f.nodes, {});
    assert.equal(f.diagnostics.length, 1);
    const [d] = f.diagnostics;
    assert.equal(d.code, "manifest-malformed");
    assert.equal(d.severity, "warning");
    assert.equal(d.file, FILE);
    assert.deepEqual(d.span, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
  });
}

// Its parse time is `npm run bench -- manifest` (manifestParseMs).
void test("a large manifest (tens of MB, 20,000 models) is parsed whole", () => {
  const nodes: Record<string, unknown> = {};
  const parentMap: Record<string, string[]> = {};
  const filler = "x".repeat(1500);
  for (let i = 0; i < 20000; i++) {
    const id = `model.big.m${i}`;
    nodes[id] = {
      resource_type: "model", package_name: "big", name: `m${i}`, original_file_path: `models/m${i}.sql`,
      raw_code: filler, depends_on: { nodes: i > 0 ? [`model.big.m${i - 1}`] : [] }, config: { tags: ["a"], meta: {} },
    };
    parentMap[id] = i > 0 ? [`model.big.m${i - 1}`] : [];
  }
  const text = JSON.stringify({ metadata: {}, nodes, sources: {}, exposures: {}, parent_map: parentMap });
  assert.ok(text.length > 30_000_000);
  const f = parseManifest(text, FILE);
  assert.equal(Object.keys(f.nodes).length, 20000);
  assert.deepEqual(f.parents["model.big.m19999"], ["model.big.m19998"]);
});
