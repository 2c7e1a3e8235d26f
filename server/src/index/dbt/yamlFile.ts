/**
 * A small layer over the `yaml` package shared by the dbt readers in this folder (property files,
 * dbt_project.yml, profiles.yml, data tests): parsing with dbt-like options (the fast path in
 * fastYaml.ts for plain documents), syntax diagnostics, alias / merge-key resolution, spans.
 */
import * as yaml from "yaml";
import type { Document, Node as YamlNode, Scalar, YAMLMap } from "yaml";
import type { IndexDiagnostic, Pos, Severity, Span } from "../../protocol/types";
import { fastParseDocument } from "./fastYaml";
import { aliasTarget, lineParseDocument } from "./lineYaml";

/** Bound once: the bundle reaches a CommonJS package's exports through a getter on every use. */
const { isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit } = yaml;

/**
 * Offsets (UTF-16 code units, as `yaml` reports them) to 0-based LSP positions. Line breaks are
 * `\n`, `\r\n` and a lone `\r`, as in LSP.
 * (Kept private to the dbt readers; `index/lineIndex.ts` can replace it once it exists.)
 */
export class TextPositions {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
    if (!text.includes("\r")) {
      // The common case, found with the native search.
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
      return;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }
  position(offset: number): Pos {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo] };
  }
  span(start: number, end: number): Span {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }
}

export const ZERO_SPAN: Span = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** A parsed YAML file plus what every reader needs around it. */
export interface YamlFile {
  doc: Document.Parsed;
  text: string;
  file: string;
  pos: TextPositions;
  diagnostics: IndexDiagnostic[];
}

const MAX_SYNTAX_DIAGNOSTICS = 20;

/**
 * Parse YAML the way dbt reads it closely enough: YAML 1.2 core schema (dates and `yes`/`no`
 * stay strings) with `<<` merge keys, duplicate keys allowed (last wins, as in PyYAML, with a
 * `duplicate-entry` warning). Syntax errors become `yaml-syntax` errors at the parser's position;
 * the document is still returned (the parser recovers) so callers read what they can.
 */
export function parseYamlFile(text: string, file: string): YamlFile {
  const pos = new TextPositions(text);
  const diagnostics: IndexDiagnostic[] = [];
  const plain = lineParseDocument(text) ?? fastParseDocument(text);
  if (plain) return { doc: plain, text, file, pos, diagnostics };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { prettyErrors: false, merge: true, logLevel: "silent", uniqueKeys: true });
  } catch (e) {
    // Not expected from `yaml`, but a parser must never throw.
    doc = parseDocument("", { logLevel: "silent" });
    diagnostics.push({ file, span: ZERO_SPAN, severity: "error", code: "yaml-syntax", message: `YAML could not be read: ${errorText(e)}` });
    return { doc, text, file, pos, diagnostics };
  }
  const y: YamlFile = { doc, text, file, pos, diagnostics };
  let count = 0;
  for (const err of doc.errors) {
    if (count >= MAX_SYNTAX_DIAGNOSTICS) break;
    const [start, end] = err.pos;
    if (err.code === "DUPLICATE_KEY") {
      const keyEnd = lineEnd(text, start);
      diagnostics.push({
        file, span: pos.span(start, keyEnd), severity: "warning", code: "duplicate-entry",
        message: `Duplicate key \`${text.slice(start, keyEnd).split(":")[0].trim()}\`: the last one wins.`,
      });
      continue;
    }
    count++;
    let s = start;
    let e = end;
    const quote = /Missing closing (["'])quote/.exec(err.message)?.[1];
    if (quote) {
      // The parser reports the end of the file; point at the opening quote instead.
      const open = openingQuote(text, Math.min(start, text.length), quote);
      if (open >= 0) {
        s = open;
        e = lineEnd(text, open);
      }
    }
    diagnostics.push({
      file, span: errorSpan(text, pos, s, e), severity: "error", code: "yaml-syntax",
      message: `YAML syntax error: ${firstLine(err.message)}`,
    });
  }
  for (const w of doc.warnings) {
    if (count >= MAX_SYNTAX_DIAGNOSTICS) break;
    count++;
    const [start, end] = w.pos;
    diagnostics.push({
      file, span: errorSpan(text, pos, start, end), severity: "warning", code: "yaml-syntax",
      message: `YAML: ${firstLine(w.message)}`,
    });
  }
  return y;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).replace(/ at line \d+, column \d+:?$/, "").trim();
}

/** The last quote character before `before` that is not escaped (`\"`, or `''` in single quotes). */
function openingQuote(text: string, before: number, quote: string): number {
  let i = before - 1;
  while (i >= 0) {
    if (text[i] === quote) {
      if (quote === '"' && text[i - 1] === "\\") {
        i -= 2;
        continue;
      }
      if (quote === "'" && text[i - 1] === "'") {
        i -= 2;
        continue;
      }
      return i;
    }
    i--;
  }
  return -1;
}

function lineEnd(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
  return i;
}

/** An error range, at least one character wide when the line allows it, never spanning lines. */
function errorSpan(text: string, pos: TextPositions, start: number, end: number): Span {
  const s = Math.max(0, Math.min(start, text.length));
  let e = Math.max(s, Math.min(end, lineEnd(text, s)));
  if (e === s && s < text.length && text[s] !== "\n" && text[s] !== "\r") e = s + 1;
  return pos.span(s, e);
}

export function addDiag(y: YamlFile, at: YamlNode | Span | null | undefined, severity: Severity, code: string, message: string): void {
  const span = at == null ? ZERO_SPAN : isNode(at) ? nodeSpan(y, at) : at;
  y.diagnostics.push({ file: y.file, span, severity, code, message });
}

