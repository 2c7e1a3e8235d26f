/**
 * dbt tests on the embedded engine, with dbt's semantics: a test's query selects the failing rows;
 * dbt's `get_test_sql` counts them (`fail_calc`, default `count(*)`) and compares the count with
 * `warn_if` / `error_if` (default `!= 0`); `where` wraps the tested relation
 * (`get_where_subquery`), `limit` caps the rows counted. The built-ins (not_null, unique,
 * accepted_values, relationships) render dbt's own SQL unless the project overrides them; other
 * generic tests call the `{% test %}` macro of the project or package (`test_<name>`), singular
 * tests render their file.
 */
import type { CheckConfig } from "../../protocol/checks";
import type { EmbeddedNode, RelationResolver } from "./nodes";
import { DbtRenderer, type RenderedNode } from "./render";
import { quoteIdent, type Warehouse } from "../warehouse";

export interface EmbeddedTest {
  id: string;
  name: string;
  /** dbt's alias (the hashed name from 64 characters on): the table `store_failures` writes. */
  alias?: string;
  /** A generic test; absent for a singular test (then `file` is its SQL). */
  generic?: {
    /** `not_null`, or `package.name`. */
    test: string;
    model: { ref: string; package?: string; version?: string } | { source: string; table: string };
    column?: string;
    args: Record<string, unknown>;
  };
  /**
   * A dbt unit test: the model rendered with its inputs replaced by the `given` rows (typed like the
   * real input's columns when it exists), compared with the `expect`ed rows.
   */
  unit?: {
    node: EmbeddedNode;
    given: { call: "ref" | "source"; args: string[]; rows: Record<string, unknown>[]; format?: string; relation?: { schema: string; identifier: string } }[];
    expect: Record<string, unknown>[];
  };
  /** Singular test SQL file; for a generic test, the YAML file declaring it (for messages). */
  file: string;
  severity: "error" | "warn";
  config: CheckConfig;
  /** Step nodes the test reads: it runs once they all succeeded (right after the last one). */
  waitFor: string[];
  /** Nodes whose result a failure changes (the assets it checks). */
  attachedTo: string[];
}

export interface EmbeddedTestResult {
  id: string;
  status: "pass" | "fail" | "warn" | "error" | "skipped";
  failures?: number;
  ms: number;
  /** The test's query (before `get_test_sql` counts it): run it to see the failing rows. */
  sql?: string;
  error?: string;
}

const BUILT_INS = new Set(["not_null", "unique", "accepted_values", "relationships"]);
/** A test argument dbt renders as Jinja (`to: ref('customers')`). */
const LOOKS_LIKE_FUNC = /^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$/s;

/** Runs one test: renders it, counts its failing rows and judges the count. Never throws. */
export async function runTest(
  test: EmbeddedTest,
  renderer: DbtRenderer,
  wh: Warehouse,
  render: (renderer: DbtRenderer, node: EmbeddedNode, wh: Warehouse) => Promise<RenderedNode>,
): Promise<EmbeddedTestResult> {
  const t0 = performance.now();
  let sql: string | undefined;
  try {
    if (test.unit) return await runUnitTest(test, renderer, wh, render, t0);
    const node: EmbeddedNode = { id: `test:${test.id}`, resourceType: "model", name: test.name, file: test.file, config: { materialized: "test" } };
    if (test.generic) node.sql = genericTestSql(test, renderer);
    sql = (await render(renderer, node, wh)).sql;
    let main = sql;
    if (test.config.storeFailures) {
      // dbt's test materialization: the failing rows into <schema>_dbt_test__audit.<alias>, counted from there.
      const schema = `${renderer.opts.target.schema}_dbt_test__audit`;
      const table = `"${schema}"."${(test.alias ?? test.name).replace(/"/g, '""')}"`;
      await wh.run(`create schema if not exists "${schema}"`);
      await wh.run(`create or replace table ${table} as ${sql}`);
      main = `select * from ${table}`;
    }
    const counted = testCountSql(main, test.config);
    const rows = await wh.query<{ failures: unknown; should_warn: unknown; should_error: unknown }>(counted);
    const row = rows[0] ?? { failures: 0, should_warn: false, should_error: false };
    const failures = Number(row.failures ?? 0);
    const shouldWarn = truthy(row.should_warn);
    const shouldError = truthy(row.should_error);
    const status = test.severity === "error" && shouldError ? "fail" : shouldWarn ? "warn" : "pass";
    return { id: test.id, status, failures, ms: performance.now() - t0, sql };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const skipped = e instanceof Error && (e as { failedUpstream?: boolean }).failedUpstream === true;
    return { id: test.id, status: skipped ? "skipped" : "error", ms: performance.now() - t0, sql, error: `${test.name} (${test.file}): ${message}` };
  }
}

/** Temp tables of a unit test's fixtures are named after this, numbered. */
const FIXTURE = "__tributary_unit_fixture";

