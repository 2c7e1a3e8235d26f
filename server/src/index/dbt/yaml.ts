/**
 * dbt property files (`models/**\/*.yml`): `sources:`, `models:`, `seeds:`, `snapshots:` and
 * `exposures:` with exact spans (their data tests: dataTests.ts). Pure: text in, facts out, never
 * throws. The YAML layer the dbt readers share is yamlFile.ts.
 */
import * as yaml from "yaml";
import type { Node as YamlNode } from "yaml";
import type { IndexDiagnostic, Span } from "../../protocol/types";
import { readDataTests } from "./dataTests";
import { addDiag, deref, errorText, isPlainObject, mapEntries, nodeSpan, parseYamlFile, scalarText, toPlain, valueSpan, ZERO_SPAN, type MapEntry, type YamlFile } from "./yamlFile";
import type {
  YamlConstraintDep,
  YamlExposure,
  YamlFacts,
  YamlNodeProps,
  YamlRefDep,
  YamlSource,
  YamlSourceTable,
} from "../facts";

/** Bound once: the bundle reaches a CommonJS package's exports through a getter on every use. */
const { isMap, isScalar, isSeq } = yaml;

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
  // dbt accepts one source in several entries (each with its own tables): only a table twice is a duplicate.
  const bySource = new Map<string, { name: string; nameSpan: Span }[]>();
  for (const s of facts.sources) bySource.set(s.name, [...(bySource.get(s.name) ?? []), ...s.tables]);
  for (const [name, tables] of bySource) warnDuplicates(y, tables, `table of source \`${name}\``);
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
  const columns = readColumnNames(y, named.entries);
  if (columns) table.columns = columns;
  return table;
}

/** Names under `columns:` (for column-level lineage); undefined when the entry declares none. */
function readColumnNames(y: YamlFile, entries: Map<string, MapEntry>): string[] | undefined {
  const node = entries.get("columns")?.value;
  if (!node || !isSeq(node)) return undefined;
  const names: string[] = [];
  for (const item of node.items) {
    const name = scalarText(mapEntries(y, deref(y, item)).get("name")?.value);
    if (name) names.push(name);
  }
  return names.length ? names : undefined;
}

function readNodeProps(y: YamlFile, node: YamlNode, key: "models" | "seeds" | "snapshots"): YamlNodeProps | undefined {
  const named = readName(y, node, key.slice(0, -1));
  if (!named) return undefined;
  const { entries } = named;
  const { config, tags, meta, description } = commonProps(y, entries);
  const props: YamlNodeProps = { name: named.name, span: named.span, nameSpan: named.nameSpan, tags, meta, config };
  if (description !== undefined) props.description = description;
  const columns = readColumnNames(y, entries);
  if (columns) props.columns = columns;
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
