/**
 * The lexer of the Jinja scanner: a tag's content (`{{ ... }}` / `{% ... %}`) into tokens.
 *
 * Tokens go into module-level typed arrays reused for every tag of every file (no allocation per
 * token); the layers above read them directly. The scanner is one object built in layers, each a
 * class extending the one before (`TagLexer` → `ExpressionParser` → `CallScanner` → `Scanner`), so
 * the hot loops keep reading `this` fields and these buffers as they did in one class.
 */

// ---------------------------------------------------------------- tokens (shared, reused buffers)

export const T_NAME = 1;
export const T_STRING = 2;
export const T_NUMBER = 3;
export const T_OP = 4;
/** A string literal without its closing quote. */
const T_BADSTRING = 5;

// Two-character operators get codes above any char code we compare with.
export const OP_EQEQ = 1001;
export const OP_NE = 1002;
export const OP_LE = 1003;
export const OP_GE = 1004;
const OP_FLOORDIV = 1005;
export const OP_POW = 1006;

export const C_LPAREN = 40;
export const C_RPAREN = 41;
export const C_LBRACK = 91;
export const C_RBRACK = 93;
export const C_LBRACE = 123;
export const C_RBRACE = 125;
export const C_COMMA = 44;
export const C_DOT = 46;
export const C_PIPE = 124;
export const C_TILDE = 126;
export const C_PLUS = 43;
export const C_MINUS = 45;
export const C_EQ = 61;
export const C_COLON = 58;
export const C_PERCENT = 37;
export const C_HASH = 35;

let cap = 512;
export let tKind = new Uint8Array(cap);
export let tOp = new Uint16Array(cap);
export let tStart = new Int32Array(cap);
export let tEnd = new Int32Array(cap);
export let nTok = 0;

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

export function isOpenBracket(o: number): boolean {
  return o === C_LPAREN || o === C_LBRACK || o === C_LBRACE;
}

export function isCloseBracket(o: number): boolean {
  return o === C_RPAREN || o === C_RBRACK || o === C_RBRACE;
}

/** Decode a Jinja (Python-style) string literal body, escapes included. */
export function decodeString(text: string, start: number, end: number): string {
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

export function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11;
}

export abstract class TagLexer {
  protected readonly text: string;
  protected readonly len: number;
  /** Offset of a `\n` at or after the last string start (cache for `lexString`). */
  private nextNewline = -1;
  /** Bracket stack of the lexer (the closers expected). */
  private readonly brackets: number[] = [];

  // lexer results for the current tag
  /** A proper closer was found. */
  protected closed = false;
  /** The closer found was of the other tag kind (`{{ ... %}`). */
  protected wrongCloser = false;
  /** Brackets were unbalanced in the tag. */
  protected imbalance = false;
  /** Where the main loop continues (after the closer, at a nested opener, or at the end). */
  protected resume = 0;
  /** A diagnostic about parentheses was already given for this tag (or a string in it is unterminated). */
  protected parenReported = false;

  constructor(text: string) {
    this.text = text;
    this.len = text.length;
  }

  protected abstract error(start: number, end: number, message: string, code?: string): void;

  /**
   * Tokenize a tag's content from `p` until its closer. Sets `closed`, `wrongCloser`, `imbalance`,
   * `resume`, and fills the token buffers.
   */
  protected lex(p: number, isBlock: boolean): void {
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
}
