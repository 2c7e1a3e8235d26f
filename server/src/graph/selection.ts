/**
 * The selection grammar (DESIGN.md §4): one language for the CLI, the command palette, the lineage
 * search box and `job()` selections. `parseSelection` turns text into an AST or a located error;
 * `evaluateSelection` turns an AST into a set of asset ids over an `AssetGraph`.
 *
 * This module imports no Node built-ins so any side may bundle it.
 *
 * ## Selectors
 *
 * | form | meaning |
 * |---|---|
 * | `fct_orders`, `forecasting/predicted_orders`, `"a/b"`, `'a b'` | a bare (or quoted) key. An exact id match wins; when no asset has exactly that key, the name matches assets whose dbt name or last key segment equals it (`predicted_orders` finds `forecasting/predicted_orders`, as dbt users expect). Wildcards apply. |
 * | `key:a/b`, `key:"a/b"`, `key:a/*` | the full key only (no dbt-name / last-segment fallback). |
 * | `tag:x` | a tag `x`, or a TS tag object entry with key `x` (TS `tags: {x: "y"}` is stored as `"x=y"`) |
 * | `tag:x=y` | the tag `x=y` exactly |
 * | `group:x`, `owner:x` | group / one of the owners (`owner:data` also matches `team:data`) |
 * | `kind:K` | `dbt` (any dbt kind), `ts`, `model`, `seed`, `snapshot`, `source`, `exposure` (also the full kind names `dbt_model`, `ts_asset`, ...) |
 * | `path:models/staging` | the asset's file, relative to one of `options.root` (a workspace root, dbt project roots...), is that path or lies under it; the absolute path is tried too. `*` wildcards apply to the whole relative path or to any of its directory prefixes. |
 * | `status:S` | `missing`, `fresh`, `stale`, `failed`, `running` (through the status callback; without one, nothing has a status) |
 * | `test_name:N` | assets with a check named N or of the generic test N (`unique`, `expression_is_true` or `dbt_utils.expression_is_true`), as dbt's `test_name:`; wildcards apply (through the checks callback) |
 * | `test_type:T` | assets with a check of type `generic`, `singular`, `unit` (dbt tests) or `ts` (TS checks); `data` means generic or singular |
 *
 * Wildcards: `*` matches any run of characters, `/` included (`key:forecasting/*` reaches nested
 * keys too, like Dagster's `key:*`). Keys, tags, groups, owners and paths match case-sensitively;
 * attribute names, kinds, statuses, keywords and function names are case-insensitive.
 * Unquoted names stop at whitespace and `( ) , " ' + @ :`; quote a key that contains any of them
 * (or a keyword: `"and"`). Inside quotes `\` escapes the next character.
 *
 * ## Layers (dbt- and Dagster-compatible)
 *
 * `+x` all upstream, `2+x` two layers up, `x+` all downstream, `x+2` two layers down, `+x+`,
 * `@x` (x, its descendants, and every ancestor of those), legacy `*x` / `x*` (= `+x` / `x+`).
 * They apply to any primary: a name, an attribute (`+tag:nightly`), a group `+(a or b)` or a
 * function `roots(...)+`. `@` cannot be combined with `+`.
 *
 * ### `*`: operator or wildcard
 *
 * Only inside a *bare* name token can `*` be the legacy operator, and only at the token's very edge:
 * - a `*` that starts the token and is directly followed by a letter, a digit, a quote or `(` is the
 *   upstream operator: `*order_forecast_model` = `+order_forecast_model`, `*key:a/b`;
 * - a `*` that ends the token (nothing but a separator after it: whitespace, `,`, `)` or the end)
 *   and directly follows a letter or a digit is the downstream operator: `order_forecast_model*`;
 * - every other `*` is a wildcard: `stg_*` (after `_`), `marts/*`, `*_orders` (before `_`),
 *   `fct*orders`, `*` alone (everything), `x*+` (not the token's last character: wildcard `x*`,
 *   then downstream). `*stg_*` is the upstream of everything matching `stg_*`.
 * Inside quotes and in attribute values (`key:stg*`, `tag:night*`) `*` is always a wildcard.
 * So to select by a prefix that ends in a letter, write `key:stg*`; to select a name ending in
 * something, `key:*orders`.
 *
 * ## Combining
 *
 * `not x`, `a and b`, `a or b`, `a, b`, `a b` (a list separated by spaces or commas is a union, as
 * DESIGN.md says; note dbt's comma is an intersection), parentheses, and the functions of
 * `SELECTION_FUNCTIONS`: `roots(sel)` (members of sel with no upstream inside sel), `sinks(sel)`
 * (no downstream inside sel). A function name must be followed by `(` (spaces allowed); `roots`
 * alone is an asset name.
 *
 * Precedence, tightest first: layer operators (`+ * @`), `not`, `and`, then union (`or`, `,` and
 * juxtaposition all at the same, lowest level). So `a b and c` = `a or (b and c)`,
 * `not a, b` = `(not a) or b`, `+a and b` = `(+a) and b`. A `not` written directly after a
 * selector (`a not b`) is an error, not a union: write `a and not b` (exclude) or `a or not b`.
 *
 * A selector that matches nothing is not an error: the result is just empty.
 */
