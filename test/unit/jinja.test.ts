import { test } from "node:test";
import assert from "node:assert/strict";
import { evalEnabled, jinjaTruth, literalValue, resolveJinjaExpr, resolveJinjaValues, scanSql, substituteParams } from "../../server/src/index/dbt/jinja";
import { LineIndex } from "../../server/src/index/lineIndex";
import type { JinjaExpr, RefCall, SqlFacts } from "../../server/src/index/facts";
import type { Span } from "../../server/src/protocol/types";

const FILE = "/ws/proj/models/m.sql";

function sp(l1: number, c1: number, l2: number, c2: number): Span {
  return { start: { line: l1, character: c1 }, end: { line: l2, character: c2 } };
}

/** The text a span covers. */
function cover(text: string, span: Span): string {
  const li = new LineIndex(text);
  return text.slice(li.offset(span.start), li.offset(span.end));
}

/** Ref arguments as plain strings where literal (else the expression). */
function refNames(refs: RefCall[]): unknown[] {
  return refs.map((r) => {
    const vals = r.args.map((a) => (a.type === "string" ? a.value : a));
    return vals.length === 1 ? vals[0] : vals;
  });
}

function scan(text: string): SqlFacts {
  return scanSql(text, FILE);
}

function noDiags(f: SqlFacts): void {
  assert.deepEqual(f.diagnostics.map((d) => d.message), []);
}

const str = (value: string): JinjaExpr => ({ type: "string", value });

// ---------------------------------------------------------------- LineIndex

void test("LineIndex: positions, offsets and spans over \\n, \\r\\n and lone \\r", () => {
  const text = "ab\ncd\r\nef\rgh";
  const li = new LineIndex(text);
  assert.equal(li.lineCount, 4);
  assert.deepEqual(li.position(0), { line: 0, character: 0 });
  assert.deepEqual(li.position(2), { line: 0, character: 2 });
  assert.deepEqual(li.position(3), { line: 1, character: 0 });
  assert.deepEqual(li.position(7), { line: 2, character: 0 });
  assert.deepEqual(li.position(10), { line: 3, character: 0 });
  assert.deepEqual(li.position(12), { line: 3, character: 2 });
  // clamped
  assert.deepEqual(li.position(-5), { line: 0, character: 0 });
  assert.deepEqual(li.position(99), { line: 3, character: 2 });
  assert.deepEqual(li.span(4, 8), sp(1, 1, 2, 1));
  for (let o = 0; o <= text.length; o++) {
    if (text[o - 1] === "\r" && text[o] === "\n") continue; // inside a CRLF
    assert.equal(li.offset(li.position(o)), o, `offset ${o}`);
  }
  // character past the end of a line stops before its line break
  assert.equal(li.offset({ line: 1, character: 50 }), 5);
  assert.equal(li.offset({ line: 9, character: 0 }), text.length);
  assert.equal(new LineIndex("").lineCount, 1);
  assert.deepEqual(new LineIndex("").position(0), { line: 0, character: 0 });
});

void test("LineIndex: UTF-16 code units", () => {
  const text = "é😀x\ny";
  const li = new LineIndex(text);
  assert.deepEqual(li.position(text.indexOf("x")), { line: 0, character: 3 });
  assert.deepEqual(li.position(text.indexOf("y")), { line: 1, character: 0 });
});

// ---------------------------------------------------------------- refs and sources

void test("finds refs and sources with exact spans", () => {
  const text = [
    "select *", // 0
    "from {{ ref('stg_orders') }} o", // 1
    "join {{ source(\"jaffle\", 'raw_customers') }} c on true", // 2
  ].join("\n");
  const f = scan(text);
  noDiags(f);
  assert.equal(f.refs.length, 1);
  const r = f.refs[0];
  assert.deepEqual(r.args, [str("stg_orders")]);
  assert.deepEqual(r.kwargs, {});
  assert.deepEqual(r.nameSpan, sp(1, 12, 1, 24));
  assert.equal(cover(text, r.nameSpan), "'stg_orders'");
  assert.deepEqual(r.span, sp(1, 8, 1, 25));
  assert.equal(cover(text, r.span), "ref('stg_orders')");
  assert.equal(r.packageSpan, undefined);

  assert.equal(f.sources.length, 1);
  const s = f.sources[0];
  assert.deepEqual(s.args, [str("jaffle"), str("raw_customers")]);
  assert.deepEqual(s.sourceSpan, sp(2, 15, 2, 23));
  assert.equal(cover(text, s.sourceSpan), '"jaffle"');
  assert.equal(cover(text, s.tableSpan), "'raw_customers'");
  assert.equal(cover(text, s.span), "source(\"jaffle\", 'raw_customers')");
});

