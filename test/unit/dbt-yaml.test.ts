import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDependsOn, parsePropertiesYaml } from "../../server/src/index/dbt/yaml";
import type { Span } from "../../server/src/protocol/types";

const FILE = "/ws/proj/models/schema.yml";

function sp(l1: number, c1: number, l2: number, c2: number): Span {
  return { start: { line: l1, character: c1 }, end: { line: l2, character: c2 } };
}

/** The text a span covers. */
function slice(text: string, span: Span): string {
  const lines = text.split("\n");
  if (span.start.line === span.end.line) return lines[span.start.line].slice(span.start.character, span.end.character);
  const out = [lines[span.start.line].slice(span.start.character)];
  for (let l = span.start.line + 1; l < span.end.line; l++) out.push(lines[l]);
  out.push(lines[span.end.line].slice(0, span.end.character));
  return out.join("\n");
}

void test("sources: jinja schema kept raw, database, identifier, meta with tributary/dagster keys, config merged", () => {
  const text = [
    "version: 2",
    "",
    "sources:",
    "  - name: raw_shop",
    '    schema: "{{ target.schema }}_raw"',
    "    database: \"{{ env_var('DB', 'analytics') }}\"",
    "    description: Raw shop data",
    "    tags: [raw]",
    "    config:",
    "      tags: ['loaded', raw]",
    "      meta: {loader: fivetran}",
    "    meta:",
    "      owner: data-eng",
    "    tables:",
    "      - name: orders",
    "        identifier: shop_orders_v2",
    "        description: >",
    "          All orders.",
    "        meta:",
    "          tributary: {key: [forecasting, orders]}",
    "          dagster:",
    "            asset_key: ['raw', 'orders']",
    "        columns:",
    "          - name: id",
    "            tests: [unique, not_null]",
    "      - name: customers",
    "        config:",
    "          tags: pii",
  ].join("\n");
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.equal(f.sources.length, 1);
  const s = f.sources[0];
  assert.equal(s.name, "raw_shop");
  assert.equal(s.schema, "{{ target.schema }}_raw");
  assert.equal(s.database, "{{ env_var('DB', 'analytics') }}");
  assert.equal(s.description, "Raw shop data");
  assert.deepEqual(s.tags, ["raw", "loaded"]);
  assert.deepEqual(s.meta, { owner: "data-eng", loader: "fivetran" });
  assert.deepEqual(s.nameSpan, sp(3, 10, 3, 18));
  assert.equal(slice(text, s.span).split("\n")[0], "name: raw_shop");
  assert.equal(s.span.end.line, 27);
  assert.equal(s.tables.length, 2);
  const [orders, customers] = s.tables;
  assert.equal(orders.name, "orders");
  assert.equal(orders.identifier, "shop_orders_v2");
  assert.equal(orders.description, "All orders.\n");
  assert.deepEqual(orders.meta, { tributary: { key: ["forecasting", "orders"] }, dagster: { asset_key: ["raw", "orders"] } });
  assert.deepEqual(orders.nameSpan, sp(14, 14, 14, 20));
  assert.deepEqual(orders.span, sp(14, 8, 24, 37));
  assert.equal(customers.identifier, undefined);
  assert.deepEqual(customers.tags, ["pii"]);
  assert.deepEqual(customers.span, sp(25, 8, 27, 19));
});

