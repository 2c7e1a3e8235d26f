/**
 * Column lineage of one SELECT, from DuckDB's own parse tree (`json_serialize_sql`): for each
 * output column, the upstream asset columns its value is computed from.
 *
 * The rule is "never a wrong edge": any shape this module does not fully understand (table
 * functions, correlated or scalar subqueries, lambdas, `COLUMNS(...)`, `select *` over a relation
 * whose columns are unknown, an ambiguous unqualified name, ...) throws `UnsupportedShape`, and the
 * model keeps only its table-level lineage. Only what a value is computed from counts: columns
 * used in WHERE / JOIN ON / GROUP BY are not edges (window PARTITION BY / ORDER BY inside a select
 * expression are, since they are part of it).
 */
import type { ColumnLineageEntry, ColumnRef } from "../protocol/sql";

export class UnsupportedShape extends Error {}

/** What a table name in the SQL stands for. */
export interface TableInfo {
  asset: string;
  /** Its columns in order, when known (needed by `select *` and unqualified names over joins). */
  columns?: string[];
  /** The list may miss columns (YAML documents some): a name it lacks may still be the asset's. */
  partial?: boolean;
}

export interface AnalyzeEnv {
  /** Resolves `catalog.schema.table` (parts may be empty) to an asset; undefined: not an asset. */
  table(catalog: string, schema: string, name: string): TableInfo | undefined;
}

type Json = Record<string, unknown>;

interface Col {
  name: string;
  refs: ColumnRef[];
  copy: boolean;
}

/** A relation in a FROM clause: known columns, or an asset whose column list is unknown. */
type Rel = { known: true; cols: Col[]; partialOf?: string } | { known: false; asset: string };

interface Entry {
  alias: string;
  rel: Rel;
  /** Columns `*` leaves out (the right side of a USING join). */
  hidden: Set<string>;
}

interface Scope {
  entries: Entry[];
  /** Unqualified names bound by USING joins. */
  using: Map<string, Col>;
}

type Ctes = Map<string, Col[]>;

const lower = (s: string) => s.toLowerCase();

/** Analyzes a serialized statement list (the parsed JSON of `json_serialize_sql`). */
export function analyzeStatement(parsed: Json, env: AnalyzeEnv): ColumnLineageEntry[] {
  if (parsed.error) throw new UnsupportedShape(`DuckDB's parser rejects the compiled SQL: ${String(parsed.error_message ?? "syntax error")}`);
  const statements = parsed.statements as Json[] | undefined;
  if (!statements || statements.length !== 1) throw new UnsupportedShape(`the compiled SQL holds ${statements?.length ?? 0} statements, not one SELECT`);
  const cols = queryColumns(statements[0].node as Json, new Map(), env);
  const seen = new Set<string>();
  for (const c of cols) {
    if (seen.has(lower(c.name))) throw new UnsupportedShape(`two output columns are named '${c.name}'`);
    seen.add(lower(c.name));
  }
  return cols.map((c) => ({ name: c.name, upstream: c.refs, how: c.copy ? "copy" : "derived" }));
}

function withCtes(node: Json, outer: Ctes, env: AnalyzeEnv): Ctes {
  const map = ((node.cte_map as Json | undefined)?.map as { key: string; value: Json }[] | undefined) ?? [];
  if (!map.length) return outer;
  const ctes = new Map(outer);
  for (const { key, value } of map) {
    let cols = queryColumns((value.query as Json).node as Json, ctes, env);
    cols = renamed(cols, (value.aliases as string[] | undefined) ?? [], `CTE ${key}`);
    ctes.set(lower(key), cols);
  }
  return ctes;
}

/** `unnamedOk`: the names do not matter (a later branch of a positional UNION). */
function queryColumns(node: Json, outer: Ctes, env: AnalyzeEnv, unnamedOk = false): Col[] {
  const ctes = withCtes(node, outer, env);
  switch (node.type) {
    case "SELECT_NODE":
      return selectColumns(node, ctes, env, unnamedOk);
    case "SET_OPERATION_NODE":
      return setOperation(node, ctes, env);
    case "RECURSIVE_CTE_NODE":
      throw new UnsupportedShape("recursive CTEs are not analyzed");
    default:
      throw new UnsupportedShape(`a ${String(node.type)} query is not analyzed`);
  }
}

