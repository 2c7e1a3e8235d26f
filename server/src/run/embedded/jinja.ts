/**
 * The Jinja engine of the embedded runner: `nunjucks` (compiled to JS, real line numbers in errors,
 * `call` blocks, `raw`, an extension API) plus a thin layer that makes it behave like dbt's Jinja:
 *
 * - `{% do expr %}` (an extension tag), `{% set ns.attr = v %}` (rewritten to a call),
 *   `{% snapshot %}` blocks (unwrapped), `{% test %}` / `{% materialization %}` / `{% docs %}`
 *   blocks in macro files (blanked: they are not callable from models);
 * - Python methods on values (`.items()`, `.upper()`, `.append()`, `','.join()`, `.split()`...),
 *   `True` / `False` / `None`, tuples `(a, b)`, `list + list`, `str * n`, datetime arithmetic,
 *   Python-style printing (`True`, `None`, `['a', 'b']`);
 * - Jinja2 filters and tests nunjucks lacks (`map`, `unique`, `tojson`, `selectattr('x', 'eq', 1)`...).
 *
 * The Python behaviour is installed by patching nunjucks' shared runtime/compiler, but it only
 * takes effect while `withDbtJinja()` is active (our compiles and renders), so other users of
 * nunjucks in the process see stock behaviour. `nunjucks.installJinjaCompat()` (slices `x[1:3]`,
 * dict/list methods) is installed once as well; it is nunjucks' own, process-wide API.
 * Preprocessing never changes line numbers.
 */
import nunjucks from "nunjucks";
import {
  TUPLE,
  isKwargs,
  isPlainObject,
  makeTuple,
  pyAdd,
  pyCompare,
  pyMul,
  pyPercent,
  pyRepr,
  pyStr,
  pySub,
  pythonMethod,
  splitArgs,
} from "./python";

// ---------------------------------------------------------------- nunjucks internals (untyped)

interface NjNode {
  lineno: number;
  colno: number;
  children: NjNode[];
  left: NjNode;
  right: NjNode;
}
interface NjCompiler {
  _emit(s: string): void;
  compile(node: NjNode, frame: unknown): void;
}
type NjCompileFn = (this: NjCompiler, node: NjNode, frame: unknown) => void;
interface NjInternals {
  runtime: Record<string, unknown> & {
    memberLookup: (obj: unknown, val: unknown, ...rest: unknown[]) => unknown;
    suppressValue: (val: unknown, autoescape: boolean) => unknown;
    SafeString: new (s: string) => unknown;
  };
  compiler: { Compiler: { prototype: Record<string, NjCompileFn> } };
  nodes: Record<string, new (...args: unknown[]) => NjNode> & { NodeList: new (l: number, c: number) => NjNode & { addChild(n: NjNode): void } };
  installJinjaCompat(): void;
}
const nj = nunjucks as unknown as typeof nunjucks & NjInternals;

let active = 0;
let installed = false;

/** Runs `fn` with the dbt/Python behaviour of the patched nunjucks runtime switched on. */
export function withDbtJinja<T>(fn: () => T): T {
  installDbtJinja();
  active++;
  try {
    return fn();
  } finally {
    active--;
  }
}

