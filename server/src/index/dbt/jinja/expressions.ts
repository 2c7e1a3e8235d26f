/**
 * The expression parser of the Jinja scanner: token ranges of the current tag into symbolic
 * `JinjaExpr` values (literals, lists, dicts, `var(...)`, concatenations, names bound to known
 * values) and conditions (`and` / `or` / `not`, `==` / `!=`, Fivetran's `enabled_vars`).
 */
import type { JinjaExpr } from "../../facts";
import { andExpr, notExpr, orExpr } from "./exprTrees";
import { C_COLON, C_COMMA, C_DOT, C_EQ, C_LBRACE, C_LBRACK, C_LPAREN, C_MINUS, C_PIPE, C_PLUS, C_RBRACK, C_RPAREN, C_TILDE, OP_EQEQ, OP_GE, OP_LE, OP_NE, T_NAME, T_NUMBER, T_OP, T_STRING, TagLexer, decodeString, isCloseBracket, isOpenBracket, nTok, tEnd, tKind, tOp, tStart } from "./lexer";

export abstract class ExpressionParser extends TagLexer {
  /**
   * What names stand for where their value is known statically: `{% set x = 'a' %}` (the value),
   * `{% for x in ['a', 'b'] %}` (`each` item of the list), macro parameters (`param`).
   */
  protected bindings = new Map<string, JinjaExpr>();

  protected tokText(k: number): string {
    return this.text.slice(tStart[k], tEnd[k]);
  }

  protected isOp(k: number, op: number): boolean {
    return k >= 0 && k < nTok && tKind[k] === T_OP && tOp[k] === op;
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
  protected cond(s: number, e: number): JinjaExpr {
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

  private unknown(s: number, e: number): JinjaExpr {
    return { type: "unknown", text: s < e ? this.text.slice(tStart[s], tEnd[e - 1]) : "" };
  }

  /** Index of the bracket closing the one at `k`, within [k, e); -1 when missing. */
  protected matchClose(k: number, e: number): number {
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
  protected splitCommas(s: number, e: number): number[] {
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
  protected expr(s: number, e: number): JinjaExpr {
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