function setOperation(node: Json, ctes: Ctes, env: AnalyzeEnv): Col[] {
  const children = (node.children as Json[] | undefined) ?? [node.left as Json, node.right as Json].filter(Boolean);
  const type = String(node.setop_type);
  const sides = children.map((c, i) => queryColumns(c, ctes, env, i > 0 && type !== "UNION_BY_NAME"));
  if (type === "EXCEPT" || type === "INTERSECT") return sides[0];
  if (type === "UNION_BY_NAME") {
    const out = new Map<string, Col>();
    for (const side of sides) for (const c of side) out.set(lower(c.name), merge(c.name, [out.get(lower(c.name)), c]));
    return [...out.values()];
  }
  if (type !== "UNION") throw new UnsupportedShape(`set operation ${type} is not analyzed`);
  const width = sides[0].length;
  if (sides.some((s) => s.length !== width)) throw new UnsupportedShape("the sides of a UNION have different widths");
  return sides[0].map((c, i) => merge(c.name, sides.map((s) => s[i])));
}

function merge(name: string, cols: (Col | undefined)[]): Col {
  const refs: ColumnRef[] = [];
  for (const c of cols) if (c) addRefs(refs, c.refs);
  const present = cols.filter((c): c is Col => !!c);
  return { name, refs, copy: present.every((c) => c.copy) && refs.length === 1 };
}

function addRefs(into: ColumnRef[], refs: ColumnRef[]): void {
  for (const r of refs) if (!into.some((x) => x.asset === r.asset && lower(x.column) === lower(r.column))) into.push(r);
}

function renamed(cols: Col[], aliases: string[], what: string): Col[] {
  if (!aliases.length) return cols;
  if (aliases.length > cols.length) throw new UnsupportedShape(`${what} names more columns than it has`);
  return cols.map((c, i) => (i < aliases.length ? { ...c, name: aliases[i] } : c));
}

// ---------------------------------------------------------------- FROM

function fromScope(table: Json | null | undefined, ctes: Ctes, env: AnalyzeEnv): Scope {
  if (!table || table.type === "EMPTY") return { entries: [], using: new Map() };
  switch (table.type) {
    case "BASE_TABLE": {
      const name = String(table.table_name);
      const schema = String(table.schema_name ?? "");
      const catalog = String(table.catalog_name ?? "");
      const alias = String(table.alias || name);
      const aliases = (table.column_name_alias as string[] | undefined) ?? [];
      // An ephemeral model is injected as a CTE `__dbt__cte__<name>`: it stays its own asset.
      const asAsset = !schema && !lower(name).startsWith("__dbt__cte__") && ctes.has(lower(name)) ? undefined : env.table(catalog, schema, name);
      if (!asAsset) {
        const cte = !schema ? ctes.get(lower(name)) : undefined;
        if (!cte) throw new UnsupportedShape(`'${[catalog, schema, name].filter(Boolean).join(".")}' is neither an asset of the graph nor a CTE`);
        return single(alias, { known: true, cols: renamed(cte, aliases, name) });
      }
      if (!asAsset.columns) {
        if (aliases.length) throw new UnsupportedShape(`column aliases over '${name}', whose columns are unknown`);
        return single(alias, { known: false, asset: asAsset.asset });
      }
      const cols = asAsset.columns.map((c) => ({ name: c, refs: [{ asset: asAsset.asset, column: c }], copy: true }));
      if (asAsset.partial && aliases.length) throw new UnsupportedShape(`column aliases over '${name}', whose columns are only partly known`);
      return single(alias, { known: true, cols: renamed(cols, aliases, name), ...(asAsset.partial ? { partialOf: asAsset.asset } : {}) });
    }
    case "SUBQUERY": {
      const sub = (table.subquery as Json).node as Json;
      const cols = renamed(queryColumns(sub, ctes, env), (table.column_name_alias as string[] | undefined) ?? [], "subquery");
      return single(String(table.alias ?? ""), { known: true, cols });
    }
    case "JOIN":
      return joinScope(table, ctes, env);
    default:
      throw new UnsupportedShape(`FROM ${String(table.type).toLowerCase().replace(/_/g, " ")} is not analyzed`);
  }
}

function single(alias: string, rel: Rel): Scope {
  return { entries: [{ alias, rel, hidden: new Set() }], using: new Map() };
}