/**
 * The anchored and alias nodes of a document in document order, collected once: the `yaml`
 * package's `Alias.resolve` walks the whole document for every alias, which made files with
 * hundreds of aliases quadratic (seconds on a large project).
 */
const anchorsByDoc = new WeakMap<Document.Parsed, YamlNode[]>();

function anchoredNodes(doc: Document.Parsed): YamlNode[] {
  let nodes = anchorsByDoc.get(doc);
  if (!nodes) {
    const found: YamlNode[] = [];
    visit(doc, { Node: (_key, node) => {
      if (isAlias(node) || (node as { anchor?: string }).anchor) found.push(node);
    } });
    nodes = found;
    anchorsByDoc.set(doc, nodes);
  }
  return nodes;
}

/** Follows aliases (`*anchor`); undefined for an alias whose anchor is unknown (with a diagnostic). */
export function deref(y: YamlFile, node: unknown): YamlNode | undefined {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) {
    const known = aliasTarget(n);
    if (known) {
      n = known;
      continue;
    }
    // As YAML (and `Alias.resolve`): the last node anchored with this name before the alias.
    let target: YamlNode | undefined;
    for (const candidate of anchoredNodes(y.doc)) {
      if (candidate === n) break;
      if ((candidate as { anchor?: string }).anchor === n.source) target = candidate;
    }
    if (target === undefined) {
      addDiag(y, n, "error", "yaml-syntax", `Unknown alias \`*${n.source}\`.`);
      return undefined;
    }
    n = target;
  }
  if (n == null || isAlias(n)) return undefined;
  return n as YamlNode;
}

/** The offset just after a node's content (no trailing newlines or comments). */
function contentEnd(y: YamlFile, node: YamlNode): number {
  let end = node.range?.[1] ?? 0;
  if (isMap(node) && node.items.length > 0) {
    const last = node.items[node.items.length - 1];
    const v = last.value as YamlNode | null;
    const k = last.key as YamlNode | null;
    const inner = v && v.range ? contentEnd(y, v) : k && k.range ? contentEnd(y, k) : end;
    if (!node.flow) end = inner;
  } else if (isSeq(node) && node.items.length > 0 && !node.flow) {
    const last = node.items[node.items.length - 1] as YamlNode | null;
    if (last && last.range) end = contentEnd(y, last);
  }
  const start = node.range?.[0] ?? 0;
  while (end > start && /\s/.test(y.text[end - 1])) end--;
  return end;
}

/** The whole node, trimmed of trailing whitespace and comments. */
export function nodeSpan(y: YamlFile, node: YamlNode): Span {
  const start = node.range?.[0] ?? 0;
  return y.pos.span(start, contentEnd(y, node));
}

/** For a one-line quoted scalar: the text inside the quotes; otherwise the node's content. */
export function valueSpan(y: YamlFile, node: YamlNode): Span {
  if (isScalar(node) && node.range && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE")) {
    const [start] = node.range;
    const end = contentEnd(y, node);
    const raw = y.text.slice(start, end);
    if (end - start >= 2 && !/[\r\n]/.test(raw) && raw[0] === raw[raw.length - 1]) return y.pos.span(start + 1, end - 1);
  }
  return nodeSpan(y, node);
}

export interface MapEntry {
  key: YamlNode;
  /** Already dereferenced; undefined for `key:` with no value or an unknown alias. */
  value: YamlNode | undefined;
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return v === "<<" || (typeof v === "symbol" && v.description === "<<");
}

/**
 * A mapping's entries by string key, with `<<: *anchor` merge keys applied (explicit keys win,
 * as in YAML) and aliases followed. Later duplicates win. Non-scalar keys are skipped.
 */
export function mapEntries(y: YamlFile, node: YamlNode | undefined, depth = 0): Map<string, MapEntry> {
  const out = new Map<string, MapEntry>();
  if (!node || !isMap(node) || depth > 16) return out;
  const merged: Map<string, MapEntry>[] = [];
  for (const pair of (node as YAMLMap<unknown, unknown>).items) {
    if (isMergeKey(pair.key)) {
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const s of sources) {
        const target = deref(y, s);
        if (target && isMap(target)) merged.push(mapEntries(y, target, depth + 1));
      }
      continue;
    }
    const key = deref(y, pair.key);
    if (!key || !isScalar(key) || key.value == null || typeof key.value === "object") continue;
    out.set(String(key.value), { key, value: pair.value == null ? undefined : deref(y, pair.value) });
  }
  if (merged.length === 0) return out;
  const result = new Map<string, MapEntry>();
  // YAML merge: earlier merge sources win over later ones; explicit keys win over all.
  for (let i = merged.length - 1; i >= 0; i--) for (const [k, v] of merged[i]) result.set(k, v);
  for (const [k, v] of out) result.set(k, v);
  return result;
}

/** Plain JS value of a node (aliases resolved); undefined when it cannot be built. */
export function toPlain(y: YamlFile, node: YamlNode | undefined): unknown {
  if (!node) return undefined;
  try {
    return node.toJS(y.doc, { maxAliasCount: 1000 });
  } catch (e) {
    addDiag(y, node, "error", "yaml-syntax", `YAML value could not be read: ${firstLine(errorText(e))}`);
    return undefined;
  }
}

/** A scalar as text (numbers and booleans stringified); undefined for null or a collection. */
export function scalarText(node: YamlNode | undefined): string | undefined {
  if (!node || !isScalar(node)) return undefined;
  const v = (node as Scalar).value;
  if (v == null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return undefined;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map) && !(v instanceof Set);
}

// ================================================================ property files

/** Top-level keys of a property file that are known and deliberately not read. */