void test("two-argument refs, version kwargs and builtins", () => {
  const text = "{{ ref('other_proj', 'dim_x') }} {{ ref('m', v=2) }} {{ ref('m', version='3') }}\n" +
    "{{ builtins.ref('b') }} {{ builtins.source('s', 't') }}";
  const f = scan(text);
  noDiags(f);
  assert.equal(f.refs.length, 4);
  const [two, v, version, bi] = f.refs;
  assert.deepEqual(two.args, [str("other_proj"), str("dim_x")]);
  assert.equal(cover(text, two.nameSpan), "'dim_x'");
  assert.ok(two.packageSpan);
  assert.equal(cover(text, two.packageSpan!), "'other_proj'");
  assert.deepEqual(v.args, [str("m")]);
  assert.deepEqual(v.kwargs, { v: { type: "number", value: 2 } });
  assert.deepEqual(version.kwargs, { version: str("3") });
  assert.deepEqual(bi.args, [str("b")]);
  assert.equal(cover(text, bi.span), "builtins.ref('b')");
  assert.deepEqual(f.sources.map((s) => s.args), [[str("s"), str("t")]]);
  // none of these are macro calls
  assert.deepEqual(f.macroCalls, []);
});

void test("refs inside if / elif / else / for / set / call bodies, args and lists", () => {
  const text = `
{% if target.name == 'prod' %}
  select * from {{ ref('a_if') }}
{% elif var('x', false) %}
  select * from {{ ref('a_elif') }}
{% else %}
  select * from {{ ref('a_else') }}
{% endif %}
{% for rel in [ref('l1'), ref("l2")] %}
  select * from {{ rel }} union all {{ ref('in_for') }}
{% endfor %}
{% set upstream = ref('in_set_expr') %}
{% set block_sql %}select * from {{ ref('in_set_block') }}{% endset %}
{% call statement('main', fetch_result=True) %}select * from {{ ref('in_call') }}{% endcall %}
{{ dbt_utils.star(from=ref('in_kwarg'), except=["id"]) }}
{{ ref('cond_a') if is_incremental() else ref('cond_b') }}
{% do log(ref('in_do')) %}
{{ adapter.get_relation(database=ref('in_attr').database, schema='s', identifier='t') }}
`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), [
    "a_if", "a_elif", "a_else", "l1", "l2", "in_for", "in_set_expr", "in_set_block", "in_call",
    "in_kwarg", "cond_a", "cond_b", "in_do", "in_attr",
  ]);
});

void test("whitespace control, extra whitespace and multi-line calls", () => {
  const text = [
    "{{- ref('a') -}}",
    "{%- set x = ref('b') -%}",
    "{%+ if true +%}{{ref('c')}}{%- endif %}",
    "{{",
    "  ref(",
    "    'multi'",
    "  ,  v = 1",
    "  )",
    "}}",
  ].join("\n");
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), ["a", "b", "c", "multi"]);
  const multi = f.refs[3];
  assert.deepEqual(multi.nameSpan, sp(5, 4, 5, 11));
  assert.deepEqual(multi.span, sp(4, 2, 7, 3));
  assert.deepEqual(multi.kwargs, { v: { type: "number", value: 1 } });
});

void test("Jinja comments and raw blocks are skipped; SQL comments are not", () => {
  const text = `
{# {{ ref('in_comment') }} #}
{#- multi
    line {{ ref('in_comment2') }} -#}
{% raw %}{{ ref('in_raw') }}{% endraw %}
{%- raw -%} {{ ref('in_raw2') }} {%- endraw -%}
-- depends_on: {{ ref('depends') }}
/* {{ ref('in_block_comment') }} */
select 1
`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), ["depends", "in_block_comment"]);
});

void test("quotes: both styles, escapes, adjacent literals", () => {
  const text = String.raw`{{ ref("dq") }} {{ ref('it\'s') }} {{ ref("say \"hi\"") }} {{ ref('back\\') }} {{ ref('a' "b") }} {{ ref('tab\tx') }}`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), ["dq", "it's", 'say "hi"', "back\\", "ab", "tab\tx"]);
  assert.equal(cover(text, f.refs[1].nameSpan), String.raw`'it\'s'`);
});

void test("strings holding tag delimiters do not end the tag; nested dicts close with }}", () => {
  const text = `{{ config(post_hook="grant select on {{ this }} to role r", pre_hook='{% if x %}%}') }}
{{ '{% snapshot ' ~ name ~ ' %}' }}
{% set d = {'a': {'b': ref('in_dict')}} %}
{{ ref('after') }}`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), ["in_dict", "after"]);
  assert.deepEqual(f.config.post_hook, str("grant select on {{ this }} to role r"));
  assert.deepEqual(f.config.pre_hook, str("{% if x %}%}"));
});

void test("unicode before a ref: positions are UTF-16 code units", () => {
  const text = "-- 👩‍💻 café\nselect '😀', {{ ref('m') }}";
  const f = scan(text);
  noDiags(f);
  const li = new LineIndex(text);
  const off = text.indexOf("'m'");
  assert.deepEqual(f.refs[0].nameSpan, { start: li.position(off), end: li.position(off + 3) });
  // "select '😀', {{ ref(" : the emoji is two code units
  assert.deepEqual(f.refs[0].nameSpan, sp(1, 20, 1, 23));
});