function joinScope(join: Json, ctes: Ctes, env: AnalyzeEnv): Scope {
  if (join.ref_type === "NATURAL") throw new UnsupportedShape("NATURAL joins are not analyzed");
  if (join.ref_type === "DEPENDENT" || join.ref_type === "LATERAL") throw new UnsupportedShape("LATERAL joins are not analyzed");
  const left = fromScope(join.left as Json, ctes, env);
  const right = fromScope(join.right as Json, ctes, env);
  const type = String(join.join_type);
  // SEMI / ANTI joins only filter the left side: the right side's columns are not in the result.
  if (type === "SEMI" || type === "ANTI") return left;
  const scope: Scope = { entries: [...left.entries, ...right.entries], using: new Map([...left.using, ...right.using]) };
  for (const name of (join.using_columns as string[] | undefined) ?? []) {
    const l = resolveName(name, left);
    const r = resolveName(name, right);
    // The right side's copy is left out of `*`: find the relation that provides it.
    const listed = right.entries.filter((e) => lists(e, name));
    const holders = listed.length ? listed : right.entries.filter((e) => mayHave(e));
    if (holders.length !== 1) throw new UnsupportedShape(`USING (${name}) cannot be placed on one relation`);
    holders[0].hidden.add(lower(name));
    const bound = type === "RIGHT" ? r : type === "OUTER" || type === "FULL" ? merge(name, [l, r]) : l;
    scope.using.set(lower(name), { ...bound, name });
  }
  return scope;
}

// ---------------------------------------------------------------- names

const lists = (e: Entry, name: string): boolean => e.rel.known && e.rel.cols.some((c) => lower(c.name) === lower(name));
/** A relation whose column list is unknown or partial may hold any name. */
const mayHave = (e: Entry): boolean => !e.rel.known || !!e.rel.partialOf;

function colOf(entry: Entry, name: string): Col | undefined {
  if (!entry.rel.known) {
    const asset = entry.rel.asset;
    return { name, refs: [{ asset, column: name }], copy: true };
  }
  const col = entry.rel.cols.find((c) => lower(c.name) === lower(name));
  if (col || !entry.rel.partialOf) return col;
  return { name, refs: [{ asset: entry.rel.partialOf, column: name }], copy: true };
}

/**
 * An unqualified name. The compiled SQL is valid (DuckDB rejects an ambiguous name), so a name
 * listed by exactly one relation is that relation's even when others' columns are unknown; a name
 * no relation lists belongs to the one relation that may hold it, or the shape is unsupported.
 */
function resolveName(name: string, scope: Scope): Col {
  const bound = scope.using.get(lower(name));
  if (bound) return bound;
  const listed = scope.entries.filter((e) => lists(e, name));
  if (listed.length === 1) return colOf(listed[0], name)!;
  if (listed.length > 1) throw new UnsupportedShape(`column '${name}' could come from ${listed.map((c) => c.alias).join(" or ")}`);
  const candidates = scope.entries.filter(mayHave);
  if (candidates.length === 1) return colOf(candidates[0], name)!;
  if (candidates.length === 0) throw new UnsupportedShape(`column '${name}' is not found in the FROM clause`);
  throw new UnsupportedShape(`column '${name}' could come from ${candidates.map((c) => c.alias).join(" or ")}`);
}

function resolveRef(parts: string[], scope: Scope, earlier: Map<string, Col>): Col {
  if (parts.length === 1) {
    try {
      const col = resolveName(parts[0], scope);
      const listed = scope.using.has(lower(parts[0])) || scope.entries.some((e) => lists(e, parts[0]));
      if (!listed && earlier.has(lower(parts[0]))) throw new UnsupportedShape(`'${parts[0]}' is an earlier alias and may also be a column of a relation whose columns are unknown`);
      return col;
    } catch (e) {
      if (e instanceof UnsupportedShape && /earlier alias/.test(e.message)) throw e;
      // DuckDB lets a select expression use an alias defined before it in the same list.
      const alias = earlier.get(lower(parts[0]));
      if (alias) return alias;
      throw e;
    }
  }
  const [table, column] = parts.slice(-2);
  const entry = scope.entries.find((e) => lower(e.alias) === lower(table));
  if (!entry) throw new UnsupportedShape(`'${parts.join(".")}' names no relation of the FROM clause (a struct field?)`);
  const col = colOf(entry, column);
  if (!col) throw new UnsupportedShape(`'${parts.join(".")}' is not a column of ${entry.alias}`);
  return col;
}

