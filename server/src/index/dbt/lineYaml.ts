/**
 * The fastest path for reading YAML: dbt property files are almost always block mappings and
 * sequences of one-line scalars, which can be read line by line with the native string search
 * (several times faster than a character-level parser in a freshly started process). This reader
 * takes only that shape and builds the very nodes fastYaml.ts builds (the `yaml` package's, with
 * its ranges); anything else (multi-line plain or quoted scalars, tags, merge keys, several
 * documents, tabs, `\r`, explicit keys, nested flow collections over lines) answers undefined and
 * the caller takes the next parser.
 */
import * as yaml from "yaml";
import type { Node as YamlNode } from "yaml";
import { closeCollection, NotPlain, plainValue } from "./fastYaml";

/** Bound once: the bundle reaches a CommonJS package's exports through a getter on every use. */
const { Alias, Document, Pair, Scalar, Schema, YAMLMap, YAMLSeq } = yaml;
type Scalar = yaml.Scalar;
type YAMLMap = yaml.YAMLMap;
type YAMLSeq = yaml.YAMLSeq;

/** The `yaml` package's merge-key tag (YAML 1.1 `<<`), as `parseDocument(..., { merge: true })` applies it. */
const MERGE_TAG = new Schema({ schema: "core", merge: true }).tags.find((tag) => tag.tag === "tag:yaml.org,2002:merge");

/** The key node of `<<`: the tag's own scalar (its value a symbol, and the merge applied by `toJS`). */
function mergeKey(range: [number, number, number]): Scalar {
  if (!MERGE_TAG || typeof MERGE_TAG.resolve !== "function") throw new NotPlain();
  const node = (MERGE_TAG.resolve as (s: string, onError: (m: string) => void, o: object) => unknown)("<<", () => undefined, {});
  if (!(node instanceof Scalar)) throw new NotPlain();
  node.type = "PLAIN";
  node.source = "<<";
  node.range = range;
  return node;
}

