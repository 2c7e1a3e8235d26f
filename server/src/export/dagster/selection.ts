/**
 * Tributary's selection grammar -> Dagster's asset selection syntax (`key:"a/b"`, `tag:"k"="v"`,
 * `group:"g"`, `kind:"k"`, `+x`, `2+x`, `x+`, `and`, `or`, `not`, `roots()`, `sinks()`), so that a
 * `job()` becomes a `define_asset_job` selecting the same assets. A selection function is written
 * as its table entry's `dagster` name (graph/selection.ts); one without it is refused.
 *
 * Operators translate one to one (`@x` becomes `+(x+)`, which is what it means). A filter is written
 * with Dagster's own attribute when the export guarantees Dagster sees the same value (keys, groups
 * and tags that Dagster accepts, `kind:dbt` / `kind:ts`); a filter Dagster cannot express the same
 * way (dbt's name fallback, `path:`, `owner:`, `kind:model`, a tag Dagster would reject) is
 * resolved now, against the graph being exported, to the exact keys it selects. `status:` depends
 * on Tributary's run history and is refused.
 */
import type { AssetGraph } from "../../graph/graph";
import { evaluateSelection, SELECTION_FUNCTIONS, type SelectionAst, type SelectionFunction } from "../../graph/selection";

export class SelectionNotExportable extends Error {}

export interface DagsterSelectionContext {
  graph: AssetGraph;
  /** Folders `path:` is relative to. */
  roots: string[];
  /** The Dagster group of an asset id (undefined: Dagster's `default`). */
  groupOf(id: string): string | undefined;
  /** The Dagster tags of an asset id. */
  tagsOf(id: string): Readonly<Record<string, string>>;
  /** The Dagster kinds of an asset id. */
  kindsOf(id: string): readonly string[];
}

/** The Dagster selection string for a parsed Tributary selection; throws `SelectionNotExportable`. */
export function toDagsterSelection(ast: SelectionAst, ctx: DagsterSelectionContext): string {
  return translate(ast, ctx);
}