// ---------------------------------------------------------------- expressions

void test("argument expressions: var, concatenation, unknown, filters", () => {
  const text = `{{ ref(var('model_name')) }}
{{ ref('stg_' ~ var('src', 'shop') ~ '_orders') }}
{{ ref("a" + "b") }}
{{ ref(model_name) }}
{{ ref('X' | lower) }}
{{ ref(some.attr) }}
{{ ref('a' if x else 'b') }}
{{ ref(('paren')) }}
{{ source(var('src_name'), 'tbl') }}
{{ ref('a' if x) }}`;
  const f = scan(text);
  noDiags(f);
  const a = f.refs.map((r) => r.args[0]);
  assert.deepEqual(a[0], { type: "var", name: str("model_name") });
  assert.deepEqual(a[1], {
    type: "concat",
    parts: [str("stg_"), { type: "var", name: str("src"), fallback: str("shop") }, str("_orders")],
  });
  assert.deepEqual(a[2], { type: "concat", parts: [str("a"), str("b")] });
  assert.deepEqual(a[3], { type: "unknown", text: "model_name" });
  assert.deepEqual(a[4], { type: "unknown", text: "'X' | lower" });
  assert.deepEqual(a[5], { type: "unknown", text: "some.attr" });
  // a conditional expression: either branch, by a condition the linker may know (here it cannot)
  assert.deepEqual(a[6], { type: "choice", when: { type: "unknown", text: "x" }, then: str("a"), otherwise: str("b") });
  assert.deepEqual(a[8], { type: "unknown", text: "'a' if x" });
  assert.deepEqual(a[7], str("paren"));
  assert.deepEqual(f.sources[0].args[0], { type: "var", name: str("src_name") });
  // the name span of a non-literal argument is the whole expression
  assert.equal(cover(text, f.refs[1].nameSpan), "'stg_' ~ var('src', 'shop') ~ '_orders'");
});

void test("resolveJinjaExpr", () => {
  const vars = { model_name: "dim_users", src: "erp", n: 3, flag: true, list: [1], nul: null };
  const parse = (arg: string): JinjaExpr => scan(`{{ ref(${arg}) }}`).refs[0].args[0];
  assert.equal(resolveJinjaExpr(parse("'plain'"), vars), "plain");
  assert.equal(resolveJinjaExpr(parse("var('model_name')"), vars), "dim_users");
  assert.equal(resolveJinjaExpr(parse("var('missing')"), vars), undefined);
  assert.equal(resolveJinjaExpr(parse("var('missing', 'fallback')"), vars), "fallback");
  assert.equal(resolveJinjaExpr(parse("var('missing', default='kw_fallback')"), vars), "kw_fallback");
  assert.equal(resolveJinjaExpr(parse("var('src', 'x') ~ '_' ~ var('n')"), vars), "erp_3");
  assert.equal(resolveJinjaExpr(parse("'v' ~ 2"), vars), "v2");
  assert.equal(resolveJinjaExpr(parse("'a' + var('src')"), vars), "aerp");
  assert.equal(resolveJinjaExpr(parse("var('flag')"), vars), "True");
  assert.equal(resolveJinjaExpr(parse("var('list')"), vars), undefined);
  assert.equal(resolveJinjaExpr(parse("var('nul', 'd')"), vars), undefined);
  assert.equal(resolveJinjaExpr(parse("var('mod' ~ 'el_name')"), vars), "dim_users");
  assert.equal(resolveJinjaExpr(parse("'stg_' ~ suffix"), vars), undefined);
  assert.equal(resolveJinjaExpr(parse("x"), vars), undefined);
  assert.equal(resolveJinjaExpr(parse("12"), vars), "12");
  assert.equal(resolveJinjaExpr({ type: "none" }, vars), undefined);
  // `+` of numbers is arithmetic, not concatenation; `-` is never a concatenation
  assert.equal(parse("1 + 2").type, "unknown");
  assert.deepEqual(parse("'a' ~ 'b' - 1"), { type: "unknown", text: "'a' ~ 'b' - 1" });
});

