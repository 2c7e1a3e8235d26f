/**
 * Calls found on a tag's tokens: `ref`, `source`, `config`, `var`, `adapter.dispatch` and macro
 * calls (`name(` / `pkg.name(`), recorded with their arguments in the facts of the file or of the
 * definition being read.
 */
import type { Span } from "../../../protocol/types";
import type { JinjaExpr, MacroCall, RefCall, SourceCall, SqlFacts, VarCall } from "../../facts";
import { LineIndex } from "../../lineIndex";
import { NOT_MACROS, NOT_PACKAGES, VALUE_METHODS } from "../../../dbt/builtins";
import { refArguments, sourceArguments, type CallArguments } from "../../../dbt/refs";
import { ExpressionParser } from "./expressions";
import { C_COMMA, C_DOT, C_EQ, C_LPAREN, C_PIPE, C_RPAREN, OP_POW, T_NAME, T_OP, isCloseBracket, isOpenBracket, nTok, tEnd, tKind, tOp, tStart } from "./lexer";

interface Collector {
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  /** `null` inside macros: a `config()` there only applies where the macro is called. */
  config: Record<string, JinjaExpr> | null;
  /** Where `var()` calls go (the file's facts, a macro or a snapshot; the list is made on first use). */
  varOwner: { varCalls?: VarCall[] };
}

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

export abstract class CallScanner extends ExpressionParser {
  private readonly file: string;
  private li: LineIndex | undefined;
  readonly facts: SqlFacts;
  protected cur: Collector;
  protected readonly locals = new Set<string>();

  constructor(text: string, file: string) {
    super(text);
    this.file = file;
    this.facts = { refs: [], sources: [], config: {}, macroCalls: [], macros: [], snapshots: [], diagnostics: [] };
    this.cur = { refs: this.facts.refs, sources: this.facts.sources, macroCalls: this.facts.macroCalls, config: this.facts.config, varOwner: this.facts };
  }

  private lines(): LineIndex {
    return (this.li ??= new LineIndex(this.text));
  }

  protected span(start: number, end: number): Span {
    return this.lines().span(start, end);
  }

  protected error(start: number, end: number, message: string, code = "jinja-syntax"): void {
    this.facts.diagnostics.push({ file: this.file, span: this.span(start, end), severity: "error", message, code });
  }

  /** The `{% if %}` conditions the current position sits under (kept by the block layer). */
  protected abstract currentWhen(): JinjaExpr | undefined;

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
  protected scanCalls(from: number): void {
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

  /** Where each argument is written, positional and keyword, for dbt's argument rules. */
  private argSpans(a: ArgList): CallArguments<Span> {
    const pos: Span[] = [];
    for (let i = 0; i < a.pos.length; i += 2) pos.push(this.rangeSpan(a.pos[i], a.pos[i + 1]));
    const kw: Record<string, Span> = {};
    for (const { name, s, e } of a.kw) kw[name] = this.rangeSpan(s, e);
    return { pos, kw };
  }

  private refCall(first: number, open: number): void {
    const a = this.args(open);
    const span = this.callSpan(first, open, a, "ref");
    const args: JinjaExpr[] = [];
    for (let i = 0; i < a.pos.length; i += 2) args.push(this.expr(a.pos[i], a.pos[i + 1]));
    const where = refArguments(this.argSpans(a));
    const call: RefCall = { args, kwargs: this.kwargs(a), span, nameSpan: where.name ?? span };
    if (where.package) call.packageSpan = where.package;
    const when = this.currentWhen();
    if (when) call.when = when;
    this.cur.refs.push(call);
  }

  private sourceCall(first: number, open: number): void {
    const a = this.args(open);
    const span = this.callSpan(first, open, a, "source");
    const args: JinjaExpr[] = [];
    for (let i = 0; i < a.pos.length; i += 2) args.push(this.expr(a.pos[i], a.pos[i + 1]));
    const where = sourceArguments(this.argSpans(a));
    const call: SourceCall = { args, kwargs: this.kwargs(a), span, sourceSpan: where.source ?? span, tableSpan: where.table ?? span };
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
}