export function installDbtJinja(): void {
  if (installed) return;
  installed = true;
  const rt = nj.runtime;
  const stockLookup = rt.memberLookup;
  nj.installJinjaCompat();
  const compatLookup = rt.memberLookup;
  rt.memberLookup = function memberLookup(this: unknown, obj: unknown, val: unknown, ...rest: unknown[]) {
    if (active > 0 && rest.length === 0 && obj !== null && obj !== undefined && (typeof val === "string" || typeof val === "number")) {
      // Python methods first for str/list/dict (Jinja resolves attributes before items).
      if (typeof val === "string") {
        const m = pythonMethod(obj, val);
        if (m) return m;
      }
      if (typeof obj === "function" || isPlainObject(obj)) {
        // Namespaces and dicts: values as they are; callables with attributes
        // (`modules.datetime.datetime.now`) keep them.
        const v = (obj as Record<string, unknown>)[val];
        if (typeof v === "function" && Object.keys(v).length === 0) return v.bind(obj);
        return v;
      }
      // Class instances (relations, agate tables, columns...): their own methods, bound.
      if (typeof obj === "object" && !Array.isArray(obj)) return stockLookup.call(this, obj, val);
    }
    return compatLookup.call(this, obj, val, ...rest);
  };
  const origSuppress = rt.suppressValue;
  rt.suppressValue = function suppressValue(val: unknown, autoescape: boolean) {
    if (active > 0 && !autoescape) return pyStr(val);
    return origSuppress(val, autoescape);
  };
  rt.__dbtAdd = pyAdd;
  rt.__dbtSub = pySub;
  rt.__dbtMul = pyMul;
  rt.__dbtMod = (a: unknown, b: unknown) => (typeof a === "string" || a instanceof String ? pyPercent(String(a), b) : (a as number) % (b as number));
  rt.__dbtTuple = makeTuple;

  const proto = nj.compiler.Compiler.prototype;
  const binop = (name: string, helper: string) => {
    const orig = proto[name];
    proto[name] = function (this: NjCompiler, node: NjNode, frame: unknown) {
      if (active <= 0) return orig.call(this, node, frame);
      this._emit(`runtime.${helper}(`);
      this.compile(node.left, frame);
      this._emit(",");
      this.compile(node.right, frame);
      this._emit(")");
    };
  };
  binop("compileAdd", "__dbtAdd");
  binop("compileSub", "__dbtSub");
  binop("compileMul", "__dbtMul");
  binop("compileMod", "__dbtMod");
  // Dict keys are expressions in Jinja (`{col.column: col}`, `{table: []}`), not JS-style names.
  const origPair = proto.compilePair;
  proto.compilePair = function (this: NjCompiler, node: NjNode & { key: NjNode & { value?: unknown }; value: NjNode; dbtKeyExpr?: boolean }, frame: unknown) {
    // Only pairs of dict literals parsed by us (keyword arguments are pairs too).
    if (active <= 0 || !node.dbtKeyExpr || (node.key instanceof nj.nodes.Literal && typeof node.key.value === "string")) return origPair.call(this, node, frame);
    this._emit("[runtime.__dbtKey(");
    this.compile(node.key, frame);
    this._emit(")]: ");
    this.compile(node.value, frame);
  } as NjCompileFn;
  rt.__dbtKey = (k: unknown) => (typeof k === "string" ? k : pyStr(k));
  installParserPatch();
  const origGroup = proto.compileGroup;
  proto.compileGroup = function (this: NjCompiler, node: NjNode, frame: unknown) {
    if (active <= 0 || (node.children.length < 2 && !(node as NjNode & { dbtTuple?: boolean }).dbtTuple)) return origGroup.call(this, node, frame);
    this._emit("runtime.__dbtTuple([");
    node.children.forEach((c, i) => {
      if (i) this._emit(",");
      this.compile(c, frame);
    });
    this._emit("])");
  };
}

// ---------------------------------------------------------------- parser: Python literals

interface NjTokenizer {
  index: number;
  lineno: number;
  colno: number;
}
interface NjParserInternals {
  tokens: NjTokenizer;
  peeked: unknown;
  peekToken(): { type: string; lineno: number; colno: number };
  nextToken(): { type: string; lineno: number; colno: number };
  skip(type: string): boolean;
  fail(msg: string, lineno?: number, colno?: number): never;
  parseExpression(): NjNode;
}

/**
 * List, tuple and dict literals the Python way while dbt rendering is active: trailing commas
 * (`['a', 'b',]`), one-element tuples (`('a',)`), any expression as a dict key. Anything else
 * (slices `x[1:3]`) goes to the previous parser.
 */