void test("literalValue and config(...) merging", () => {
  const text = `{{ config(materialized='view', tags=['a', "b"], enabled=true) }}
select 1
{{ config(
    materialized = 'table',
    meta={'owner': 'data', 'tier': 1, 'big': 1_000, 'nested': {'x': [1, 2.5, -3]}, 'none': none},
    full_refresh=False,
    alias=var('alias_name', 'fallback_alias'),
    schema='s_' ~ target.name,
    unique_key=['id', var('k')],
    grants=dict(select=['reporter']),
    persist_docs={"relation": True},
) }}
{{ config({'database': 'db1'}) }}`;
  const f = scan(text);
  noDiags(f);
  const c = f.config;
  assert.deepEqual(c.materialized, str("table")); // later call wins
  assert.deepEqual(c.tags, { type: "list", items: [str("a"), str("b")] });
  assert.equal(literalValue(c.materialized), "table");
  assert.deepEqual(literalValue(c.tags), ["a", "b"]);
  assert.equal(literalValue(c.enabled), true);
  assert.equal(literalValue(c.full_refresh), false);
  assert.deepEqual(literalValue(c.meta), { owner: "data", tier: 1, big: 1000, nested: { x: [1, 2.5, -3] }, none: null });
  assert.deepEqual(literalValue(c.grants), { select: ["reporter"] });
  assert.deepEqual(literalValue(c.persist_docs), { relation: true });
  assert.equal(literalValue(c.database), "db1");
  // var / concat / unknown
  assert.equal(literalValue(c.alias), undefined);
  assert.equal(literalValue(c.alias, {}), "fallback_alias");
  assert.equal(literalValue(c.alias, { alias_name: "given" }), "given");
  assert.equal(c.schema.type, "concat");
  assert.equal(literalValue(c.schema), undefined);
  assert.equal(literalValue(c.unique_key), undefined); // a list with a var item
  assert.deepEqual(literalValue(c.unique_key, { k: "day" }), ["id", "day"]);
  assert.equal(literalValue({ type: "unknown", text: "x" }), undefined);
});

// ---------------------------------------------------------------- macros, snapshots

void test("macro, test and materialization blocks hold their own refs", () => {
  const text = `{{ ref('file_level') }}
{% macro get_orders(limit=10, rel=ref('default_arg')) -%}
  {{ config(materialized='table') }}
  select * from {{ ref('in_macro') }} {{ helper() }} {{ source('s', 'in_macro_src') }}
  {% macro inner() %}{{ ref('in_nested_macro') }}{% endmacro %}
{%- endmacro %}
{% test my_test(model, column_name) %}select * from {{ model }} join {{ ref('in_test') }}{% endtest %}
{% materialization my_mat, adapter='duckdb' %}{{ run_hooks(pre_hooks) }}{% endmaterialization %}
{{ ref('file_level_after') }} {{ get_orders() }}`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(refNames(f.refs), ["file_level", "file_level_after"]);
  assert.deepEqual(f.sources, []);
  assert.deepEqual(f.macroCalls.map((m) => m.name), ["get_orders"]);
  assert.deepEqual(f.config, {}, "config() inside a macro is not the file's config");
  assert.deepEqual(f.macros.map((m) => m.name), ["get_orders", "my_test", "my_mat"]);
  const [m, t, mat] = f.macros;
  assert.deepEqual(refNames(m.refs), ["default_arg", "in_macro", "in_nested_macro"]);
  assert.deepEqual(m.sources.map((s) => s.args), [[str("s"), str("in_macro_src")]]);
  assert.deepEqual(m.macroCalls.map((c) => c.name), ["helper"]);
  assert.deepEqual(m.nameSpan, sp(1, 9, 1, 19));
  assert.deepEqual(m.span, sp(1, 0, 5, 15));
  assert.ok(cover(text, m.span).startsWith("{% macro get_orders"));
  assert.ok(cover(text, m.span).endsWith("{%- endmacro %}"));
  assert.deepEqual(refNames(t.refs), ["in_test"]);
  assert.equal(cover(text, t.nameSpan), "my_test");
  assert.deepEqual(mat.macroCalls.map((c) => c.name), ["run_hooks"]);
});

void test("snapshot blocks hold their own refs, sources, calls and config", () => {
  const text = `{% snapshot orders_snapshot %}
{{
    config(
      target_schema='snapshots',
      unique_key='id',
      strategy='timestamp',
      updated_at='updated_at',
      invalidate_hard_deletes=True,
    )
}}
select * from {{ source('jaffle_shop', 'orders') }} join {{ ref('dim') }} using (id)
where {{ my_filter() }}
{% endsnapshot %}`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(f.refs, []);
  assert.deepEqual(f.sources, []);
  assert.deepEqual(f.macroCalls, []);
  assert.deepEqual(f.config, {});
  assert.equal(f.snapshots.length, 1);
  const s = f.snapshots[0];
  assert.equal(s.name, "orders_snapshot");
  assert.deepEqual(s.nameSpan, sp(0, 12, 0, 27));
  assert.deepEqual(s.span, sp(0, 0, 12, 17));
  assert.deepEqual(refNames(s.refs), ["dim"]);
  assert.deepEqual(s.sources.map((x) => x.args), [[str("jaffle_shop"), str("orders")]]);
  assert.deepEqual(s.macroCalls.map((c) => c.name), ["my_filter"]);
  assert.deepEqual(Object.keys(s.config), ["target_schema", "unique_key", "strategy", "updated_at", "invalidate_hard_deletes"]);
  assert.equal(literalValue(s.config.invalidate_hard_deletes), true);
});

// ---------------------------------------------------------------- macro calls

