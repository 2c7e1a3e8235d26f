/**
 * dbt property files (`models/**\/*.yml`): `sources:`, `models:`, `seeds:`, `snapshots:` and
 * `exposures:` with exact spans. Pure: text in, facts out, never throws.
 *
 * The first half of this file is a small layer over the `yaml` package shared by the other dbt
 * readers in this folder (dbt_project.yml, profiles.yml): parsing with dbt-like options, syntax
 * diagnostics, alias / merge-key resolution, spans.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, parseDocument } from "yaml";
import type { Document, Node as YamlNode, Scalar, YAMLMap } from "yaml";
import type { IndexDiagnostic, Pos, Severity, Span } from "../../protocol/types";
import { readDataTests } from "./dataTests";
import { fastParseDocument } from "./fastYaml";
import type {
  YamlConstraintDep,
  YamlExposure,
  YamlFacts,
  YamlNodeProps,
  YamlRefDep,
  YamlSource,
  YamlSourceTable,
} from "../facts";

// ================================================================ shared YAML layer

/**
 * Offsets (UTF-16 code units, as `yaml` reports them) to 0-based LSP positions. Line breaks are
 * `\n`, `\r\n` and a lone `\r`, as in LSP.
 * (Kept private to the dbt readers; `index/lineIndex.ts` can replace it once it exists.)
 */
