/**
 * dbt Jinja idioms on the embedded engine, rendered and run on a real DuckDB: `{% do %}`,
 * Python methods (`.items()`, `.upper()`, `.append()`, `','.join()`), `loop.last`, namespace,
 * tuples, macros (defaults, kwargs, return(), dispatch, package namespaces), run_query,
 * statement/load_result, get_columns_in_relation, modules.datetime, env_var, log, hooks.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runEmbeddedStep } from "../../server/src/run/embedded/engine";
import type { EmbeddedNodeResult } from "../../server/src/run/embedded/engine";
import { contextFor, stepNodes, tempWarehouse, writeProject } from "./fixtures/embedded-lib/project";
import type { TempWarehouse, TestProject } from "./fixtures/embedded-lib/project";

/** Each model selects one string column `out`: what its Jinja rendered. */
const MODELS: Record<string, [string, string]> = {
  // [model source, expected `out`]
  do_append: [
    "{% set cols = [] %}{% for c in ['a', 'b'] %}{% do cols.append(c ~ '_x') %}{% endfor %}{% do cols.extend(['z']) %}\nselect '{{ cols | join(',') }}' as out",
    "a_x,b_x,z",
  ],
  dict_items: [
    "{% set m = {'placed': 'P', 'shipped': 'S'} %}\nselect '{% for k, v in m.items() %}{{ k }}={{ v }}{% if not loop.last %};{% endif %}{% endfor %}|{{ m.keys() | list | length }}|{{ m.get('nope', 'dflt') }}' as out",
    "placed=P;shipped=S|2|dflt",
  ],
  string_methods: [
    "{% set s = '  Order_Status ' %}\nselect '{{ s.strip().upper() }}|{{ s.strip().lower().replace(\"_\", \" \") }}|{{ \"a,b,,c\".split(\",\") | length }}|{{ \"-\".join([\"x\", \"y\"]) }}|{{ \"abc\".startswith(\"ab\") }}|{{ \"{}_{}\".format(\"p\", 3) }}|{{ \"Hello World\".title() }}|{{ \"a b  c\".split() | join(\"+\") }}' as out",
    "ORDER_STATUS|order status|4|x-y|True|p_3|Hello World|a+b+c",
  ],
  loop_last: [
    "select {% for m in ['credit_card', 'coupon'] -%}\n'{{ m }}' as {{ m }}{% if not loop.last %},{% endif %}\n{% endfor %}, '{% for i in range(3) %}{{ loop.index }}{{ \",\" if not loop.last }}{% endfor %}' as out",
    "1,2,3",
  ],
  namespace_counter: [
    "{% set ns = namespace(total=0, found=false) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}\nselect '{{ ns.total }}/{{ ns.found }}' as out",
    "6/True",
  ],
  list_concat_tuple: [
    "{% set cols = ['a'] %}{% set cols = cols + ['b'] %}{% set statuses = ('placed', 'shipped') %}\nselect '{{ cols | join(\",\") }}' as out where 'placed' in {{ statuses }}",
    "a,b",
  ],
  python_printing: [
    "select $${{ [1, 'a'] }}|{{ {'k': none} }}|{{ true }}|{{ none }}|{{ 'x' ~ 1 }}$$ as out",
    "[1, 'a']|{'k': None}|True|None|x1",
  ],
  filters: [
    "{% set people = [{'name': 'ann', 'active': true}, {'name': 'bob', 'active': false}, {'name': 'cy', 'active': true}] %}\nselect '{{ people | selectattr(\"active\") | map(attribute=\"name\") | join(\",\") }}|{{ people | rejectattr(\"name\", \"equalto\", \"bob\") | map(attribute=\"name\") | list | length }}|{{ [3, 1, 3] | unique | sort | join(\",\") }}|{{ \"%s-%s\" | format(\"a\", \"b\") }}|{{ undefined_thing | default(\"d\") }}|{{ [1, 2] | tojson }}' as out",
    "ann,cy|2|1,3|a-b|d|[1,2]",
  ],
  tests_is: [
    "{% set n = none %}\nselect '{{ n is none }}|{{ 1 is not none }}|{{ \"s\" is string }}|{{ {} is mapping }}|{{ [1] is sequence }}|{{ nothing is defined }}|{{ 3 is number }}' as out",
    "True|True|True|True|True|False|True",
  ],
  set_block_and_raw: [
    "{% set where_clause %}\n  where 1 = 1\n{% endset %}\n-- {% raw %}{{ not rendered }}{% endraw %}\nselect '{{ where_clause.strip() }}' as out",
    "where 1 = 1",
  ],
  macro_kwargs_return: [
    "select '{{ greet(\"ann\") }}|{{ greet(\"bob\", punct=\"?\") }}|{{ greet(name=\"cy\", greeting=\"yo\") }}|{{ column_list() | length }}|{{ idioms.greet(\"pkg\") }}' as out",
    "hello ann!|hello bob?|yo cy!|3|hello pkg!",
  ],
  macro_dispatch: [
    "select $${{ adapter.dispatch(\"flavour\")() }}|{{ dbt.type_string() }}|{{ dbt.date_trunc(\"month\", \"x\") }}|{{ vendorpkg.vendor_hello() }}$$ as out",
    "duckdb flavour|VARCHAR|date_trunc('month', x)|vendor hello from default",
  ],
  run_query_pivot: [
    "{% set q %}select distinct status from {{ ref('orders_src') }} order by 1{% endset %}\n{% do log('pivot renders once', info=True) %}{% set results = run_query(q) %}\n{% if execute %}{% set statuses = results.columns[0].values() %}{% else %}{% set statuses = [] %}{% endif %}\nselect $${{ statuses | join(\",\") }}|{{ results.rows | length }}|{% for row in results %}{{ row[0] }}{% endfor %}$$ as out",
    "completed,placed,shipped|3|completedplacedshipped",
  ],
  statement_load_result: [
    "{% call statement('max_id', fetch_result=True) %}select max(id) as m from {{ ref('orders_src') }}{% endcall %}\n{% set max_id = load_result('max_id')['data'][0][0] %}\nselect '{{ max_id }}|{{ load_result(\"max_id\")[\"table\"].rows[0][\"m\"] }}' as out",
    "4|4",
  ],
  columns_star: [
    "{% set cols = adapter.get_columns_in_relation(ref('orders_src')) %}{% set names = [] %}{% for c in cols %}{% if c.name != 'id' %}{% do names.append(c.name ~ ':' ~ c.dtype.lower()) %}{% endif %}{% endfor %}\nselect '{{ names | join(\",\") }}' as out",
    "status:varchar",
  ],
  loop_filter: [
    "select '{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ ',' if not loop.last }}{% endfor %}|{% for k, v in {'a': 1, 'b': 2}.items() if v > 1 %}{{ k }}{{ loop.length }}{% endfor %}' as out",
    "2,4|b1",
  ],
  python_literals: [
    "{% set cols = [\n  'a',\n  'b',\n] %}{% set one = ('x',) %}{% set first, second = 'p', 'q' %}{% set left, right = 'l.r'.split('.') %}{% set key = 'dyn' %}{% set d = {key: 1, cols[0]: 2, 'lit': 3,} %}\nselect '{{ cols | length }}|{{ one | length }}|{{ first }}{{ second }}|{{ left }}-{{ right }}|{{ d | dictsort | map(attribute=0) | join(\",\") }}' as out",
    "2|1|pq|l-r|a,dyn,lit",
  ],
  package_style_macros: [
    "select $${{ helperpkg.surrogate(['id', 'name']) }}|{{ helperpkg.first_value_of(ref('orders_src'), 'status') }}|{{ helperpkg.columns_by_type(ref('orders_src')) }}$$ as out",
    "md5(id || '-' || name)|completed|{'INTEGER': ['id'], 'VARCHAR': ['status']}",
  ],
  datetime_env_log: [
    "{% set d = modules.datetime.datetime.strptime('2024-02-28', '%Y-%m-%d') %}{% do log('rendering ' ~ this.name, info=True) %}\nselect '{{ (d + modules.datetime.timedelta(days=2)).strftime(\"%Y-%m-%d\") }}|{{ env_var(\"TRIB_TEST_ENV\", \"unset\") }}|{{ env_var(\"TRIB_TEST_SET\") }}|{{ run_started_at.strftime(\"%Y\") }}|{{ target.name }}/{{ target.schema }}/{{ target.type }}' as out",
    "2024-03-01|unset|yes|2031|dev/main/duckdb",
  ],
};

