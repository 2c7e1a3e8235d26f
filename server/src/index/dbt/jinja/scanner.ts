/**
 * The Jinja scanner's main loop and block layer: finds tags, keeps block tags on a stack (unbalanced
 * blocks, `{% raw %}`), opens macro / test / materialization / snapshot definitions, and tracks the
 * names bound by `set`, `for`, `with`, `call` and macro parameters. See ../jinja.ts for the whole.
 */
import type { IndexDiagnostic } from "../../../protocol/types";
import type { JinjaExpr, MacroDef, MacroParam, SnapshotDef, SqlFacts } from "../../facts";
import { CallScanner } from "./calls";
import { andExpr, notExpr } from "./exprTrees";
import { C_COMMA, C_DOT, C_EQ, C_HASH, C_LBRACE, C_LPAREN, C_MINUS, C_PERCENT, C_PLUS, C_RBRACE, T_NAME, T_OP, isCloseBracket, isOpenBracket, isSpace, nTok, tEnd, tKind, tOp, tStart } from "./lexer";

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

class Scanner extends CallScanner {
  private defBlock: Block | null = null;
  private readonly blocks: Block[] = [];

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
  protected currentWhen(): JinjaExpr | undefined {
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