function installParserPatch(): void {
  const parserMod = (nunjucks as unknown as { parser: { Parser: { prototype: Record<string, unknown> } } }).parser;
  const lexer = (nunjucks as unknown as { lexer: Record<string, string> }).lexer;
  const proto = parserMod.Parser.prototype;
  const prev = proto.parseAggregate as (this: NjParserInternals) => NjNode | null;
  const nodes = nj.nodes;
  proto.parseAggregate = function (this: NjParserInternals): NjNode | null {
    if (active <= 0) return prev.call(this);
    const saved = { index: this.tokens.index, lineno: this.tokens.lineno, colno: this.tokens.colno, peeked: this.peeked };
    try {
      return parsePythonAggregate(this, lexer, nodes);
    } catch {
      this.tokens.index = saved.index;
      this.tokens.lineno = saved.lineno;
      this.tokens.colno = saved.colno;
      this.peeked = saved.peeked;
      return prev.call(this);
    }
  };
}

function parsePythonAggregate(p: NjParserInternals, lexer: Record<string, string>, nodes: NjInternals["nodes"]): NjNode | null {
  const tok = p.nextToken();
  let node: NjNode & { addChild(n: NjNode): void; dbtTuple?: boolean };
  let close: string;
  if (tok.type === lexer.TOKEN_LEFT_PAREN) {
    node = new nodes.Group(tok.lineno, tok.colno) as typeof node;
    close = lexer.TOKEN_RIGHT_PAREN;
  } else if (tok.type === lexer.TOKEN_LEFT_BRACKET) {
    node = new nodes.Array(tok.lineno, tok.colno) as typeof node;
    close = lexer.TOKEN_RIGHT_BRACKET;
  } else if (tok.type === lexer.TOKEN_LEFT_CURLY) {
    node = new nodes.Dict(tok.lineno, tok.colno) as typeof node;
    close = lexer.TOKEN_RIGHT_CURLY;
  } else {
    throw new Error("not an aggregate");
  }
  const isDict = tok.type === lexer.TOKEN_LEFT_CURLY;
  let trailingComma = false;
  for (;;) {
    if (p.peekToken().type === close) {
      p.nextToken();
      break;
    }
    if (node.children.length > 0) {
      if (!p.skip(lexer.TOKEN_COMMA)) throw new Error("expected comma");
      trailingComma = true;
      if (p.peekToken().type === close) {
        p.nextToken();
        break;
      }
    }
    trailingComma = false;
    if (isDict) {
      const key = p.parseExpression();
      if (!p.skip(lexer.TOKEN_COLON)) throw new Error("expected colon");
      const value = p.parseExpression();
      const pair = new nodes.Pair(key.lineno, key.colno, key, value) as NjNode & { dbtKeyExpr?: boolean };
      pair.dbtKeyExpr = true;
      node.addChild(pair);
    } else {
      node.addChild(p.parseExpression());
    }
  }
  if (tok.type === lexer.TOKEN_LEFT_PAREN && node.children.length === 1 && trailingComma) node.dbtTuple = true;
  return node;
}

// ---------------------------------------------------------------- extensions

interface NjParser {
  nextToken(): { value: string; lineno: number; colno: number };
  parseExpression(): NjNode;
  advanceAfterBlockEnd(name?: string): void;
}

class DoExtension {
  tags = ["do"];
  parse(parser: NjParser, nodes: NjInternals["nodes"]): NjNode {
    const tok = parser.nextToken();
    const args = new nodes.NodeList(tok.lineno, tok.colno);
    args.addChild(parser.parseExpression());
    parser.advanceAfterBlockEnd(tok.value);
    return new nodes.CallExtension(this, "run", args, null);
  }
  run(): string {
    return "";
  }
}

// ---------------------------------------------------------------- filters and tests

