/**
 * What a symbolic Jinja value (`JinjaExpr`, as the scanner reads it) stands for, when that can be
 * known statically: its string, its plain JS value, every string a loop variable or a macro
 * parameter may take, the tuples of a call's arguments read from the same loop item, and whether a
 * condition holds (`{% if %}` guards and dbt's `enabled` config, with Python's truthiness and `==`).
 */
import type { JinjaExpr } from "../../facts";
import { substituteParams } from "./exprTrees";
import type { JinjaBindings } from "./exprTrees";
import { scanSql } from "./scanner";

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
export function plainValue(expr: JinjaExpr, vars: Record<string, unknown>, bind?: JinjaBindings, depth = 0): unknown {
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

// ---------------------------------------------------------------- truth of conditions
// (here, not in a module of their own: jinjaTruth and resolveJinjaValues call each other through `a if c else b`)

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
