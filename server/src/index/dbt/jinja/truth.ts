/**
 * Whether a Jinja condition holds, when that can be known statically (`{% if %}` guards and dbt's
 * `enabled` config), with Python's truthiness and `==`.
 */
import type { JinjaExpr } from "../../facts";
import { scanSql } from "./scanner";
import { plainValue, resolveJinjaValues } from "./values";
import type { JinjaBindings } from "./exprTrees";

/** Python's `==` on plain values (`True == 1`; lists and dicts by content). */
function pythonEquals(a: unknown, b: unknown): boolean {
  const num = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
  if ((typeof a === "number" || typeof a === "boolean") && (typeof b === "number" || typeof b === "boolean")) return num(a) === num(b);
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
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
