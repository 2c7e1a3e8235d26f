/**
 * Building, rewriting and querying `JinjaExpr` trees: macro parameters replaced by a caller's
 * arguments, whether a tree reads parameters or vars, and the `not` / `and` / `or` of conditions.
 */
import type { JinjaExpr } from "../../facts";

/** Bound macro parameters: name -> the caller's argument expression. */
export type JinjaBindings = Record<string, JinjaExpr>;

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