import { ASSET_STATES, type AssetState } from "../protocol/status";
import type { AssetKind, AssetNode } from "../protocol/types";
import type { AssetGraph } from "./graph";
import { keyId, toKey } from "./keys";
import { compileWildcard, type WildcardMatcher } from "./wildcard";

// ---------------------------------------------------------------- types

export type StatusLookup = (id: string) => AssetState | undefined;

export const SELECTION_ATTRIBUTES = ["key", "tag", "group", "kind", "owner", "path", "status", "test_name", "test_type"] as const;
export const SELECTION_TEST_TYPES = ["generic", "singular", "unit", "ts", "data"] as const;

/** What `test_name:` / `test_type:` see of an asset's checks. */
export interface SelectionCheck {
  name: string;
  /** The generic test, `unique` or `dbt_utils.expression_is_true`. */
  testName?: string;
  kind: string;
}
export type SelectionAttribute = (typeof SELECTION_ATTRIBUTES)[number];

/** `kind:` values and the node kinds each one selects. */
export const SELECTION_KINDS: Readonly<Record<string, readonly AssetKind[]>> = {
  dbt: ["dbt_model", "dbt_seed", "dbt_snapshot", "dbt_source", "dbt_exposure"],
  ts: ["ts_asset"],
  model: ["dbt_model"],
  seed: ["dbt_seed"],
  snapshot: ["dbt_snapshot"],
  source: ["dbt_source"],
  exposure: ["dbt_exposure"],
  dbt_model: ["dbt_model"],
  dbt_seed: ["dbt_seed"],
  dbt_snapshot: ["dbt_snapshot"],
  dbt_source: ["dbt_source"],
  dbt_exposure: ["dbt_exposure"],
  ts_asset: ["ts_asset"],
};
/** The `kind:` values offered in messages and completion (the long aliases are accepted too). */
export const SELECTION_KIND_NAMES = ["dbt", "ts", "model", "seed", "snapshot", "source", "exposure"] as const;
export const SELECTION_STATUSES: readonly AssetState[] = ASSET_STATES;

/**
 * A selection function, `name(selection)`. Every function takes one argument: the selection
 * between its parentheses (a `,` in there is a union, as everywhere, so there is no second
 * argument). The parser accepts exactly the names of `SELECTION_FUNCTIONS`, the evaluator calls
 * `evaluate`, and the Dagster export writes `dagster` (or refuses the selection without it).
 */
export interface SelectionFunction {
  /** The kind of the one argument; the only kind the grammar has is a selection. */
  readonly argument: "selection";
  /** What it selects, for documentation and messages. */
  readonly summary: string;
  /** Dagster's function of the same meaning, for the Dagster export; absent: the export refuses. */
  readonly dagster?: string;
  /** The ids it selects, given the ids its argument selects. */
  evaluate(selected: ReadonlySet<string>, graph: AssetGraph): Set<string>;
}

/** The members of `selected` with no neighbour (on the side `around` gives) inside `selected`. */
function withoutNeighbourInside(selected: ReadonlySet<string>, around: (id: string) => readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const id of selected) if (!around(id).some((n) => selected.has(n))) out.add(id);
  return out;
}

/** The selection functions, by lower-case name. Adding a function is adding an entry here. */
export const SELECTION_FUNCTIONS = {
  roots: {
    argument: "selection",
    summary: "the members of the selection with no upstream inside it",
    dagster: "roots",
    evaluate: (selected, graph) => withoutNeighbourInside(selected, (id) => graph.upstream(id)),
  },
  sinks: {
    argument: "selection",
    summary: "the members of the selection with no downstream inside it",
    dagster: "sinks",
    evaluate: (selected, graph) => withoutNeighbourInside(selected, (id) => graph.downstream(id)),
  },
} as const satisfies Record<string, SelectionFunction>;
export type SelectionFunctionName = keyof typeof SELECTION_FUNCTIONS;
export const SELECTION_FUNCTION_NAMES = Object.keys(SELECTION_FUNCTIONS) as SelectionFunctionName[];