void test("macro calls: what counts and what does not", () => {
  const text = `{% set cols = adapter.get_columns_in_relation(ref('x')) %}
{% set parts = 'a.b'.split('.') %}
{% for col in cols %}{{ col.name.upper() }}{{ col.is_string() }}{% endfor %}
{% for k, v in config_dict.items() %}{{ k }}{% endfor %}
{{ my_macro(1) }}
{{ dbt_utils.star(from=ref('x'), except=['a']) }}
{{ dbt.date_trunc('day', 'created_at') }}
{{ adapter.quote('x') }}
{{ exceptions.raise_compiler_error('boom') }}
{{ modules.datetime.date.today() }}
{{ this.incorporate(path={'x': 1}) }}
{{ target.name.lower() }}
{{ is_incremental() }} {{ var('x') }} {{ env_var('Y') }} {{ range(3) }} {{ log('x') }} {{ return(1) }}
{{ 'x' | replace('a', 'b') }} {{ x | my_filter_arg(1) }}
{% if x is divisibleby(3) %}{% endif %}{% if x is not sameas(y) %}{% endif %}
{{ results.columns[0].values() }} {{ get_thing().method() }}
{{ cols.append(1) }} {{ unknown_obj.items() }}
{{ run_query(my_sql_macro()) }}
{{ pkg.helper(x=other_pkg.nested_call()) }}
{% call statement('s') %}{% endcall %}
{% call(row) dbt_unit.run(row) %}{{ caller(row) }}{% endcall %}
{{ return(adapter.dispatch('generate', 'my_pkg')(a, b)) }}
{{ adapter.dispatch('other')() }}
{% set helper_obj = {} %}{{ helper_obj.do_thing() }}
{% macro m(rel) %}{{ rel.compute() }}{% endmacro %}
{{ some_pkg.sub.fn() }}
{% for item in items_list %}{{ item.custom_method() }}{% endfor %}`;
  const f = scan(text);
  noDiags(f);
  assert.deepEqual(f.macroCalls.map((m) => m.name), [
    "my_macro",
    "dbt_utils.star",
    "dbt.date_trunc",
    "get_thing", // a call; the method called on its result is not
    "my_sql_macro",
    "pkg.helper",
    "other_pkg.nested_call",
    "dbt_unit.run",
    "my_pkg.default__generate",
    "default__other",
  ]);
  assert.ok(!f.macroCalls.some((m) => m.name.startsWith("adapter.")));
  assert.deepEqual(f.macros[0].macroCalls, [], "method call on a macro parameter");
  const star = f.macroCalls[1];
  assert.equal(cover(text, star.span), "dbt_utils.star");
  assert.deepEqual(star.span, sp(5, 3, 5, 17));
});

// ---------------------------------------------------------------- diagnostics

function diag(f: SqlFacts): { message: string; span: Span; code: string; severity: string }[] {
  return f.diagnostics.map((d) => ({ message: d.message, span: d.span, code: d.code, severity: d.severity }));
}