async function runUnitTest(
  test: EmbeddedTest,
  renderer: DbtRenderer,
  wh: Warehouse,
  render: (renderer: DbtRenderer, node: EmbeddedNode, wh: Warehouse) => Promise<RenderedNode>,
  t0: number,
): Promise<EmbeddedTestResult> {
  const u = test.unit!;
  const fixtures = new Map<string, string>();
  for (const [i, g] of u.given.entries()) {
    if (g.format && g.format !== "dict") throw new Error(`fixtures in format '${g.format}' are not supported by the embedded engine (dict rows are; the dbt engine runs the others)`);
    const table = `${FIXTURE}_${i}`;
    const typed = g.relation ? await wh.columns(g.relation.schema, g.relation.identifier) : [];
    await wh.run(`create or replace temp table ${table} as ${rowsSql(g.rows, typed)}`);
    fixtures.set(`${g.call}:${g.args.join(".")}`, table);
  }
  const base = renderer.opts.relations;
  const fixture = (key: string) => {
    const table = fixtures.get(key);
    return table ? { kind: "relation" as const, database: "temp", schema: "main", identifier: table } : undefined;
  };
  const relations: RelationResolver = {
    ref: (name, pkg, version) => fixture(`ref:${name}`) ?? base.ref(name, pkg, version),
    source: (s, t) => fixture(`source:${s}.${t}`) ?? base.source(s, t),
  };
  const unitRenderer = new DbtRenderer({ ...renderer.opts, relations });
  const sql = (await render(unitRenderer, { ...u.node, id: `unit:${test.id}` }, wh)).sql;
  const columns = Object.keys(u.expect[0] ?? {});
  if (columns.length === 0) throw new Error("the unit test expects no rows with columns (give `expect: rows:`)");
  const actualTypes = (await wh.queryWithColumns(`select * from (${sql}) as __actual limit 0`)).columns;
  const typed = columns.map((c) => actualTypes.find((t) => t.name.toLowerCase() === c.toLowerCase()) ?? { name: c, type: "" });
  await wh.run(`create or replace temp table ${FIXTURE}_expected as ${rowsSql(u.expect, typed, columns)}`);
  const cols = columns.map(quoteIdent).join(", ");
  const diff = `(select ${cols} from (${sql}) as __actual except all select ${cols} from temp.main.${FIXTURE}_expected)
union all
(select ${cols} from temp.main.${FIXTURE}_expected except all select ${cols} from (${sql}) as __actual)`;
  const failures = Number((await wh.query<{ n: unknown }>(`select count(*) as n from (${diff}) as __diff`))[0]?.n ?? 0);
  for (const table of [...fixtures.values(), `${FIXTURE}_expected`]) await wh.run(`drop table if exists temp.main.${table}`);
  return { id: test.id, status: failures === 0 ? "pass" : "fail", failures, ms: performance.now() - t0, sql: `-- rows that differ from the expected ones\n${diff}` };
}

/** `select ... union all select ...` of YAML rows; `typed` columns are cast (missing ones are typed nulls). */
function rowsSql(rows: Record<string, unknown>[], typed: { name: string; type: string }[], only?: string[]): string {
  const names = only ?? (typed.length > 0 ? typed.map((c) => c.name) : [...new Set(rows.flatMap((r) => Object.keys(r)))]);
  const typeOf = (name: string) => typed.find((c) => c.name.toLowerCase() === name.toLowerCase())?.type;
  const value = (row: Record<string, unknown>, name: string) => {
    const key = Object.keys(row).find((k) => k.toLowerCase() === name.toLowerCase());
    const v = key === undefined ? null : row[key];
    const lit = v === null || v === undefined ? "null" : typeof v === "number" || typeof v === "bigint" ? String(v) : typeof v === "boolean" ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
    const type = typeOf(name);
    return `${type ? `cast(${lit} as ${type})` : lit} as ${quoteIdent(name)}`;
  };
  if (rows.length === 0) return `select ${names.map((n) => value({}, n)).join(", ")} where false`;
  return rows.map((r) => `select ${names.map((n) => value(r, n)).join(", ")}`).join("\nunion all\n");
}

function truthy(v: unknown): boolean {
  return v === true || v === "true" || v === 1 || v === 1n;
}

/** dbt's `default__get_test_sql`. */
export function testCountSql(mainSql: string, config: CheckConfig): string {
  const failCalc = config.failCalc ?? "count(*)";
  const limit = config.limit !== undefined ? `\n      limit ${config.limit}` : "";
  return `select
      ${failCalc} as failures,
      ${failCalc} ${config.warnIf ?? "!= 0"} as should_warn,
      ${failCalc} ${config.errorIf ?? "!= 0"} as should_error
    from (
      ${mainSql}${limit}
    ) dbt_internal_test`;
}