/** The table entry of a function name (any case), if it is one. */
export function selectionFunction(name: string): SelectionFunction | undefined {
  const lower = name.toLowerCase();
  return Object.hasOwn(SELECTION_FUNCTIONS, lower) ? SELECTION_FUNCTIONS[lower as SelectionFunctionName] : undefined;
}

/** `roots or sinks`, `a, b or c`. */
function oneOf(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** A place in the selection text. */
export interface TextRange {
  /** 0-based offset. */
  offset: number;
  length: number;
}

/** How far a layer operator reaches: a number of layers or all of them. */
export type LayerDepth = number | "all";

export type SelectionAst =
  /** A bare or quoted key, with the dbt-name / last-segment fallback. */
  | { type: "name"; pattern: string; quoted: boolean; range: TextRange }
  | { type: "attribute"; attribute: SelectionAttribute; value: string; range: TextRange }
  /** `+x`, `2+x`, `x+`, `x+2`, `*x`, `x*`: at least one of `up` / `down` is set. */
  | { type: "layers"; operand: SelectionAst; up?: LayerDepth; down?: LayerDepth; range: TextRange }
  /** `@x` */
  | { type: "lineage"; operand: SelectionAst; range: TextRange }
  | { type: "not"; operand: SelectionAst; range: TextRange }
  | { type: "and"; operands: SelectionAst[]; range: TextRange }
  | { type: "or"; operands: SelectionAst[]; range: TextRange }
  /** `name(operand)`, a function of `SELECTION_FUNCTIONS`. */
  | { type: "function"; name: SelectionFunctionName; operand: SelectionAst; range: TextRange };

export interface SelectionError {
  /** 1-based column within `line`. */
  column: number;
  /** 1-based line (always 1 for single-line text). */
  line: number;
  /** 0-based offset into the text. */
  offset: number;
  /** Length of the offending text (0 at the end of the input). */
  length: number;
  /** What the parser expected there, e.g. `a selector`, `')'`. */
  expected: string;
  message: string;
}

export type ParseResult = { ok: true; ast: SelectionAst } | { ok: false; error: SelectionError };

export interface EvaluateOptions {
  status?: StatusLookup;
  /** An asset's checks, for `test_name:` / `test_type:` (without it, no asset has checks). */
  checks?: (id: string) => readonly SelectionCheck[];
  /** Root folder(s) that `path:` values are relative to (workspace root, dbt project roots). */
  root?: string | readonly string[];
}

// ---------------------------------------------------------------- parsing

const MAX_NESTING = 200;
/** Selections come from job() files and search boxes: their size is bounded, like their nesting. */
export const MAX_SELECTION_LENGTH = 16_384;

class SyntaxFailure extends Error {
  constructor(readonly detail: SelectionError) {
    super(detail.message);
  }
}

const isWhitespace = (ch: string | undefined): boolean => ch !== undefined && /\s/.test(ch);
const isAlnum = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9]/.test(ch);
const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= "0" && ch <= "9";
/**
 * Characters of an unquoted name: anything but whitespace and `( ) , " ' + @ : = ! ; | & < > [ ] { }`
 * and backquote (`*` included: whether it is an operator is decided after).
 */