export class TextPositions {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
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
  const plain = fastParseDocument(text);
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

function errorText(e: unknown): string {
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

/** Follows aliases (`*anchor`); undefined for an alias whose anchor is unknown (with a diagnostic). */
export function deref(y: YamlFile, node: unknown): YamlNode | undefined {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) {
    let target: unknown;
    try {
      target = n.resolve(y.doc);
    } catch {
      target = undefined;
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
const IGNORED_TOP_LEVEL = new Set([
  "version", "semantic_models", "metrics", "saved_queries", "unit_tests", "data_tests", "macros",
  "groups", "analyses", "functions",
]);

export function parsePropertiesYaml(text: string, file: string): YamlFacts {
  const facts: YamlFacts = { sources: [], models: [], seeds: [], snapshots: [], exposures: [], diagnostics: [] };
  let y: YamlFile | undefined;
  try {
    y = parseYamlFile(text, file);
    readProperties(y, facts);
    // Most property files declare no test: a second walk only for those that may.
    if (/tests["']?\s*:/.test(text)) readDataTests(y, facts);
  } catch (e) {
    // Defensive: a bug here must not take the index down.
    const diag: IndexDiagnostic = { file, span: ZERO_SPAN, severity: "error", code: "yaml-shape", message: `Property file could not be read: ${errorText(e)}` };
    facts.diagnostics.push(diag);
  }
  if (y) facts.diagnostics.unshift(...y.diagnostics);
  return facts;
}

function readProperties(y: YamlFile, facts: YamlFacts): void {
  const root = deref(y, y.doc.contents);
  if (!root) return; // empty file or only comments
  if (!isMap(root)) {
    if (isScalar(root) && (root.value == null || root.value === "")) return;
    addDiag(y, root, "warning", "yaml-shape", "A dbt property file should be a mapping with keys like `models:` or `sources:`.");
    return;
  }
  for (const [key, { value }] of mapEntries(y, root)) {
    switch (key) {
      case "sources":
        for (const item of listItems(y, value, key)) {
          const s = readSource(y, item);
          if (s) facts.sources.push(s);
        }
        break;
      case "models":
      case "seeds":
      case "snapshots":
        for (const item of listItems(y, value, key)) {
          const n = readNodeProps(y, item, key);
          if (n) facts[key].push(n);
        }
        break;
      case "exposures":
        for (const item of listItems(y, value, key)) {
          const x = readExposure(y, item);
          if (x) facts.exposures.push(x);
        }
        break;
      default:
        if (IGNORED_TOP_LEVEL.has(key)) break;
        break; // unknown keys are ignored, as dbt mostly does
    }
  }
  warnDuplicates(y, facts.sources, "source");
  for (const s of facts.sources) warnDuplicates(y, s.tables, `table of source \`${s.name}\``);
  warnDuplicates(y, facts.models, "model");
  warnDuplicates(y, facts.seeds, "seed");
  warnDuplicates(y, facts.snapshots, "snapshot");
  warnDuplicates(y, facts.exposures, "exposure");
}

function warnDuplicates(y: YamlFile, entries: { name: string; nameSpan: Span }[], what: string): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) {
      addDiag(y, e.nameSpan, "warning", "duplicate-entry", `Duplicate ${what} \`${e.name}\` in this file.`);
    }
    seen.add(e.name);
  }
}

/** The mapping items of a `key:` list; wrong shapes become warnings. */
function listItems(y: YamlFile, value: YamlNode | undefined, key: string): YamlNode[] {
  if (!value) return [];
  if (isScalar(value) && value.value == null) return [];
  if (!isSeq(value)) {
    addDiag(y, value, "warning", "yaml-shape", `\`${key}:\` should be a list of entries (\`- name: ...\`).`);
    return [];
  }
  const out: YamlNode[] = [];
  for (const raw of value.items) {
    const item = deref(y, raw);
    if (!item) continue;
    if (!isMap(item)) {
      if (isScalar(item) && item.value == null) continue;
      addDiag(y, item, "warning", "yaml-shape", `Each entry of \`${key}:\` should be a mapping with a \`name\`.`);
      continue;
    }
    out.push(item);
  }
  return out;
}

interface Named {
  entries: Map<string, MapEntry>;
  name: string;
  span: Span;
  nameSpan: Span;
}

function readName(y: YamlFile, node: YamlNode, what: string): Named | undefined {
  const entries = mapEntries(y, node);
  const nameNode = entries.get("name")?.value;
  const name = scalarText(nameNode)?.trim();
  if (!nameNode || !name) {
    addDiag(y, nameNode && !(isScalar(nameNode) && nameNode.value == null) ? nameNode : node, "warning", "yaml-shape", `This ${what} has no \`name\`.`);
    return undefined;
  }
  return { entries, name, span: nodeSpan(y, node), nameSpan: valueSpan(y, nameNode) };
}

function readString(y: YamlFile, entries: Map<string, MapEntry>, key: string): string | undefined {
  const n = entries.get(key)?.value;
  if (!n) return undefined;
  const s = scalarText(n);
  if (s === undefined && !(isScalar(n) && n.value == null)) {
    addDiag(y, n, "warning", "yaml-shape", `\`${key}\` should be a text value.`);
  }
  return s;
}

/** `tags: a` or `tags: [a, b]` -> string[]. */
function readTags(y: YamlFile, node: YamlNode | undefined, where: string): string[] {
  if (!node) return [];
  if (isScalar(node)) {
    const s = scalarText(node);
    return s === undefined || s === "" ? [] : [s];
  }
  if (isSeq(node)) {
    const out: string[] = [];
    for (const raw of node.items) {
      const item = deref(y, raw);
      const s = scalarText(item);
      if (s !== undefined) out.push(s);
      else if (item && !(isScalar(item) && item.value == null)) addDiag(y, item, "warning", "yaml-shape", `Each of \`${where}\` should be a text value.`);
    }
    return out;
  }
  addDiag(y, node, "warning", "yaml-shape", `\`${where}\` should be a text value or a list of them.`);
  return [];
}

function readMapping(y: YamlFile, node: YamlNode | undefined, where: string): Record<string, unknown> {
  if (!node) return {};
  if (isScalar(node) && node.value == null) return {};
  if (!isMap(node)) {
    addDiag(y, node, "warning", "yaml-shape", `\`${where}\` should be a mapping.`);
    return {};
  }
  const v = toPlain(y, node);
  return isPlainObject(v) ? v : {};
}

function union(a: string[], b: string[]): string[] {
  const out = [...a];
  for (const t of b) if (!out.includes(t)) out.push(t);
  return out;
}

/** Top-level `description`/`tags`/`meta` merged with the `config:` block (dbt >= 1.10 style). */
function commonProps(y: YamlFile, entries: Map<string, MapEntry>) {
  const configNode = entries.get("config")?.value;
  const config = readMapping(y, configNode, "config");
  const configEntries = configNode && isMap(configNode) ? mapEntries(y, configNode) : new Map<string, MapEntry>();
  const tags = union(readTags(y, entries.get("tags")?.value, "tags"), readTags(y, configEntries.get("tags")?.value, "config.tags"));
  const meta = { ...readMapping(y, entries.get("meta")?.value, "meta"), ...readMapping(y, configEntries.get("meta")?.value, "config.meta") };
  if ("tags" in config) config.tags = tags;
  if ("meta" in config) config.meta = meta;
  return { config, tags, meta, description: readString(y, entries, "description") };
}

function readSource(y: YamlFile, node: YamlNode): YamlSource | undefined {
  const named = readName(y, node, "source");
  if (!named) return undefined;
  const { entries } = named;
  const { tags, meta, description, config } = commonProps(y, entries);
  const source: YamlSource = {
    name: named.name,
    span: named.span,
    nameSpan: named.nameSpan,
    tags,
    meta,
    tables: [],
  };
  const schema = readString(y, entries, "schema");
  if (schema !== undefined) source.schema = schema;
  const database = readString(y, entries, "database") ?? readString(y, entries, "catalog");
  if (database !== undefined) source.database = database;
  if (description !== undefined) source.description = description;
  const enabled = config.enabled ?? toPlain(y, entries.get("enabled")?.value);
  if (enabled !== undefined && enabled !== null) source.enabled = enabled;
  for (const item of listItems(y, entries.get("tables")?.value, "tables")) {
    const t = readSourceTable(y, item);
    if (t) source.tables.push(t);
  }
  return source;
}

function readSourceTable(y: YamlFile, node: YamlNode): YamlSourceTable | undefined {
  const named = readName(y, node, "source table");
  if (!named) return undefined;
  const { tags, meta, description, config } = commonProps(y, named.entries);
  const table: YamlSourceTable = { name: named.name, span: named.span, nameSpan: named.nameSpan, tags, meta };
  const enabled = config.enabled ?? toPlain(y, named.entries.get("enabled")?.value);
  if (enabled !== undefined && enabled !== null) table.enabled = enabled;
  const identifier = readString(y, named.entries, "identifier");
  if (identifier !== undefined) table.identifier = identifier;
  if (description !== undefined) table.description = description;
  return table;
}

function readNodeProps(y: YamlFile, node: YamlNode, key: "models" | "seeds" | "snapshots"): YamlNodeProps | undefined {
  const named = readName(y, node, key.slice(0, -1));
  if (!named) return undefined;
  const { entries } = named;
  const { config, tags, meta, description } = commonProps(y, entries);
  const props: YamlNodeProps = { name: named.name, span: named.span, nameSpan: named.nameSpan, tags, meta, config };
  if (description !== undefined) props.description = description;
  const group = readString(y, entries, "group") ?? (typeof config.group === "string" ? config.group : undefined);
  if (group !== undefined) props.group = group;

  const versionsNode = entries.get("versions")?.value;
  if (versionsNode && !(isScalar(versionsNode) && versionsNode.value == null)) {
    const versions: NonNullable<YamlNodeProps["versions"]> = [];
    for (const item of listItems(y, versionsNode, "versions")) {
      const ve = mapEntries(y, item);
      const vNode = ve.get("v")?.value;
      const v = scalarText(vNode);
      if (v === undefined || v === "") {
        addDiag(y, vNode ?? item, "warning", "yaml-shape", "Each model version needs a `v:` value.");
        continue;
      }
      const entry: { v: string; definedIn?: string; span: Span } = { v, span: nodeSpan(y, item) };
      const definedIn = readString(y, ve, "defined_in");
      if (definedIn !== undefined) entry.definedIn = definedIn;
      versions.push(entry);
      if (key === "models") addConstraintDeps(y, props, ve, v);
    }
    props.versions = versions;
  }
  if (key === "models") addConstraintDeps(y, props, entries);
  const relationNode = key === "snapshots" ? entries.get("relation")?.value : undefined;
  const relationText = scalarText(relationNode);
  if (relationNode && relationText !== undefined) {
    const call = parseDependsOn(relationText);
    if (call && call !== "other") props.relation = { ...call, span: valueSpan(y, relationNode) };
    else addDiag(y, relationNode, "warning", "yaml-shape", `Cannot read \`${relationText}\`: expected \`ref('model')\` or \`source('src', 'table')\`.`);
  }
  const latest = entries.get("latest_version")?.value;
  const latestText = scalarText(latest);
  if (latestText !== undefined) props.latestVersion = latestText;
  return props;
}

/**
 * Foreign keys written as `to: ref('x')` / `to: source('s', 't')` under `constraints:` of a model
 * (or of one of its versions) and of its columns. dbt >= 1.9 adds their targets to the model's
 * `depends_on`, enforced contract or not. A plain `to: schema.table` names no dbt node.
 */
function addConstraintDeps(y: YamlFile, props: YamlNodeProps, entries: Map<string, MapEntry>, onlyVersion?: string): void {
  const lists = [entries.get("constraints")?.value];
  const columns = entries.get("columns")?.value;
  if (columns && isSeq(columns)) {
    for (const raw of columns.items) {
      const column = deref(y, raw);
      if (column && isMap(column)) lists.push(mapEntries(y, column).get("constraints")?.value);
    }
  }
  for (const list of lists) {
    if (!list || !isSeq(list)) continue;
    for (const raw of list.items) {
      const constraint = deref(y, raw);
      if (!constraint || !isMap(constraint)) continue;
      const ce = mapEntries(y, constraint);
      if (scalarText(ce.get("type")?.value) !== "foreign_key") continue;
      const toNode = ce.get("to")?.value;
      const to = scalarText(toNode);
      if (!toNode || to === undefined || !to.includes("(")) continue;
      const call = parseDependsOn(to);
      if (call === "other") continue;
      if (!call) {
        addDiag(y, toNode, "warning", "yaml-shape", `Cannot read foreign key \`to: ${to}\`: expected \`ref('model')\` or \`source('src', 'table')\`.`);
        continue;
      }
      const dep: YamlConstraintDep = { ...call, span: valueSpan(y, toNode) };
      if (onlyVersion !== undefined) dep.onlyVersion = onlyVersion;
      (props.constraintDeps ??= []).push(dep);
    }
  }
}

function readExposure(y: YamlFile, node: YamlNode): YamlExposure | undefined {
  const named = readName(y, node, "exposure");
  if (!named) return undefined;
  const { entries } = named;
  const { tags, meta, description } = commonProps(y, entries);
  const exposure: YamlExposure = {
    name: named.name,
    span: named.span,
    nameSpan: named.nameSpan,
    owners: readOwners(y, entries.get("owner")?.value),
    tags,
    meta,
    dependsOn: [],
  };
  const type = readString(y, entries, "type");
  if (type !== undefined) exposure.type = type;
  if (description !== undefined) exposure.description = description;

  const deps = entries.get("depends_on")?.value;
  if (deps && !(isScalar(deps) && deps.value == null)) {
    if (!isSeq(deps)) {
      addDiag(y, deps, "warning", "yaml-shape", "`depends_on` should be a list like `- ref('model')`.");
    } else {
      for (const raw of deps.items) {
        const item = deref(y, raw);
        if (!item) continue;
        const s = scalarText(item);
        if (s === undefined) {
          addDiag(y, item, "warning", "yaml-shape", "Each `depends_on` entry should be a text like `ref('model')` or `source('src', 'table')`.");
          continue;
        }
        const call = parseDependsOn(s);
        if (call === "other") continue; // metric('x'), semantic references: not assets here
        if (!call) {
          addDiag(y, item, "warning", "yaml-shape", `Cannot read \`${s}\`: expected \`ref('model')\` or \`source('src', 'table')\`.`);
          continue;
        }
        const dep: YamlRefDep = { ...call, span: valueSpan(y, item) };
        exposure.dependsOn.push(dep);
      }
    }
  }
  return exposure;
}

function readOwners(y: YamlFile, node: YamlNode | undefined): string[] {
  if (!node) return [];
  if (isScalar(node)) {
    const s = scalarText(node);
    return s ? [s] : [];
  }
  if (!isMap(node)) {
    addDiag(y, node, "warning", "yaml-shape", "`owner` should be a mapping with `name` and/or `email`.");
    return [];
  }
  const e = mapEntries(y, node);
  const owners: string[] = [];
  const name = scalarText(e.get("name")?.value);
  if (name) owners.push(name);
  const email = e.get("email")?.value;
  for (const m of email && isSeq(email) ? email.items.map((i) => scalarText(deref(y, i))) : [scalarText(email)]) {
    if (m && !owners.includes(m)) owners.push(m);
  }
  return owners;
}

/**
 * `ref('x')`, `ref("proj", "x")`, `ref('x', v=2)`, `source('s', 't')` -> call, positional string
 * args and a ref's version (`v=` / `version=`; other keyword arguments are accepted and dropped).
 * "other" for other well-formed calls (`metric('m')`); undefined when the text cannot be read.
 */
export function parseDependsOn(text: string): { call: "ref" | "source"; args: string[]; version?: string } | "other" | undefined {
  const s = text.trim().replace(/^\{\{\s*([\s\S]*?)\s*\}\}$/, "$1");
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)$/.exec(s);
  if (!m) return undefined;
  const fn = m[1];
  const args: string[] = [];
  let rest = m[2].trim();
  let sawKeyword = false;
  let version: string | undefined;
  while (rest.length > 0) {
    const str = /^(['"])((?:\\.|(?!\1)[^\\])*)\1\s*/.exec(rest);
    const kw = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:(['"])((?:\\.|(?!\2)[^\\])*)\2|([-+]?[\w.]+))\s*/.exec(rest);
    if (str && !sawKeyword) {
      args.push(str[2].replace(/\\(.)/g, "$1"));
      rest = rest.slice(str[0].length);
    } else if (kw) {
      sawKeyword = true;
      if (kw[1] === "v" || kw[1] === "version") version = kw[3] ?? kw[4];
      rest = rest.slice(kw[0].length);
    } else {
      return undefined;
    }
    if (rest.startsWith(",")) rest = rest.slice(1).trimStart();
    else if (rest.length > 0) return undefined;
  }
  if (fn === "ref") return args.length === 1 || args.length === 2 ? { call: "ref", args, ...(version !== undefined ? { version } : {}) } : undefined;
  if (fn === "source") return args.length === 2 ? { call: "source", args } : undefined;
  return "other";
}
