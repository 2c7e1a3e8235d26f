/**
 * Idioms of real dbt projects, each reduced to a small synthetic project, where the static graph
 * must agree with the manifest dbt itself would write: refs made through loops and `set`
 * variables, macros that wrap `ref`, vars whose values are Jinja, `enabled` and `{% if %}` driven by
 * vars, several projects with the same model names, YAML snapshots, installed package copies.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { WorkspaceIndex } from "../../server/src/index/workspace";

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Writes `files` (relative path -> text) under a new temporary folder and indexes it. */
function index(files: Record<string, string>): WorkspaceIndex {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-rw-"));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const ws = new WorkspaceIndex({ roots: [root] });
  ws.load();
  return ws;
}

function edges(ws: WorkspaceIndex): string[] {
  return ws.graph.edges.map((e) => `${e.from} > ${e.to}`).sort();
}

function upstream(ws: WorkspaceIndex, id: string): string[] {
  return [...ws.graph.upstream(id)].sort();
}

/** Diagnostics other than information, as `code: message`. */
function problems(ws: WorkspaceIndex): string[] {
  return [...ws.diagnostics().values()].flat().filter((d) => d.severity !== "info").map((d) => `${d.code}: ${d.message}`);
}

const PROJECT = "name: shop\nversion: '1.0'\n";