void test("diagnostics: unclosed tags and comments", () => {
  let f = scan("select {{ ref('a') \nfrom x {{ ref('b') }}");
  assert.deepEqual(diag(f), [
    { message: "Unclosed '{{' opened here (expected '}}')", span: sp(0, 7, 0, 9), code: "jinja-syntax", severity: "error" },
  ]);
  assert.deepEqual(refNames(f.refs), ["a", "b"]);

  f = scan("{{ ref('a') }}\n{% if x \nselect {{ ref('b') }}\n{% endif %}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["Unclosed '{%' opened here (expected '%}')", sp(1, 0, 1, 2)]]);
  assert.deepEqual(refNames(f.refs), ["a", "b"]);

  f = scan("{{ ref('a') }}\n  {# unclosed comment {{ ref('b') }}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["Unclosed '{#' opened here (expected '#}')", sp(1, 2, 1, 4)]]);
  assert.deepEqual(refNames(f.refs), ["a"]);

  f = scan("{{ ref('a') %}");
  assert.deepEqual(diag(f).map((d) => d.message), ["'{{' is closed by '%}' (expected '}}')"]);
  assert.deepEqual(refNames(f.refs), ["a"]);

  f = scan("{% set x = 1 }}{{ ref('a') }}");
  assert.deepEqual(diag(f).map((d) => d.message), ["'{%' is closed by '}}' (expected '%}')"]);
  assert.deepEqual(refNames(f.refs), ["a"]);
});

void test("diagnostics: unbalanced block tags", () => {
  let f = scan("{% if a %}\n{{ ref('x') }}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [
    ["'{% if %}' is never closed (expected '{% endif %}')", sp(0, 0, 0, 10)],
  ]);
  assert.deepEqual(refNames(f.refs), ["x"]);

  f = scan("{{ ref('x') }}\n{% endif %}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["'{% endif %}' without matching '{% if %}'", sp(1, 0, 1, 11)]]);

  f = scan("{% for x in y %}{% if z %}{% endfor %}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [
    ["'{% if %}' is never closed (expected '{% endif %}')", sp(0, 16, 0, 26)],
  ]);

  const cases: [string, string][] = [
    ["{% macro m() %}", "'{% macro %}' is never closed (expected '{% endmacro %}')"],
    ["{% endmacro %}", "'{% endmacro %}' without matching '{% macro %}'"],
    ["{% snapshot s %}", "'{% snapshot %}' is never closed (expected '{% endsnapshot %}')"],
    ["{% endsnapshot %}", "'{% endsnapshot %}' without matching '{% snapshot %}'"],
    ["{% call statement('x') %}", "'{% call %}' is never closed (expected '{% endcall %}')"],
    ["{% endcall %}", "'{% endcall %}' without matching '{% call %}'"],
    ["{% set x %}body", "'{% set %}' is never closed (expected '{% endset %}')"],
    ["{% endset %}", "'{% endset %}' without matching '{% set %}'"],
    ["{% filter upper %}", "'{% filter %}' is never closed (expected '{% endfilter %}')"],
    ["{% endfilter %}", "'{% endfilter %}' without matching '{% filter %}'"],
    ["{% test t(model) %}", "'{% test %}' is never closed (expected '{% endtest %}')"],
    ["{% endtest %}", "'{% endtest %}' without matching '{% test %}'"],
    ["{% materialization m, default %}", "'{% materialization %}' is never closed (expected '{% endmaterialization %}')"],
    ["{% endmaterialization %}", "'{% endmaterialization %}' without matching '{% materialization %}'"],
    ["{% for x in y %}", "'{% for %}' is never closed (expected '{% endfor %}')"],
    ["{% endfor %}", "'{% endfor %}' without matching '{% for %}'"],
    ["{% raw %}{{ x }}", "'{% raw %}' is never closed (expected '{% endraw %}')"],
    ["{% endraw %}", "'{% endraw %}' without matching '{% raw %}'"],
    ["{% else %}", "'{% else %}' without matching '{% if %}' or '{% for %}'"],
    ["{% elif x %}", "'{% elif %}' without matching '{% if %}'"],
    ["{% if a %}{% for x in y %}{% elif b %}{% endfor %}{% endif %}", "'{% elif %}' inside '{% for %}' (expected '{% endfor %}' first)"],
    ["{% macro %}{% endmacro %}", "'{% macro %}' needs a name"],
    ["{% %}", "Empty '{% %}' tag (expected a tag name)"],
  ];
  for (const [src, message] of cases) {
    const d = scan(src).diagnostics;
    assert.deepEqual(d.map((x) => x.message), [message], src);
    assert.equal(d[0].code, "jinja-syntax");
    assert.equal(d[0].severity, "error");
    assert.equal(d[0].file, FILE);
  }
  // balanced ones are fine, including set-with-assignment (no endset) and for/else
  noDiags(scan("{% set x = 1 %}{% set y %}{% endset %}{% for a in b %}{% else %}{% endfor %}{% if a %}{% elif b %}{% else %}{% endif %}"));
});

void test("diagnostics: a macro closed with a block open inside reports the inner block", () => {
  const text = "{% macro m() %}\n{% if x %}{{ ref('in_m') }}\n{% endmacro %}\n{{ ref('out') }}";
  const f = scan(text);
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [
    ["'{% if %}' is never closed (expected '{% endif %}')", sp(1, 0, 1, 10)],
  ]);
  assert.deepEqual(refNames(f.refs), ["out"]);
  assert.deepEqual(refNames(f.macros[0].refs), ["in_m"]);
  assert.deepEqual(f.macros[0].span, sp(0, 0, 2, 14));
});

void test("a definition left open inside another block ends where that block is closed", () => {
  const text = "{% if x %}{% macro m() %}{{ ref('a') }}{% endif %}{{ ref('b') }}";
  const f = scan(text);
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [
    ["'{% macro %}' is never closed (expected '{% endmacro %}')", sp(0, 10, 0, 25)],
  ]);
  assert.deepEqual(refNames(f.refs), ["b"]);
  assert.deepEqual(refNames(f.macros[0].refs), ["a"]);
  assert.equal(cover(text, f.macros[0].span), "{% macro m() %}{{ ref('a') }}");
});