const MACROS = `
{% macro greet(name, greeting='hello', punct='!') -%}
  {{ greeting }} {{ name }}{{ punct }}
{%- endmacro %}

{% macro column_list() %}
  {% set cols = ['a', 'b'] %}
  {% do cols.append('c') %}
  {{ return(cols) }}
{% endmacro %}

{% macro flavour() %}{{ return(adapter.dispatch('flavour')()) }}{% endmacro %}
{% macro default__flavour() %}default flavour{% endmacro %}
{% macro duckdb__flavour() %}duckdb flavour{% endmacro %}

{% test not_a_macro(model, column_name) %}
  select * from {{ model }} where {{ column_name }} is null
{% endtest %}
`;

describe("dbt Jinja idioms", () => {
  let p: TestProject;
  let t: TempWarehouse;
  let r: Record<string, EmbeddedNodeResult>;
  const logs: string[] = [];

  before(async () => {
    const files: Record<string, string> = {
      "macros/util.sql": MACROS,
      // an installed package: macros reachable as vendorpkg.<name>, its own dispatch namespace
      "dbt_packages/vendorpkg/dbt_project.yml": "name: vendorpkg\n",
      "dbt_packages/vendorpkg/macros/hello.sql":
        "{% macro vendor_hello() %}{{ return(adapter.dispatch('vendor_hello', 'vendorpkg')()) }}{% endmacro %}\n{% macro default__vendor_hello() %}vendor hello from {{ helper() }}{% endmacro %}\n{% macro helper() %}default{% endmacro %}",
      // a package written the way dbt-utils is: private helpers, legacy dispatch(packages=...),
      // statement + return() inside the call block, dicts keyed by expressions
      "dbt_packages/helperpkg/dbt_project.yml": "name: helperpkg\n",
      "dbt_packages/helperpkg/macros/helpers.sql": `
{% macro _check_relation(obj, macro) -%}
  {%- if obj.name is none -%}{{ exceptions.raise_compiler_error(macro ~ ' expects a relation') }}{%- endif -%}
{%- endmacro %}
{% macro _namespaces() %}{% do return(var('helperpkg_dispatch_list', []) + ['helperpkg']) %}{% endmacro %}
{% macro surrogate(fields) -%}
  {{ return(adapter.dispatch('surrogate', packages=helperpkg._namespaces())(fields)) }}
{%- endmacro %}
{% macro default__surrogate(fields) -%}
  md5({{ fields | join(" || '-' || ") }})
{%- endmacro %}
{% macro first_value_of(relation, column) -%}
  {%- do helperpkg._check_relation(relation, 'first_value_of') -%}
  {%- call statement('first_value', fetch_result=True) -%}
    {%- if relation is none -%}{{ return('') }}{%- endif -%}
    select {{ column }} from {{ relation }} order by 1 limit 1
  {%- endcall -%}
  {%- set res = load_result('first_value') -%}
  {{ return(res['data'] | map(attribute=0) | first) }}
{%- endmacro %}
{% macro columns_by_type(relation) -%}
  {%- set out = {} -%}
  {%- for col in adapter.get_columns_in_relation(relation) -%}
    {%- if col.dtype not in out -%}{%- do out.update({col.dtype: []}) -%}{%- endif -%}
    {%- do out[col.dtype].append(col.column) -%}
  {%- endfor -%}
  {{ return(out) }}
{%- endmacro %}
`,
      "models/orders_src.sql": "{{ config(materialized='table') }}\nselect * from (values (1, 'placed'), (2, 'shipped'), (3, 'completed'), (4, 'placed')) v(id, status)",
    };
    for (const [name, [src]] of Object.entries(MODELS)) files[`models/${name}.sql`] = src;
    p = writeProject(files);
    p.macroFiles.push(
      { file: `${p.root}/dbt_packages/vendorpkg/macros/hello.sql`, package: "vendorpkg" },
      { file: `${p.root}/dbt_packages/helperpkg/macros/helpers.sql`, package: "helperpkg" },
    );
    for (const n of p.nodes.values()) if (n.name !== "orders_src") (p.deps.get(n.name) ?? []).push("orders_src");
    t = await tempWarehouse();
    r = Object.fromEntries(
      (
        await runEmbeddedStep(
          stepNodes(p),
          contextFor(p, t.wh, {
            env: { TRIB_TEST_SET: "yes" },
            runStartedAt: new Date("2031-05-06T07:08:09Z"),
            onLog: (e) => logs.push(`${e.id}:${e.level}:${e.message}`),
          }),
        )
      ).map((x) => [x.id, x]),
    );
  });
  after(() => t.cleanup());

  for (const [name, [, expected]] of Object.entries(MODELS)) {
    test(name, async () => {
      assert.equal(r[name].status, "success", r[name].error);
      assert.deepEqual(await t.wh.query(`select out from main.${name}`), [{ out: expected }], r[name].compiledSql);
    });
  }

  test("loop.last leaves no trailing comma in a column list", async () => {
    const cols = (await t.wh.columns("main", "loop_last")).map((c) => c.name);
    assert.deepEqual(cols, ["credit_card", "coupon", "out"]);
  });

  test("a tuple renders as a SQL tuple", () => {
    assert.match(r.list_concat_tuple.compiledSql ?? "", /where 'placed' in \('placed', 'shipped'\)/);
  });

  test("log() goes to onLog with the node id", () => {
    assert.ok(logs.includes("datetime_env_log:info:rendering datetime_env_log"), logs.join("\n"));
    // run_query makes the engine render twice; the log line is still reported once
    assert.equal(logs.filter((l) => l === "run_query_pivot:info:pivot renders once").length, 1);
  });
});