function attrGetter(attr: unknown): (x: unknown) => unknown {
  const path = String(attr).split(".");
  return (x: unknown) => {
    let v: unknown = x;
    for (const p of path) {
      if (v === null || v === undefined) return undefined;
      v = /^\d+$/.test(p) && Array.isArray(v) ? v[Number(p)] : (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

function toList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) return [];
  if (typeof v === "string" || v instanceof String) return [...String(v)];
  if (isPlainObject(v)) return Object.keys(v).filter((k) => k !== "__keywords");
  if (typeof (v as Iterable<unknown>)[Symbol.iterator] === "function") return [...(v as Iterable<unknown>)];
  return [v];
}

function lengthOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "string" || v instanceof String || Array.isArray(v)) return (v as { length: number }).length;
  if (v instanceof Map || v instanceof Set) return v.size;
  if (isPlainObject(v)) return Object.keys(v).filter((k) => k !== "__keywords").length;
  const n = (v as { length?: unknown }).length;
  return typeof n === "number" ? n : toList(v).length;
}

type TestFn = (this: unknown, value: unknown, ...args: unknown[]) => boolean;

function makeFilters(env: nunjucks.Environment): Record<string, (...args: unknown[]) => unknown> {
  const getTest = (name: unknown): TestFn => (env as unknown as { getTest(n: string): TestFn }).getTest(String(name));
  const selectWith = (keep: boolean, byAttr: boolean) => (seq: unknown, ...args: unknown[]) => {
    const { pos } = splitArgs(args);
    const get = byAttr ? attrGetter(pos[0]) : (x: unknown) => x;
    const rest = byAttr ? pos.slice(1) : pos;
    const items = toList(seq);
    if (!rest.length) return items.filter((x) => !!get(x) === keep);
    const test = getTest(rest[0]);
    return items.filter((x) => !!test.call(null, get(x), ...rest.slice(1)) === keep);
  };
  return {
    map(seq: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const items = toList(seq);
      if (kw.attribute !== undefined) {
        const get = attrGetter(kw.attribute);
        return items.map((x) => get(x) ?? kw.default);
      }
      const filter = (env as unknown as { getFilter(n: string): (...a: unknown[]) => unknown }).getFilter(String(pos[0]));
      return items.map((x) => filter(x, ...pos.slice(1)));
    },
    select: selectWith(true, false),
    reject: selectWith(false, false),
    selectattr: selectWith(true, true),
    rejectattr: selectWith(false, true),
    unique(seq: unknown, ...args: unknown[]) {
      const { kw } = splitArgs(args);
      const get = kw.attribute !== undefined ? attrGetter(kw.attribute) : (x: unknown) => x;
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const x of toList(seq)) {
        let k = get(x);
        if (typeof k === "string" && !kw.case_sensitive) k = k.toLowerCase();
        if (!seen.has(k)) {
          seen.add(k);
          out.push(x);
        }
      }
      return out;
    },
    list: (v: unknown) => [...toList(v)],
    items: (v: unknown) => (isPlainObject(v) ? Object.entries(v).filter(([k]) => k !== "__keywords").map((e) => makeTuple(e)) : []),
    tojson(v: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const indent = kw.indent ?? pos[0];
      return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x), indent === undefined || indent === null ? undefined : Number(indent));
    },
    string: (v: unknown) => pyStr(v),
    join(seq: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const sep = pos[0] ?? kw.d ?? "";
      const attr = pos[1] ?? kw.attribute;
      const get = attr !== undefined ? attrGetter(attr) : (x: unknown) => x;
      return toList(seq).map((x) => pyStr(get(x))).join(String(sep));
    },
    sum(seq: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const attr = pos[0] ?? kw.attribute;
      const get = attr !== undefined ? attrGetter(attr) : (x: unknown) => x;
      return toList(seq).reduce((a: number, x) => a + Number(get(x)), Number(pos[1] ?? kw.start ?? 0));
    },
    min(seq: unknown, ...args: unknown[]) {
      const { kw } = splitArgs(args);
      const get = kw.attribute !== undefined ? attrGetter(kw.attribute) : (x: unknown) => x;
      const l = toList(seq);
      return l.length ? l.reduce((a, b) => (pyCompare(get(b), get(a)) < 0 ? b : a)) : undefined;
    },
    max(seq: unknown, ...args: unknown[]) {
      const { kw } = splitArgs(args);
      const get = kw.attribute !== undefined ? attrGetter(kw.attribute) : (x: unknown) => x;
      const l = toList(seq);
      return l.length ? l.reduce((a, b) => (pyCompare(get(b), get(a)) > 0 ? b : a)) : undefined;
    },
    attr: (obj: unknown, name: unknown) => (obj === null || obj === undefined ? undefined : (obj as Record<string, unknown>)[String(name)]),
    format: (fmt: unknown, ...args: unknown[]) => {
      const { pos, kw } = splitArgs(args);
      return pyPercent(String(fmt), Object.keys(kw).length ? kw : pos.length === 1 ? pos[0] : pos);
    },
    default(v: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const def = pos[0] ?? kw.default_value ?? "";
      const bool = pos[1] ?? kw.boolean ?? false;
      if (v === undefined) return def;
      if (bool && !v) return def;
      return v;
    },
    round(v: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const precision = Number(pos[0] ?? kw.precision ?? 0);
      const method = String(pos[1] ?? kw.method ?? "common");
      const f = 10 ** precision;
      const x = Number(v) * f;
      const r = method === "ceil" ? Math.ceil(x) : method === "floor" ? Math.floor(x) : Math.round(x);
      return r / f;
    },
    groupby(seq: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const get = attrGetter(pos[0] ?? kw.attribute);
      const groups = new Map<unknown, unknown[]>();
      for (const x of toList(seq)) {
        const k = get(x);
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k)!.push(x);
      }
      return [...groups.entries()].sort((a, b) => pyCompare(a[0], b[0])).map(([grouper, list]) => Object.assign(makeTuple([grouper, list]), { grouper, list }));
    },
    count: (v: unknown) => lengthOf(v),
    length: (v: unknown) => lengthOf(v),
    bool: (v: unknown) => (typeof v === "string" ? ["true", "1", "yes", "y", "on"].includes(v.toLowerCase()) : !!v),
    as_bool: (v: unknown) => (typeof v === "string" ? ["true", "1", "yes", "y", "on"].includes(v.toLowerCase()) : !!v),
    as_number: (v: unknown) => Number(v),
    as_text: (v: unknown) => pyStr(v),
    as_native: (v: unknown) => v,
    pprint: (v: unknown) => pyRepr(v),
    indent(s: unknown, ...args: unknown[]) {
      const { pos, kw } = splitArgs(args);
      const width = pos[0] ?? kw.width ?? 4;
      const first = pos[1] ?? kw.first ?? false;
      const pad = typeof width === "number" ? " ".repeat(width) : String(width);
      const lines = String(s).split("\n");
      return lines.map((l, i) => ((i > 0 || first) && l ? pad + l : l)).join("\n");
    },
  };
}