// ---------------------------------------------------------------- SELECT

function selectColumns(node: Json, ctes: Ctes, env: AnalyzeEnv, unnamedOk: boolean): Col[] {
  const scope = fromScope(node.from_table as Json | null, ctes, env);
  const out: Col[] = [];
  const earlier = new Map<string, Col>();
  for (const expr of (node.select_list as Json[]) ?? []) {
    if (expr.class === "STAR") {
      for (const c of expandStar(expr, scope)) out.push(c);
      continue;
    }
    const refs: ColumnRef[] = [];
    let columnRefs = 0;
    walk(expr, (ref) => {
      columnRefs++;
      addRefs(refs, resolveRef(ref, scope, earlier).refs);
    });
    const alias = String(expr.alias ?? "");
    const bare = expr.class === "COLUMN_REF" ? resolveRef(expr.column_names as string[], scope, earlier) : undefined;
    const name = alias || (bare ? (expr.column_names as string[]).at(-1)! : unnamedOk ? `#${out.length + 1}` : "");
    if (!name) throw new UnsupportedShape("a select expression has no alias (its column name is DuckDB's rendering of the expression)");
    const col: Col = bare ? { name, refs: bare.refs, copy: bare.copy } : { name, refs, copy: false };
    if (columnRefs === 0) col.copy = false;
    out.push(col);
    earlier.set(lower(name), col);
  }
  return out;
}

function expandStar(star: Json, scope: Scope): Col[] {
  if (star.columns || star.expr) throw new UnsupportedShape("COLUMNS(...) expressions are not analyzed");
  if ((star.replace_list as unknown[] | undefined)?.length || (star.rename_list as unknown[] | undefined)?.length || (star.qualified_exclude_list as unknown[] | undefined)?.length) {
    throw new UnsupportedShape("* REPLACE / RENAME / qualified EXCLUDE are not analyzed");
  }
  const exclude = new Set(((star.exclude_list as string[] | undefined) ?? []).map(lower));
  const relation = String(star.relation_name ?? "");
  const entries = relation ? scope.entries.filter((e) => lower(e.alias) === lower(relation)) : scope.entries;
  if (relation && entries.length !== 1) throw new UnsupportedShape(`'${relation}.*' names no relation of the FROM clause`);
  if (!entries.length) throw new UnsupportedShape("select * without a FROM clause");
  const out: Col[] = [];
  const emitted = new Set<string>();
  for (const e of entries) {
    if (!e.rel.known) throw new UnsupportedShape(`select * over ${e.alias}, whose columns are unknown (declare them in YAML or materialize it)`);
    // A partly documented relation expands to its documented columns: fewer columns, never a wrong one.
    for (const c of e.rel.cols) {
      const key = lower(c.name);
      if (exclude.has(key) || (!relation && (e.hidden.has(key) || emitted.has(key)))) continue;
      // A USING column appears once, where the left side has it, bound as the join binds it.
      const bound = relation ? undefined : scope.using.get(key);
      out.push(bound ?? c);
      if (bound) emitted.add(key);
    }
  }
  return out;
}

/** Calls `onRef` for every column reference of an expression; throws on shapes it cannot follow. */
function walk(node: unknown, onRef: (parts: string[]) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, onRef);
    return;
  }
  if (!node || typeof node !== "object") return;
  const n = node as Json;
  switch (n.class) {
    case "COLUMN_REF":
      onRef(n.column_names as string[]);
      return;
    case "SUBQUERY":
      throw new UnsupportedShape("subqueries inside expressions are not analyzed");
    case "LAMBDA":
    case "LAMBDA_REF":
      throw new UnsupportedShape("lambda expressions are not analyzed");
    case "STAR":
      throw new UnsupportedShape("* inside an expression is not analyzed");
    case "POSITIONAL_REFERENCE":
      throw new UnsupportedShape("positional references (#n) are not analyzed");
    case "PARAMETER":
      throw new UnsupportedShape("prepared-statement parameters are not analyzed");
  }
  for (const [k, v] of Object.entries(n)) if (k !== "value" && v && typeof v === "object") walk(v, onRef);
}