describe("hooks and seeds", () => {
  test("pre_hook / post_hook run around the model, with Jinja and `this`", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject({
        "models/hooked.sql":
          "{{ config(materialized='table', pre_hook=\"create table if not exists main.audit (msg varchar)\", post_hook=[\"insert into main.audit values ('built {{ this.identifier }}')\"]) }}\nselect 1 as x",
      });
      const r = await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh));
      assert.equal(r[0].status, "success", r[0].error);
      assert.deepEqual(await t.wh.query("select msg from main.audit"), [{ msg: "built hooked" }]);
    } finally {
      t.cleanup();
    }
  });

  test("seed column_types and delimiter, +schema for seeds", async () => {
    const t = await tempWarehouse();
    try {
      const p = writeProject(
        { "seeds/codes.csv": "code;label\n001;one\n002;two\n" },
        "name: idioms\nseeds:\n  idioms:\n    +schema: raw\n    +delimiter: ';'\n    +column_types:\n      code: varchar\n",
      );
      const r = await runEmbeddedStep(stepNodes(p), contextFor(p, t.wh));
      assert.equal(r[0].status, "success", r[0].error);
      assert.equal(r[0].rows, 2);
      assert.equal(r[0].relation, '"main_raw"."codes"');
      assert.deepEqual(await t.wh.query("select code, label from main_raw.codes order by code"), [
        { code: "001", label: "one" },
        { code: "002", label: "two" },
      ]);
    } finally {
      t.cleanup();
    }
  });
});