function makeTests(): Record<string, (...args: unknown[]) => boolean> {
  return {
    none: (v: unknown) => v === null,
    sequence: (v: unknown) => Array.isArray(v) || typeof v === "string" || v instanceof String || isPlainObject(v),
    mapping: (v: unknown) => isPlainObject(v),
    string: (v: unknown) => typeof v === "string" || v instanceof String,
    boolean: (v: unknown) => typeof v === "boolean",
    true: (v: unknown) => v === true,
    false: (v: unknown) => v === false,
    integer: (v: unknown) => typeof v === "number" && Number.isInteger(v),
    float: (v: unknown) => typeof v === "number" && !Number.isInteger(v),
    number: (v: unknown) => typeof v === "number",
    in: (v: unknown, seq: unknown) => (typeof seq === "string" ? seq.includes(String(v)) : toList(seq).includes(v)),
    tuple: (v: unknown) => Array.isArray(v) && !!(v as unknown as Record<symbol, unknown>)[TUPLE],
    list: (v: unknown) => Array.isArray(v),
  };
}

/** A nunjucks environment configured for dbt: no autoescape, Jinja's whitespace defaults. */
export function createJinjaEnvironment(): nunjucks.Environment {
  installDbtJinja();
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false, trimBlocks: false, lstripBlocks: false, dev: true } as nunjucks.ConfigureOptions);
  env.addExtension("DoExtension", new DoExtension());
  for (const [name, fn] of Object.entries(makeFilters(env))) env.addFilter(name, fn as (...args: unknown[]) => unknown);
  env.addFilter("d", (env as unknown as { getFilter(n: string): (...a: unknown[]) => unknown }).getFilter("default"));
  const addTest = (env as unknown as { addTest(n: string, f: (...args: unknown[]) => boolean): void }).addTest.bind(env);
  for (const [name, fn] of Object.entries(makeTests())) addTest(name, fn as (...args: unknown[]) => boolean);
  return env;
}