describe("real-world dbt idioms", () => {
  test("a loop over a `set` list of names joined with `~` refs every item", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/a_30d.sql": "select 1",
      "models/a_14d.sql": "select 1",
      "models/b.sql": "select 1",
      "models/union_all.sql": `{%- set prefix = "a" -%}
{%- set postfixes = [
    "_30d",
    "_14d"
  ]
-%}
{% for postfix in postfixes -%}
{% if not loop.first %}union all{% endif -%}
select * from {{ ref(prefix ~ postfix) }}
{%- endfor %}
{% for m in ['b'] %} join {{ ref(m) }} {% endfor %}
{% set one = 'b' %}{{ ref(one) }}`,
    });
    assert.deepEqual(upstream(ws, "union_all"), ["a_14d", "a_30d", "b"]);
    assert.deepEqual(problems(ws), []);
    assert.equal([...ws.diagnostics().values()].flat().filter((d) => d.code === "dynamic-ref").length, 0);
  });

  test("a loop over a list var refs each item; a var that is not a list stays dynamic", () => {
    const ws = index({
      "dbt_project.yml": `${PROJECT}vars:\n  tables: [orders, customers]\n`,
      "models/src.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n      - name: customers\n",
      "models/unioned.sql": "{% for t in var('tables') %}select * from {{ source('raw', t) }}{% endfor %}",
      "models/other.sql": "{% for t in run_query('select 1') %}{{ ref(t) }}{% endfor %}",
    });
    assert.deepEqual(upstream(ws, "unioned"), ["raw/customers", "raw/orders"]);
    assert.ok([...ws.diagnostics().values()].flat().some((d) => d.code === "dynamic-ref" && d.message.includes("ref(t)")));
  });

  test("a macro that wraps ref() refs the model its caller names; nested macros pass arguments on", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "macros/refs.sql": `{% macro my_ref(model_name) %}{{ return(ref(model_name)) }}{% endmacro %}
{% macro staged(table, prefix='stg_') %}select * from {{ my_ref(prefix ~ table) }}{% endmacro %}
{% macro from_source(name) %}{{ source('raw', name) }}{% endmacro %}`,
      "models/src.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n",
      "models/stg_orders.sql": "select * from {{ from_source('orders') }}",
      "models/stg_customers.sql": "select 1",
      "models/orders.sql": "select * from {{ my_ref('stg_orders') }} join {{ staged(table='customers') }}",
    });
    assert.deepEqual(upstream(ws, "orders"), ["stg_customers", "stg_orders"]);
    assert.deepEqual(upstream(ws, "stg_orders"), ["raw/orders"]);
    assert.deepEqual(problems(ws), []);
  });

  test("a macro looping over a list of (alias, model) tuples: GitLab's simple_cte", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "macros/simple_cte.sql": `{% macro simple_cte(tuple_list) %}
WITH{% for cte_ref in tuple_list %} {{cte_ref[0]}} AS (
    SELECT *
    FROM {{ ref(cte_ref[1]) }}
{%- if cte_ref[2] is string %}
    WHERE {{ cte_ref[2] }}
{%- endif %}
){%- if not loop.last -%},{%- endif -%}
{%- endfor -%}
{%- endmacro %}
{% macro dict_cte(models) %}{% for m in models %}{{ ref(m.name) }} {{ ref(m['other']) }}{% endfor %}{% endmacro %}`,
      "models/dim_date.sql": "select 1",
      "models/prep_subscription.sql": "select 1",
      "models/prep_charge.sql": "select 1",
      "models/fct_charge.sql": `{{ simple_cte([
    ('dim_date', 'dim_date'),
    ('subscription', 'prep_subscription'),
    ('charge', 'prep_charge', 'is_deleted = FALSE')
]) }}
select * from charge`,
      "models/by_dict.sql": "{{ dict_cte([{'name': 'dim_date', 'other': 'prep_charge'}]) }}",
      "models/last_item.sql": "{% for t in [('x', 'dim_date')] %}{{ ref(t[-1]) }}{% endfor %}",
    });
    assert.deepEqual(upstream(ws, "fct_charge"), ["dim_date", "prep_charge", "prep_subscription"]);
    assert.deepEqual(upstream(ws, "by_dict"), ["dim_date", "prep_charge"]);
    assert.deepEqual(upstream(ws, "last_item"), ["dim_date"]);
    assert.deepEqual(problems(ws), []);
  });

  test("a dispatched package macro picks its source from its arguments (Fivetran's union_data shape)", () => {
    const ws = index({
      "dbt_project.yml": `name: ads\nversion: '1.0'\nvars:\n  search_term_report: "{{ source('apple_search_ads', 'search_term_report') }}"\n`,
      "packages.yml": "packages:\n  - package: fivetran/fivetran_utils\n    version: 0.4.0\n",
      "models/src.yml": "version: 2\nsources:\n  - name: apple_search_ads\n    tables:\n      - name: search_term_report\n      - name: campaign\n",
      "models/stg_search_terms_tmp.sql": `{{ fivetran_utils.union_data(
    table_identifier='search_term_report',
    database_variable='apple_search_ads_database',
    schema_variable='apple_search_ads_schema',
    default_database=target.database,
    default_schema='apple_search_ads',
    default_variable='search_term_report',
    union_schema_variable='apple_search_ads_union_schemas',
    union_database_variable='apple_search_ads_union_databases'
) }}`,
      "models/stg_campaign_tmp.sql": "{{ fivetran_utils.union_data(table_identifier='campaign', database_variable='d', schema_variable='s', default_database=target.database, default_schema='apple_search_ads', default_variable='campaign') }}",
      "dbt_packages/fivetran_utils/dbt_project.yml": "name: fivetran_utils\nversion: '0.4.0'\n",
      "dbt_packages/fivetran_utils/macros/union_data.sql": `{%- macro union_data(table_identifier, database_variable, schema_variable, default_database, default_schema, default_variable, union_schema_variable='union_schemas', union_database_variable='union_databases') -%}
{{ adapter.dispatch('union_data', 'fivetran_utils') (
    table_identifier, database_variable, schema_variable, default_database, default_schema, default_variable,
    union_schema_variable, union_database_variable) }}
{%- endmacro -%}
{%- macro default__union_data(table_identifier, database_variable, schema_variable, default_database, default_schema, default_variable, union_schema_variable, union_database_variable) -%}
{%- if var(union_schema_variable, none) -%}
  {%- for schema in var(union_schema_variable) -%}
    {%- set relation = adapter.get_relation(database=source(schema, table_identifier).database) -%}
  {%- endfor -%}
{%- elif var(union_database_variable, none) -%}
  {%- for database in var(union_database_variable) -%}{{ database }}{%- endfor -%}
{%- else -%}
  {% set exceptions_map = {"a": "b"} %}
  {% if default_schema in exceptions_map.keys() %}
    {% for pair in exceptions_map.items() %}{{ source(pair[1], table_identifier) }}{% endfor %}
  {% else %}
    {%- set relation = adapter.get_relation(schema=source(default_schema, table_identifier).schema, identifier=var(default_schema ~ "_" ~ table_identifier ~ "_identifier", table_identifier)) -%}
  {% endif %}
  select * from {{ relation }}
{%- endif -%}
{%- endmacro -%}`,
    });
    assert.deepEqual(upstream(ws, "stg_search_terms_tmp"), ["apple_search_ads/search_term_report"]);
    assert.deepEqual(upstream(ws, "stg_campaign_tmp"), ["apple_search_ads/campaign"]);
    assert.deepEqual(problems(ws), []);
  });

  test("a model-template macro: a ref under `{% if criteria %}` only when the call passes criteria", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "macros/attribution.sql": `{% macro attribution(lookback, criteria=[]) -%}
select * from {{ ref("clicks") }}
{% if criteria -%} join {{ ref("products") }} {%- endif %}
{% if not criteria %} join {{ ref("fallback") }} {% else %} join {{ ref("detailed") }} {% endif %}
{%- endmacro %}`,
      "models/clicks.sql": "select 1",
      "models/products.sql": "select 1",
      "models/fallback.sql": "select 1",
      "models/detailed.sql": "select 1",
      "models/attr_14d.sql": `{{ attribution("14") }}`,
      "models/attr_14d_same_brand.sql": `{{ attribution("14", ["brand_name"]) }}`,
    });
    assert.deepEqual(upstream(ws, "attr_14d"), ["clicks", "fallback"]);
    assert.deepEqual(upstream(ws, "attr_14d_same_brand"), ["clicks", "detailed", "products"]);
  });

  test("a var whose value is Jinja (`\"{{ ref('stg_x') }}\"`) is rendered in the model: Fivetran-style packages", () => {
    const ws = index({
      "dbt_project.yml": `name: stripe
version: '1.0'
vars:
  stripe:
    account: "{{ ref('stg_stripe__account') }}"
    raw_account: "{{ source('stripe', 'account') }}"
  other_package:
    account: "{{ ref('not_ours') }}"
`,
      "models/src.yml": "version: 2\nsources:\n  - name: stripe\n    tables:\n      - name: account\n",
      "models/stg_stripe__account.sql": "select * from {{ var('raw_account') }}",
      "models/stripe__accounts.sql": "with account as (select * from {{ var ('account') }}) select * from account",
    });
    assert.deepEqual(edges(ws), ["stg_stripe__account > stripe__accounts", "stripe/account > stg_stripe__account"]);
    assert.deepEqual(ws.graph.edges.map((e) => e.origin), ["var", "var"]);
    assert.deepEqual(problems(ws), []);
  });

  test("the root project's vars reach an installed package: a package model reads the root's model through a var", () => {
    const ws = index({
      "dbt_project.yml": `name: gitlab_like
version: '1.0'
vars:
  snowplow:
    'snowplow:events': "{{ ref('snowplow_unnested_events') }}"
    'snowplow:context:useragent': false
models:
  snowplow:
    page_views:
      snowplow_web_events:
        +enabled: false
`,
      "packages.yml": "packages:\n  - package: dbt-labs/snowplow\n    version: 0.14.0\n",
      "models/snowplow_unnested_events.sql": "select 1",
      "dbt_packages/snowplow/dbt_project.yml": "name: snowplow\nversion: '0.14.0'\nvars:\n  snowplow:\n    'snowplow:events': null\n",
      "dbt_packages/snowplow/models/page_views/snowplow_web_events.sql": "select * from {{ var('snowplow:events') }}",
      "dbt_packages/snowplow/models/page_views/snowplow_page_views.sql": `select * from {{ var('snowplow:events') }}
{% if var('snowplow:context:useragent') %} join {{ ref('snowplow_useragent') }} {% endif %}`,
    });
    assert.deepEqual(upstream(ws, "snowplow_page_views"), ["snowplow_unnested_events"]);
    assert.equal(ws.graph.get("snowplow_web_events"), undefined, "disabled by the root's folder config? (dbt applies root configs to packages)");
  });

  test("a var whose value is a template of other vars is rendered before it names a model or a source", () => {
    const ws = index({
      "dbt_project.yml": `${PROJECT}vars:
  source_name: "{{ var('env_source', 'raw') }}"
  model_prefix: "stg_{{ var('domain', 'shop') }}"
  domain: orders
  tables: [items]
  not_a_value: "{% if true %}x{% endif %}"
`,
      "models/src.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: t\n",
      "models/stg_orders.sql": "select * from {{ source(var('source_name'), 't') }}",
      "models/items.sql": "select 1",
      "models/final.sql": "select * from {{ ref(var('model_prefix')) }} {% for t in var('tables') %} join {{ ref(t) }} {% endfor %}",
      "models/odd.sql": "select * from {{ ref(var('not_a_value')) }}",
    });
    assert.deepEqual(upstream(ws, "stg_orders"), ["raw/t"]);
    assert.deepEqual(upstream(ws, "final"), ["items", "stg_orders"]);
    assert.deepEqual(problems(ws), []);
  });

  test("`enabled` from vars (config(), dbt_project.yml, YAML sources) and refs under `{% if var(...) %}`", () => {
    const ws = index({
      "dbt_project.yml": `${PROJECT}vars:
  using_tags: false
  using_teams: true
models:
  shop:
    teams:
      +enabled: "{{ var('using_teams', true) }}"
    legacy:
      +enabled: false
`,
      "models/src.yml": `version: 2
sources:
  - name: raw
    tables:
      - name: task
      - name: tag
        config:
          enabled: "{{ var('using_tags', true) }}"
  - name: old
    config:
      enabled: false
    tables:
      - name: thing
`,
      "models/task.sql": `with t as (select * from {{ source('raw', 'task') }})
{% if var('using_tags', true) and var('other', true) %} , tags as (select * from {{ ref('tags') }}) {% endif %}
{% if var('using_tags', true) %}{% else %} , fallback as (select * from {{ ref('no_tags') }}) {% endif %}
select * from t`,
      "models/tags.sql": "{{ config(enabled=var('using_tags', True) and var('other', True)) }} select * from {{ source('raw', 'tag') }}",
      "models/no_tags.sql": "select 1",
      "models/teams/team.sql": "select 1",
      "models/legacy/old.sql": "select * from {{ ref('gone') }}",
    });
    const ids = [...ws.graph.nodes.keys()].sort();
    assert.deepEqual(ids, ["no_tags", "raw/task", "task", "team"]);
    assert.deepEqual(upstream(ws, "task"), ["no_tags", "raw/task"]);
    assert.deepEqual(problems(ws), []);
  });

  test("one model per adapter, each enabled for its target: no duplicate error", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/a.sql": "select 1",
      "models/bigquery/events.sql": "{{ config(enabled=target.type == 'bigquery') }} select * from {{ ref('a') }}",
      "models/snowflake/events.sql": "{{ config(enabled=target.type == 'snowflake') }} select * from {{ ref('a') }}",
      "models/dup/a.sql": "select 2",
    });
    assert.deepEqual(upstream(ws, "events"), ["a"]);
    assert.deepEqual(problems(ws).map((p) => p.split(":")[0]), ["duplicate-key", "duplicate-key"], "two unconditional models of one name are still an error");
  });

  test("dbt_project.yml's `sources:` tree disables source tables, the root's reaching installed packages", () => {
    const ws = index({
      "dbt_project.yml": `name: shop
version: '1.0'
sources:
  shop:
    raw:
      legacy_orders:
        +enabled: false
  hubspot_source:
    hubspot:
      +enabled: "{{ var('hubspot_enabled', false) }}"
`,
      "packages.yml": "packages:\n  - package: fivetran/hubspot_source\n    version: 0.1.0\n",
      "models/staging/src.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n      - name: legacy_orders\n",
      "dbt_packages/hubspot_source/dbt_project.yml": "name: hubspot_source\nversion: '0.1.0'\n",
      "dbt_packages/hubspot_source/models/src_hubspot.yml": "version: 2\nsources:\n  - name: hubspot\n    tables:\n      - name: contact\n",
    });
    assert.deepEqual([...ws.graph.nodes.keys()].sort(), ["raw/orders"]);
  });

  test("several projects with the same model names: keys carry the project, cross-project refs resolve", () => {
    const country = (c: string) => ({
      [`${c}/dbt_project.yml`]: `name: poc_${c}\nversion: '1.0'\n`,
      [`${c}/models/sources.yml`]: "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: client\n",
      [`${c}/models/stg_client.sql`]: "select * from {{ source('bronze', 'client') }}",
      [`${c}/models/dim_client.sql`]: "select * from {{ ref('stg_client') }}",
    });
    const ws = index({
      ...country("ita"),
      ...country("che"),
      "glb/dbt_project.yml": "name: poc_glb\nversion: '1.0'\n",
      "glb/dependencies.yml": "projects:\n  - name: poc_ita\n  - name: poc_che\n",
      "glb/models/dim_client_global.sql": "select * from {{ ref('poc_ita', 'dim_client') }} union all select * from {{ ref('poc_che', 'dim_client') }}",
    });
    assert.deepEqual(upstream(ws, "dim_client_global"), ["poc_che/dim_client", "poc_ita/dim_client"]);
    assert.deepEqual(upstream(ws, "poc_ita/dim_client"), ["poc_ita/stg_client"]);
    assert.deepEqual(upstream(ws, "poc_che/stg_client"), ["bronze/client"]);
    assert.deepEqual(problems(ws), []);
    // The same source table, declared by both projects: one node, described in both.
    assert.equal(ws.graph.get("bronze/client")?.alsoAt.length, 1);
  });

  test("a cross-project ref to a dbt-mesh upstream outside the workspace is a warning, not an error", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "dependencies.yml": "projects:\n  - name: core_platform\n",
      "models/uses_core.sql": "select * from {{ ref('core_platform', 'dim_customers') }}",
    });
    const d = [...ws.diagnostics().values()].flat().filter((x) => x.code === "unknown-ref");
    assert.deepEqual(d.map((x) => x.severity), ["warning"]);
    assert.match(d[0].message, /dependencies\.yml/);
  });

  test("snapshots defined in YAML (dbt >= 1.9) with `relation:`", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/src.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n",
      "models/stg_orders.sql": "select 1",
      "snapshots/snapshots.yml": `snapshots:
  - name: orders_snapshot
    relation: source('raw', 'orders')
    config:
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
  - name: stg_orders_snapshot
    relation: "{{ ref('stg_orders') }}"
`,
      "models/orders_history.sql": "select * from {{ ref('orders_snapshot') }} join {{ ref('stg_orders_snapshot') }}",
    });
    assert.equal(ws.graph.get("orders_snapshot")?.kind, "dbt_snapshot");
    assert.deepEqual(upstream(ws, "orders_snapshot"), ["raw/orders"]);
    assert.deepEqual(upstream(ws, "stg_orders_snapshot"), ["stg_orders"]);
    assert.deepEqual(upstream(ws, "orders_history"), ["orders_snapshot", "stg_orders_snapshot"]);
    assert.deepEqual(problems(ws), []);
  });

  test("a package developed beside its integration tests gets the tests' vars (models disabled by default)", () => {
    const ws = index({
      "dbt_project.yml": "name: the_package\nversion: '1.0'\nvars:\n  claims_enabled: false\n",
      "models/claims.sql": "{{ config(enabled=var('claims_enabled', var('marts_enabled', False)) | as_bool) }} select 1",
      "models/clinical.sql": "{{ config(enabled=var('clinical_enabled', False)) }} select 1",
      "models/core.sql": `{{ config(enabled=var('claims_enabled', False) or var('clinical_enabled', False)) }}
{% if var('claims_enabled') == true and var('clinical_enabled') == false -%}
select * from {{ ref('claims') }}
{%- elif var('claims_enabled') != true -%}
select * from {{ ref('clinical') }}
{%- else -%}
select * from {{ ref('claims') }} union all select * from {{ ref('clinical') }}
{%- endif %}`,
      "integration_tests/dbt_project.yml": "name: integration_tests\nversion: '1.0'\nvars:\n  claims_enabled: true\n  the_package:\n    clinical_enabled: true\n",
      "integration_tests/packages.yml": "packages:\n  - local: ../\n",
      "integration_tests/models/check.sql": "select * from {{ ref('core') }}",
    });
    assert.deepEqual(upstream(ws, "core"), ["claims", "clinical"]);
    assert.deepEqual(upstream(ws, "check"), ["core"]);
    assert.deepEqual(problems(ws), []);
  });

  test("model folders named like build output (`logs`, `build`, `out`) are read, as dbt reads them", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/logs/stg_app_logs.sql": "select 1",
      "models/build/builds.sql": "select * from {{ ref('stg_app_logs') }}",
      "models/out/outbound.sql": "select * from {{ ref('builds') }}",
      "models/.hidden/ignored.sql": "select 1",
    });
    assert.deepEqual([...ws.graph.nodes.keys()].sort(), ["builds", "outbound", "stg_app_logs"]);
    assert.equal(ws.update(path.join(ws.dbtProjects()[0].root, "models/logs/stg_app_logs.sql")), true);
    assert.deepEqual(problems(ws), []);
  });

  test("macro-paths inside model-paths, their folder disabled as models: the macros still work", () => {
    const ws = index({
      "dbt_project.yml": `name: across
version: '1.0'
model-paths: ["models"]
macro-paths: ["models/macros"]
models:
  across:
    macros:
      "+enabled": false
`,
      "models/macros/chain_ref.sql": "{% macro chain_ref(chain) %}{{ ref('stg_' ~ chain ~ '__deposits') }}{% endmacro %}",
      "models/staging/stg_base__deposits.sql": "select 1",
      "models/int_deposits.sql": "select * from {{ chain_ref('base') }}",
    });
    assert.deepEqual([...ws.graph.nodes.keys()].sort(), ["int_deposits", "stg_base__deposits"]);
    assert.deepEqual(upstream(ws, "int_deposits"), ["stg_base__deposits"]);
  });

  test("an installed copy of a project that is also in the workspace is indexed once", () => {
    const shared = { "dbt_project.yml": "name: shared\nversion: '1.0'\n", "models/common.sql": "select 1" };
    const files: Record<string, string> = {
      "app/dbt_project.yml": "name: app\nversion: '1.0'\n",
      "app/packages.yml": "packages:\n  - local: ../shared\n",
      "app/models/uses.sql": "select * from {{ ref('common') }}",
    };
    for (const [rel, text] of Object.entries(shared)) {
      files[`shared/${rel}`] = text;
      files[`app/dbt_packages/shared/${rel}`] = text;
    }
    const ws = index(files);
    assert.deepEqual(upstream(ws, "uses"), ["common"]);
    assert.deepEqual(problems(ws), []);
  });

  test("edits relinked in place give what a fresh index gives (macro expansions, var Jinja, guards)", () => {
    const ws = index({
      "dbt_project.yml": `${PROJECT}vars:\n  orders: "{{ ref('stg_orders') }}"\n  flag: false\n`,
      "macros/m.sql": "{% macro my_ref(n) %}{{ ref(n) }}{% endmacro %}",
      "models/stg_orders.sql": "select 1",
      "models/stg_items.sql": "select 1",
      "models/fct.sql": "select * from {{ var('orders') }}",
    });
    const root = ws.dbtProjects()[0].root;
    const fct = path.join(root, "models/fct.sql");
    writeFileSync(fct, "select * from {{ my_ref('stg_items') }} {% for m in ['stg_orders'] %}{{ ref(m) }}{% endfor %} {% if var('flag') %}{{ ref('missing') }}{% endif %}");
    ws.update(fct);
    const fresh = new WorkspaceIndex({ roots: [root] });
    fresh.load();
    assert.deepEqual(edges(ws), edges(fresh));
    assert.deepEqual(upstream(ws, "fct"), ["stg_items", "stg_orders"]);
    assert.deepEqual(problems(ws), problems(fresh));
    assert.deepEqual(problems(ws), []);
    const project = path.join(root, "dbt_project.yml");
    writeFileSync(project, readFileSync(project, "utf8").replace("flag: false", "flag: true"));
    ws.update(project);
    assert.ok(problems(ws).some((p) => p.startsWith("unknown-ref") && p.includes("missing")), "the var now makes the guarded ref");
  });
  test("an exposure or a YAML snapshot pinned to a model version depends on that version, not the latest", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/dim_customers_v1.sql": "select 1 as id",
      "models/dim_customers_v2.sql": "select 1 as id",
      "models/props.yml": `version: 2
models:
  - name: dim_customers
    latest_version: 2
    versions:
      - v: 1
      - v: 2
exposures:
  - name: old_dashboard
    type: dashboard
    owner: { name: Ann }
    depends_on:
      - ref('dim_customers', v=1)
snapshots:
  - name: customers_snapshot
    relation: ref('dim_customers', version=1)
    config: { unique_key: id, strategy: check, check_cols: all }
`,
    });
    assert.deepEqual(upstream(ws, "exposure/old_dashboard"), ["dim_customers/v1"]);
    assert.deepEqual(upstream(ws, "customers_snapshot"), ["dim_customers/v1"]);
    assert.deepEqual(problems(ws), []);
  });
  const MODELS_YML = `version: 2
sources:
  - name: erp
    tables:
      - name: stores
models:
  - name: orders
    config: { contract: { enforced: false } }
    constraints:
      - type: foreign_key
        columns: [product_id]
        to: ref('products')
        to_columns: [id]
      - type: foreign_key
        columns: [legacy_id]
        to: legacy_schema.legacy_table
        to_columns: [id]
      - type: foreign_key
        expression: "other_schema.customers (id)"
    columns:
      - name: customer_id
        constraints:
          - type: not_null
          - type: foreign_key
            to: "{{ ref('customers') }}"
            to_columns: [id]
      - name: store_id
        constraints:
          - type: foreign_key
            to: source('erp', 'stores')
            to_columns: [id]
      - name: product_id
        constraints:
          - type: foreign_key
            to: ref('nope')
            to_columns: [id]
  - name: events
    latest_version: 2
    versions:
      - v: 1
      - v: 2
        columns:
          - name: customer_id
            constraints:
              - type: foreign_key
                to: ref('customers')
                to_columns: [id]
`;
  test("foreign-key constraints on a model, its columns and its versions make their targets its parents (dbt >= 1.9)", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/customers.sql": "select 1 as id",
      "models/products.sql": "select 1 as id",
      "models/orders.sql": "select 1 as customer_id, 2 as product_id, 3 as store_id",
      "models/events_v1.sql": "select 1 as customer_id",
      "models/events_v2.sql": "select 1 as customer_id",
      "models/_models.yml": MODELS_YML,
    });
    assert.deepEqual(upstream(ws, "orders"), ["customers", "erp/stores", "products"]);
    assert.deepEqual(upstream(ws, "events/v1"), []);
    assert.deepEqual(upstream(ws, "events/v2"), ["customers"]);
    const yml = [...ws.diagnostics().entries()].find(([file]) => file.endsWith("_models.yml"))?.[1] ?? [];
    const unknown = yml.filter((d) => d.code === "unknown-ref");
    assert.equal(unknown.length, 1);
    assert.match(unknown[0].message, /Unknown model 'nope'/);
    assert.equal(unknown[0].span.start.line, MODELS_YML.split("\n").findIndex((l) => l.includes("ref('nope')")), "points at the `to:` of the bad foreign key");
    assert.deepEqual(problems(ws).filter((p) => !p.startsWith("unknown-ref")), []);

    // Editing the model's SQL keeps the YAML edges and does not repeat the YAML's diagnostic.
    const orders = path.join(ws.dbtProjects()[0].root, "models/orders.sql");
    writeFileSync(orders, "select 9 as customer_id, 2 as product_id, 3 as store_id");
    ws.update(orders);
    assert.deepEqual(upstream(ws, "orders"), ["customers", "erp/stores", "products"]);
    assert.equal(problems(ws).filter((p) => p.startsWith("unknown-ref")).length, 1);
  });
  test("a loop over a list of dicts: both source() arguments come from the same item (spellbook's config_sources)", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/src.yml": "version: 2\nsources:\n  - name: market_v1\n    tables: [{name: Market_evt_Bought}]\n  - name: market_v2\n    tables: [{name: AAMarket_evt_Bought}]\n",
      "models/trades.sql": `{% set config_sources = [
    {'version': '1', 'contract': 'Market'},
    {'version': '2', 'contract': 'AAMarket'},
] %}
{% for src in config_sources %}
select * from {{ source('market_v' ~ src["version"], src["contract"] ~ '_evt_Bought') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}`,
    });
    assert.deepEqual(upstream(ws, "trades"), ["market_v1/Market_evt_Bought", "market_v2/AAMarket_evt_Bought"]);
    assert.deepEqual(problems(ws), []);
  });
  test("what sits under `{% if execute %}` is no parent, as dbt parses with execute false (a query for a start date)", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "models/src.yml": "version: 2\nsources:\n  - name: crm\n    tables: [{name: ticket}]\n",
      "models/tickets.sql": "select 1",
      "models/spine.sql": `{% if execute %}
{% set first_date_query %}select min(created) from {{ source('crm', 'ticket') }}{% endset %}
{% set first_date = run_query(first_date_query).columns[0][0] %}
{% else %}{% set first_date = "2016-01-01" %}{% endif %}
select * from {{ ref('tickets') }}
{% if not execute %}-- {{ ref('tickets') }}{% endif %}`,
    });
    assert.deepEqual(upstream(ws, "spine"), ["tickets"]);
    assert.deepEqual(problems(ws), []);
  });
  test("a package declared in packages.yml but not installed is named, with the lineage it takes away; installed ones are quiet", () => {
    const ws = index({
      "dbt_project.yml": PROJECT,
      "packages.yml": `packages:
  - package: fivetran/hubspot_source
    version: [">=0.21.0", "<0.22.0"]
  - package: dbt-labs/dbt_utils
    version: 1.3.0
  - git: "https://git.example/org/dbt_fivetran_utils.git"
    revision: v0.4.10
  - local: ../not_there
`,
      "dbt_packages/dbt_utils/dbt_project.yml": "name: dbt_utils\nversion: '1.3.0'\n",
      "dbt_packages/dbt_utils/macros/star.sql": "{% macro star(from) %}*{% endmacro %}",
      "dbt_packages/fivetran_utils/dbt_project.yml": "name: fivetran_utils\nversion: '0.4.10'\n",
      "models/hubspot__companies.sql": "select {{ dbt_utils.star(ref('stg_hubspot__company')) }} from {{ ref('stg_hubspot__company') }} {{ hubspot_source.fill_staging_columns() }}",
    });
    const warnings = [...ws.diagnostics().values()].flat().filter((d) => d.code === "package-not-installed");
    assert.deepEqual(warnings.map((d) => [path.basename(d.file), d.span.start.line]), [["packages.yml", 1], ["packages.yml", 7]]);
    const [hub, local] = warnings.map((d) => d.message);
    assert.match(hub, /^Package 'fivetran\/hubspot_source' is declared but not installed \(nothing named 'hubspot_source' in dbt_packages\/\): run 'dbt deps'/);
    assert.match(hub, /1 call of its macros \(`hubspot_source\.\*`\) is not expanded/);
    assert.match(hub, /1 ref of this project finds no model \('stg_hubspot__company'\), which may come from it/);
    assert.match(local, /^Package '\.\.\/not_there' is declared but not installed \(no dbt project in \.\.\/not_there\)/);
    assert.ok(warnings.every((d) => d.severity === "warning"));
  });

  test("packages installed under the legacy packages-install-path (dbt_modules) resolve and are not reported missing", () => {
    const ws = index({
      "dbt_project.yml": `${PROJECT}packages-install-path: dbt_modules\n`,
      "packages.yml": "packages:\n  - package: fivetran/jira_source\n    version: 0.7.0\n",
      "dbt_modules/jira_source/dbt_project.yml": "name: jira_source\nversion: '0.7.0'\n",
      "dbt_modules/jira_source/models/stg_jira__issue.sql": "select 1",
      "models/jira__issues.sql": "select * from {{ ref('stg_jira__issue') }}",
    });
    assert.deepEqual(upstream(ws, "jira__issues"), ["stg_jira__issue"]);
    assert.deepEqual(problems(ws), []);
  });
  test("dispatch: the root project's search order picks which implementation of a package macro runs", () => {
    const files = (dispatch: string) => ({
      "dbt_project.yml": `${PROJECT}${dispatch}`,
      "packages.yml": "packages:\n  - package: acme/my_utils\n    version: 1.0.0\n",
      "dbt_packages/my_utils/dbt_project.yml": "name: my_utils\nversion: '1.0.0'\n",
      "dbt_packages/my_utils/macros/orders.sql": `{% macro orders_relation() %}{{ return(adapter.dispatch('orders_relation', 'my_utils')()) }}{% endmacro %}
{% macro default__orders_relation() %}{{ ref('orders') }}{% endmacro %}`,
      "macros/overrides.sql": "{% macro default__orders_relation() %}{{ ref('orders_v2') }}{% endmacro %}",
      "models/orders.sql": "select 1",
      "models/orders_v2.sql": "select 1",
      "models/report.sql": "select * from {{ my_utils.orders_relation() }}",
    });
    const own = index(files("dispatch:\n  - macro_namespace: my_utils\n    search_order: ['shop', 'my_utils']\n"));
    assert.deepEqual(upstream(own, "report"), ["orders_v2"]);
    assert.deepEqual(problems(own), []);
    const plain = index(files(""));
    assert.deepEqual(upstream(plain, "report"), ["orders"]);
  });
  test("a _source package: its models join the graph under their own keys, enabled by vars defaulting in its own dbt_project.yml", () => {
    const files = (rootVars: string) => ({
      "dbt_project.yml": `${PROJECT}${rootVars}`,
      "packages.yml": "packages:\n  - package: acme/crm_source\n    version: 1.0.0\n",
      "dbt_packages/crm_source/dbt_project.yml": "name: crm_source\nversion: '1.0.0'\nvars:\n  crm_source:\n    crm_ticket_enabled: false\n    ticket: \"{{ source('crm', 'ticket') }}\"\n",
      "dbt_packages/crm_source/models/src_crm.yml": "version: 2\nsources:\n  - name: crm\n    tables: [{name: ticket}, {name: company}]\n",
      "dbt_packages/crm_source/models/stg_crm__ticket.sql": "{{ config(enabled=var('crm_ticket_enabled')) }}\nselect * from {{ var('ticket') }}",
      "dbt_packages/crm_source/models/stg_crm__company.sql": "select * from {{ source('crm', 'company') }}",
      "models/crm__overview.sql": "select * from {{ ref('stg_crm__company') }}\n{% if var('crm_ticket_enabled', false) %}join {{ ref('stg_crm__ticket') }}{% endif %}",
    });
    const off = index(files(""));
    assert.equal(off.graph.get("stg_crm__ticket"), undefined, "disabled by the package's own default");
    assert.equal(off.graph.get("stg_crm__company")?.project, "crm_source");
    assert.deepEqual(upstream(off, "crm__overview"), ["stg_crm__company"]);
    const on = index(files("vars:\n  crm_ticket_enabled: true\n"));
    assert.deepEqual(upstream(on, "stg_crm__ticket"), ["crm/ticket"]);
    assert.deepEqual(upstream(on, "crm__overview"), ["stg_crm__company", "stg_crm__ticket"]);
    assert.deepEqual(problems(on), []);
  });
  test("several projects reading one root sources/ folder through model-paths: one node per table, read by each (spellbook's layout)", () => {
    const project = (name: string) => `name: ${name}\nversion: '1.0'\nmodel-paths: ["models", "../../sources"]\nmacro-paths: ["macros", "../../dbt_macros"]\n`;
    const ws = index({
      "sources/dex/_sources.yml": "version: 2\nsources:\n  - name: uniswap_ethereum\n    tables:\n      - &swap\n        name: Pair_evt_Swap\n        columns: [{name: amount0}]\n  - name: uniswap_base\n    tables:\n      - *swap\n",
      "dbt_macros/ref.sql": "{% macro ref(modelname) %}{{ return(builtins.ref(modelname)) }}{% endmacro %}",
      "dbt_subprojects/dex/dbt_project.yml": project("dex"),
      "dbt_subprojects/dex/models/dex_trades.sql": "select * from {{ source('uniswap_ethereum', 'Pair_evt_Swap') }} union all select * from {{ source('uniswap_base', 'Pair_evt_Swap') }}",
      "dbt_subprojects/tokens/dbt_project.yml": project("tokens"),
      "dbt_subprojects/tokens/models/token_swaps.sql": "select * from {{ source('uniswap_ethereum', 'Pair_evt_Swap') }}",
      "dbt_subprojects/tokens/models/token_summary.sql": "select * from {{ ref('token_swaps') }}",
    });
    assert.deepEqual(upstream(ws, "dex_trades"), ["uniswap_base/Pair_evt_Swap", "uniswap_ethereum/Pair_evt_Swap"]);
    assert.deepEqual(upstream(ws, "token_swaps"), ["uniswap_ethereum/Pair_evt_Swap"]);
    assert.deepEqual(upstream(ws, "token_summary"), ["token_swaps"]);
    assert.equal([...ws.graph.nodes.values()].filter((n) => n.kind === "dbt_source").length, 2);
    assert.deepEqual(problems(ws), []);
  });

  test("membership tests and conditional expressions in refs follow the project's vars (fivetran's zendesk v1.6)", () => {
    const ws = index({
      "dbt_project.yml": "name: pkg\nversion: '1.0'\nvars:\n  history_columns: ['assignee_id', 'status']\n  using_audit_log: true\n",
      "models/form.sql": "select 1",
      "models/history.sql": "select 1",
      "models/roles.sql": "select 1",
      "models/users.sql": "select 1",
      // `in` over a var list: false here, so dbt makes no ref; `not in` is its negation.
      "models/backlog.sql": "select * from {{ ref('history') }}\n{% if 'ticket_form_id' in var('history_columns') %}join {{ ref('form') }}{% endif %}\n{% if 'status' not in var('history_columns') %}join {{ ref('users') }}{% endif %}",
      // A flag set from vars, read by `a if flag else b`: only the branch the vars choose is a parent.
      "models/comments.sql": "{% set use_roles = var('using_role_histories', True) and var('using_audit_log', False) %}\nselect * from {{ ref('roles' if use_roles else 'users') }}",
      "models/replies.sql": "select * from {{ ref('roles' if var('nothing_set', False) else 'users') }}",
      // Not known statically (a macro's result): both branches are possible parents.
      "models/either.sql": "select * from {{ ref('roles' if is_incremental() else 'users') }}",
    });
    assert.deepEqual(upstream(ws, "backlog"), ["history"]);
    assert.deepEqual(upstream(ws, "comments"), ["roles"]);
    assert.deepEqual(upstream(ws, "replies"), ["users"]);
    assert.deepEqual(upstream(ws, "either"), ["roles", "users"]);
    assert.deepEqual(problems(ws), []);
  });
});
