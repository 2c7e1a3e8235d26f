/**
 * A fast, tolerant scanner of dbt SQL + Jinja files (models, snapshots, macros, analyses, tests).
 *
 * It does not render anything: it finds what the linker needs (`ref`, `source`, `config`, calls of
 * other macros, macro / test / materialization / snapshot blocks) and reports Jinja syntax problems.
 *
 * How it works (one pass, no regex over the whole file):
 * - the text between tags is skipped with `indexOf("{")`;
 * - `{# ... #}` comments are skipped with `indexOf("#}")`, `{% raw %}` bodies by searching for the
 *   `{% endraw %}` tag; refs inside either do not count. SQL comments are not special: dbt renders
 *   Jinja inside `-- depends_on: {{ ref('x') }}`, so that ref counts;
 * - inside `{{ }}` / `{% %}` a small lexer produces tokens into reusable typed arrays. Like Jinja's
 *   own lexer it honours strings and bracket balancing, so `'{{ this }}'` in a string or `}}`
 *   closing a nested dict do not end the tag;
 * - calls are found on the token stream: `name(` and `pkg.name(` (see `scanCalls` for the rules);
 *   `ref` / `source` / `config` / `var` arguments are turned into symbolic `JinjaExpr` values;
 * - block tags are kept on a stack to report unbalanced blocks and to attribute everything found
 *   inside a top-level `macro` / `test` / `materialization` / `snapshot` block to that block instead
 *   of the file. Blocks nested inside such a block (including nested macros) belong to it.
 *
 * Tolerance: after any error the scan goes on. A tag left open is ended at the next tag opener
 * (`{{`, `{%`, `{#` cannot appear inside a tag outside a string) or at the end of the file; a string
 * left open on a line that contains the tag's closer (`}}` / `%}`) is cut there. Everything found
 * before (and after) the problem is kept.
 */
import type { IndexDiagnostic, Span } from "../../protocol/types";
import type { JinjaExpr, MacroCall, MacroDef, MacroParam, RefCall, SnapshotDef, SourceCall, SqlFacts, VarCall } from "../facts";
import { LineIndex } from "../lineIndex";

// ---------------------------------------------------------------- public helpers

/**
 * The string value of an expression when it can be known statically: string literals, numbers
 * (Python `str()`), booleans (`True` / `False`), `var('x')` looked up in `vars` (falling back to
 * `var('x', default)`), and concatenations (`~`, `+`) of those. `undefined` otherwise.
 */