/** Compiles a template (throws nunjucks' parse error, whose line numbers are 1-based). */
export function compileTemplate(env: nunjucks.Environment, source: string, path: string): nunjucks.Template {
  return withDbtJinja(() => new nunjucks.Template(source, env, path, true));
}

export const SafeString = nj.runtime.SafeString;

// ---------------------------------------------------------------- preprocessing

export interface Tag {
  /** Offset of `{%`. */
  start: number;
  /** Offset just after `%}`. */
  end: number;
  /** Tag keyword (`set`, `do`, `macro`, `endfor`...). */
  name: string;
  /** Text between the keyword and `%}` (whitespace-control dashes removed). */
  body: string;
  line: number;
}

/** Every `{% ... %}` statement tag of a template, skipping `{# #}` comments and `{% raw %}` blocks. */
export function scanTags(src: string): Tag[] {
  const tags: Tag[] = [];
  let i = 0;
  let line = 1;
  let lineAt = 0;
  const lineOf = (pos: number) => {
    for (; lineAt < pos; lineAt++) if (src.charCodeAt(lineAt) === 10) line++;
    return line;
  };
  while (i < src.length) {
    const open = src.indexOf("{", i);
    if (open < 0 || open + 1 >= src.length) break;
    const c = src[open + 1];
    if (c === "#") {
      const close = src.indexOf("#}", open + 2);
      if (close < 0) break;
      i = close + 2;
      continue;
    }
    if (c === "{") {
      i = skipCode(src, open + 2, "}}");
      continue;
    }
    if (c !== "%") {
      i = open + 1;
      continue;
    }
    const end = skipCode(src, open + 2, "%}");
    let inner = src.slice(open + 2, end - 2);
    if (inner.startsWith("-") || inner.startsWith("+")) inner = inner.slice(1);
    if (inner.endsWith("-") || inner.endsWith("+")) inner = inner.slice(0, -1);
    const m = /^\s*([A-Za-z_]\w*)/.exec(inner);
    const name = m ? m[1] : "";
    const tag: Tag = { start: open, end, name, body: m ? inner.slice(m[0].length) : inner, line: lineOf(open) };
    tags.push(tag);
    i = end;
    if (name === "raw") {
      const endRaw = /\{%-?\s*endraw\s*-?%\}/g;
      endRaw.lastIndex = end;
      const e = endRaw.exec(src);
      if (!e) break;
      i = e.index;
    }
  }
  return tags;
}

/** Offset just after `closer`, skipping string literals in Jinja code. */
function skipCode(src: string, from: number, closer: string): number {
  let i = from;
  while (i < src.length) {
    const ch = src[i];
    if (ch === "'" || ch === '"') {
      i++;
      while (i < src.length && src[i] !== ch) i += src[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (src.startsWith(closer, i)) return i + closer.length;
    i++;
  }
  return src.length;
}

/** Replaces a range with spaces, keeping its newlines (so line numbers do not move). */
export function blank(src: string, start: number, end: number): string {
  return src.slice(0, start) + src.slice(start, end).replace(/[^\n]/g, " ") + src.slice(end);
}

export class JinjaPreprocessError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly construct: string,
  ) {
    super(message);
  }
}