const isNameChar = (ch: string | undefined): boolean => ch !== undefined && !/[\s(),"'+@:=!;|&<>[\]{}`]/.test(ch);
/** Characters of an unquoted attribute value: also `@ : = !` (`owner:a@b.c`, `owner:team:x`, `tag:x=y`). */
const isValueChar = (ch: string | undefined): boolean => ch !== undefined && !/[\s(),"'+;|&<>[\]{}`]/.test(ch);
const isQuote = (ch: string | undefined): boolean => ch === '"' || ch === "'";

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parse(): SelectionAst {
    this.skipWhitespace();
    if (this.atEnd()) this.fail(this.pos, 0, "a selector", "the selection is empty");
    const ast = this.parseUnion();
    this.skipWhitespace();
    if (!this.atEnd()) {
      // parseUnion only stops early at a ')'
      this.fail(this.pos, 1, "a selector or the end", "unexpected ')' (no '(' to close)");
    }
    return ast;
  }

  // ---- helpers

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private peek(ahead = 0): string | undefined {
    return this.text[this.pos + ahead];
  }

  private skipWhitespace(): void {
    while (isWhitespace(this.peek())) this.pos++;
  }

  private columnOf(offset: number): number {
    return offset - (this.text.lastIndexOf("\n", offset - 1) + 1) + 1;
  }

  private fail(offset: number, length: number, expected: string, message: string): never {
    let line = 1;
    for (let i = 0; i < offset && i < this.text.length; i++) if (this.text[i] === "\n") line++;
    throw new SyntaxFailure({ column: this.columnOf(offset), line, offset, length, expected, message });
  }

  /** The keyword (`and` / `or` / `not`, any case) at the cursor, when it stands as a whole word. */
  private keywordAt(): "and" | "or" | "not" | undefined {
    const m = /^(and|or|not)(?=[\s(),"']|$)/i.exec(this.text.slice(this.pos, this.pos + 4));
    return m ? (m[1].toLowerCase() as "and" | "or" | "not") : undefined;
  }

  /** After an operator: makes sure a selector follows, else fails with `expected a selector after '<op>'`. */
  private expectOperand(after: string): void {
    this.skipWhitespace();
    const ch = this.peek();
    const kw = this.keywordAt();
    if (ch === undefined || ch === ")" || ch === "," || kw === "and" || kw === "or") {
      this.fail(this.pos, ch === undefined ? 0 : kw ? kw.length : 1, "a selector", `expected a selector after '${after}'`);
    }
  }

  private range(start: number): TextRange {
    return { offset: start, length: this.pos - start };
  }

  // ---- grammar

  /** union := and ( (',' | 'or' | juxtaposition) and )* */
  private parseUnion(): SelectionAst {
    const start = this.pos;
    const items = [this.parseAnd()];
    for (;;) {
      this.skipWhitespace();
      const ch = this.peek();
      if (ch === undefined || ch === ")") break;
      if (ch === ",") {
        this.pos++;
        this.expectOperand(",");
      } else {
        const kw = this.keywordAt();
        if (kw === "or") {
          this.pos += 2;
          this.expectOperand(this.text.slice(this.pos - 2, this.pos));
        } else if (kw === "not") {
          this.fail(
            this.pos,
            3,
            "'and not' or 'or not'",
            "'not' directly after a selector: write 'and not' to exclude, or 'or not' / ', not' for a union",
          );
        }
        // anything else: juxtaposition (a space-separated list)
      }
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0] : { type: "or", operands: items, range: this.range(start) };
  }

  /** and := not ( 'and' not )* */
  private parseAnd(): SelectionAst {
    const start = this.pos;
    const items = [this.parseNot()];
    for (;;) {
      const save = this.pos;
      this.skipWhitespace();
      if (this.keywordAt() !== "and") {
        this.pos = save;
        break;
      }
      this.pos += 3;
      this.expectOperand(this.text.slice(this.pos - 3, this.pos));
      items.push(this.parseNot());
    }
    return items.length === 1 ? items[0] : { type: "and", operands: items, range: this.range(start) };
  }

  /** not := 'not' not | atom */
  private parseNot(): SelectionAst {
    const start = this.pos;
    const kw = this.keywordAt();
    if (kw === "and" || kw === "or") {
      this.fail(this.pos, kw.length, "a selector", `expected a selector before '${this.text.slice(this.pos, this.pos + kw.length)}'`);
    }
    if (kw === "not") {
      this.pos += 3;
      this.expectOperand(this.text.slice(this.pos - 3, this.pos));
      const operand = this.parseNot();
      return { type: "not", operand, range: this.range(start) };
    }
    return this.parseAtom();
  }

  /** atom := ( '@' | digits? '+' | '*' )? primary ( '+' digits? )? — plus the legacy trailing '*'. */
  private parseAtom(): SelectionAst {
    const start = this.pos;
    let up: LayerDepth | undefined;
    let lineage = false;
    const ch = this.peek();
    if (ch === "@") {
      lineage = true;
      this.pos++;
      if (this.peek() === "+" || /^\d+\+/.test(this.text.slice(this.pos))) {
        this.fail(this.pos, 1, "a selector", "'@' already selects all ancestors: it cannot be combined with '+'");
      }
    } else if (ch === "+") {
      up = "all";
      this.pos++;
    } else if (isDigit(ch)) {
      const m = /^(\d+)\+/.exec(this.text.slice(this.pos));
      if (m) {
        up = Number(m[1]);
        this.pos += m[0].length;
      }
    } else if (ch === "*") {
      const next = this.peek(1);
      if (isAlnum(next) || isQuote(next) || next === "(") {
        up = "all"; // legacy Dagster `*x`
        this.pos++;
      }
    }
    if (this.pos > start) {
      const next = this.peek();
      if (next === undefined || isWhitespace(next) || next === ")" || next === ",") {
        this.fail(this.pos, next === undefined ? 0 : 1, "a selector", `expected a selector after '${this.text.slice(start, this.pos)}'`);
      }
    }

    const body = this.parsePrimary();
    let down: LayerDepth | undefined = body.legacyDown ? "all" : undefined;
    if (this.peek() === "+") {
      const plusAt = this.pos;
      this.pos++;
      const m = /^\d+/.exec(this.text.slice(this.pos));
      if (m) {
        down = Number(m[0]);
        this.pos += m[0].length;
      } else {
        down = "all";
      }
      if (lineage) {
        this.fail(plusAt, this.pos - plusAt, "whitespace, ',', ')' or an operator", "'@' already selects all descendants: drop the trailing '+'");
      }
    } else if (lineage && body.legacyDown) {
      this.fail(this.pos - 1, 1, "whitespace, ',', ')' or an operator", "'@' already selects all descendants: drop the trailing '*'");
    }
    const next = this.peek();
    if (next !== undefined && !isWhitespace(next) && next !== ")" && next !== ",") {
      this.fail(
        this.pos,
        1,
        "whitespace, ',', ')' or an operator",
        `unexpected '${next}' after '${this.text.slice(start, this.pos)}' (separate selectors with spaces, ',' or an operator)`,
      );
    }
    const range = this.range(start);
    if (lineage) return { type: "lineage", operand: body.ast, range };
    if (up === undefined && down === undefined) return body.ast;
    const layers: SelectionAst = { type: "layers", operand: body.ast, range };
    if (up !== undefined) layers.up = up;
    if (down !== undefined) layers.down = down;
    return layers;
  }

  private parsePrimary(): { ast: SelectionAst; legacyDown: boolean } {
    const start = this.pos;
    const ch = this.peek();
    if (ch === "(") {
      return { ast: this.parseGroup(), legacyDown: false };
    }
    if (isQuote(ch)) {
      const pattern = this.parseQuoted();
      if (pattern.length === 0) this.fail(start, this.pos - start, "a name", "empty name between quotes");
      return { ast: { type: "name", pattern, quoted: true, range: this.range(start) }, legacyDown: false };
    }
    if (!isNameChar(ch)) {
      this.fail(
        this.pos,
        ch === undefined ? 0 : 1,
        "a selector",
        ch === undefined ? "expected a selector" : `unexpected '${ch}' (expected a selector)`,
      );
    }
    while (isNameChar(this.peek())) this.pos++;
    const word = this.text.slice(start, this.pos);

    if (this.peek() === ":") {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
        this.fail(this.pos, 1, "a selector", `unexpected ':' after '${word}' (quote a key that contains ':')`);
      }
      return { ast: this.parseAttribute(start, word), legacyDown: false };
    }

    // function call: a name of SELECTION_FUNCTIONS, then `(` (spaces allowed before the parenthesis)
    let look = this.pos;
    while (isWhitespace(this.text[look])) look++;
    if (this.text[look] === "(") {
      if (selectionFunction(word)) {
        this.pos = look;
        const operand = this.parseGroup();
        return { ast: { type: "function", name: word.toLowerCase() as SelectionFunctionName, operand, range: this.range(start) }, legacyDown: false };
      }
      if (look === this.pos) {
        const known = oneOf(Object.keys(SELECTION_FUNCTIONS));
        this.fail(start, word.length, known, `unknown function '${word}' (expected ${known})`);
      }
    }

    // legacy trailing `*`: the token's last character, right after a letter or digit
    let pattern = word;
    let legacyDown = false;
    if (word.length >= 2 && word.endsWith("*") && isAlnum(word[word.length - 2]) && this.peek() !== "+") {
      pattern = word.slice(0, -1);
      legacyDown = true;
    }
    return {
      ast: { type: "name", pattern, quoted: false, range: { offset: start, length: pattern.length } },
      legacyDown,
    };
  }

  private parseGroup(): SelectionAst {
    const open = this.pos;
    this.pos++; // '('
    if (++this.depth > MAX_NESTING) this.fail(open, 1, "a selector", `parentheses nested deeper than ${MAX_NESTING}`);
    this.skipWhitespace();
    if (this.atEnd()) {
      this.fail(this.pos, 0, "a selector", `unclosed '(' opened at column ${this.columnOf(open)}`);
    }
    if (this.peek() === ")") this.fail(this.pos, 1, "a selector", "expected a selector after '('");
    const inner = this.parseUnion();
    this.skipWhitespace();
    if (this.peek() !== ")") {
      this.fail(this.pos, this.atEnd() ? 0 : 1, "')'", `unclosed '(' opened at column ${this.columnOf(open)}`);
    }
    this.pos++;
    this.depth--;
    return inner;
  }

  private parseQuoted(): string {
    const open = this.pos;
    const quote = this.text[this.pos++];
    let out = "";
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      const following = this.text[this.pos + 1];
      if (c === "\\" && (following === quote || following === "\\")) {
        out += following;
        this.pos += 2;
        continue;
      }
      this.pos++;
      if (c === quote) return out;
      out += c;
    }
    return this.fail(this.pos, 0, quote, `unterminated string: the ${quote} opened at column ${this.columnOf(open)} is never closed`);
  }

  private parseAttribute(start: number, word: string): SelectionAst {
    const attribute = word.toLowerCase() as SelectionAttribute;
    if (!(SELECTION_ATTRIBUTES as readonly string[]).includes(attribute)) {
      this.fail(
        start,
        word.length,
        `one of ${SELECTION_ATTRIBUTES.join(", ")}`,
        `unknown attribute '${word}' (expected one of ${SELECTION_ATTRIBUTES.join(", ")})`,
      );
    }
    this.pos++; // ':'
    const valueStart = this.pos;
    let value: string;
    if (isQuote(this.peek())) {
      value = this.parseQuoted();
    } else {
      while (isValueChar(this.peek())) this.pos++;
      value = this.text.slice(valueStart, this.pos);
    }
    if (value.length === 0) {
      const ch = this.peek();
      this.fail(valueStart, ch === undefined ? 0 : 1, `a value for '${word}:'`, `expected a value after '${word}:'`);
    }
    const valueLength = this.pos - valueStart;
    if (attribute === "kind") {
      const k = value.toLowerCase();
      if (!Object.hasOwn(SELECTION_KINDS, k)) {
        this.fail(
          valueStart,
          valueLength,
          `one of ${SELECTION_KIND_NAMES.join(", ")}`,
          `unknown kind '${value}' (expected one of ${SELECTION_KIND_NAMES.join(", ")})`,
        );
      }
      value = k;
    } else if (attribute === "status") {
      const s = value.toLowerCase();
      if (!(SELECTION_STATUSES as readonly string[]).includes(s)) {
        this.fail(
          valueStart,
          valueLength,
          `one of ${SELECTION_STATUSES.join(", ")}`,
          `unknown status '${value}' (expected one of ${SELECTION_STATUSES.join(", ")})`,
        );
      }
      value = s;
    } else if (attribute === "test_type") {
      const t = value.toLowerCase();
      if (!(SELECTION_TEST_TYPES as readonly string[]).includes(t)) {
        this.fail(valueStart, valueLength, `one of ${SELECTION_TEST_TYPES.join(", ")}`, `unknown test type '${value}' (expected one of ${SELECTION_TEST_TYPES.join(", ")})`);
      }
      value = t;
    } else if (attribute === "key") {
      value = keyId(toKey(value));
      if (value.length === 0) this.fail(valueStart, valueLength, "a key", `expected a key after '${word}:'`);
    }
    return { type: "attribute", attribute, value, range: this.range(start) };
  }
}

/** Parses selection text. Never throws. */
export function parseSelection(text: string): ParseResult {
  if (text.length > MAX_SELECTION_LENGTH) {
    const line = text.slice(0, MAX_SELECTION_LENGTH).split("\n");
    const message = `a selection may be at most ${MAX_SELECTION_LENGTH} characters long (this one has ${text.length})`;
    return { ok: false, error: { column: line[line.length - 1].length + 1, line: line.length, offset: MAX_SELECTION_LENGTH, length: text.length - MAX_SELECTION_LENGTH, expected: "the end of the selection", message } };
  }
  try {
    return { ok: true, ast: new Parser(text).parse() };
  } catch (e) {
    if (e instanceof SyntaxFailure) return { ok: false, error: e.detail };
    throw e;
  }
}

/** `column 12: expected a selector after 'and'`, with the text and a caret line when `text` is given. */
export function describeSelectionError(error: SelectionError, text?: string): string {
  const where = error.line > 1 ? `line ${error.line}, column ${error.column}` : `column ${error.column}`;
  const head = `${where}: ${error.message}`;
  if (text === undefined) return head;
  const lineText = text.split("\n")[error.line - 1] ?? "";
  const caret = " ".repeat(Math.max(0, error.column - 1)) + "^".repeat(Math.max(1, error.length));
  return `${head}\n  ${lineText}\n  ${caret}`;
}

// ---------------------------------------------------------------- evaluation

interface EvalContext {
  graph: AssetGraph;
  status?: StatusLookup;
  checks?: (id: string) => readonly SelectionCheck[];
  roots: string[];
  globs: Map<string, WildcardMatcher>;
}

function normalizePath(p: string): string {
  return p.replace(/\\/g, "/");
}

/** The compiled matcher of a wildcard pattern, once per pattern per evaluation. */
function glob(ctx: EvalContext, pattern: string): { test: WildcardMatcher } {
  let test = ctx.globs.get(pattern);
  if (!test) {
    test = compileWildcard(pattern);
    ctx.globs.set(pattern, test);
  }
  return { test };
}

function matches(ctx: EvalContext, pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return pattern.includes("*") ? glob(ctx, pattern).test(value) : pattern === value;
}

function lastSegment(node: AssetNode): string {
  return node.key[node.key.length - 1] ?? node.id;
}

function matchName(ctx: EvalContext, raw: string): Set<string> {
  const { graph } = ctx;
  const out = new Set<string>();
  const pattern = raw.includes("/") ? keyId(toKey(raw)) : raw;
  if (!pattern.includes("*")) {
    if (graph.nodes.has(pattern)) return new Set([pattern]);
    for (const node of graph.nodes.values()) {
      if (node.dbtName === pattern || lastSegment(node) === pattern) out.add(node.id);
    }
    return out;
  }
  const re = glob(ctx, pattern);
  for (const id of graph.nodes.keys()) if (re.test(id)) out.add(id);
  if (out.size > 0) return out;
  for (const node of graph.nodes.values()) {
    if ((node.dbtName !== undefined && re.test(node.dbtName)) || re.test(lastSegment(node))) out.add(node.id);
  }
  return out;
}

function relativePaths(ctx: EvalContext, file: string): string[] {
  const abs = normalizePath(file);
  const out: string[] = [];
  for (const root of ctx.roots) {
    if (abs.startsWith(root + "/")) out.push(abs.slice(root.length + 1));
  }
  out.push(abs);
  return out;
}

function matchPath(ctx: EvalContext, value: string, file: string | undefined): boolean {
  if (file === undefined) return false;
  let v = normalizePath(value);
  while (v.startsWith("./")) v = v.slice(2);
  if (v.length > 1) v = v.replace(/\/+$/, "");
  for (const rel of relativePaths(ctx, file)) {
    if (!v.includes("*")) {
      if (rel === v || rel.startsWith(v.endsWith("/") ? v : v + "/")) return true;
      continue;
    }
    const re = glob(ctx, v);
    if (re.test(rel)) return true;
    // any directory prefix: `path:models/*` matches `models/staging/x.sql` via `models/staging`
    let cut = rel.indexOf("/");
    while (cut >= 0) {
      if (re.test(rel.slice(0, cut))) return true;
      cut = rel.indexOf("/", cut + 1);
    }
  }
  return false;
}

function matchTag(ctx: EvalContext, value: string, tags: readonly string[]): boolean {
  const withValue = value.includes("=");
  for (const tag of tags) {
    if (matches(ctx, value, tag)) return true;
    if (!withValue) {
      const eq = tag.indexOf("=");
      if (eq >= 0 && matches(ctx, value, tag.slice(0, eq))) return true;
    }
  }
  return false;
}

function matchAttribute(ctx: EvalContext, attribute: SelectionAttribute, value: string): Set<string> {
  const out = new Set<string>();
  const { graph } = ctx;
  if (attribute === "key") {
    if (!value.includes("*")) return graph.nodes.has(value) ? new Set([value]) : out;
    const re = glob(ctx, value);
    for (const id of graph.nodes.keys()) if (re.test(id)) out.add(id);
    return out;
  }
  if (attribute === "status") {
    const status = ctx.status;
    if (!status) return out;
    for (const id of graph.nodes.keys()) if (status(id) === value) out.add(id);
    return out;
  }
  if (attribute === "test_name" || attribute === "test_type") {
    const checks = ctx.checks;
    if (!checks) return out;
    const test =
      attribute === "test_type"
        ? (c: SelectionCheck) => c.kind === value || (value === "data" && (c.kind === "generic" || c.kind === "singular"))
        : (c: SelectionCheck) => matches(ctx, value, c.name) || matches(ctx, value, c.testName) || matches(ctx, value, c.testName?.slice(c.testName.indexOf(".") + 1));
    for (const id of graph.nodes.keys()) if (checks(id).some(test)) out.add(id);
    return out;
  }
  let test: (node: AssetNode) => boolean;
  switch (attribute) {
    case "tag":
      test = (n) => matchTag(ctx, value, n.tags);
      break;
    case "group":
      test = (n) => matches(ctx, value, n.group);
      break;
    case "owner":
      test = (n) => n.owners.some((o) => matches(ctx, value, o) || (o.startsWith("team:") && matches(ctx, value, o.slice(5))));
      break;
    case "kind": {
      const kinds = new Set<AssetKind>(SELECTION_KINDS[value] ?? []);
      test = (n) => kinds.has(n.kind);
      break;
    }
    case "path":
      test = (n) => matchPath(ctx, value, n.file);
      break;
  }
  for (const node of graph.nodes.values()) if (test(node)) out.add(node.id);
  return out;
}

function depthOf(d: LayerDepth): number {
  return d === "all" ? Infinity : d;
}

function evaluate(ast: SelectionAst, ctx: EvalContext): Set<string> {
  const { graph } = ctx;
  switch (ast.type) {
    case "name":
      return matchName(ctx, ast.pattern);
    case "attribute":
      return matchAttribute(ctx, ast.attribute, ast.value);
    case "layers": {
      const base = evaluate(ast.operand, ctx);
      const out = new Set(base);
      if (ast.up !== undefined) for (const id of graph.reach(base, "up", depthOf(ast.up))) out.add(id);
      if (ast.down !== undefined) for (const id of graph.reach(base, "down", depthOf(ast.down))) out.add(id);
      return out;
    }
    case "lineage": {
      const out = evaluate(ast.operand, ctx);
      for (const id of graph.reach(out, "down")) out.add(id);
      for (const id of graph.reach(out, "up")) out.add(id);
      return out;
    }
    case "not": {
      const excluded = evaluate(ast.operand, ctx);
      const out = new Set<string>();
      for (const id of graph.nodes.keys()) if (!excluded.has(id)) out.add(id);
      return out;
    }
    case "and": {
      let out = evaluate(ast.operands[0], ctx);
      for (let i = 1; i < ast.operands.length && out.size > 0; i++) {
        const other = evaluate(ast.operands[i], ctx);
        const next = new Set<string>();
        for (const id of out) if (other.has(id)) next.add(id);
        out = next;
      }
      return out;
    }
    case "or": {
      const out = new Set<string>();
      for (const operand of ast.operands) for (const id of evaluate(operand, ctx)) out.add(id);
      return out;
    }
    case "function":
      return SELECTION_FUNCTIONS[ast.name].evaluate(evaluate(ast.operand, ctx), graph);
  }
}

/**
 * The ids of the assets an AST selects. The third argument is the status lookup (for `status:`)
 * or an options object; `options.root` makes `path:` values relative to the given folder(s).
 */
export function evaluateSelection(
  ast: SelectionAst,
  graph: AssetGraph,
  status?: StatusLookup | EvaluateOptions,
  options: EvaluateOptions = {},
): Set<string> {
  const opts: EvaluateOptions = typeof status === "function" ? { ...options, status } : { ...options, ...(status ?? {}) };
  const rootList = opts.root === undefined ? [] : typeof opts.root === "string" ? [opts.root] : [...opts.root];
  const roots = rootList.map((r) => normalizePath(r).replace(/\/+$/, "")).filter((r) => r.length > 0);
  return evaluate(ast, { graph, status: opts.status, checks: opts.checks, roots, globs: new Map() });
}

export type SelectResult = { ok: true; ids: Set<string> } | { ok: false; error: SelectionError };

/** Parse + evaluate. */
export function selectAssets(
  text: string,
  graph: AssetGraph,
  status?: StatusLookup | EvaluateOptions,
  options?: EvaluateOptions,
): SelectResult {
  const parsed = parseSelection(text);
  if (!parsed.ok) return parsed;
  return { ok: true, ids: evaluateSelection(parsed.ast, graph, status, options) };
}