void test("models: description, tags + config.tags, meta + config.meta, config block, group, versions", () => {
  const text = `models:
  - name: fct_orders
    description: "Orders fact"
    tags: [finance]
    group: finance
    meta: {a: 1, b: 1}
    config:
      materialized: table
      tags: ['daily', finance]
      meta: {b: 2}
    versions:
      - v: 1
      - v: 2
        defined_in: fct_orders_v2
      - v: "3"
    latest_version: 2
  - name: "dim_customers"
    config:
      group: marketing
      materialized: incremental
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.equal(f.models.length, 2);
  const [m, d] = f.models;
  assert.equal(m.description, "Orders fact");
  assert.deepEqual(m.tags, ["finance", "daily"]);
  assert.deepEqual(m.meta, { a: 1, b: 2 });
  assert.equal(m.config.materialized, "table");
  assert.equal(m.group, "finance");
  assert.equal(m.latestVersion, "2");
  assert.deepEqual(
    m.versions?.map((v) => [v.v, v.definedIn]),
    [["1", undefined], ["2", "fct_orders_v2"], ["3", undefined]],
  );
  assert.deepEqual(m.versions?.[1].span, sp(12, 8, 13, 33));
  assert.deepEqual(m.nameSpan, sp(1, 10, 1, 20));
  assert.deepEqual(m.span, sp(1, 4, 15, 21));
  // quoted name: the span is the text inside the quotes
  assert.equal(d.name, "dim_customers");
  assert.deepEqual(d.nameSpan, sp(16, 11, 16, 24));
  assert.equal(d.group, "marketing");
  assert.equal(d.config.materialized, "incremental");
  assert.equal(d.versions, undefined);
});

void test("seeds and snapshots have the model shape", () => {
  const text = `seeds:
  - name: country_codes
    config: {tags: [ref_data]}
snapshots:
  - name: orders_snapshot
    description: SCD2 of orders
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.seeds.map((s) => [s.name, s.tags]), [["country_codes", ["ref_data"]]]);
  assert.deepEqual(f.snapshots.map((s) => [s.name, s.description]), [["orders_snapshot", "SCD2 of orders"]]);
  assert.deepEqual(f.models, []);
});

void test("exposures: owner, type, depends_on forms with exact spans", () => {
  const text = `exposures:
  - name: weekly_revenue
    type: dashboard
    maturity: high
    url: https://bi.example.com/42
    description: Revenue dashboard
    tags: [exec]
    owner:
      name: Analytics
      email: analytics@example.com
    depends_on:
      - ref('fct_orders')
      - "source('raw_shop', 'orders')"
      - ref("other_project", "dim_customers")
      - ref('fct_revenue', v=2)
      - metric('revenue')
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  const x = f.exposures[0];
  assert.equal(x.name, "weekly_revenue");
  assert.equal(x.type, "dashboard");
  assert.equal(x.description, "Revenue dashboard");
  assert.deepEqual(x.owners, ["Analytics", "analytics@example.com"]);
  assert.deepEqual(x.tags, ["exec"]);
  assert.deepEqual(
    x.dependsOn.map((d) => [d.call, d.args]),
    [
      ["ref", ["fct_orders"]],
      ["source", ["raw_shop", "orders"]],
      ["ref", ["other_project", "dim_customers"]],
      ["ref", ["fct_revenue"]],
    ],
  );
  assert.deepEqual(x.dependsOn[0].span, sp(11, 8, 11, 25));
  assert.equal(slice(text, x.dependsOn[0].span), "ref('fct_orders')");
  // quoted item: inside the quotes
  assert.equal(slice(text, x.dependsOn[1].span), "source('raw_shop', 'orders')");
  assert.deepEqual(x.nameSpan, sp(1, 10, 1, 24));
});

void test("parseDependsOn reads ref/source calls and rejects junk", () => {
  assert.deepEqual(parseDependsOn("ref('a')"), { call: "ref", args: ["a"] });
  assert.deepEqual(parseDependsOn("  source( \"s\" , 't' ) "), { call: "source", args: ["s", "t"] });
  assert.deepEqual(parseDependsOn("{{ ref('a') }}"), { call: "ref", args: ["a"] });
  assert.deepEqual(parseDependsOn("ref('a', version=3)"), { call: "ref", args: ["a"], version: "3" });
  assert.deepEqual(parseDependsOn("ref(\"p\", 'a', v='2')"), { call: "ref", args: ["p", "a"], version: "2" });
  assert.equal(parseDependsOn("metric('m')"), "other");
  assert.equal(parseDependsOn("fct_orders"), undefined);
  assert.equal(parseDependsOn("source('only_one')"), undefined);
  assert.equal(parseDependsOn("ref(a)"), undefined);
  assert.equal(parseDependsOn("ref('a' 'b')"), undefined);
});

void test("unparseable depends_on item -> yaml-shape warning at the item", () => {
  const text = `exposures:
  - name: e
    depends_on:
      - fct_orders
      - ref('ok')
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.equal(f.exposures[0].dependsOn.length, 1);
  assert.equal(f.diagnostics.length, 1);
  assert.equal(f.diagnostics[0].code, "yaml-shape");
  assert.equal(f.diagnostics[0].severity, "warning");
  assert.deepEqual(f.diagnostics[0].span, sp(3, 8, 3, 18));
});