/** Characters a plain scalar may not start with (YAML's indicators; `-`, `?`, `:` are checked apart). */
const INDICATOR = new Set(["[", "]", "{", "}", ",", "#", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`"]);

/**
 * What each alias of a document read here stands for, found while reading (the `yaml` package finds
 * it by walking the document; deref in yamlFile.ts asks here first).
 */
const aliasTargets = new WeakMap<object, YamlNode>();

export function aliasTarget(alias: object): YamlNode | undefined {
  return aliasTargets.get(alias);
}

/** The nodes of a document in the shape above, or undefined for the next parser. */
export function lineParseDocument(text: string): yaml.Document.Parsed | undefined {
  if (text.length === 0 || text.includes("\t") || text.includes("\r") || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    const root = new LineReader(text).document();
    const doc = new Document() as yaml.Document.Parsed;
    doc.contents = root as yaml.Document.Parsed["contents"];
    return doc;
  } catch (e) {
    if (e instanceof NotPlain) return undefined;
    throw e;
  }
}

class LineReader {
  /** Start offset of each line; `ends[i]` is where its `\n` (or the text's end) is. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Leading spaces of each line, -1 for blank and comment-only lines. */
  private readonly indents: number[] = [];
  private line = 0;
  private trailingSpaces = false;
  /** The node each anchor names so far (the last one of a name wins, as in YAML). */
  private readonly anchors = new Map<string, YamlNode>();
  /** Anchors whose node is being read: an alias to one of them would make the node contain itself. */
  private readonly open = new Set<string>();

  constructor(private readonly text: string) {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      const end = nl === -1 ? text.length : nl;
      let i = start;
      while (i < end && text.charCodeAt(i) === 32) i++;
      const c = text[i];
      this.starts.push(start);
      this.ends.push(end);
      this.indents.push(i === end || c === "#" ? -1 : i - start);
      if (i === start && (c === "%" || ((c === "-" || c === ".") && /^(?:---|\.\.\.)(?:\s|$)/.test(text.slice(i, i + 4))))) throw new NotPlain(); // directives, document markers
      if (nl === -1) {
        // Spaces after the last line break: where a block scalar before them ends differs between parsers.
        this.trailingSpaces = i === end && end > start;
        break;
      }
      start = nl + 1;
    }
  }

  document(): YamlNode | null {
    this.skipBlank();
    if (this.line >= this.starts.length) throw new NotPlain(); // empty: the next parser's
    const root = this.blockNode(-1, false);
    this.skipBlank();
    if (root === undefined || this.line < this.starts.length) throw new NotPlain();
    return root;
  }

  private isComment(line: number): boolean {
    let i = this.starts[line];
    while (this.text.charCodeAt(i) === 32) i++;
    return i < this.ends[line] && this.text[i] === "#";
  }

  private skipBlank(): void {
    while (this.line < this.starts.length && this.indents[this.line] === -1) this.line++;
  }

  /** Indent of the next line with content (-1 at the end). */
  private nextIndent(): number {
    this.skipBlank();
    return this.line < this.starts.length ? this.indents[this.line] : -1;
  }

  private isSeqItem(at: number): boolean {
    if (this.text[at] !== "-") return false;
    const next = this.text[at + 1];
    return next === " " || next === "\n" || next === undefined;
  }

  /**
   * A collection on the lines that follow, indented more than `parentIndent` (or a sequence at
   * the parent's indent, as YAML allows under a mapping key). Undefined when there is none.
   */
  private blockNode(parentIndent: number, seqAtParent: boolean): YamlNode | undefined {
    const indent = this.nextIndent();
    if (indent < 0 || indent < parentIndent) return undefined;
    const at = this.starts[this.line] + indent;
    if (indent === parentIndent) return seqAtParent && this.isSeqItem(at) ? this.sequence(indent) : undefined;
    if (this.isSeqItem(at)) return this.sequence(indent);
    // A value on the line below its key: a flow collection (`tags:\n  [a, b]`) or a plain scalar.
    const c = this.text[at];
    if (c === "[" || c === "{" || (!INDICATOR.has(c) && !/^[-?:](?: |$)/.test(this.text.slice(at, at + 2)) && keyColon(this.text, at, this.ends[this.line]) < 0)) {
      return this.inline(at, parentIndent, "map");
    }
    return this.mapping(indent, at);
  }

  private sequence(indent: number): YAMLSeq {
    const seq = new YAMLSeq();
    const start = this.starts[this.line] + indent;
    seq.range = [start, start, start];
    while (this.nextIndent() === indent && this.isSeqItem(this.starts[this.line] + indent)) {
      const item = this.inline(this.starts[this.line] + indent + 1, indent, "seq");
      if (!item || !item.range) throw new NotPlain(); // `- ` with nothing after it
      seq.items.push(item);
    }
    if (this.nextIndent() > indent) throw new NotPlain();
    closeCollection(this.text, seq);
    return seq;
  }

  /** A block mapping whose keys stand at column `indent`, the first one at offset `at`. */
  private mapping(indent: number, at: number): YAMLMap {
    const map = new YAMLMap();
    map.range = [at, at, at];
    const keys = new Set<string>();
    for (;;) {
      const key = this.key(at);
      const name = String(key.node.value);
      if (keys.has(name)) throw new NotPlain(); // duplicates: the `yaml` package's
      keys.add(name);
      const merge = name === "<<";
      if (merge) {
        // `<<: *anchor`, dbt files' way of sharing columns: the key the `yaml` package makes of it.
        if (key.node.type !== "PLAIN") throw new NotPlain();
        key.node = mergeKey(key.node.range!);
      }
      let value = this.inline(key.colon + 1, indent, "map");
      if (merge && !(value instanceof Alias)) throw new NotPlain(); // merging a list or a mapping written in place
      if (!value) {
        // `key:` with nothing after it: a null just after the colon, where the `yaml` package puts it.
        let nullAt = key.colon + 1;
        while (this.text[nullAt] === " ") nullAt++;
        value = new Scalar(null);
        (value as Scalar).type = "PLAIN";
        value.range = [nullAt, nullAt, nullAt];
      }
      map.items.push(new Pair(key.node, value));
      const next = this.nextIndent();
      if (next !== indent) {
        if (next > indent) throw new NotPlain();
        break;
      }
      at = this.starts[this.line] + indent;
      if (this.isSeqItem(at)) throw new NotPlain();
    }
    closeCollection(this.text, map);
    return map;
  }

  /** An implicit key at `at` (plain or quoted, one line) and the offset of its `:`. */
  private key(at: number): { node: Scalar; colon: number } {
    const text = this.text;
    const end = this.ends[this.line];
    const c = text[at];
    let node: Scalar;
    let after: number;
    if (c === '"' || c === "'") {
      const q = this.quoted(at, end);
      node = q.node;
      after = q.end;
      while (text[after] === " ") after++;
      if (text[after] !== ":" || !(after + 1 === end || text[after + 1] === " ")) throw new NotPlain();
    } else {
      if (INDICATOR.has(c) || ((c === "?" || c === ":" || c === "-") && (text[at + 1] === " " || at + 1 === end))) throw new NotPlain();
      const colon = keyColon(text, at, end);
      if (colon < 0) throw new NotPlain(); // a scalar where a key should be
      let keyEnd = colon;
      while (text[keyEnd - 1] === " ") keyEnd--;
      const raw = text.slice(at, keyEnd);
      if (raw.includes(" #")) throw new NotPlain();
      node = new Scalar(plainValue(raw));
      node.type = "PLAIN";
      node.range = [at, keyEnd, keyEnd];
      after = colon;
    }
    if (node.value === null || typeof node.value === "object" || after - at > 1024) throw new NotPlain();
    return { node, colon: after };
  }

  /**
   * The value starting at offset `from` on the current line (after `- ` or `key:`), with what
   * follows on more indented lines; consumes its lines. Undefined when there is nothing there
   * (a null mapping value).
   */
  private inline(from: number, indent: number, context: "seq" | "map"): YamlNode | undefined {
    const text = this.text;
    const end = this.ends[this.line];
    let at = from;
    while (text[at] === " ") at++;
    let anchor: string | undefined;
    if (text[at] === "&") {
      const nameEnd = tokenEnd(text, at + 1, end);
      anchor = text.slice(at + 1, nameEnd);
      this.open.add(anchor);
      if (!anchor || anchor.includes(":")) throw new NotPlain();
      at = nameEnd;
      while (text[at] === " ") at++;
    }
    let node: YamlNode | undefined;
    if (at === end || text[at] === "#") {
      // The value is on the lines below.
      this.line++;
      node = this.blockNode(indent, context === "map");
      if (anchor !== undefined && !node) throw new NotPlain(); // an anchored empty value
    } else {
      const c = text[at];
      if (c === "*") {
        if (anchor !== undefined) throw new NotPlain();
        const nameEnd = tokenEnd(text, at + 1, end);
        const source = text.slice(at + 1, nameEnd);
        if (source.includes(":")) throw new NotPlain();
        // An alias before (or without) its anchor: the `yaml` package reports it.
        const target = this.anchors.get(source);
        if (!target || this.open.has(source)) throw new NotPlain();
        const alias = new Alias(source);
        alias.range = [at, nameEnd, nameEnd];
        aliasTargets.set(alias, target);
        this.endOfLine(nameEnd, end, indent);
        node = alias;
      } else if (c === "|" || c === ">") node = this.blockScalar(at, end, indent);
      else if (c === "[" || c === "{") {
        const flow = this.flow(at, end);
        this.endOfLine(flow.end, end, indent);
        node = flow.node;
      } else if (c === '"' || c === "'") {
        const startLine = this.line;
        const q = this.quoted(at, end, indent);
        let after = q.end;
        while (text[after] === " ") after++;
        if (text[after] === ":") {
          if (this.line !== startLine) throw new NotPlain(); // a key over several lines
          if (context !== "seq" || anchor !== undefined || !(after + 1 === end || text[after + 1] === " ")) throw new NotPlain();
          node = this.mapping(at - this.starts[this.line], at); // `- "key": value`
        } else {
          this.endOfLine(q.end, this.ends[this.line], indent);
          node = q.node;
        }
      } else {
        if (INDICATOR.has(c) || ((c === "?" || c === ":" || c === "-") && (text[at + 1] === " " || at + 1 === end))) throw new NotPlain();
        const colon = keyColon(text, at, end);
        if (colon >= 0) {
          // `- key: value`: a mapping whose keys stand at this column (an anchor here would be the key's).
          if (context !== "seq" || anchor !== undefined) throw new NotPlain();
          node = this.mapping(at - this.starts[this.line], at);
        } else {
          const comment = commentStart(text, at, end);
          let valueEnd = comment >= 0 ? comment : end;
          while (text[valueEnd - 1] === " ") valueEnd--;
          let value = text.slice(at, valueEnd);
          this.line++;
          // More indented lines below continue a multi-line plain scalar (folded: one space per
          // line break, a line break per blank line), unless a comment ended it.
          if (valueEnd === end || text[valueEnd] === " ") {
            let blanks = 0;
            for (let l = this.line; l < this.starts.length && comment < 0; l++) {
              if (this.indents[l] === -1) {
                if (this.isComment(l)) break;
                blanks++;
                continue;
              }
              if (this.indents[l] <= indent) break;
              const s = this.starts[l] + this.indents[l];
              let e = this.ends[l];
              while (text[e - 1] === " ") e--;
              const more = text.slice(s, e);
              if (/^[#:]|: |:$| #/.test(more)) throw new NotPlain();
              value += blanks > 0 ? "\n".repeat(blanks) : " ";
              value += more;
              valueEnd = e;
              blanks = 0;
              this.line = l + 1;
            }
          }
          const scalar = new Scalar(plainValue(value));
          scalar.type = "PLAIN";
          scalar.range = [at, valueEnd, valueEnd];
          if (this.line < this.starts.length && this.indents[this.line] > indent) throw new NotPlain();
          node = scalar;
        }
      }
    }
    if (anchor !== undefined && node) {
      node.anchor = anchor;
      this.anchors.set(anchor, node);
      this.open.delete(anchor);
    }
    return node;
  }

  /**
   * Only spaces and a comment may follow a value on its line; then the next line. A scalar or flow
   * value is complete on its line: more indented text below it is the next parser's.
   */
  private endOfLine(at: number, end: number, indent: number): void {
    let i = at;
    while (this.text[i] === " ") i++;
    if (i < end && !(this.text[i] === "#" && i > at)) throw new NotPlain();
    this.line++;
    if (this.line < this.starts.length && this.indents[this.line] > indent) throw new NotPlain();
  }

  /**
   * A quoted scalar at `at` on the current line (`end` is its end). With `indent` (a value, not a
   * key or a flow item) it may run over more lines indented past `indent`: each line break folds
   * to a space, each blank line to a line break; the current line is then the closing quote's.
   */
  private quoted(at: number, end: number, indent?: number): { node: Scalar; end: number } {
    const text = this.text;
    const q = text[at];
    let value = "";
    let i = at + 1;
    let lineEnd = end;
    let escapes = false;
    for (;;) {
      let close = i;
      if (q === "'") while (close < lineEnd && text.charCodeAt(close) !== 39) close++;
      else while (close < lineEnd && text[close] !== '"' && text[close] !== "\\") close++;
      value += text.slice(i, close);
      if (close < lineEnd) {
        if (q === "'" && text[close + 1] === "'") {
          value += "'";
          i = close + 2;
          continue;
        }
        if (text[close] === "\\") {
          const escaped = unescape(text, close, lineEnd);
          value += escaped.text;
          i = escaped.next;
          escapes = true;
          continue;
        }
        i = close;
        break;
      }
      // The line ends inside the quotes.
      if (indent === undefined || escapes) throw new NotPlain();
      let trimmed = value.length;
      while (value.charCodeAt(trimmed - 1) === 32) trimmed--;
      value = value.slice(0, trimmed);
      let blanks = 0;
      let line = this.line + 1;
      for (; line < this.starts.length; line++) {
        let c = this.starts[line];
        while (c < this.ends[line] && text.charCodeAt(c) === 32) c++;
        if (c < this.ends[line]) break;
        blanks++;
      }
      if (line >= this.starts.length) throw new NotPlain();
      const lineIndent = this.firstNonSpace(line) - this.starts[line];
      if (lineIndent <= indent) throw new NotPlain();
      value += blanks > 0 ? "\n".repeat(blanks) : " ";
      this.line = line;
      i = this.starts[line] + lineIndent;
      lineEnd = this.ends[line];
    }
    if (escapes && this.ends[this.line] !== end) throw new NotPlain();
    const node = new Scalar(value);
    node.type = q === "'" ? "QUOTE_SINGLE" : "QUOTE_DOUBLE";
    node.range = [at, i + 1, i + 1];
    return { node, end: i + 1 };
  }

  private firstNonSpace(line: number): number {
    let c = this.starts[line];
    while (c < this.ends[line] && this.text.charCodeAt(c) === 32) c++;
    return c;
  }

  /** `|` / `>` with an optional chomping indicator; the content on the more indented lines below. */
  private blockScalar(at: number, end: number, indent: number): Scalar {
    const text = this.text;
    const literal = text[at] === "|";
    let i = at + 1;
    let chomp: "clip" | "strip" | "keep" = "clip";
    if (text[i] === "-" || text[i] === "+") chomp = text[i++] === "-" ? "strip" : "keep";
    if (i < end && text[i] !== " ") throw new NotPlain(); // an indentation indicator
    while (text[i] === " ") i++;
    if (i < end && text[i] !== "#") throw new NotPlain();
    const lines: string[] = [];
    let blockIndent = -1;
    let lastContent = -1;
    let l = this.line + 1;
    for (; l < this.starts.length; l++) {
      const s = this.starts[l];
      const e = this.ends[l];
      let sp = s;
      while (sp < e && text.charCodeAt(sp) === 32) sp++;
      if (sp === e) {
        // A blank line longer than the content's indent keeps spaces: the next parser's.
        if (blockIndent >= 0 ? e - s > blockIndent : e > s) throw new NotPlain();
        lines.push("");
        continue;
      }
      const lineIndent = sp - s;
      if (blockIndent < 0) {
        if (lineIndent <= indent) break;
        blockIndent = lineIndent;
      } else if (lineIndent < blockIndent) break;
      // More indented lines keep their line breaks in folded scalars: the next parser's.
      if (!literal && lineIndent > blockIndent) throw new NotPlain();
      lines.push(text.slice(s + blockIndent, e));
      lastContent = l;
    }
    if (lastContent < 0) throw new NotPlain(); // an empty block scalar
    const content = lines.slice(0, lastContent - this.line);
    const trailing = lines.length - content.length;
    let value: string;
    if (literal) value = content.join("\n");
    else {
      // Folded: lines joined by a space, each blank line a line break (leading ones too).
      value = "";
      let started = false;
      let blanks = 0;
      for (const line of content) {
        if (line === "") {
          blanks++;
          continue;
        }
        value += started ? (blanks > 0 ? "\n".repeat(blanks) : " ") : "\n".repeat(blanks);
        value += line;
        started = true;
        blanks = 0;
      }
    }
    if (chomp === "clip") value += "\n";
    else if (chomp === "keep") value += "\n" + "\n".repeat(trailing);
    const node = new Scalar(value);
    node.type = literal ? "BLOCK_LITERAL" : "BLOCK_FOLDED";
    if (l >= this.starts.length && this.trailingSpaces) throw new NotPlain();
    // As js-yaml: the scalar runs to the line that ends it (its trailing blank lines included).
    const valueEnd = l < this.starts.length ? this.starts[l] : text.length;
    node.range = [at, valueEnd, valueEnd];
    this.line = lastContent + 1;
    if (chomp === "keep") throw new NotPlain(); // where the kept lines end is the next parser's
    return node;
  }

  /** A flow collection on one line (nested ones too). */
  private flow(at: number, end: number): { node: YAMLMap | YAMLSeq; end: number } {
    const text = this.text;
    const isMap = text[at] === "{";
    const close = isMap ? "}" : "]";
    const node = isMap ? new YAMLMap() : new YAMLSeq();
    node.flow = true;
    node.range = [at, at, at];
    const keys = new Set<string>();
    let i = at + 1;
    const skip = () => {
      while (text[i] === " ") i++;
    };
    const item = (inKey: boolean): YamlNode => {
      skip();
      const c = text[i];
      if (c === "[" || c === "{") {
        const inner = this.flow(i, end);
        i = inner.end;
        return inner.node;
      }
      if (c === '"' || c === "'") {
        const q = this.quoted(i, end);
        i = q.end;
        return q.node;
      }
      if (INDICATOR.has(c) || c === undefined || i >= end || ((c === "?" || c === ":" || c === "-") && /[\s,[\]{}]/.test(text[i + 1] ?? " "))) throw new NotPlain();
      const s = i;
      while (i < end && !",[]{}".includes(text[i]) && !(text[i] === ":" && /[\s,[\]{}]/.test(text[i + 1] ?? " ")) && !(text[i] === "#" && text[i - 1] === " ")) i++;
      let e = i;
      while (text[e - 1] === " ") e--;
      if (text[i] === "#" || (!inKey && text[i] === ":")) throw new NotPlain();
      const scalar = new Scalar(plainValue(text.slice(s, e)));
      scalar.type = "PLAIN";
      scalar.range = [s, e, e];
      return scalar;
    };
    for (;;) {
      skip();
      if (i >= end) throw new NotPlain(); // over several lines
      if (text[i] === close) break;
      if (isMap) {
        const key = item(true);
        if (!(key instanceof Scalar) || key.value === null || typeof key.value === "object") throw new NotPlain();
        skip();
        if (text[i] !== ":") throw new NotPlain(); // `{a}`
        const name = String(key.value);
        if (name === "<<" || keys.has(name)) throw new NotPlain();
        keys.add(name);
        i++;
        skip();
        if (text[i] === "," || text[i] === "}") throw new NotPlain(); // `{a: }`
        (node as YAMLMap).items.push(new Pair(key, item(false)));
      } else {
        const value = item(false);
        skip();
        if (text[i] === ":") throw new NotPlain(); // `[a: b]`
        (node as YAMLSeq).items.push(value);
      }
      skip();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] !== close) throw new NotPlain();
    }
    closeCollection(text, node);
    if (node.range![1] !== i + 1) throw new NotPlain();
    return { node, end: i + 1 };
  }
}

/** The offset of a block key's `:` (followed by a space or the line's end) on `[at, end)`, or -1. */
function keyColon(text: string, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 35 && i > at && text.charCodeAt(i - 1) === 32) return -1; // a comment first
    if (c === 58 && (i + 1 === end || text.charCodeAt(i + 1) === 32)) return i;
  }
  return -1;
}

/** The offset of a ` #` comment on `[at, end)`, or -1. */
function commentStart(text: string, at: number, end: number): number {
  for (let i = at + 1; i < end; i++) if (text.charCodeAt(i) === 35 && text.charCodeAt(i - 1) === 32) return i - 1;
  return -1;
}

/** The end of an anchor or alias name: the next space or the line's end. */
function tokenEnd(text: string, at: number, end: number): number {
  let i = at;
  while (i < end && text[i] !== " " && !",[]{}".includes(text[i])) i++;
  return i;
}

const ESCAPES: Record<string, string> = { "0": "\0", a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029" };

function unescape(text: string, at: number, end: number): { text: string; next: number } {
  const c = text[at + 1];
  if (at + 1 >= end) throw new NotPlain(); // a line continuation
  const simple = ESCAPES[c];
  if (simple !== undefined) return { text: simple, next: at + 2 };
  const width = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
  const hex = text.slice(at + 2, at + 2 + width);
  if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) throw new NotPlain();
  return { text: String.fromCodePoint(parseInt(hex, 16)), next: at + 2 + width };
}