/** The Jinja source of a generic test: the tested relation as `__model`, then the test's query. */
function genericTestSql(test: EmbeddedTest, renderer: DbtRenderer): string {
  const g = test.generic!;
  const m = g.model;
  const relation = "source" in m ? `source(${q(m.source)}, ${q(m.table)})` : `ref(${m.package ? `${q(m.package)}, ` : ""}${q(m.ref)}${m.version !== undefined ? `, v=${q(m.version)}` : ""})`;
  // dbt's default__get_where_subquery.
  const model = test.config.where
    ? `{%- set __model -%}(select * from {{ ${relation} }} where ${test.config.where}) dbt_subquery{%- endset -%}`
    : `{%- set __model = ${relation} -%}`;
  const dot = g.test.indexOf(".");
  const namespace = dot >= 0 ? g.test.slice(0, dot) : undefined;
  const bare = dot >= 0 ? g.test.slice(dot + 1) : g.test;
  const macro = `test_${bare}`;
  const pkg = renderer.macroPackage(macro, namespace) ?? renderer.macroPackage(`default__${macro}`, namespace);
  if (!pkg && !namespace && BUILT_INS.has(bare)) return `${model}\n${builtInSql(bare, g.column, g.args, !!test.config.storeFailures)}`;
  if (!pkg) throw new Error(`no generic test \`${g.test}\`: define \`{% test ${bare}(model, ...) %}\` in the project's macros or tests/generic, or install the package that has it (dbt deps)`);
  const kwargs = [`model=__model`];
  if (g.column !== undefined) kwargs.push(`column_name=${q(g.column)}`);
  for (const [k, v] of Object.entries(g.args)) kwargs.push(`${k}=${jinjaValue(v)}`);
  const callee = pkg === renderer.opts.project.name && !namespace ? macro : `${pkg}.${macro}`;
  return `${model}\n{{ ${callee}(${kwargs.join(", ")}) }}`;
}

/** dbt-core's default__test_not_null / unique / accepted_values / relationships. */
function builtInSql(name: string, column: string | undefined, args: Record<string, unknown>, storeFailures: boolean): string {
  const col = column ?? String(args.column_name ?? "");
  if (!col) throw new Error(`the \`${name}\` test needs a column (write it under a column, or give \`column_name\`)`);
  switch (name) {
    case "not_null":
      return `select ${storeFailures ? "*" : col}\nfrom {{ __model }}\nwhere ${col} is null`;
    case "unique":
      return `select\n    ${col} as unique_field,\n    count(*) as n_records\n\nfrom {{ __model }}\nwhere ${col} is not null\ngroup by ${col}\nhaving count(*) > 1`;
    case "accepted_values": {
      const values = Array.isArray(args.values) ? args.values : [];
      if (values.length === 0) throw new Error("the `accepted_values` test needs `values` (a list)");
      const quote = args.quote !== false;
      const list = values.map((v) => (quote ? `'${pyText(v)}'` : pyText(v))).join(",");
      return `with all_values as (\n\n    select\n        ${col} as value_field,\n        count(*) as n_records\n\n    from {{ __model }}\n    group by ${col}\n\n)\n\nselect *\nfrom all_values\nwhere value_field not in (\n    ${list}\n)`;
    }
    case "relationships": {
      if (typeof args.to !== "string" || typeof args.field !== "string") throw new Error("the `relationships` test needs `to` (e.g. ref('customers')) and `field`");
      const to = LOOKS_LIKE_FUNC.test(args.to) ? `{{ ${args.to} }}` : args.to;
      return `with child as (\n    select ${col} as from_field\n    from {{ __model }}\n    where ${col} is not null\n),\n\nparent as (\n    select ${args.field} as to_field\n    from ${to}\n)\n\nselect\n    from_field\n\nfrom child\nleft join parent\n    on child.from_field = parent.to_field\n\nwhere parent.to_field is null`;
    }
  }
  throw new Error(`unknown built-in test ${name}`);
}

/** How Jinja prints a YAML value (`{{ value }}`): Python's str(). */
function pyText(v: unknown): string {
  if (v === true) return "True";
  if (v === false) return "False";
  if (v === null || v === undefined) return "None";
  return String(v);
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** A YAML argument as a Jinja expression; strings that look like `ref(...)` are rendered, as dbt does. */
function jinjaValue(v: unknown): string {
  if (typeof v === "string") {
    if (LOOKS_LIKE_FUNC.test(v)) return v.trim();
    const whole = /^\s*\{\{([\s\S]*)\}\}\s*$/.exec(v);
    if (whole && !whole[1].includes("}}")) return `(${whole[1].trim()})`;
    return q(v);
  }
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null || v === undefined) return "none";
  if (Array.isArray(v)) return `[${v.map(jinjaValue).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${q(k)}: ${jinjaValue(x)}`).join(", ")}}`;
  return q(String(v));
}