void test("unknown and ignored top-level keys: no facts, no diagnostics", () => {
  const text = `version: 2
semantic_models:
  - name: orders
    model: ref('fct_orders')
metrics:
  - name: revenue
saved_queries: []
unit_tests:
  - name: t
    model: fct_orders
data_tests: []
macros:
  - name: cents_to_dollars
groups:
  - name: finance
    owner: {name: F}
something_custom: {a: 1}
models:
  - name: only_me
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.models.map((m) => m.name), ["only_me"]);
  assert.deepEqual([f.sources, f.seeds, f.snapshots, f.exposures], [[], [], [], []]);
});

void test("wrong shapes become yaml-shape warnings at the offending node, never a throw", () => {
  const text = `sources: just a string
models:
  - name: good
  - not_a_mapping
  - description: no name here
  - name: {a: 1}
seeds: {name: x}
exposures:
  - name: e
    depends_on: ref('x')
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.models.map((m) => m.name), ["good"]);
  assert.deepEqual(f.sources, []);
  assert.deepEqual(f.seeds, []);
  assert.deepEqual(f.exposures[0].dependsOn, []);
  const shape = f.diagnostics.filter((d) => d.code === "yaml-shape");
  assert.ok(f.diagnostics.every((d) => d.severity === "warning" && d.file === FILE));
  assert.deepEqual(
    shape.map((d) => d.span.start),
    [
      { line: 0, character: 9 }, // sources: <string>
      { line: 3, character: 4 }, // - not_a_mapping
      { line: 4, character: 4 }, // mapping without a name
      { line: 5, character: 10 }, // name is a mapping
      { line: 6, character: 7 }, // seeds: {…}
      { line: 9, character: 16 }, // depends_on: <string>
    ],
  );
});