/** Blocks that may sit in macro files but are not macros callable from a model. */
const FOREIGN_BLOCKS: Record<string, string> = { test: "endtest", materialization: "endmaterialization", docs: "enddocs", data: "enddata" };

/**
 * dbt turns `{% test name(args) %}...{% endtest %}` into the macro `test_name`: generic tests are
 * called like any macro (`dbt_utils.test_expression_is_true(...)`). Same lengths of lines kept.
 */
function testsAsMacros(src: string): string {
  if (!/\{%[-+]?\s*test\s/.test(src)) return src;
  let out = src;
  for (const t of scanTags(src).reverse()) {
    if (t.name !== "test" && t.name !== "endtest") continue;
    const full = out.slice(t.start, t.end);
    const rewritten = t.name === "test" ? full.replace(/\btest(\s+)([A-Za-z_]\w*)/, "macro$1test_$2") : full.replace(/\bendtest\b/, "endmacro");
    out = out.slice(0, t.start) + rewritten + out.slice(t.end);
  }
  return out;
}

/** Index of the end tag closing `tags[i]` (same-name nesting counted), or -1. */
function findEnd(tags: Tag[], i: number, endName: string): number {
  let depth = 0;
  for (let j = i + 1; j < tags.length; j++) {
    if (tags[j].name === tags[i].name) depth++;
    else if (tags[j].name === endName) {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

/**
 * Rewrites dbt-isms nunjucks does not parse, keeping every line where it was.
 * `snapshotName`: keep only that `{% snapshot %}` block's body (other blocks blanked).
 */
export function preprocess(src: string, opts: { macroFile?: boolean; snapshotName?: string } = {}): string {
  let out = opts.macroFile ? testsAsMacros(src) : src;
  let tags = scanTags(out);
  // 1. foreign blocks in macro files, snapshot blocks.
  if (opts.macroFile || opts.snapshotName !== undefined || tags.some((t) => t.name === "snapshot")) {
    const edits: { start: number; end: number; keepBody?: [number, number] }[] = [];
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      const endName = FOREIGN_BLOCKS[t.name];
      if (opts.macroFile && endName) {
        const j = findEnd(tags, i, endName);
        if (j < 0) throw new JinjaPreprocessError(`unclosed {% ${t.name} %} block`, t.line, `{% ${t.name} %}`);
        edits.push({ start: t.start, end: tags[j].end });
        i = j;
      } else if (t.name === "snapshot") {
        const j = findEnd(tags, i, "endsnapshot");
        if (j < 0) throw new JinjaPreprocessError("unclosed {% snapshot %} block", t.line, "{% snapshot %}");
        const name = t.body.trim();
        if (opts.snapshotName === undefined || name === opts.snapshotName) {
          edits.push({ start: t.start, end: t.end });
          edits.push({ start: tags[j].start, end: tags[j].end });
        } else {
          edits.push({ start: t.start, end: tags[j].end });
        }
        i = j;
      }
    }
    for (const e of edits.sort((a, b) => b.start - a.start)) out = blank(out, e.start, e.end);
    if (edits.length) tags = scanTags(out);
  }
  // 2. statement rewrites, from the end so offsets stay valid.
  for (let k = tags.length - 1; k >= 0; k--) {
    const t = tags[k];
    if (t.name === "set") {
      const unpack = /^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*,?\s*=(?!=)([\s\S]*)$/.exec(t.body);
      if (unpack) {
        const full = out.slice(t.start, t.end);
        const ws = /^\{%([-+]?)/.exec(full)![1];
        const we = /([-+]?)%\}$/.exec(full)![1];
        const names = unpack[1].split(",").map((n) => n.trim());
        const rhs = unpack[2].trim();
        const value = hasTopLevelComma(rhs) ? `[${rhs.replace(/,\s*$/, "")}]` : rhs;
        const replacement =
          `{%${ws} set __dbt_unpack = ${value} %}` + names.map((n, i) => `{% set ${n} = __dbt_unpack[${i}] ${i === names.length - 1 ? we : ""}%}`).join("");
        out = out.slice(0, t.start) + padTo(replacement, full) + out.slice(t.end);
        continue;
      }
      const m = /^\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(t.body);
      if (m) {
        const full = out.slice(t.start, t.end);
        const ws = /^\{%([-+]?)/.exec(full)![1];
        const we = /([-+]?)%\}$/.exec(full)![1];
        const replacement = `{%${ws} do __dbt_setattr(${m[1]}, "${m[2]}", ${m[3].trim()}) ${we}%}`;
        out = out.slice(0, t.start) + padTo(replacement, full) + out.slice(t.end);
      }
    } else if (t.name === "for") {
      if (/\brecursive\s*$/.test(t.body)) {
        throw new JinjaPreprocessError("recursive for loops are not supported", t.line, "{% for ... recursive %}");
      }
      const cut = topLevelKeyword(t.body, "if");
      if (cut >= 0) {
        // {% for x in items if cond %} -> filter first (so loop.index/loop.last count kept items only)
        const head = /^\s*([\s\S]+?)\s+in\s+([\s\S]+)$/.exec(t.body.slice(0, cut));
        if (!head) throw new JinjaPreprocessError("cannot read this loop filter", t.line, "{% for ... if ... %}");
        const target = head[1].trim();
        const cond = t.body.slice(cut + 2).trim();
        const full = out.slice(t.start, t.end);
        const ws = /^\{%([-+]?)/.exec(full)![1];
        const we = /([-+]?)%\}$/.exec(full)![1];
        const tmp = `__dbt_loop_filter_${k}`;
        const item = target.includes(",") ? `(${target},)` : target;
        const replacement = `{%${ws} set ${tmp} = [] %}{% for ${target} in ${head[2].trim()} %}{% if ${cond} %}{% do ${tmp}.append(${item}) %}{% endif %}{% endfor %}{% for ${target} in ${tmp} ${we}%}`;
        out = out.slice(0, t.start) + padTo(replacement, full) + out.slice(t.end);
      }
    }
  }
  return out;
}

/** `replacement` padded so it spans as many lines as `original` (newlines appended). */
function padTo(replacement: string, original: string): string {
  const lines = (original.match(/\n/g) ?? []).length - (replacement.match(/\n/g) ?? []).length;
  return lines > 0 ? replacement + "\n".repeat(lines) : replacement;
}

/** Offset of the first position outside strings and brackets where `matches` holds, or -1. */
function findTopLevel(code: string, matches: (i: number) => boolean): number {
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const ch = code[i];
    if (ch === "'" || ch === '"') {
      i++;
      while (i < code.length && code[i] !== ch) i += code[i] === "\\" ? 2 : 1;
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (depth === 0 && matches(i)) return i;
  }
  return -1;
}

/** Whether `code` has a comma outside strings and brackets. */
function hasTopLevelComma(code: string): boolean {
  return findTopLevel(code, (i) => code[i] === ",") >= 0;
}

/** Offset of `word` in `code` outside strings and brackets, or -1. */
function topLevelKeyword(code: string, word: string): number {
  return findTopLevel(code, (i) => code.startsWith(word, i) && !/\w/.test(code[i - 1] ?? " ") && !/\w/.test(code[i + word.length] ?? " "));
}

/** Names of the `{% macro name(...) %}` definitions of a (preprocessed) macro file. */
export function macroNames(src: string): { name: string; line: number }[] {
  return scanTags(src)
    .filter((t) => t.name === "macro")
    .map((t) => ({ name: /^\s*([A-Za-z_]\w*)/.exec(t.body)?.[1] ?? "", line: t.line }))
    .filter((m) => m.name);
}

export { isKwargs };