void test("diagnostics: unterminated strings and unbalanced parentheses", () => {
  let f = scan("{{ ref('stg_orders) }}\nselect * from {{ ref('x') }}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["Unterminated string literal", sp(0, 7, 0, 19)]]);
  // the bad argument is not taken for a name; later refs survive
  assert.equal(f.refs[0].args[0].type, "unknown");
  assert.deepEqual(refNames(f.refs).slice(1), ["x"]);

  f = scan("{{ ref('a' }}\n{{ ref('b') }}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["'ref(' call is missing its closing ')'", sp(0, 3, 0, 10)]]);
  assert.deepEqual(refNames(f.refs), ["a", "b"]);

  f = scan("{{ source('s', 't' }}");
  assert.deepEqual(diag(f).map((d) => d.message), ["'source(' call is missing its closing ')'"]);

  f = scan("{{ ref('a')) }}");
  assert.deepEqual(diag(f).map((d) => [d.message, d.span]), [["Unbalanced brackets in '{{ ... }}' tag", sp(0, 0, 0, 15)]]);
  assert.deepEqual(refNames(f.refs), ["a"]);

  f = scan("{% set x = [1, 2 %}{{ ref('b') }}");
  assert.deepEqual(diag(f).map((d) => d.message), ["Unbalanced brackets in '{% ... %}' tag"]);
  assert.deepEqual(refNames(f.refs), ["b"]);
});

void test("a truncated model never throws and keeps every ref before the cut", () => {
  const text = `{{
    config(
        materialized='incremental',
        unique_key="order_id",
        tags=['finance', 'daily'],
        meta={'owner': 'data-team'}
    )
}}
{%- set payment_methods = ['credit_card', 'coupon', 'bank_transfer'] -%}
{# a comment with {{ ref('not_counted') }} #}
with orders as (
    select * from {{ ref('stg_orders') }}
    -- depends_on: {{ ref("stg_dates") }}
),
payments as (
    select * from {{ source('stripe', 'payment') }}
),
pivoted as (
    select order_id,
    {% for m in payment_methods -%}
    sum(case when method = '{{ m }}' then amount end) as {{ m }}_amount{% if not loop.last %},{% endif %}
    {% endfor %}
    from payments group by 1
)
select o.*, {{ dbt_utils.generate_surrogate_key(['o.order_id', "o.customer_id"]) }} as sk
from orders o left join pivoted p using (order_id)
left join {{ ref('finance', 'fx_rates', v=2) }} fx on fx.day = {{ dbt.date_trunc('day', 'o.order_date') }}
{% if is_incremental() %}
where o.updated_at > (select max(updated_at) from {{ this }})
{% endif %}
{% raw %}{{ ref('raw_not_counted') }}{% endraw %}
{{ ref('stg_' ~ var('suffix', 'x')) }}
`;
  const full = scan(text);
  noDiags(full);
  assert.deepEqual(refNames(full.refs), ["stg_orders", "stg_dates", ["finance", "fx_rates"], {
    type: "concat",
    parts: [str("stg_"), { type: "var", name: str("suffix"), fallback: str("x") }],
  }]);
  const li = new LineIndex(text);
  const endOffsets = full.refs.map((r) => li.offset(r.span.end));
  for (let k = 0; k <= text.length; k++) {
    const cut = text.slice(0, k);
    let f: SqlFacts;
    assert.doesNotThrow(() => (f = scanSql(cut, FILE)), `cut at ${k}`);
    f = f!;
    assert.ok(!f.diagnostics.some((d) => d.code === "jinja-internal"), `internal error at ${k}`);
    const expected = full.refs.filter((_, i) => endOffsets[i] <= k);
    const got = f.refs.slice(0, expected.length);
    assert.deepEqual(
      got.map((r) => [r.args, r.kwargs, r.span, r.nameSpan]),
      expected.map((r) => [r.args, r.kwargs, r.span, r.nameSpan]),
      `cut at ${k}`,
    );
  }
});

void test("garbage input never throws", () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const atoms = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "(", ")", "[", "]", "{", "}", "'", '"', "\\", " ", "\n", "ref", "source",
    "config", "var", "macro", "endmacro", "if", "endif", "for", "in", "endfor", "set", "=", ",", ".", "~", "|", "raw", "endraw",
    "snapshot", "endsnapshot", "call", "endcall", "x", "1", "2.5", "é", "😀", "adapter", "dispatch", ":", "*", "**", "is", "not"];
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const n = Math.floor(rnd() * 40);
    for (let j = 0; j < n; j++) s += atoms[Math.floor(rnd() * atoms.length)];
    const f = scanSql(s, FILE);
    assert.ok(!f.diagnostics.some((d) => d.code === "jinja-internal"), JSON.stringify(s));
  }
});

void test("scanSql on an empty file and a file without Jinja", () => {
  for (const text of ["", "select 1 from t where a = '{' and b = '}'", "{"]) {
    const f = scan(text);
    assert.deepEqual(f, { refs: [], sources: [], config: {}, macroCalls: [], macros: [], snapshots: [], diagnostics: [] });
  }
});

// ---------------------------------------------------------------- bindings, parameters, guards

void test("macro parameters are recorded with their defaults and stand as `param` in the body", () => {
  const f = scan(`{% macro wrap(model_name, prefix='stg_', n=2, flags=[]) %}{{ ref(prefix ~ model_name) }}{{ other(model_name, k=prefix) }}{% endmacro %}
{{ ref(model_name) }}`);
  noDiags(f);
  const m = f.macros[0];
  assert.deepEqual(m.params, [
    { name: "model_name" },
    { name: "prefix", default: str("stg_") },
    { name: "n", default: { type: "number", value: 2 } },
    { name: "flags", default: { type: "list", items: [] } },
  ]);
  assert.deepEqual(m.refs[0].args[0], { type: "concat", parts: [{ type: "param", name: "prefix" }, { type: "param", name: "model_name" }] });
  assert.deepEqual(m.macroCalls[0].args, [{ type: "param", name: "model_name" }]);
  assert.deepEqual(m.macroCalls[0].kwargs, { k: { type: "param", name: "prefix" } });
  // outside the macro the name is unbound again
  assert.deepEqual(f.refs[0].args[0], { type: "unknown", text: "model_name" });
  const bound = substituteParams(m.refs[0].args[0], { model_name: str("orders"), prefix: str("stg_") });
  assert.deepEqual(resolveJinjaValues(bound, {}), ["stg_orders"]);
});