function quote(value: string): string {
  if (/["\\]/.test(value)) throw new SelectionNotExportable(`'${value}' contains a quote or a backslash, which Dagster's selection syntax cannot quote`);
  return `"${value}"`;
}

/** `(key:"a" or key:"b")` for exactly these assets. */
function keyList(ids: Iterable<string>, what: string): string {
  const sorted = [...ids].sort();
  if (sorted.length === 0) throw new SelectionNotExportable(`${what} selects no asset of this workspace, and Dagster has no empty selection`);
  const items = sorted.map((id) => `key:${quote(id)}`);
  return items.length === 1 ? items[0] : `(${items.join(" or ")})`;
}

function same(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  const body = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`, "s").test(value);
}

/** What Tributary selects for a leaf, now. */
function tributaryIds(ast: SelectionAst, ctx: DagsterSelectionContext): Set<string> {
  return evaluateSelection(ast, ctx.graph, { root: ctx.roots });
}

/** Ids Dagster would select with `attr:"value"` given what the export gives each asset. */
function dagsterIds(ctx: DagsterSelectionContext, test: (id: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const id of ctx.graph.nodes.keys()) if (test(id)) out.add(id);
  return out;
}

/** The native form when Dagster would select exactly what Tributary selects, else the key list. */
function nativeOrKeys(ast: SelectionAst, ctx: DagsterSelectionContext, native: string, test: (id: string) => boolean, what: string): string {
  const ours = tributaryIds(ast, ctx);
  return same(ours, dagsterIds(ctx, test)) && ours.size > 0 ? native : keyList(ours, what);
}

/** The Dagster names of the selection functions that have one (the table in graph/selection.ts). */
const DAGSTER_FUNCTIONS = new Set(Object.values<SelectionFunction>(SELECTION_FUNCTIONS).flatMap((f) => (f.dagster ? [f.dagster] : [])));

/** Whether the `(` at `open` is closed by the text's last character (`(a) or (b)` is not one group). */
function closedAtEnd(text: string, open: number): boolean {
  let depth = 0;
  let quoted = false; // quote() lets no quote or backslash into a value
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i === text.length - 1;
  }
  return false;
}

function primary(text: string): string {
  // A single filter, group or function call needs no parentheses; anything else does.
  if (/^[a-z_]+:"[^"]*"(="[^"]*")?$/.test(text)) return text;
  if (text.startsWith("(") && closedAtEnd(text, 0)) return text;
  const call = /^([a-z_]+)\(/.exec(text);
  return call !== null && DAGSTER_FUNCTIONS.has(call[1]) && closedAtEnd(text, call[0].length - 1) ? text : `(${text})`;
}

function depth(d: number | "all"): string {
  return d === "all" ? "" : String(d);
}

function translate(ast: SelectionAst, ctx: DagsterSelectionContext): string {
  switch (ast.type) {
    case "name": {
      const pattern = ast.pattern.includes("/") ? ast.pattern.split("/").filter(Boolean).join("/") : ast.pattern;
      return nativeOrKeys(ast, ctx, `key:${quote(pattern)}`, (id) => globMatch(pattern, id), `'${ast.pattern}'`);
    }
    case "attribute": {
      const { attribute, value } = ast;
      const what = `'${attribute}:${value}'`;
      switch (attribute) {
        case "key":
          return nativeOrKeys(ast, ctx, `key:${quote(value)}`, (id) => globMatch(value, id), what);
        case "group":
          if (value.includes("*")) return keyList(tributaryIds(ast, ctx), what);
          return nativeOrKeys(ast, ctx, `group:${quote(value)}`, (id) => ctx.groupOf(id) === value, what);
        case "tag": {
          if (value.includes("*")) return keyList(tributaryIds(ast, ctx), what);
          const eq = value.indexOf("=");
          const [k, v] = eq >= 0 ? [value.slice(0, eq), value.slice(eq + 1)] : [value, ""];
          // Dagster's `tag:"k"` selects the tag k with an empty value; Tributary's `tag:k` also selects k=anything.
          const values = eq >= 0 ? [v] : [...new Set([...ctx.graph.nodes.keys()].map((id) => ctx.tagsOf(id)[k]).filter((x): x is string => x !== undefined))].sort();
          const forms = (values.length ? values : [""]).map((x) => (x === "" ? `tag:${quote(k)}` : `tag:${quote(k)}=${quote(x)}`));
          const native = forms.length === 1 ? forms[0] : `(${forms.join(" or ")})`;
          return nativeOrKeys(ast, ctx, native, (id) => (eq >= 0 ? ctx.tagsOf(id)[k] === v : ctx.tagsOf(id)[k] !== undefined), what);
        }
        case "kind": {
          const dagsterKind = value === "dbt" ? "dbt" : value === "ts" || value === "ts_asset" ? "typescript" : undefined;
          if (!dagsterKind) return keyList(tributaryIds(ast, ctx), what);
          return nativeOrKeys(ast, ctx, `kind:${quote(dagsterKind)}`, (id) => ctx.kindsOf(id).includes(dagsterKind), what);
        }
        case "owner":
        case "path":
          return keyList(tributaryIds(ast, ctx), what);
        case "status":
          throw new SelectionNotExportable(`${what} depends on Tributary's run history, which Dagster's selections cannot see; select the assets by key, tag or group instead`);
      }
      throw new SelectionNotExportable(`${what} has no Dagster equivalent`);
    }
    case "layers": {
      const inner = primary(translate(ast.operand, ctx));
      const up = ast.up === undefined ? "" : `${depth(ast.up)}+`;
      const down = ast.down === undefined ? "" : `+${depth(ast.down)}`;
      return `${up}${inner}${down}`;
    }
    case "lineage":
      return `+(${primary(translate(ast.operand, ctx))}+)`;
    case "not":
      return `not ${primary(translate(ast.operand, ctx))}`;
    case "and":
    case "or":
      return ast.operands.map((o) => primary(translate(o, ctx))).join(` ${ast.type} `);
    case "function": {
      const dagster = (SELECTION_FUNCTIONS[ast.name] as SelectionFunction).dagster;
      if (!dagster) throw new SelectionNotExportable(`'${ast.name}(...)' at column ${ast.range.offset + 1} has no Dagster equivalent`);
      return `${dagster}(${translate(ast.operand, ctx)})`;
    }
  }
}