void test("source table without a name is skipped with a warning, others kept", () => {
  const text = `sources:
  - name: s
    tables:
      - identifier: x
      - name: t
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.sources[0].tables.map((t) => t.name), ["t"]);
  assert.equal(f.diagnostics.length, 1);
  assert.equal(f.diagnostics[0].code, "yaml-shape");
  assert.deepEqual(f.diagnostics[0].span, sp(3, 8, 3, 21));
});

void test("duplicate tables (across entries of one source), models inside one file -> duplicate-entry warnings at the second name", () => {
  const text = `sources:
  - name: s
    tables:
      - name: t
      - name: t
  - name: s
    tables: [{name: u}, {name: t}]
models:
  - name: m
  - name: m
`;
  const f = parsePropertiesYaml(text, FILE);
  const dup = f.diagnostics.filter((d) => d.code === "duplicate-entry");
  assert.equal(dup.length, 3);
  assert.ok(dup.every((d) => d.severity === "warning"));
  assert.deepEqual(
    dup.map((d) => d.span).sort((a, b) => a.start.line - b.start.line),
    [sp(4, 14, 4, 15), sp(6, 31, 6, 32), sp(9, 10, 9, 11)],
  );
});

void test("one source in several entries of a file, each with its own tables, is what dbt accepts: no warning", () => {
  const text = "sources:\n  - name: s\n    tables: [{name: a}]\n  - name: s\n    tables: [{name: b}]\n";
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.sources.flatMap((x) => x.tables.map((t) => `${x.name}.${t.name}`)), ["s.a", "s.b"]);
});

void test("malformed YAML: yaml-syntax error at the parser's position, and what can still be read", () => {
  const text = `models:
  - name: ok_model
    tags: [a, b
  - name: other
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(
    f.diagnostics.map((d) => [d.code, d.severity, d.file, d.span]),
    [["yaml-syntax", "error", FILE, sp(3, 2, 3, 3)]],
  );
  assert.deepEqual(f.models.map((m) => m.name), ["ok_model", "other"]);
});

void test("malformed YAML: an unterminated quote points at the opening quote, not the end of the file", () => {
  const text = `models:
  - name: ok_model
    description: "unterminated
  - name: other
`;
  const f = parsePropertiesYaml(text, FILE);
  const syntax = f.diagnostics.filter((d) => d.code === "yaml-syntax");
  assert.equal(syntax.length, 1);
  assert.deepEqual(syntax[0].span, sp(2, 17, 2, 30));
  assert.match(syntax[0].message, /quote/);
  assert.equal(f.models[0]?.name, "ok_model");
});

void test("malformed YAML: a compact nested mapping keeps the readable entries around it", () => {
  const text = "models:\n  - name: ok_model\n  - name: x: y\n  - name: third\n";
  const f = parsePropertiesYaml(text, FILE);
  const syntax = f.diagnostics.filter((d) => d.code === "yaml-syntax");
  assert.deepEqual(syntax.map((d) => d.span), [sp(2, 10, 2, 11)]);
  assert.deepEqual(f.models.map((m) => m.name), ["ok_model", "third"]);
});

void test("malformed YAML: an exact error position for a bad indent", () => {
  const text = "models:\n  - name: a\n   bad: indent\n";
  const f = parsePropertiesYaml(text, FILE);
  const syntax = f.diagnostics.filter((d) => d.code === "yaml-syntax");
  assert.ok(syntax.length >= 1);
  assert.equal(syntax[0].span.start.line, 2);
});

void test("empty file, comment-only file and a top-level list", () => {
  for (const t of ["", "# only a comment\n", "---\n"]) {
    const f = parsePropertiesYaml(t, FILE);
    assert.deepEqual(f.diagnostics, [], JSON.stringify(t));
  }
  const f = parsePropertiesYaml("- a\n- b\n", FILE);
  assert.equal(f.diagnostics.length, 1);
  assert.equal(f.diagnostics[0].code, "yaml-shape");
});

void test("anchors, aliases and << merge keys are followed", () => {
  const text = `x-defaults: &defaults
  config:
    tags: [shared]
  meta: {team: core}
models:
  - name: a
    <<: *defaults
  - name: b
    <<: *defaults
    meta: {team: other}
`;
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.diagnostics, []);
  assert.deepEqual(f.models.map((m) => [m.name, m.tags, m.meta]), [
    ["a", ["shared"], { team: "core" }],
    ["b", ["shared"], { team: "other" }],
  ]);
});

void test("CRLF line endings give the same positions", () => {
  const text = "models:\r\n  - name: m\r\n    description: d\r\n";
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.models[0].nameSpan, sp(1, 10, 1, 11));
  assert.deepEqual(f.models[0].span, sp(1, 4, 2, 18));
});

void test("UTF-16 positions after non-BMP characters", () => {
  const text = "models:\n  - description: \"😀\"\n    name: m\n";
  const f = parsePropertiesYaml(text, FILE);
  assert.deepEqual(f.models[0].nameSpan, sp(2, 10, 2, 11));
  assert.equal(f.models[0].description, "😀");
});