void test("`set` values and `for` loop variables are substituted; loops give every item", () => {
  const f = scan(`{% set base = 'fct' %}{% set parts = ['a', 'b'] %}
{% for p in parts %}{{ ref(base ~ '_' ~ p) }}{% endfor %}
{% for k, v in pairs %}{{ ref(k) }}{% endfor %}
{{ ref(p) }}
{% set block %}{{ ref('inside_block') }}{% endset %}{{ ref(block) }}`);
  noDiags(f);
  assert.deepEqual(resolveJinjaValues(f.refs[0].args[0], {}), ["fct_a", "fct_b"]);
  assert.equal(f.refs[1].args[0].type, "unknown", "tuple loop targets are not bound");
  assert.equal(f.refs[2].args[0].type, "unknown", "the loop variable is unbound after endfor");
  assert.deepEqual(refNames([f.refs[3]]), ["inside_block"]);
  assert.equal(f.refs[4].args[0].type, "unknown", "a block set is not a value");
  // `set` in an `if`: either value
  const g = scan(`{% set s = 'a' %}{% if target.name == 'prod' %}{% set s = 'b' %}{% endif %}{{ ref(s) }}`);
  assert.deepEqual(resolveJinjaValues(g.refs[0].args[0], {}), ["a", "b"]);
});

void test("calls under `{% if %}` carry their guard; `elif` / `else` negate the branches before", () => {
  const f = scan(`{% if var('a', true) and not var('b', false) %}{{ ref('x') }}
{% elif var('c') == 'on' %}{{ ref('y') }}
{% else %}{{ source('s', 't') }}{{ my_macro() }}{{ var('v') }}{% endif %}
{% if target.name == 'prod' %}{{ ref('unguarded') }}{% endif %}
{% if is_incremental() or var('full', false) %}{{ ref('z') }}{% endif %}`);
  noDiags(f);
  const [x, y, unguarded, z] = f.refs;
  assert.equal(jinjaTruth(x.when!, {}), true);
  assert.equal(jinjaTruth(x.when!, { b: true }), false);
  assert.equal(jinjaTruth(y.when!, { a: false, c: "on" }), true);
  assert.equal(jinjaTruth(y.when!, { c: "on" }), false, "the first branch was taken");
  assert.equal(jinjaTruth(f.sources[0].when!, { a: false, c: "off" }), true);
  assert.equal(jinjaTruth(f.macroCalls[0].when!, {}), false);
  const varCalls = f.varCalls!.map((v) => (v.expr.type === "var" && v.expr.name.type === "string" ? v.expr.name.value : "?"));
  assert.deepEqual(varCalls, ["a", "b", "c", "v", "full"]);
  assert.equal(f.varCalls![0].when, undefined, "a condition's own calls are not under it");
  assert.equal(jinjaTruth(f.varCalls![2].when!, { a: false }), true, "an elif's condition runs when the branches before fail");
  assert.equal(jinjaTruth(f.varCalls![3].when!, {}), false);
  assert.equal(unguarded.when, undefined, "a condition that cannot be known is no guard");
  assert.equal(z.when, undefined, "`or` with an unknown part cannot be known");
});

void test("evalEnabled reads booleans, 'true' / 'false' and `{{ var(...) }}` conditions", () => {
  assert.equal(evalEnabled(false, {}), false);
  assert.equal(evalEnabled("False", {}), false);
  assert.equal(evalEnabled("{{ var('using_x', true) }}", {}), true);
  assert.equal(evalEnabled("{{ var('using_x', true) }}", { using_x: false }), false);
  assert.equal(evalEnabled("{{- var('a', True) and var('b', True) -}}", { b: false }), false);
  assert.equal(evalEnabled("{{ var('a', var('b', False)) | as_bool }}", { b: true }), true);
  assert.equal(evalEnabled("{{ target.name == 'prod' }}", {}), undefined);
  const cfg = scan("{{ config(enabled=var('claims_enabled', False) or var('clinical_enabled', False)) }}").config.enabled;
  assert.equal(evalEnabled(cfg, { clinical_enabled: true }), true);
  assert.equal(evalEnabled(cfg, {}), false);
  const fivetran = scan("{{ config(enabled=fivetran_utils.enabled_vars(['hubspot_marketing_enabled', 'hubspot_email_event_enabled'])) }}").config.enabled;
  assert.equal(evalEnabled(fivetran, {}), true);
  assert.equal(evalEnabled(fivetran, { hubspot_email_event_enabled: false }), false);
  const oneTrue = scan("{{ config(enabled=fivetran_utils.enabled_vars_one_true(['a', 'b'])) }}").config.enabled;
  assert.equal(evalEnabled(oneTrue, {}), false);
  assert.equal(evalEnabled(oneTrue, { b: true }), true);
});