export function resolveJinjaExpr(expr: JinjaExpr, vars: Record<string, unknown>): string | undefined {
  switch (expr.type) {
    case "string":
      return expr.value;
    case "number":
      return String(expr.value);
    case "bool":
      return expr.value ? "True" : "False";
    case "var": {
      const name = resolveJinjaExpr(expr.name, vars);
      if (name === undefined) return undefined;
      if (vars && Object.prototype.hasOwnProperty.call(vars, name)) {
        const v = vars[name];
        if (typeof v === "string") return v;
        if (typeof v === "number" && Number.isFinite(v)) return String(v);
        if (typeof v === "boolean") return v ? "True" : "False";
        return undefined;
      }
      return expr.fallback ? resolveJinjaExpr(expr.fallback, vars) : undefined;
    }
    case "concat": {
      let out = "";
      for (const part of expr.parts) {
        const s = resolveJinjaExpr(part, vars);
        if (s === undefined) return undefined;
        out += s;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/**
 * Plain JS value of a literal expression: string, number, boolean, `null` for none, arrays and
 * objects for lists and dicts (`undefined` when any item is not literal). `var(...)` and
 * concatenations are `undefined` unless `vars` is given, in which case a var yields its value from
 * `vars` (or its literal default) and a concatenation its resolved string. `unknown` is always
 * `undefined`.
 */
export function literalValue(expr: JinjaExpr, vars?: Record<string, unknown>): unknown {
  switch (expr.type) {
    case "string":
    case "number":
    case "bool":
      return expr.value;
    case "none":
      return null;
    case "list": {
      const out: unknown[] = [];
      for (const item of expr.items) {
        const v = literalValue(item, vars);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case "dict": {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(expr.entries)) {
        const v = literalValue(expr.entries[key], vars);
        if (v === undefined) return undefined;
        out[key] = v;
      }
      return out;
    }
    case "var": {
      if (!vars) return undefined;
      const name = resolveJinjaExpr(expr.name, vars);
      if (name === undefined) return undefined;
      if (Object.prototype.hasOwnProperty.call(vars, name)) return vars[name];
      return expr.fallback ? literalValue(expr.fallback, vars) : undefined;
    }
    case "concat":
      return vars ? resolveJinjaExpr(expr, vars) : undefined;
    default:
      return undefined;
  }
}

/** Bound macro parameters: name -> the caller's argument expression. */
export type JinjaBindings = Record<string, JinjaExpr>;

/** At most this many values for one expression (loops over loops multiply). */
const MAX_VALUES = 256;

/** A JS value (from vars) as an expression. */
function valueExpr(value: unknown): JinjaExpr {
  if (typeof value === "string") return { type: "string", value };
  if (typeof value === "number") return { type: "number", value };
  if (typeof value === "boolean") return { type: "bool", value };
  if (value === null) return { type: "none" };
  if (Array.isArray(value)) return { type: "list", items: value.map(valueExpr) };
  if (typeof value === "object") {
    const entries: Record<string, JinjaExpr> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) entries[k] = valueExpr(v);
    return { type: "dict", entries };
  }
  return { type: "unknown", text: String(value) };
}

/** The value of `var(...)` as an expression: the project's var, else the default; undefined when unknown. */
function varValue(expr: Extract<JinjaExpr, { type: "var" }>, vars: Record<string, unknown>, bind?: JinjaBindings): JinjaExpr | undefined {
  const names = resolveJinjaValues(expr.name, vars, bind);
  if (!names || names.length !== 1) return undefined;
  if (vars && Object.prototype.hasOwnProperty.call(vars, names[0])) {
    const value = vars[names[0]];
    return typeof value === "string" && /\{[{%]/.test(value) ? templateExpr(value) : valueExpr(value);
  }
  return expr.fallback ? (bind ? substituteParams(expr.fallback, bind) : expr.fallback) : undefined;
}

const templateCache = new Map<string, JinjaExpr | undefined>();

/**
 * A var value that is itself a template (dbt renders it): `"{{ var('other') }}"`,
 * `"raw_{{ var('env', 'dev') }}"` become the expression they render; statements, refs and anything
 * else that is not a value make it unknown (undefined).
 */
function templateExpr(text: string): JinjaExpr | undefined {
  if (templateCache.has(text)) return templateCache.get(text);
  let result: JinjaExpr | undefined;
  if (!text.includes("{%") && !text.includes("{#")) {
    const parts: JinjaExpr[] = [];
    let ok = true;
    let last = 0;
    for (const m of text.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)) {
      if (m.index > last) parts.push({ type: "string", value: text.slice(last, m.index) });
      const inner = scanSql(`{{ config(x=(${m[1]})) }}`, "").config.x;
      if (!inner || inner.type === "unknown") {
        ok = false;
        break;
      }
      parts.push(inner);
      last = m.index + m[0].length;
    }
    if (ok) {
      if (last < text.length) parts.push({ type: "string", value: text.slice(last) });
      result = parts.length === 1 ? parts[0] : { type: "concat", parts };
    }
  }
  if (templateCache.size > 10000) templateCache.clear();
  templateCache.set(text, result);
  return result;
}

/** The items a `for` loop over `expr` sees, when they are known. */
function listItems(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): JinjaExpr[] | undefined {
  if (depth > 8) return undefined;
  switch (expr.type) {
    case "list":
      return expr.items;
    case "var": {
      const v = varValue(expr, vars, bind);
      return v ? listItems(v, vars, bind, depth + 1) : undefined;
    }
    case "param": {
      const bound = bind?.[expr.name];
      return bound ? listItems(bound, vars, undefined, depth + 1) : undefined;
    }
    case "index": {
      const picked = alternatives(expr, vars, bind, depth + 1);
      if (!picked) return undefined;
      const out: JinjaExpr[] = [];
      for (const p of picked) {
        const items = listItems(p, vars, undefined, depth + 1);
        if (!items) return undefined;
        out.push(...items);
      }
      return out;
    }
    case "each": {
      // A variable set differently in the branches of an `if`: any of the lists.
      const lists = listItems(expr.of, vars, bind, depth + 1);
      if (!lists) return undefined;
      const out: JinjaExpr[] = [];
      for (const l of lists) {
        const items = listItems(l, vars, bind, depth + 1);
        if (!items) return undefined;
        out.push(...items);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** `value[key]` of a literal list / dict (Python's negative indexes included). */
function pick(value: JinjaExpr, key: number | string): JinjaExpr | undefined {
  if (value.type === "list" && typeof key === "number") return value.items[key < 0 ? value.items.length + key : key];
  if (value.type === "dict") return Object.prototype.hasOwnProperty.call(value.entries, String(key)) ? value.entries[String(key)] : undefined;
  return undefined;
}

/** The concrete values an expression may be (loop items, a bound parameter, a var's value, an item of those). */
function alternatives(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): JinjaExpr[] | undefined {
  if (depth > 8) return undefined;
  switch (expr.type) {
    case "each":
      return listItems(expr.of, vars, bind, depth + 1);
    case "param": {
      const bound = bind?.[expr.name];
      return bound ? alternatives(bound, vars, undefined, depth + 1) : undefined;
    }
    case "var": {
      const v = varValue(expr, vars, bind);
      return v ? [v] : undefined;
    }
    case "index": {
      const bases = alternatives(expr.of, vars, bind, depth + 1);
      if (!bases) return undefined;
      const out: JinjaExpr[] = [];
      for (const b of bases) {
        const inner = alternatives(b, vars, undefined, depth + 1);
        if (!inner) return undefined;
        for (const i of inner) {
          const v = pick(i, expr.key);
          if (!v) return undefined;
          out.push(v);
        }
      }
      return out;
    }
    default:
      return [expr];
  }
}

/**
 * Every string an expression may stand for: one for literals and vars, one per item for a loop
 * variable (`each`), the combinations for a concatenation; macro parameters are looked up in
 * `bind`. `undefined` when any part cannot be known statically.
 */
export function resolveJinjaValues(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): string[] | undefined {
  if (depth > 8) return undefined;
  switch (expr.type) {
    case "string":
    case "number":
    case "bool": {
      const v = resolveJinjaExpr(expr, vars);
      return v === undefined ? undefined : [v];
    }
    case "var": {
      const v = varValue(expr, vars, bind);
      if (!v || v.type === "list" || v.type === "dict" || v.type === "none") return undefined;
      return resolveJinjaValues(v, vars, undefined, depth + 1);
    }
    case "param": {
      const bound = bind?.[expr.name];
      return bound ? resolveJinjaValues(bound, vars, undefined, depth + 1) : undefined;
    }
    case "each":
    case "index": {
      const items = expr.type === "each" ? listItems(expr.of, vars, bind) : alternatives(expr, vars, bind);
      if (!items) return undefined;
      const out: string[] = [];
      for (const item of items) {
        const values = resolveJinjaValues(item, vars, bind, depth + 1);
        if (!values) return undefined;
        for (const v of values) if (!out.includes(v)) out.push(v);
        if (out.length > MAX_VALUES) return undefined;
      }
      return out;
    }
    case "choice": {
      // The branch the condition takes; both when it cannot be known (as dbt may take either).
      const truth = jinjaTruth(expr.when, vars, bind);
      const branches = truth === undefined ? [expr.then, expr.otherwise] : [truth ? expr.then : expr.otherwise];
      const out: string[] = [];
      for (const branch of branches) {
        const values = resolveJinjaValues(branch, vars, bind, depth + 1);
        if (!values) return undefined;
        for (const v of values) if (!out.includes(v)) out.push(v);
      }
      return out;
    }
    case "concat": {
      let acc = [""];
      for (const part of expr.parts) {
        const values = resolveJinjaValues(part, vars, bind, depth + 1);
        if (!values) return undefined;
        const next: string[] = [];
        for (const a of acc) for (const v of values) next.push(a + v);
        if (next.length > MAX_VALUES) return undefined;
        acc = next;
      }
      return [...new Set(acc)];
    }
    default:
      return undefined;
  }
}

/**
 * The values of several arguments of one call, as tuples. Arguments reading the same loop variable
 * take it from the same item: `source('p_v' ~ s['version'], s['contract'])` in
 * `{% for s in [{'version': '1', 'contract': 'A'}, ...] %}` names (p_v1, A), ..., never (p_v1, B).
 * Undefined when any argument cannot be known.
 */
export function resolveJinjaTuples(args: JinjaExpr[], vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): string[][] | undefined {
  if (depth > 4) return undefined;
  const loops = args.map((a) => loopsIn(a));
  const shared = [...loops[0] ?? []].find(([key]) => loops.slice(1).some((l) => l.has(key)));
  if (!shared) {
    let acc: string[][] = [[]];
    for (const arg of args) {
      const values = resolveJinjaValues(arg, vars, bind);
      if (!values) return undefined;
      acc = acc.flatMap((tuple) => values.map((v) => [...tuple, v]));
      if (acc.length > MAX_VALUES) return undefined;
    }
    return acc;
  }
  const [key, loop] = shared;
  const items = listItems(loop.of, vars, bind);
  if (!items) return undefined;
  const out: string[][] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const tuples = resolveJinjaTuples(args.map((a) => replaceLoop(a, key, item)), vars, bind, depth + 1);
    if (!tuples) return undefined;
    for (const t of tuples) {
      const id = t.join("\u0000");
      if (!seen.has(id)) {
        seen.add(id);
        out.push(t);
      }
    }
    if (out.length > MAX_VALUES) return undefined;
  }
  return out;
}

type EachExpr = Extract<JinjaExpr, { type: "each" }>;

/** The loop variables an expression reads, by identity (variable name and list). */
function loopsIn(expr: JinjaExpr, out = new Map<string, EachExpr>()): Map<string, EachExpr> {
  forEachChild(expr, (child) => loopsIn(child, out));
  if (expr.type === "each") out.set(`${expr.text}\u0000${JSON.stringify(expr.of)}`, expr);
  return out;
}

function forEachChild(expr: JinjaExpr, visit: (child: JinjaExpr) => void): void {
  switch (expr.type) {
    case "list":
    case "and":
    case "or":
      expr.items.forEach(visit);
      break;
    case "dict":
      Object.values(expr.entries).forEach(visit);
      break;
    case "var":
      visit(expr.name);
      if (expr.fallback) visit(expr.fallback);
      break;
    case "concat":
      expr.parts.forEach(visit);
      break;
    case "not":
    case "index":
      visit(expr.of);
      break;
    case "compare":
      visit(expr.left);
      visit(expr.right);
      break;
    case "choice":
      visit(expr.when);
      visit(expr.then);
      visit(expr.otherwise);
      break;
    default:
  }
}

/** `expr` with one loop variable replaced by one of its items. */
function replaceLoop(expr: JinjaExpr, key: string, item: JinjaExpr): JinjaExpr {
  const r = (e: JinjaExpr) => replaceLoop(e, key, item);
  switch (expr.type) {
    case "each":
      return `${expr.text}\u0000${JSON.stringify(expr.of)}` === key ? item : expr;
    case "list":
      return { type: "list", items: expr.items.map(r) };
    case "and":
    case "or":
      return { type: expr.type, items: expr.items.map(r) };
    case "dict":
      return { type: "dict", entries: Object.fromEntries(Object.entries(expr.entries).map(([k, v]) => [k, r(v)])) };
    case "var":
      return expr.fallback ? { type: "var", name: r(expr.name), fallback: r(expr.fallback) } : { type: "var", name: r(expr.name) };
    case "concat":
      return { type: "concat", parts: expr.parts.map(r) };
    case "not":
      return { type: "not", of: r(expr.of) };
    case "index":
      return { type: "index", of: r(expr.of), key: expr.key };
    case "compare":
      return { type: "compare", op: expr.op, left: r(expr.left), right: r(expr.right) };
    case "choice":
      return { type: "choice", when: r(expr.when), then: r(expr.then), otherwise: r(expr.otherwise) };
    default:
      return expr;
  }
}

/** The plain value of a literal, a var or a bound parameter; undefined when unknown. */
function plainValue(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): unknown {
  if (depth > 8) return undefined;
  if (expr.type === "var") {
    const v = varValue(expr, vars, bind);
    return v ? plainValue(v, vars, undefined, depth + 1) : undefined;
  }
  if (expr.type === "param") {
    const bound = bind?.[expr.name];
    return bound ? plainValue(bound, vars, undefined, depth + 1) : undefined;
  }
  return literalValue(expr, vars);
}

/** Python's `==` on plain values (`True == 1`; lists and dicts by content). */
function pythonEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
  if ((typeof a === "number" || typeof a === "boolean") && (typeof b === "number" || typeof b === "boolean")) return num(a) === num(b);
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Python's `in`: an item of a list, a substring, a dict's key; undefined for anything else. */
function pythonIn(item: unknown, container: unknown): boolean | undefined {
  if (Array.isArray(container)) return container.some((c) => pythonEquals(item, c));
  if (typeof container === "string") return typeof item === "string" ? container.includes(item) : undefined;
  if (container !== null && typeof container === "object") return typeof item === "string" ? Object.prototype.hasOwnProperty.call(container, item) : undefined;
  return undefined;
}

function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/**
 * Whether a condition holds, when that can be known statically (Python truthiness of literals and
 * vars, `not` / `and` / `or`, bound macro parameters). `undefined` when it depends on anything
 * else (`target`, `is_incremental()`, comparisons, ...). `execute` is false, as when dbt parses.
 */
export function jinjaTruth(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): boolean | undefined {
  if (depth > 8) return undefined;
  switch (expr.type) {
    case "string":
      return expr.value !== "";
    case "number":
      return expr.value !== 0;
    case "bool":
      return expr.value;
    case "none":
      return false;
    case "list":
      return expr.items.length > 0;
    case "dict":
      return Object.keys(expr.entries).length > 0;
    case "var": {
      const names = resolveJinjaValues(expr.name, vars, bind);
      if (!names || names.length !== 1) return undefined;
      if (vars && Object.prototype.hasOwnProperty.call(vars, names[0])) return pythonTruthy(vars[names[0]]);
      return expr.fallback ? jinjaTruth(expr.fallback, vars, bind, depth + 1) : undefined;
    }
    case "param": {
      const bound = bind?.[expr.name];
      return bound ? jinjaTruth(bound, vars, undefined, depth + 1) : undefined;
    }
    case "concat": {
      const values = resolveJinjaValues(expr, vars, bind);
      return values && values.length === 1 ? values[0] !== "" : undefined;
    }
    case "not": {
      const v = jinjaTruth(expr.of, vars, bind, depth + 1);
      return v === undefined ? undefined : !v;
    }
    case "and": {
      let all = true;
      for (const item of expr.items) {
        const v = jinjaTruth(item, vars, bind, depth + 1);
        if (v === false) return false;
        if (v === undefined) all = false;
      }
      return all ? true : undefined;
    }
    case "compare": {
      const l = plainValue(expr.left, vars, bind);
      const r = plainValue(expr.right, vars, bind);
      if (l === undefined || r === undefined) return undefined;
      if (expr.op === "in" || expr.op === "not in") {
        const found = pythonIn(l, r);
        return found === undefined ? undefined : found === (expr.op === "in");
      }
      const equal = pythonEquals(l, r);
      return expr.op === "==" ? equal : !equal;
    }
    case "or": {
      let none = true;
      for (const item of expr.items) {
        const v = jinjaTruth(item, vars, bind, depth + 1);
        if (v === true) return true;
        if (v === undefined) none = false;
      }
      return none ? false : undefined;
    }
    default:
      return undefined;
  }
}

/** `expr` with the macro parameters in `bind` replaced by the caller's arguments. */
export function substituteParams(expr: JinjaExpr, bind: JinjaBindings): JinjaExpr {
  switch (expr.type) {
    case "param":
      return bind[expr.name] ?? expr;
    case "list":
      return { type: "list", items: expr.items.map((i) => substituteParams(i, bind)) };
    case "dict": {
      const entries: Record<string, JinjaExpr> = {};
      for (const [k, v] of Object.entries(expr.entries)) entries[k] = substituteParams(v, bind);
      return { type: "dict", entries };
    }
    case "var":
      return expr.fallback ? { type: "var", name: substituteParams(expr.name, bind), fallback: substituteParams(expr.fallback, bind) } : { type: "var", name: substituteParams(expr.name, bind) };
    case "concat":
      return { type: "concat", parts: expr.parts.map((p) => substituteParams(p, bind)) };
    case "each":
      return { type: "each", of: substituteParams(expr.of, bind), text: expr.text };
    case "not":
      return { type: "not", of: substituteParams(expr.of, bind) };
    case "and":
    case "or":
      return { type: expr.type, items: expr.items.map((i) => substituteParams(i, bind)) };
    case "compare":
      return { type: "compare", op: expr.op, left: substituteParams(expr.left, bind), right: substituteParams(expr.right, bind) };
    case "index":
      return { type: "index", of: substituteParams(expr.of, bind), key: expr.key };
    case "choice":
      return { type: "choice", when: substituteParams(expr.when, bind), then: substituteParams(expr.then, bind), otherwise: substituteParams(expr.otherwise, bind) };
    default:
      return expr;
  }
}

/** Whether an expression mentions a macro parameter (then its value depends on the call). */
export function usesParams(expr: JinjaExpr): boolean {
  switch (expr.type) {
    case "param":
      return true;
    case "list":
      return expr.items.some(usesParams);
    case "dict":
      return Object.values(expr.entries).some(usesParams);
    case "var":
      return usesParams(expr.name) || (expr.fallback !== undefined && usesParams(expr.fallback));
    case "concat":
      return expr.parts.some(usesParams);
    case "each":
    case "not":
      return usesParams(expr.of);
    case "and":
    case "or":
      return expr.items.some(usesParams);
    case "compare":
      return usesParams(expr.left) || usesParams(expr.right);
    case "index":
      return usesParams(expr.of);
    case "choice":
      return usesParams(expr.when) || usesParams(expr.then) || usesParams(expr.otherwise);
    default:
      return false;
  }
}

/** Whether an expression reads a project var (edges it makes are marked as var-driven). */
export function usesVars(expr: JinjaExpr): boolean {
  switch (expr.type) {
    case "var":
      return true;
    case "list":
      return expr.items.some(usesVars);
    case "dict":
      return Object.values(expr.entries).some(usesVars);
    case "concat":
      return expr.parts.some(usesVars);
    case "each":
    case "not":
      return usesVars(expr.of);
    case "and":
    case "or":
      return expr.items.some(usesVars);
    case "compare":
      return usesVars(expr.left) || usesVars(expr.right);
    case "index":
      return usesVars(expr.of);
    case "choice":
      return usesVars(expr.when) || usesVars(expr.then) || usesVars(expr.otherwise);
    default:
      return false;
  }
}

export function notExpr(e: JinjaExpr): JinjaExpr {
  if (e.type === "unknown") return e;
  if (e.type === "not") return e.of;
  return { type: "not", of: e };
}

/** A conjunction; parts that cannot be known are left out (they could be true). */
export function andExpr(items: JinjaExpr[]): JinjaExpr {
  const kept: JinjaExpr[] = [];
  for (const i of items) {
    if (i.type === "unknown") continue;
    if (i.type === "and") kept.push(...i.items);
    else kept.push(i);
  }
  if (kept.length === 0) return { type: "unknown", text: "" };
  return kept.length === 1 ? kept[0] : { type: "and", items: kept };
}

/** A disjunction; unknown when any part cannot be known. */
export function orExpr(items: JinjaExpr[]): JinjaExpr {
  if (items.some((i) => i.type === "unknown")) return { type: "unknown", text: "" };
  return items.length === 1 ? items[0] : { type: "or", items };
}

/**
 * dbt's `enabled` config as written in YAML / dbt_project.yml (`false`, `"{{ var('using_x', true) }}"`),
 * or as read from `config(enabled=...)`: true / false when known, `undefined` otherwise.
 */
export function evalEnabled(value: unknown, vars: Record<string, unknown>): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value && typeof value === "object" && "type" in value) return jinjaTruth(value as JinjaExpr, vars);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const m = /^\{\{-?([\s\S]*?)-?\}\}$/.exec(text);
  if (m) {
    const parsed = scanSql(`{{ config(enabled=(${m[1]})) }}`, "").config.enabled;
    return parsed ? jinjaTruth(parsed, vars) : undefined;
  }
  const lower = text.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return undefined;
}

// ---------------------------------------------------------------- name tables

/**
 * Bare function names that are not user macros: Jinja globals, dbt context functions, and names that
 * are keywords of the expression language.
 */
const NOT_MACROS = new Set([
  // handled specially
  "ref", "source", "config", "var",
  // Jinja globals and loop helpers
  "range", "lipsum", "dict", "list", "cycler", "joiner", "namespace", "loop", "caller", "super", "self",
  "varargs", "kwargs",
  // dbt context functions and objects
  "env_var", "return", "log", "print", "is_incremental", "run_query", "statement", "load_result",
  "store_result", "store_raw_result", "zip", "zip_strict", "set", "set_strict", "tojson", "fromjson",
  "toyaml", "fromyaml", "local_md5", "exceptions", "adapter", "modules", "this", "target", "graph",
  "api", "builtins", "doc", "metric", "write", "render", "as_bool", "as_native", "as_number", "as_text",
  "diff_of_two_dicts", "try_or_compiler_error", "debug", "load_agate_table", "submit_python_job",
  "context", "flags", "model", "invocation_args_dict", "selected_resources",
  // expression-language keywords that may precede a parenthesis
  "and", "or", "not", "in", "is", "if", "else", "elif", "for", "recursive", "import", "as", "with",
  "without", "from", "true", "false", "none", "True", "False", "None",
]);

/**
 * Heads of `head.name(` that are objects, not macro packages. `dbt` is deliberately absent:
 * `dbt.date_trunc(...)` etc. are dbt's own cross-database macros and are reported as written.
 */
const NOT_PACKAGES = new Set([
  "adapter", "exceptions", "modules", "builtins", "this", "target", "graph", "api", "loop", "caller",
  "self", "context", "kwargs", "varargs", "model", "config", "flags", "invocation_args_dict",
  "run_started_at", "selected_resources", "results", "node", "var", "env_var", "return", "zip",
  "namespace", "dict", "list", "range", "super", "sources", "schemas", "database_schemas",
]);

/**
 * Method names of Python values (str, list, dict, datetime) and dbt Relation / Column / agate
 * objects: `x.items()` / `relation.include(...)` are method calls, never macro calls.
 */
const VALUE_METHODS = new Set([
  "items", "keys", "values", "get", "append", "extend", "update", "pop", "popitem", "insert", "remove",
  "setdefault", "copy", "clear", "sort", "reverse", "count", "index",
  "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "replace", "format",
  "join", "startswith", "endswith", "title", "capitalize", "casefold", "find", "rfind", "isdigit",
  "isnumeric", "isalpha", "isalnum", "isupper", "islower", "isspace", "zfill", "encode", "decode",
  "partition", "rpartition", "center", "ljust", "rjust", "swapcase",
  "strftime", "strptime", "isoformat", "timestamp", "date", "time", "astimezone", "weekday",
  "isoweekday", "today", "now", "utcnow", "fromisoformat",
  "include", "incorporate", "replace_path", "quote", "without_identifier", "create", "create_from",
  "is_string", "is_number", "is_numeric", "is_float", "is_integer", "string_size", "can_expand_to",
  "literal", "print_table", "print_json", "print_csv", "select", "where", "order_by", "limit",
]);

// ---------------------------------------------------------------- tokens (shared, reused buffers)

const T_NAME = 1;
const T_STRING = 2;
const T_NUMBER = 3;
const T_OP = 4;
/** A string literal without its closing quote. */
const T_BADSTRING = 5;

// Two-character operators get codes above any char code we compare with.
const OP_EQEQ = 1001;
const OP_NE = 1002;
const OP_LE = 1003;
const OP_GE = 1004;
const OP_FLOORDIV = 1005;
const OP_POW = 1006;

const C_LPAREN = 40;
const C_RPAREN = 41;
const C_LBRACK = 91;
const C_RBRACK = 93;
const C_LBRACE = 123;
const C_RBRACE = 125;
const C_COMMA = 44;
const C_DOT = 46;
const C_PIPE = 124;
const C_TILDE = 126;
const C_PLUS = 43;
const C_MINUS = 45;
const C_EQ = 61;
const C_COLON = 58;
const C_PERCENT = 37;
const C_HASH = 35;

let cap = 512;
let tKind = new Uint8Array(cap);
let tOp = new Uint16Array(cap);
let tStart = new Int32Array(cap);
let tEnd = new Int32Array(cap);
let nTok = 0;

function growTokens(): void {
  const nc = cap * 2;
  const k = new Uint8Array(nc);
  k.set(tKind);
  const o = new Uint16Array(nc);
  o.set(tOp);
  const s = new Int32Array(nc);
  s.set(tStart);
  const e = new Int32Array(nc);
  e.set(tEnd);
  tKind = k;
  tOp = o;
  tStart = s;
  tEnd = e;
  cap = nc;
}

function pushTok(kind: number, start: number, end: number, op: number): void {
  if (nTok === cap) growTokens();
  tKind[nTok] = kind;
  tStart[nTok] = start;
  tEnd[nTok] = end;
  tOp[nTok] = op;
  nTok++;
}

// Character classes of ASCII characters (anything above 127 is a name character, as in Jinja).
const F_SPACE = 1;
const F_NAME = 2;
const F_DIGIT = 4;
const F_QUOTE = 8;
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 32 || (c >= 9 && c <= 13)) CHAR_CLASS[c] = F_SPACE;
  else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) CHAR_CLASS[c] = F_NAME;
  else if (c >= 48 && c <= 57) CHAR_CLASS[c] = F_DIGIT;
  else if (c === 39 || c === 34) CHAR_CLASS[c] = F_QUOTE;
}

function isOpenBracket(o: number): boolean {
  return o === C_LPAREN || o === C_LBRACK || o === C_LBRACE;
}

function isCloseBracket(o: number): boolean {
  return o === C_RPAREN || o === C_RBRACK || o === C_RBRACE;
}

/** Decode a Jinja (Python-style) string literal body, escapes included. */
function decodeString(text: string, start: number, end: number): string {
  const raw = text.slice(start, end);
  if (raw.indexOf("\\") < 0) return raw;
  let out = "";
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== 92) continue;
    out += raw.slice(last, i);
    const c = raw[i + 1];
    let skip = 2;
    switch (c) {
      case "n": out += "\n"; break;
      case "t": out += "\t"; break;
      case "r": out += "\r"; break;
      case "0": out += "\0"; break;
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "v": out += "\v"; break;
      case "\\": out += "\\"; break;
      case "'": out += "'"; break;
      case '"': out += '"'; break;
      case "\n": break; // line continuation
      case "x":
      case "u":
      case "U": {
        const len = c === "x" ? 2 : c === "u" ? 4 : 8;
        const hex = raw.slice(i + 2, i + 2 + len);
        if (hex.length === len && /^[0-9a-fA-F]+$/.test(hex)) {
          const cp = parseInt(hex, 16);
          out += cp <= 0x10ffff ? String.fromCodePoint(cp) : "\\" + c + hex;
          skip = 2 + len;
        } else {
          out += "\\" + c;
        }
        break;
      }
      case undefined: out += "\\"; skip = 1; break;
      default: out += "\\" + c; // Python keeps unknown escapes as written
    }
    i += skip - 1;
    last = i + 1;
  }
  return out + raw.slice(last);
}

// ---------------------------------------------------------------- the scanner

interface Collector {
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  /** `null` inside macros: a `config()` there only applies where the macro is called. */
  config: Record<string, JinjaExpr> | null;
  /** Where `var()` calls go (the file's facts, a macro or a snapshot; the list is made on first use). */
  varOwner: { varCalls?: VarCall[] };
}

interface Block {
  /** Block keyword: `if`, `for`, `macro`, `set`, ... */
  kind: string;
  /** Offset of the opening tag and of its end. */
  start: number;
  openEnd: number;
  /** The top-level definition this block opened, if any. */
  def?: MacroDef | SnapshotDef;
  /** `if` blocks: the condition of the current branch, and the conditions of the branches before. */
  guard?: JinjaExpr;
  prior?: JinjaExpr[];
  /** Variable bindings to put back when the block closes (undefined: the name was unbound). */
  saved?: Map<string, JinjaExpr | undefined>;
  /** Definitions: every binding from before the block (a macro has its own scope). */
  savedAll?: Map<string, JinjaExpr>;
}

/** Block keyword -> closing keyword (`raw` is handled separately). */
const BLOCK_ENDS: Record<string, string> = {
  if: "endif",
  for: "endfor",
  macro: "endmacro",
  call: "endcall",
  filter: "endfilter",
  set: "endset",
  test: "endtest",
  materialization: "endmaterialization",
  snapshot: "endsnapshot",
  docs: "enddocs",
  block: "endblock",
  with: "endwith",
  autoescape: "endautoescape",
};
const END_TO_BLOCK: Record<string, string> = {};
for (const k of Object.keys(BLOCK_ENDS)) END_TO_BLOCK[BLOCK_ENDS[k]] = k;

interface ArgList {
  /** Token ranges [start, end) of positional arguments. */
  pos: number[];
  /** Keyword arguments: name and token range of the value. */
  kw: { name: string; s: number; e: number }[];
  /** Index of the closing `)` token, -1 when missing. */
  close: number;
  /** Index of the last token inside the parentheses (or of the `(`). */
  last: number;
}

class Scanner {
  private readonly text: string;
  private readonly len: number;
  private readonly file: string;
  private li: LineIndex | undefined;
  readonly facts: SqlFacts;
  private cur: Collector;
  private defBlock: Block | null = null;
  private readonly blocks: Block[] = [];
  private readonly locals = new Set<string>();
  /**
   * What names stand for where their value is known statically: `{% set x = 'a' %}` (the value),
   * `{% for x in ['a', 'b'] %}` (`each` item of the list), macro parameters (`param`).
   */
  private bindings = new Map<string, JinjaExpr>();
  /** Offset of a `\n` at or after the last string start (cache for `lexString`). */
  private nextNewline = -1;
  /** Bracket stack of the lexer (the closers expected). */
  private readonly brackets: number[] = [];

  // lexer results for the current tag
  /** A proper closer was found. */
  private closed = false;
  /** The closer found was of the other tag kind (`{{ ... %}`). */
  private wrongCloser = false;
  /** Brackets were unbalanced in the tag. */
  private imbalance = false;
  /** Where the main loop continues (after the closer, at a nested opener, or at the end). */
  private resume = 0;
  /** A diagnostic about parentheses was already given for this tag (or a string in it is unterminated). */
  private parenReported = false;

  constructor(text: string, file: string) {
    this.text = text;
    this.len = text.length;
    this.file = file;
    this.facts = { refs: [], sources: [], config: {}, macroCalls: [], macros: [], snapshots: [], diagnostics: [] };
    this.cur = { refs: this.facts.refs, sources: this.facts.sources, macroCalls: this.facts.macroCalls, config: this.facts.config, varOwner: this.facts };
  }

  private lines(): LineIndex {
    return (this.li ??= new LineIndex(this.text));
  }

  private span(start: number, end: number): Span {
    return this.lines().span(start, end);
  }

  private error(start: number, end: number, message: string, code = "jinja-syntax"): void {
    this.facts.diagnostics.push({ file: this.file, span: this.span(start, end), severity: "error", message, code });
  }

  // ------------------------------------------------------------ main loop

  run(): SqlFacts {
    const text = this.text;
    const len = this.len;
    let pos = 0;
    while (pos < len) {
      const i = text.indexOf("{", pos);
      if (i < 0) break;
      const c = text.charCodeAt(i + 1);
      if (c === C_LBRACE) {
        pos = this.varTag(i);
      } else if (c === C_PERCENT) {
        pos = this.blockTag(i);
      } else if (c === C_HASH) {
        const j = text.indexOf("#}", i + 2);
        if (j < 0) {
          this.error(i, i + 2, "Unclosed '{#' opened here (expected '#}')");
          pos = len;
          break;
        }
        pos = j + 2;
      } else {
        pos = i + 1;
      }
    }
    // Blocks still open at the end of the file.
    while (this.blocks.length > 0) {
      const b = this.blocks.pop()!;
      this.neverClosed(b);
      this.finishBlock(b, len);
    }
    return this.facts;
  }

  /** The offset right after a `{{` / `{%` opener and its whitespace-control sign. */
  private contentStart(i: number): number {
    const c = this.text.charCodeAt(i + 2);
    return c === C_MINUS || c === C_PLUS ? i + 3 : i + 2;
  }

  private varTag(i: number): number {
    this.lex(this.contentStart(i), false);
    if (!this.closed) this.error(i, i + 2, "Unclosed '{{' opened here (expected '}}')");
    else if (this.wrongCloser) this.error(i, this.resume, "'{{' is closed by '%}' (expected '}}')");
    this.scanCalls(0);
    this.checkBrackets(i, this.resume, "{{");
    return this.resume;
  }

  private blockTag(i: number): number {
    this.lex(this.contentStart(i), true);
    const end = this.resume;
    if (!this.closed) this.error(i, i + 2, "Unclosed '{%' opened here (expected '%}')");
    else if (this.wrongCloser) this.error(i, end, "'{%' is closed by '}}' (expected '%}')");
    if (nTok === 0 || tKind[0] !== T_NAME) {
      if (this.closed && nTok === 0) this.error(i, end, "Empty '{% %}' tag (expected a tag name)");
      this.scanCalls(0);
      this.checkBrackets(i, end, "{%");
      return end;
    }
    const kw = this.text.slice(tStart[0], tEnd[0]);
    let from = 1;
    switch (kw) {
      case "raw":
        if (!this.closed) return end;
        return this.skipRaw(i, end);
      case "endraw":
        this.error(i, end, "'{% endraw %}' without matching '{% raw %}'");
        return end;
      case "if": {
        // Calls in the condition itself run whatever it gives: scanned before the block opens.
        const cond = this.cond(1, nTok);
        this.scanCalls(1);
        from = nTok;
        const b = this.push(kw, i, end);
        b.guard = cond;
        b.prior = [cond];
        break;
      }
      case "filter":
      case "autoescape":
      case "block":
      case "docs":
        this.push(kw, i, end);
        break;
      case "elif":
      case "else": {
        const topBlock = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1] : undefined;
        if (topBlock?.kind === "if" && topBlock.prior) {
          const negated = topBlock.prior.map((c) => notExpr(c));
          if (kw === "elif") {
            const cond = this.cond(1, nTok);
            topBlock.guard = andExpr(negated);
            this.scanCalls(1);
            from = nTok;
            topBlock.guard = andExpr([...negated, cond]);
            topBlock.prior.push(cond);
          } else {
            topBlock.guard = andExpr(negated);
          }
        }
        const top = topBlock ? topBlock.kind : "";
        if (top !== "if" && !(kw === "else" && top === "for")) {
          const expected = kw === "else" ? "'{% if %}' or '{% for %}'" : "'{% if %}'";
          if (top && BLOCK_ENDS[top] && this.blocks.some((b) => b.kind === "if" || (kw === "else" && b.kind === "for"))) {
            this.error(i, end, `'{% ${kw} %}' inside '{% ${top} %}' (expected '{% ${BLOCK_ENDS[top]} %}' first)`);
          } else {
            this.error(i, end, `'{% ${kw} %}' without matching ${expected}`);
          }
        }
        break;
      }
      case "for": {
        const b = this.push(kw, i, end);
        this.bindLoop(b);
        this.addLocalsUntil(1, "in");
        break;
      }
      case "with":
        this.push(kw, i, end);
        this.addAssignedNames(1);
        break;
      case "set": {
        if (this.hasTopLevelAssign(1)) {
          this.bindSet();
          this.addLocalsUntilAssign(1);
        } else {
          const b = this.push("set", i, end);
          if (nTok > 1 && tKind[1] === T_NAME) {
            const name = this.text.slice(tStart[1], tEnd[1]);
            this.locals.add(name);
            // `{% set x %}...{% endset %}`: a rendered block, not a value known here.
            b.saved = new Map([[name, this.bindings.get(name)]]);
            this.bindings.delete(name);
          }
        }
        break;
      }
      case "call": {
        const b = this.push(kw, i, end);
        if (nTok > 1 && tKind[1] === T_OP && tOp[1] === C_LPAREN) {
          const params = this.readParams(1);
          b.saved = new Map(params.map((p) => [p.name, this.bindings.get(p.name)]));
          for (const p of params) this.bindings.delete(p.name);
          const close = this.addParams(1);
          from = close + 1;
        }
        break;
      }
      case "macro":
      case "test":
      case "materialization":
      case "snapshot":
        from = this.openDefinition(kw, i, end);
        break;
      default: {
        const opened = END_TO_BLOCK[kw];
        if (opened !== undefined) {
          this.closeBlock(opened, kw, i, end);
          this.checkBrackets(i, end, "{%");
          return end;
        }
        // do, include, import, from, extends, unknown tags: scan their expressions.
      }
    }
    this.scanCalls(from);
    this.checkBrackets(i, end, "{%");
    return end;
  }

  private checkBrackets(start: number, end: number, opener: string): void {
    if (this.imbalance && this.closed && !this.parenReported) {
      this.error(start, end, `Unbalanced brackets in '${opener} ... ${opener === "{{" ? "}}" : "%}"}' tag`);
    }
  }

  // ------------------------------------------------------------ raw

  /** Skip a `{% raw %}` body; returns where scanning goes on. */
  private skipRaw(tagStart: number, from: number): number {
    const text = this.text;
    let k = text.indexOf("endraw", from);
    while (k >= 0) {
      // backwards: whitespace, optional '-' / '+', then '{%'
      let b = k - 1;
      while (b >= from && isSpace(text.charCodeAt(b))) b--;
      if (b >= from && (text.charCodeAt(b) === C_MINUS || text.charCodeAt(b) === C_PLUS)) b--;
      if (b - 1 >= from && text.charCodeAt(b) === C_PERCENT && text.charCodeAt(b - 1) === C_LBRACE) {
        // forwards: whitespace, optional '-', then '%}'
        let f = k + 6;
        while (f < this.len && isSpace(text.charCodeAt(f))) f++;
        if (text.charCodeAt(f) === C_MINUS || text.charCodeAt(f) === C_PLUS) f++;
        if (text.charCodeAt(f) === C_PERCENT && text.charCodeAt(f + 1) === C_RBRACE) return f + 2;
      }
      k = text.indexOf("endraw", k + 6);
    }
    this.error(tagStart, from, "'{% raw %}' is never closed (expected '{% endraw %}')");
    return this.len;
  }

  // ------------------------------------------------------------ blocks

  private push(kind: string, start: number, openEnd: number): Block {
    const b: Block = { kind, start, openEnd };
    this.blocks.push(b);
    return b;
  }

  private neverClosed(b: Block): void {
    this.error(b.start, b.openEnd, `'{% ${b.kind} %}' is never closed (expected '{% ${BLOCK_ENDS[b.kind]} %}')`);
  }

  private closeBlock(kind: string, endKw: string, tagStart: number, tagEnd: number): void {
    const blocks = this.blocks;
    let idx = blocks.length - 1;
    while (idx >= 0 && blocks[idx].kind !== kind) idx--;
    if (idx < 0) {
      this.error(tagStart, tagEnd, `'{% ${endKw} %}' without matching '{% ${kind} %}'`);
      return;
    }
    while (blocks.length - 1 > idx) {
      const b = blocks.pop()!;
      this.neverClosed(b);
      this.finishBlock(b, tagStart);
    }
    this.finishBlock(blocks.pop()!, tagEnd);
  }

  private finishBlock(b: Block, end: number): void {
    if (b.def) b.def.span = this.span(b.start, end);
    if (b.savedAll) this.bindings = b.savedAll;
    if (b.saved) {
      for (const [name, value] of b.saved) {
        if (value === undefined) this.bindings.delete(name);
        else this.bindings.set(name, value);
      }
    }
    if (this.defBlock === b) {
      this.defBlock = null;
      this.cur = { refs: this.facts.refs, sources: this.facts.sources, macroCalls: this.facts.macroCalls, config: this.facts.config, varOwner: this.facts };
    }
  }

  // ------------------------------------------------------------ bindings and guards

  /** `{% set x = <expr> %}`: remember the value when it is known (inside `if`, either value). */
  private bindSet(): void {
    if (!(nTok > 3 && tKind[1] === T_NAME && tKind[2] === T_OP && tOp[2] === C_EQ)) {
      // `{% set a, b = ... %}` / `{% set ns.x = ... %}`: forget the plain names assigned.
      for (let k = 1; k < nTok && !(tKind[k] === T_OP && tOp[k] === C_EQ); k++) {
        if (tKind[k] === T_NAME && !(k > 1 && tKind[k - 1] === T_OP && tOp[k - 1] === C_DOT)) this.bindings.delete(this.tokText(k));
      }
      return;
    }
    const name = this.tokText(1);
    let value = this.expr(3, nTok);
    // `{% set flag = var('a') and var('b') %}`: a condition, read by `x if flag else y` and `{% if flag %}`.
    if (value.type === "unknown") {
      const condition = this.cond(3, nTok);
      if (condition.type === "and" || condition.type === "or" || condition.type === "not" || condition.type === "compare") value = condition;
    }
    if (value.type === "unknown") {
      this.bindings.delete(name);
      return;
    }
    const prev = this.bindings.get(name);
    const conditional = this.blocks.some((b, i) => b.kind === "if" && (!this.defBlock || i > this.blocks.indexOf(this.defBlock)));
    this.bindings.set(name, conditional && prev ? { type: "each", of: { type: "list", items: [prev, value] }, text: name } : value);
  }

  /** `{% for x in <expr> %}`: `x` is each item of the iterable (restored at `endfor`). */
  private bindLoop(b: Block): void {
    let inAt = -1;
    for (let k = 1; k < nTok; k++) {
      if (tKind[k] === T_NAME && this.tokText(k) === "in") {
        inAt = k;
        break;
      }
    }
    if (inAt < 0) return;
    const targets: string[] = [];
    for (let k = 1; k < inAt; k++) if (tKind[k] === T_NAME) targets.push(this.tokText(k));
    b.saved = new Map(targets.map((t) => [t, this.bindings.get(t)]));
    let end = nTok;
    let depth = 0;
    for (let k = inAt + 1; k < nTok; k++) {
      if (tKind[k] === T_OP) {
        if (isOpenBracket(tOp[k])) depth++;
        else if (isCloseBracket(tOp[k])) depth--;
      } else if (depth === 0 && tKind[k] === T_NAME) {
        const w = this.tokText(k);
        if (w === "if" || w === "recursive") {
          end = k;
          break;
        }
      }
    }
    const of = this.expr(inAt + 1, end);
    for (const t of targets) this.bindings.delete(t);
    if (targets.length === 1 && inAt === 2 && of.type !== "unknown") this.bindings.set(targets[0], { type: "each", of, text: targets[0] });
  }

  /** Parameters of `( ... )` starting at token `open`: names and literal defaults. */
  private readParams(open: number): MacroParam[] {
    const close = this.matchClose(open, nTok);
    const end = close < 0 ? nTok : close;
    const out: MacroParam[] = [];
    const ranges = this.splitCommas(open + 1, end);
    for (let i = 0; i < ranges.length; i += 2) {
      const a = ranges[i];
      const b = ranges[i + 1];
      if (tKind[a] !== T_NAME) continue;
      const param: MacroParam = { name: this.tokText(a) };
      if (b - a >= 3 && tKind[a + 1] === T_OP && tOp[a + 1] === C_EQ) {
        const d = this.expr(a + 2, b);
        if (d.type !== "unknown") param.default = d;
      }
      out.push(param);
    }
    return out;
  }

  /** The `{% if %}` conditions the current position sits under (inside a definition: its own only). */
  private currentWhen(): JinjaExpr | undefined {
    const from = this.defBlock ? this.blocks.indexOf(this.defBlock) + 1 : 0;
    const guards: JinjaExpr[] = [];
    for (let i = from; i < this.blocks.length; i++) {
      const g = this.blocks[i].guard;
      if (g && g.type !== "unknown") guards.push(g);
    }
    if (guards.length === 0) return undefined;
    const all = andExpr(guards);
    return all.type === "unknown" ? undefined : all;
  }

  /**
   * `fivetran_utils.enabled_vars(['a', 'b'])` (every var true, each defaulting to true) and
   * `fivetran_utils.enabled_vars_one_true([...])` (any var true, each defaulting to false): the
   * conditions every Fivetran package puts in `config(enabled=...)`.
   */
  private enabledVarsHelper(s: number, e: number): JinjaExpr | undefined {
    if (!(e - s >= 5 && tKind[s] === T_NAME && this.isOp(s + 1, C_DOT) && tKind[s + 2] === T_NAME && this.isOp(s + 3, C_LPAREN))) return undefined;
    const fn = this.tokText(s + 2);
    if (this.tokText(s) !== "fivetran_utils" || (fn !== "enabled_vars" && fn !== "enabled_vars_one_true")) return undefined;
    if (this.matchClose(s + 3, e) !== e - 1) return undefined;
    const list = this.expr(s + 4, e - 1);
    if (list.type !== "list" || !list.items.every((i) => i.type === "string")) return undefined;
    const all = fn === "enabled_vars";
    const items: JinjaExpr[] = list.items.map((name) => ({ type: "var", name, fallback: { type: "bool", value: all } }));
    return all ? andExpr(items) : orExpr(items);
  }

  /** A condition: `or`, `and`, `not`, parentheses over expressions (see `expr`). */
  private cond(s: number, e: number): JinjaExpr {
    if (s >= e) return this.unknown(s, e);
    if (this.isOp(s, C_LPAREN) && this.matchClose(s, e) === e - 1) return this.cond(s + 1, e - 1);
    for (const word of ["or", "and"] as const) {
      const cuts: number[] = [];
      let depth = 0;
      for (let k = s; k < e; k++) {
        if (tKind[k] === T_OP) {
          if (isOpenBracket(tOp[k])) depth++;
          else if (isCloseBracket(tOp[k])) depth--;
        } else if (depth === 0 && tKind[k] === T_NAME && tEnd[k] - tStart[k] === word.length && this.tokText(k) === word) {
          cuts.push(k);
        }
      }
      if (cuts.length === 0) continue;
      const items: JinjaExpr[] = [];
      let a = s;
      for (const c of [...cuts, e]) {
        items.push(this.cond(a, c));
        a = c + 1;
      }
      return word === "and" ? andExpr(items) : orExpr(items);
    }
    if (tKind[s] === T_NAME && this.tokText(s) === "not") return notExpr(this.cond(s + 1, e));
    // dbt parses with `execute` false: what sits under `{% if execute %}` is no dependency in its DAG.
    if (e === s + 1 && tKind[s] === T_NAME && this.tokText(s) === "execute") return { type: "bool", value: false };
    const helper = this.enabledVarsHelper(s, e);
    if (helper) return helper;
    let depth = 0;
    for (let k = s; k < e; k++) {
      if (depth === 0 && k > s && tKind[k] === T_NAME && this.tokText(k) === "in") {
        // `'x' in var('list')`, `'x' not in ...`: membership in a list, a string or a dict's keys
        const negated = k - 1 > s && tKind[k - 1] === T_NAME && this.tokText(k - 1) === "not";
        const left = this.expr(s, negated ? k - 1 : k);
        const right = this.expr(k + 1, e);
        if (left.type === "unknown" || right.type === "unknown") return this.unknown(s, e);
        return { type: "compare", op: negated ? "not in" : "in", left, right };
      }
      if (tKind[k] !== T_OP) continue;
      const o = tOp[k];
      if (isOpenBracket(o)) depth++;
      else if (isCloseBracket(o)) depth--;
      else if (depth === 0 && o === C_PIPE) {
        // `x | as_bool`, `x | bool`: the truth of x
        const f = k + 1 < e && tKind[k + 1] === T_NAME ? this.tokText(k + 1) : "";
        const bare = k + 2 === e || (k + 4 === e && this.isOp(k + 2, C_LPAREN) && this.isOp(k + 3, C_RPAREN));
        if ((f === "as_bool" || f === "bool" || f === "as_native") && bare) return this.cond(s, k);
        return this.unknown(s, e);
      } else if (depth === 0 && (o === OP_EQEQ || o === OP_NE)) {
        const left = this.expr(s, k);
        const right = this.expr(k + 1, e);
        if (left.type === "unknown" || right.type === "unknown") return this.unknown(s, e);
        return { type: "compare", op: o === OP_EQEQ ? "==" : "!=", left, right };
      }
    }
    return this.expr(s, e);
  }

  /**
   * `{% macro name(params) %}`, `{% test name(params) %}`, `{% materialization name, adapter='x' %}`,
   * `{% snapshot name %}`. Returns the token index where call scanning of the tag starts.
   */
  private openDefinition(kw: string, tagStart: number, tagEnd: number): number {
    const b = this.push(kw, tagStart, tagEnd);
    const hasName = nTok > 1 && tKind[1] === T_NAME;
    if (!hasName) this.error(tagStart, tagEnd, `'{% ${kw} %}' needs a name`);
    const from = hasName ? 2 : 1;
    const hasParams = nTok > from && tKind[from] === T_OP && tOp[from] === C_LPAREN;
    const params = hasParams ? this.readParams(from) : [];
    if (hasParams) this.addParams(from);
    b.savedAll = new Map(this.bindings);
    const nested = this.defBlock !== null || !hasName;
    for (const p of params) {
      if (nested) this.bindings.delete(p.name);
      else this.bindings.set(p.name, { type: "param", name: p.name });
    }
    if (nested) return from; // nested: belongs to the enclosing definition
    const name = this.text.slice(tStart[1], tEnd[1]);
    const nameSpan = this.span(tStart[1], tEnd[1]);
    const span = this.span(tagStart, this.len); // fixed when the block closes
    if (kw === "snapshot") {
      const def: SnapshotDef = { name, span, nameSpan, refs: [], sources: [], macroCalls: [], config: {} };
      this.facts.snapshots.push(def);
      b.def = def;
      this.cur = { refs: def.refs, sources: def.sources, macroCalls: def.macroCalls, config: def.config, varOwner: def };
    } else {
      const def: MacroDef = { name, span, nameSpan, refs: [], sources: [], macroCalls: [] };
      if (params.length > 0) def.params = params;
      this.facts.macros.push(def);
      b.def = def;
      this.cur = { refs: def.refs, sources: def.sources, macroCalls: def.macroCalls, config: null, varOwner: def };
    }
    this.defBlock = b;
    return from;
  }

  // ------------------------------------------------------------ locals (for method-call detection)

  /** Parameter names inside `( ... )` starting at token `open`; returns the index of `)` (or the last token). */
  private addParams(open: number): number {
    let depth = 0;
    for (let k = open; k < nTok; k++) {
      if (tKind[k] === T_OP) {
        const o = tOp[k];
        if (isOpenBracket(o)) depth++;
        else if (isCloseBracket(o)) {
          depth--;
          if (depth === 0) return k;
        }
      } else if (tKind[k] === T_NAME && depth === 1 && tKind[k - 1] === T_OP && (tOp[k - 1] === C_LPAREN || tOp[k - 1] === C_COMMA)) {
        this.locals.add(this.text.slice(tStart[k], tEnd[k]));
      }
    }
    return nTok - 1;
  }

  private addLocalsUntil(from: number, stopWord: string): void {
    for (let k = from; k < nTok; k++) {
      if (tKind[k] !== T_NAME) continue;
      const name = this.text.slice(tStart[k], tEnd[k]);
      if (name === stopWord) return;
      this.locals.add(name);
    }
  }

  private hasTopLevelAssign(from: number): boolean {
    let depth = 0;
    for (let k = from; k < nTok; k++) {
      if (tKind[k] !== T_OP) continue;
      const o = tOp[k];
      if (isOpenBracket(o)) depth++;
      else if (isCloseBracket(o)) depth--;
      else if (o === C_EQ && depth === 0) return true;
    }
    return false;
  }

  private addLocalsUntilAssign(from: number): void {
    for (let k = from; k < nTok; k++) {
      if (tKind[k] === T_OP && tOp[k] === C_EQ) return;
      if (tKind[k] === T_NAME && !(k > 0 && tKind[k - 1] === T_OP && tOp[k - 1] === C_DOT)) {
        this.locals.add(this.text.slice(tStart[k], tEnd[k]));
      }
    }
  }

  /** `{% with a = 1, b = 2 %}`: names directly followed by `=`. */
  private addAssignedNames(from: number): void {
    for (let k = from; k + 1 < nTok; k++) {
      if (tKind[k] === T_NAME && tKind[k + 1] === T_OP && tOp[k + 1] === C_EQ) {
        this.locals.add(this.text.slice(tStart[k], tEnd[k]));
      }
    }
  }

  // ------------------------------------------------------------ lexer

  /**
   * Tokenize a tag's content from `p` until its closer. Sets `closed`, `wrongCloser`, `imbalance`,
   * `resume`, and fills the token buffers.
   */
  private lex(p: number, isBlock: boolean): void {
    const text = this.text;
    const len = this.len;
    const stack = this.brackets;
    let sp = 0;
    nTok = 0;
    this.closed = false;
    this.wrongCloser = false;
    this.imbalance = false;
    this.parenReported = false;
    for (;;) {
      let c = 0;
      let cls = 0;
      while (p < len) {
        c = text.charCodeAt(p);
        cls = c < 128 ? CHAR_CLASS[c] : F_NAME;
        if (cls !== F_SPACE) break;
        p++;
      }
      if (p >= len) {
        this.resume = len;
        return;
      }
      if (cls === F_NAME) {
        const s = p;
        p++;
        while (p < len) {
          const d = text.charCodeAt(p);
          if (d < 128 && (CHAR_CLASS[d] & (F_NAME | F_DIGIT)) === 0) break;
          p++;
        }
        pushTok(T_NAME, s, p, 0);
        continue;
      }
      if (cls === F_DIGIT) {
        const s = p;
        p = this.lexNumber(p);
        pushTok(T_NUMBER, s, p, 0);
        continue;
      }
      if (cls === F_QUOTE) {
        p = this.lexString(p, c, isBlock);
        continue;
      }
      const n = p + 1 < len ? text.charCodeAt(p + 1) : 0;
      // closers and openers of tags
      if (c === C_MINUS || c === C_PLUS) {
        const n2 = p + 2 < len ? text.charCodeAt(p + 2) : 0;
        if (n2 === C_RBRACE && (n === C_RBRACE || n === C_PERCENT)) {
          this.finish(p + 3, n === C_PERCENT, isBlock, sp);
          return;
        }
      } else if (c === C_RBRACE && n === C_RBRACE) {
        if (sp > 0 && stack[sp - 1] === C_RBRACE) {
          // closes a dict; the second brace is looked at on the next round
          sp--;
          pushTok(T_OP, p, p + 1, C_RBRACE);
          p++;
          continue;
        }
        this.finish(p + 2, false, isBlock, sp);
        return;
      } else if (c === C_PERCENT && n === C_RBRACE) {
        this.finish(p + 2, true, isBlock, sp);
        return;
      } else if (c === C_LBRACE && (n === C_LBRACE || n === C_PERCENT || n === C_HASH)) {
        // Another tag starts: this one was never closed.
        this.resume = p;
        return;
      }
      // operators
      let op = c;
      let w = 1;
      if (n === C_EQ && (c === C_EQ || c === 33 || c === 60 || c === 62)) {
        op = c === C_EQ ? OP_EQEQ : c === 33 ? OP_NE : c === 60 ? OP_LE : OP_GE;
        w = 2;
      } else if (c === 47 && n === 47) {
        op = OP_FLOORDIV;
        w = 2;
      } else if (c === 42 && n === 42) {
        op = OP_POW;
        w = 2;
      } else if (c === C_LPAREN) stack[sp++] = C_RPAREN;
      else if (c === C_LBRACK) stack[sp++] = C_RBRACK;
      else if (c === C_LBRACE) stack[sp++] = C_RBRACE;
      else if (c === C_RPAREN || c === C_RBRACK || c === C_RBRACE) {
        if (sp > 0 && stack[sp - 1] === c) sp--;
        else {
          this.imbalance = true;
          let at = sp - 1;
          while (at >= 0 && stack[at] !== c) at--;
          if (at >= 0) sp = at;
        }
      }
      pushTok(T_OP, p, p + w, op);
      p += w;
    }
  }

  private finish(end: number, closerIsBlock: boolean, isBlock: boolean, sp: number): void {
    this.closed = true;
    this.resume = end;
    this.wrongCloser = closerIsBlock !== isBlock;
    if (sp > 0) this.imbalance = true;
  }

  private lexNumber(p: number): number {
    const text = this.text;
    const len = this.len;
    let c = 0;
    while (p < len && (((c = text.charCodeAt(p)) >= 48 && c <= 57) || c === 95)) p++;
    if (c === C_DOT && p + 1 < len) {
      const d = text.charCodeAt(p + 1);
      if (d >= 48 && d <= 57) {
        p++;
        while (p < len && (((c = text.charCodeAt(p)) >= 48 && c <= 57) || c === 95)) p++;
      }
    }
    if ((c === 101 || c === 69) && p + 1 < len) {
      let q = p + 1;
      const s = text.charCodeAt(q);
      if (s === C_PLUS || s === C_MINUS) q++;
      const d = text.charCodeAt(q);
      if (d >= 48 && d <= 57) {
        p = q;
        while (p < len && (c = text.charCodeAt(p)) >= 48 && c <= 57) p++;
      }
    }
    return p;
  }

  /**
   * A string literal starting at the quote `p`. Strings may span lines. One that is still open at
   * the end of a line holding the tag's closer (not preceded by an opener, as in `'{{ this }}'`), or
   * at the end of the file, is unterminated: it is cut at the closer so the tag can end there.
   */
  private lexString(p: number, q: number, isBlock: boolean): number {
    const text = this.text;
    const len = this.len;
    // Fast path (native searches): the closing quote is on the same line. A quote is escaped when
    // an odd number of backslashes precedes it.
    let j = text.indexOf(q === 39 ? "'" : '"', p + 1);
    while (j > 0) {
      let b = j - 1;
      while (b > p && text.charCodeAt(b) === 92) b--;
      if (((j - 1 - b) & 1) === 0) break;
      j = text.indexOf(q === 39 ? "'" : '"', j + 1);
    }
    if (j > 0) {
      if (this.nextNewline <= p) {
        this.nextNewline = text.indexOf("\n", p + 1);
        if (this.nextNewline < 0) this.nextNewline = len;
      }
      if (j < this.nextNewline) {
        pushTok(T_STRING, p, j + 1, 0);
        return j + 1;
      }
    }
    const closer2 = isBlock ? C_PERCENT : C_RBRACE;
    let i = p + 1;
    let firstLine = true;
    let bareCloser = -1;
    let sawOpener = false;
    while (i < len) {
      const ch = text.charCodeAt(i);
      if (ch === 92) {
        i += 2;
        continue;
      }
      if (ch === q) {
        pushTok(T_STRING, p, i + 1, 0);
        return i + 1;
      }
      if (firstLine) {
        if (ch === 10 || ch === 13) {
          if (bareCloser >= 0) break;
          firstLine = false;
        } else if (ch === C_LBRACE) {
          const nx = text.charCodeAt(i + 1);
          if (nx === C_LBRACE || nx === C_PERCENT) sawOpener = true;
        } else if (bareCloser < 0 && !sawOpener && ch === closer2 && text.charCodeAt(i + 1) === C_RBRACE) {
          bareCloser = i;
          // a whitespace-control sign belongs to the closer
          const prev = text.charCodeAt(i - 1);
          if ((prev === C_MINUS || prev === C_PLUS) && i - 1 > p) bareCloser = i - 1;
        }
      }
      i++;
    }
    // Unterminated.
    let cut = bareCloser;
    if (cut < 0) {
      const k = text.indexOf(isBlock ? "%}" : "}}", p + 1);
      cut = k;
      if (k > p + 1) {
        const prev = text.charCodeAt(k - 1);
        if (prev === C_MINUS || prev === C_PLUS) cut = k - 1;
      }
    }
    const stop = cut >= 0 ? cut : len;
    let lineEnd = p + 1;
    while (lineEnd < stop && text.charCodeAt(lineEnd) !== 10 && text.charCodeAt(lineEnd) !== 13) lineEnd++;
    let tokEnd = stop;
    while (tokEnd > p + 1 && isSpace(text.charCodeAt(tokEnd - 1))) tokEnd--;
    this.error(p, Math.min(lineEnd, tokEnd), "Unterminated string literal");
    this.parenReported = true; // brackets after the cut are the string's fault
    pushTok(T_BADSTRING, p, tokEnd, 0);
    return stop;
  }

  // ------------------------------------------------------------ calls

  private tokText(k: number): string {
    return this.text.slice(tStart[k], tEnd[k]);
  }

  private isOp(k: number, op: number): boolean {
    return k >= 0 && k < nTok && tKind[k] === T_OP && tOp[k] === op;
  }

  /**
   * Find calls in tokens [from, nTok):
   * - `name(` where `name` is not a Jinja/dbt builtin or keyword: a macro call;
   * - `pkg.name(` where `pkg` is a bare identifier that is neither a known object (`adapter`,
   *   `this`, `loop`, ...), nor a local variable of the file (set / for / macro parameters), and
   *   `name` is not a common value method (`items`, `get`, `upper`, ...): a macro call `pkg.name`;
   * - `ref(` / `source(` / `config(` and the same behind `builtins.`: recorded with their arguments;
   * - `adapter.dispatch('m', 'ns')`: the dispatched implementation `ns.default__m` is recorded as a
   *   macro call (the linker can look for adapter-specific variants too);
   * - skipped: deeper chains (`a.b.c(`), anything after a `.` that follows `)`, `]` or a string
   *   (method calls on values), filters (`| name(`) and tests (`is name(`).
   * Arguments are scanned too (`dbt_utils.star(from=ref('x'))` yields both calls).
   */
  private scanCalls(from: number): void {
    for (let k = from; k < nTok; k++) {
      if (tKind[k] !== T_NAME) continue;
      let j = k;
      while (j + 2 < nTok && tKind[j + 1] === T_OP && tOp[j + 1] === C_DOT && tKind[j + 2] === T_NAME) j += 2;
      const open = j + 1;
      if (!this.isOp(open, C_LPAREN)) {
        k = j;
        continue;
      }
      const chainStart = k;
      k = j;
      const prev = chainStart - 1;
      if (prev >= 0) {
        if (tKind[prev] === T_OP && (tOp[prev] === C_DOT || tOp[prev] === C_PIPE)) continue;
        if (tKind[prev] === T_NAME) {
          const pw = this.tokText(prev);
          if (pw === "is") continue;
          if (pw === "not" && prev > 0 && tKind[prev - 1] === T_NAME && this.tokText(prev - 1) === "is") continue;
        }
      }
      const parts = (j - chainStart) / 2 + 1;
      if (parts > 2) continue;
      const head = this.tokText(chainStart);
      if (parts === 1) {
        if (head === "ref") this.refCall(chainStart, open);
        else if (head === "source") this.sourceCall(chainStart, open);
        else if (head === "config") this.configCall(open);
        else if (head === "var") this.varCall(chainStart, open);
        else if (!NOT_MACROS.has(head)) this.addMacroCall(head, chainStart, chainStart);
        continue;
      }
      const tail = this.tokText(j);
      if (head === "builtins") {
        if (tail === "ref") this.refCall(chainStart, open);
        else if (tail === "source") this.sourceCall(chainStart, open);
        else if (tail === "config") this.configCall(open);
      } else if (head === "adapter") {
        if (tail === "dispatch") this.dispatchCall(open);
      } else if (!NOT_PACKAGES.has(head) && !this.locals.has(head) && !VALUE_METHODS.has(tail)) {
        this.addMacroCall(head + "." + tail, chainStart, j);
      }
    }
  }

  private addMacroCall(name: string, first: number, last: number): void {
    const call: MacroCall = { name, span: this.span(tStart[first], tEnd[last]) };
    const a = this.args(last + 1);
    if (a.pos.length > 0) {
      call.args = [];
      for (let i = 0; i < a.pos.length; i += 2) call.args.push(this.expr(a.pos[i], a.pos[i + 1]));
    }
    if (a.kw.length > 0) call.kwargs = this.kwargs(a);
    const when = this.currentWhen();
    if (when) call.when = when;
    this.cur.macroCalls.push(call);
  }

  private varCall(first: number, open: number): void {
    const a = this.args(open);
    if (a.close < 0) return;
    const expr = this.expr(first, a.close + 1);
    if (expr.type !== "var") return;
    const call: VarCall = { expr, span: this.span(tStart[first], tEnd[a.close]) };
    const when = this.currentWhen();
    if (when) call.when = when;
    (this.cur.varOwner.varCalls ??= []).push(call);
  }

  /** Split the argument list opened at token `open`. */
  private args(open: number): ArgList {
    const pos: number[] = [];
    const kw: { name: string; s: number; e: number }[] = [];
    let depth = 0;
    let s = open + 1;
    let close = -1;
    let k = open + 1;
    for (; k < nTok; k++) {
      if (tKind[k] !== T_OP) continue;
      const o = tOp[k];
      if (isOpenBracket(o)) depth++;
      else if (isCloseBracket(o)) {
        if (depth === 0) {
          if (o === C_RPAREN) close = k;
          break;
        }
        depth--;
      } else if (o === C_COMMA && depth === 0) {
        this.addArg(pos, kw, s, k);
        s = k + 1;
      }
    }
    this.addArg(pos, kw, s, k);
    return { pos, kw, close, last: close >= 0 ? close - 1 : Math.min(k, nTok) - 1 };
  }

  private addArg(pos: number[], kw: { name: string; s: number; e: number }[], s: number, e: number): void {
    if (s >= e) return;
    if (tKind[s] === T_OP && (tOp[s] === 42 || tOp[s] === OP_POW)) return; // *args / **kwargs
    if (e - s >= 2 && tKind[s] === T_NAME && tKind[s + 1] === T_OP && tOp[s + 1] === C_EQ) {
      kw.push({ name: this.tokText(s), s: s + 2, e });
    } else {
      pos.push(s, e);
    }
  }

  private rangeSpan(s: number, e: number): Span {
    return this.span(tStart[s], tEnd[e - 1]);
  }

  /** Span of a call from its first token to `)` (or its last argument token); reports a missing `)`. */
  private callSpan(first: number, open: number, a: ArgList, what: string): Span {
    const endTok = a.close >= 0 ? a.close : Math.max(a.last, open);
    const span = this.span(tStart[first], tEnd[endTok]);
    if (a.close < 0 && !this.parenReported) {
      this.error(tStart[first], tEnd[endTok], `'${what}(' call is missing its closing ')'`);
      this.parenReported = true;
    }
    return span;
  }

  private kwargs(a: ArgList): Record<string, JinjaExpr> {
    const out: Record<string, JinjaExpr> = {};
    for (const { name, s, e } of a.kw) out[name] = this.expr(s, e);
    return out;
  }

  private refCall(first: number, open: number): void {
    const a = this.args(open);
    const span = this.callSpan(first, open, a, "ref");
    const args: JinjaExpr[] = [];
    for (let i = 0; i < a.pos.length; i += 2) args.push(this.expr(a.pos[i], a.pos[i + 1]));
    const n = a.pos.length;
    const call: RefCall = {
      args,
      kwargs: this.kwargs(a),
      span,
      nameSpan: n > 0 ? this.rangeSpan(a.pos[n - 2], a.pos[n - 1]) : span,
    };
    if (n >= 4) call.packageSpan = this.rangeSpan(a.pos[0], a.pos[1]);
    const when = this.currentWhen();
    if (when) call.when = when;
    this.cur.refs.push(call);
  }

  private sourceCall(first: number, open: number): void {
    const a = this.args(open);
    const span = this.callSpan(first, open, a, "source");
    const args: JinjaExpr[] = [];
    for (let i = 0; i < a.pos.length; i += 2) args.push(this.expr(a.pos[i], a.pos[i + 1]));
    const n = a.pos.length;
    const call: SourceCall = {
      args,
      kwargs: this.kwargs(a),
      span,
      sourceSpan: n >= 2 ? this.rangeSpan(a.pos[0], a.pos[1]) : span,
      tableSpan: n >= 4 ? this.rangeSpan(a.pos[2], a.pos[3]) : span,
    };
    const when = this.currentWhen();
    if (when) call.when = when;
    this.cur.sources.push(call);
  }

  private configCall(open: number): void {
    const a = this.args(open);
    if (a.close < 0 && !this.parenReported) {
      this.error(tStart[open], tEnd[Math.max(a.last, open)], "'config(' call is missing its closing ')'");
      this.parenReported = true;
    }
    const target = this.cur.config;
    if (target === null) return;
    // `config({'materialized': 'table'})`: a single positional dict
    if (a.pos.length === 2 && a.kw.length === 0) {
      const d = this.expr(a.pos[0], a.pos[1]);
      if (d.type === "dict") for (const key of Object.keys(d.entries)) target[key] = d.entries[key];
    }
    for (const { name, s, e } of a.kw) target[name] = name === "enabled" ? this.cond(s, e) : this.expr(s, e);
  }

  private dispatchCall(open: number): void {
    const a = this.args(open);
    if (a.pos.length === 0) return;
    const nameExpr = this.expr(a.pos[0], a.pos[1]);
    if (nameExpr.type !== "string" || nameExpr.value === "") return;
    let ns: JinjaExpr | undefined = a.pos.length >= 4 ? this.expr(a.pos[2], a.pos[3]) : undefined;
    for (const { name, s, e } of a.kw) if (name === "macro_namespace") ns = this.expr(s, e);
    const prefix = ns && ns.type === "string" && ns.value ? ns.value + "." : "";
    const call: MacroCall = { name: `${prefix}default__${nameExpr.value}`, span: this.rangeSpan(a.pos[0], a.pos[1]) };
    // `adapter.dispatch('m', 'ns')(a, b=c)`: the arguments of the dispatched call
    if (a.close >= 0 && this.isOp(a.close + 1, C_LPAREN)) {
      const b = this.args(a.close + 1);
      if (b.pos.length > 0) {
        call.args = [];
        for (let i = 0; i < b.pos.length; i += 2) call.args.push(this.expr(b.pos[i], b.pos[i + 1]));
      }
      if (b.kw.length > 0) call.kwargs = this.kwargs(b);
    }
    const when = this.currentWhen();
    if (when) call.when = when;
    this.cur.macroCalls.push(call);
  }

  // ------------------------------------------------------------ expressions

  private unknown(s: number, e: number): JinjaExpr {
    return { type: "unknown", text: s < e ? this.text.slice(tStart[s], tEnd[e - 1]) : "" };
  }

  /** Index of the bracket closing the one at `k`, within [k, e); -1 when missing. */
  private matchClose(k: number, e: number): number {
    let depth = 0;
    for (let i = k; i < e; i++) {
      if (tKind[i] !== T_OP) continue;
      const o = tOp[i];
      if (isOpenBracket(o)) depth++;
      else if (isCloseBracket(o)) {
        depth--;
        if (depth === 0) return i;
      }
    }
    return -1;
  }

  /** Split [s, e) at top-level commas into ranges (a trailing comma is allowed). */
  private splitCommas(s: number, e: number): number[] {
    const out: number[] = [];
    let depth = 0;
    let a = s;
    for (let k = s; k < e; k++) {
      if (tKind[k] !== T_OP) continue;
      const o = tOp[k];
      if (isOpenBracket(o)) depth++;
      else if (isCloseBracket(o)) depth--;
      else if (o === C_COMMA && depth === 0) {
        out.push(a, k);
        a = k + 1;
      }
    }
    if (a < e) out.push(a, e);
    return out;
  }

  /**
   * The symbolic value of tokens [s, e): literals, lists, dicts, `var(...)`, concatenations with
   * `~` / `+`; anything else (filters, comparisons, conditionals, attribute access, other calls)
   * is `unknown` with its source text.
   */
  private expr(s: number, e: number): JinjaExpr {
    if (s >= e) return this.unknown(s, e);
    const cuts: number[] = [];
    let depth = 0;
    let sawPlus = false;
    for (let k = s; k < e; k++) {
      const kind = tKind[k];
      if (kind === T_OP) {
        const o = tOp[k];
        if (isOpenBracket(o)) depth++;
        else if (isCloseBracket(o)) depth--;
        else if (depth === 0) {
          const afterOperand = k > s && !(tKind[k - 1] === T_OP && !isCloseBracket(tOp[k - 1]));
          if ((o === C_TILDE || o === C_PLUS) && afterOperand) {
            cuts.push(k);
            if (o === C_PLUS) sawPlus = true;
          } else if (o === C_MINUS && afterOperand) {
            return this.unknown(s, e);
          } else if (o === C_EQ || o === OP_EQEQ || o === OP_NE || o === OP_LE || o === OP_GE || o === 60 || o === 62) {
            return this.unknown(s, e);
          }
        }
      } else if (kind === T_NAME && depth === 0 && k > s) {
        const len = tEnd[k] - tStart[k];
        if (len <= 4) {
          const w = this.tokText(k);
          if (w === "if") return this.choice(s, k, e);
          if (w === "else" || w === "and" || w === "or" || w === "not" || w === "in" || w === "is") {
            return this.unknown(s, e);
          }
        }
      }
    }
    if (cuts.length === 0) return this.operand(s, e);
    const parts: JinjaExpr[] = [];
    let a = s;
    cuts.push(e);
    for (const c of cuts) {
      if (a >= c) return this.unknown(s, e);
      const part = this.operand(a, c);
      if (part.type === "concat") parts.push(...part.parts);
      else parts.push(part);
      a = c + 1;
    }
    // `+` adds numbers and lists: only a concatenation when every part can be a string.
    if (sawPlus && parts.some((p) => p.type === "number" || p.type === "list" || p.type === "dict")) {
      return this.unknown(s, e);
    }
    return { type: "concat", parts };
  }

  /** `then if when else otherwise` on [s, e), the `if` at `at`; without `else`, unknown. */
  private choice(s: number, at: number, e: number): JinjaExpr {
    let depth = 0;
    for (let k = at + 1; k < e; k++) {
      if (tKind[k] === T_OP) {
        if (isOpenBracket(tOp[k])) depth++;
        else if (isCloseBracket(tOp[k])) depth--;
      } else if (depth === 0 && tKind[k] === T_NAME && this.tokText(k) === "else") {
        const then = this.expr(s, at);
        const otherwise = this.expr(k + 1, e);
        if (then.type === "unknown" || otherwise.type === "unknown") return this.unknown(s, e);
        return { type: "choice", when: this.cond(at + 1, k), then, otherwise };
      }
    }
    return this.unknown(s, e);
  }

  /** One operand: must be a single primary spanning [s, e), else `unknown`. */
  private operand(s: number, e: number): JinjaExpr {
    const r = this.primary(s, e);
    if (r !== null && this.primaryEnd === e) return r;
    return this.unknown(s, e);
  }

  private primaryEnd = 0;

  private numberValue(k: number): number {
    const t = this.tokText(k);
    return Number(t.indexOf("_") < 0 ? t : t.split("_").join(""));
  }

  /** Parse a primary at `s`; sets `primaryEnd`. `null` when it is not a literal / var(). */
  private primary(s: number, e: number): JinjaExpr | null {
    const kind = tKind[s];
    if (kind === T_STRING) {
      let value = decodeString(this.text, tStart[s] + 1, tEnd[s] - 1);
      let k = s + 1;
      while (k < e && tKind[k] === T_STRING) {
        value += decodeString(this.text, tStart[k] + 1, tEnd[k] - 1);
        k++;
      }
      this.primaryEnd = k;
      return { type: "string", value };
    }
    if (kind === T_NUMBER) {
      this.primaryEnd = s + 1;
      return { type: "number", value: this.numberValue(s) };
    }
    if (kind === T_OP) {
      const o = tOp[s];
      if (o === C_MINUS && s + 1 < e && tKind[s + 1] === T_NUMBER) {
        this.primaryEnd = s + 2;
        return { type: "number", value: -this.numberValue(s + 1) };
      }
      if (o === C_LBRACK || o === C_LPAREN || o === C_LBRACE) {
        const close = this.matchClose(s, e);
        if (close < 0) return null;
        const ranges = this.splitCommas(s + 1, close);
        this.primaryEnd = close + 1;
        if (o === C_LBRACE) {
          const entries: Record<string, JinjaExpr> = {};
          for (let i = 0; i < ranges.length; i += 2) {
            const a = ranges[i];
            const b = ranges[i + 1];
            let colon = -1;
            let depth = 0;
            for (let k = a; k < b; k++) {
              if (tKind[k] !== T_OP) continue;
              const oo = tOp[k];
              if (isOpenBracket(oo)) depth++;
              else if (isCloseBracket(oo)) depth--;
              else if (oo === C_COLON && depth === 0) {
                colon = k;
                break;
              }
            }
            if (colon < 0) return null;
            const key = this.expr(a, colon);
            if (key.type !== "string" && key.type !== "number") return null;
            entries[String(key.value)] = this.expr(colon + 1, b);
          }
          this.primaryEnd = close + 1;
          return { type: "dict", entries };
        }
        if (o === C_LPAREN) {
          // a parenthesized expression, or a tuple (read as a list)
          let isTuple = ranges.length !== 2;
          if (!isTuple && tKind[close - 1] === T_OP && tOp[close - 1] === C_COMMA) isTuple = true;
          if (!isTuple) {
            const inner = this.expr(ranges[0], ranges[1]);
            this.primaryEnd = close + 1;
            return inner;
          }
        }
        const items: JinjaExpr[] = [];
        for (let i = 0; i < ranges.length; i += 2) items.push(this.expr(ranges[i], ranges[i + 1]));
        this.primaryEnd = close + 1;
        return { type: "list", items };
      }
      return null;
    }
    if (kind === T_NAME) {
      const w = this.tokText(s);
      switch (w) {
        case "true":
        case "True":
          this.primaryEnd = s + 1;
          return { type: "bool", value: true };
        case "false":
        case "False":
          this.primaryEnd = s + 1;
          return { type: "bool", value: false };
        case "none":
        case "None":
          this.primaryEnd = s + 1;
          return { type: "none" };
        case "var":
        case "dict": {
          if (!(s + 1 < e && tKind[s + 1] === T_OP && tOp[s + 1] === C_LPAREN)) return null;
          const close = this.matchClose(s + 1, e);
          if (close < 0) return null;
          const ranges = this.splitCommas(s + 2, close);
          if (w === "dict") {
            const entries: Record<string, JinjaExpr> = {};
            for (let i = 0; i < ranges.length; i += 2) {
              const a = ranges[i];
              const b = ranges[i + 1];
              if (!(b - a >= 3 && tKind[a] === T_NAME && tKind[a + 1] === T_OP && tOp[a + 1] === C_EQ)) return null;
              entries[this.tokText(a)] = this.expr(a + 2, b);
            }
            this.primaryEnd = close + 1;
            return { type: "dict", entries };
          }
          let name: JinjaExpr | undefined;
          let fallback: JinjaExpr | undefined;
          for (let i = 0; i < ranges.length; i += 2) {
            const a = ranges[i];
            const b = ranges[i + 1];
            if (b - a >= 3 && tKind[a] === T_NAME && tKind[a + 1] === T_OP && tOp[a + 1] === C_EQ) {
              const kwName = this.tokText(a);
              if (kwName === "default") fallback = this.expr(a + 2, b);
              else if (kwName === "var_name" || kwName === "name") name = this.expr(a + 2, b);
            } else if (name === undefined) name = this.expr(a, b);
            else if (fallback === undefined) fallback = this.expr(a, b);
          }
          if (name === undefined) return null;
          this.primaryEnd = close + 1;
          return fallback === undefined ? { type: "var", name } : { type: "var", name, fallback };
        }
        default: {
          const bound = this.bindings.get(w);
          if (bound !== undefined) {
            let value = bound;
            let k = s + 1;
            // `item[1]`, `item['name']`, `item.name` (not a method call)
            for (;;) {
              if (k + 2 < e && this.isOp(k, C_LBRACK) && this.isOp(k + 2, C_RBRACK) && (tKind[k + 1] === T_NUMBER || tKind[k + 1] === T_STRING)) {
                const key = tKind[k + 1] === T_NUMBER ? this.numberValue(k + 1) : decodeString(this.text, tStart[k + 1] + 1, tEnd[k + 1] - 1);
                value = { type: "index", of: value, key };
                k += 3;
              } else if (k + 3 < e && this.isOp(k, C_LBRACK) && this.isOp(k + 1, C_MINUS) && tKind[k + 2] === T_NUMBER && this.isOp(k + 3, C_RBRACK)) {
                value = { type: "index", of: value, key: -this.numberValue(k + 2) };
                k += 4;
              } else if (k + 1 < e && this.isOp(k, C_DOT) && tKind[k + 1] === T_NAME && !this.isOp(k + 2, C_LPAREN)) {
                value = { type: "index", of: value, key: this.tokText(k + 1) };
                k += 2;
              } else break;
            }
            this.primaryEnd = k;
            return value;
          }
        }
      }
    }
    return null;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11;
}

/**
 * Scan one dbt SQL + Jinja file. Pure and total: never throws; problems are diagnostics
 * (`jinja-syntax`, or `jinja-internal` should the scanner itself fail).
 */
export function scanSql(text: string, file: string): SqlFacts {
  let scanner: Scanner | undefined;
  try {
    scanner = new Scanner(text, file);
    return scanner.run();
  } catch (err) {
    const facts: SqlFacts = scanner?.facts ?? {
      refs: [], sources: [], config: {}, macroCalls: [], macros: [], snapshots: [], diagnostics: [],
    };
    facts.diagnostics.push({
      file,
      span: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: "error",
      message: `Internal error while reading Jinja: ${err instanceof Error ? err.message : String(err)}`,
      code: "jinja-internal",
    } satisfies IndexDiagnostic);
    return facts;
  }
}
