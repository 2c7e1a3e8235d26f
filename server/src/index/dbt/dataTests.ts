/**
 * dbt data tests in property files: `data_tests:` (and the legacy `tests:`) on models, seeds,
 * snapshots, source tables, their columns and model versions, plus `unit_tests:`. Reads each entry
 * the way dbt's TestBuilder does: a bare name, `{name: {args}}`, or `{test_name: x, ...}`; args under
 * `arguments:` (dbt >= 1.10) or at the top; configs under `config:` or as the legacy top-level keys.
 */
import * as yaml from "yaml";
import type { Node as YamlNode } from "yaml";
import type { Span } from "../../protocol/types";
import type { YamlDataTest, YamlFacts, YamlUnitTest } from "../facts";
import { addDiag, deref, isPlainObject, mapEntries, nodeSpan, scalarText, toPlain, valueSpan, type MapEntry, type YamlFile } from "./yamlFile";

/** Bound once: the bundle reaches a CommonJS package's exports through a getter on every use. */
const { isMap, isScalar, isSeq } = yaml;

/** dbt's TestBuilder.CONFIG_ARGS: keys of a test entry that are configs, not arguments. */
const CONFIG_ARGS = ["severity", "tags", "enabled", "where", "limit", "warn_if", "error_if", "fail_calc", "store_failures", "store_failures_as", "meta", "database", "schema", "alias"];

type Resource = YamlDataTest["resource"];

export function readDataTests(y: YamlFile, facts: YamlFacts): void {
  const root = deref(y, y.doc.contents);
  if (!root || !isMap(root)) return;
  const tests: YamlDataTest[] = [];
  const unitTests: YamlUnitTest[] = [];
  for (const [key, { value }] of mapEntries(y, root)) {
    if (key === "models" || key === "seeds" || key === "snapshots") {
      const resource = key.slice(0, -1) as Resource;
      for (const item of mappings(y, value)) {
        const entries = mapEntries(y, item);
        const name = scalarText(entries.get("name")?.value)?.trim();
        if (!name) continue;
        const base = { resource, target: name };
        readOwnerTests(y, entries, base, tests);
        if (resource === "model") {
          for (const v of mappings(y, entries.get("versions")?.value)) {
            const ve = mapEntries(y, v);
            const version = scalarText(ve.get("v")?.value);
            if (version === undefined || version === "") continue;
            readOwnerTests(y, ve, { ...base, version }, tests);
          }
        }
      }
    } else if (key === "sources") {
      for (const src of mappings(y, value)) {
        const se = mapEntries(y, src);
        const sourceName = scalarText(se.get("name")?.value)?.trim();
        if (!sourceName) continue;
        for (const table of mappings(y, se.get("tables")?.value)) {
          const te = mapEntries(y, table);
          const name = scalarText(te.get("name")?.value)?.trim();
          if (name) readOwnerTests(y, te, { resource: "source", target: name, sourceName }, tests);
        }
      }
    } else if (key === "unit_tests") {
      for (const item of mappings(y, value)) {
        const ue = mapEntries(y, item);
        const nameNode = ue.get("name")?.value;
        const name = scalarText(nameNode)?.trim();
        const model = scalarText(ue.get("model")?.value)?.trim();
        if (!name || !nameNode || !model) {
          addDiag(y, item, "warning", "yaml-shape", "A unit test needs a `name` and a `model`.");
          continue;
        }
        const unit: YamlUnitTest = { name, model, span: nodeSpan(y, item), nameSpan: valueSpan(y, nameNode) };
        const description = scalarText(ue.get("description")?.value);
        if (description !== undefined) unit.description = description;
        const given = toPlain(y, ue.get("given")?.value);
        if (Array.isArray(given)) unit.given = given.filter((g): g is { input: string } => isPlainObject(g) && typeof g.input === "string");
        const expect = toPlain(y, ue.get("expect")?.value);
        if (isPlainObject(expect)) unit.expect = expect;
        unitTests.push(unit);
      }
    }
  }
  if (tests.length > 0) facts.dataTests = tests;
  if (unitTests.length > 0) facts.unitTests = unitTests;
}

function mappings(y: YamlFile, value: YamlNode | undefined): YamlNode[] {
  if (!value || !isSeq(value)) return [];
  const out: YamlNode[] = [];
  for (const raw of value.items) {
    const item = deref(y, raw);
    if (item && isMap(item)) out.push(item);
  }
  return out;
}

/** The tests of a model / table / version and of its columns. */
function readOwnerTests(y: YamlFile, entries: Map<string, MapEntry>, base: Pick<YamlDataTest, "resource" | "target" | "sourceName" | "version">, out: YamlDataTest[]): void {
  readTestList(y, entries, base, undefined, out);
  for (const col of mappings(y, entries.get("columns")?.value)) {
    const ce = mapEntries(y, col);
    const name = scalarText(ce.get("name")?.value)?.trim();
    if (!name) continue;
    // `quote: true`: dbt passes the column to its tests quoted (and names the tests after the quoted name).
    const quoted = toPlain(y, ce.get("quote")?.value) === true;
    readTestList(y, ce, base, quoted ? `"${name}"` : name, out);
  }
}

function readTestList(y: YamlFile, entries: Map<string, MapEntry>, base: Pick<YamlDataTest, "resource" | "target" | "sourceName" | "version">, column: string | undefined, out: YamlDataTest[]): void {
  for (const listKey of ["data_tests", "tests"]) {
    const list = entries.get(listKey)?.value;
    if (!list || (isScalar(list) && list.value == null)) continue;
    if (!isSeq(list)) {
      addDiag(y, list, "warning", "yaml-shape", `\`${listKey}:\` should be a list of tests (\`- not_null\`, \`- accepted_values: {...}\`).`);
      continue;
    }
    for (const raw of list.items) {
      const item = deref(y, raw);
      if (!item) continue;
      const test = readTestEntry(y, item, listKey);
      if (!test) continue;
      // Built field by field: two spreads per test cost more than the rest of reading it (thousands of tests).
      const def: YamlDataTest = { resource: base.resource, target: base.target, testName: test.testName, args: test.args, config: test.config, span: entrySpan(y, item) };
      if (base.sourceName !== undefined) def.sourceName = base.sourceName;
      if (base.version !== undefined) def.version = base.version;
      const col = column ?? test.column;
      if (col !== undefined) def.column = col;
      if (test.customName !== undefined) def.customName = test.customName;
      if (test.description !== undefined) def.description = test.description;
      out.push(def);
    }
  }
}

/** A test entry's range without trailing blanks (cheaper than `nodeSpan`: there are thousands of tests). */
function entrySpan(y: YamlFile, item: YamlNode): Span {
  const start = item.range?.[0] ?? 0;
  let end = item.range?.[1] ?? start;
  while (end > start) {
    const c = y.text.charCodeAt(end - 1);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    end--;
  }
  return y.pos.span(start, end);
}

function readTestEntry(y: YamlFile, item: YamlNode, listKey: string): Pick<YamlDataTest, "testName" | "args" | "config" | "customName" | "description" | "column"> | undefined {
  let testName: string | undefined;
  let raw: Record<string, unknown>;
  if (isScalar(item)) {
    testName = scalarText(item)?.trim();
    raw = {};
  } else if (isMap(item)) {
    const plain = toPlain(y, item);
    if (!isPlainObject(plain)) return undefined;
    if (typeof plain.test_name === "string") {
      testName = plain.test_name;
      raw = { ...plain };
      delete raw.test_name;
    } else {
      const keys = Object.keys(plain);
      if (keys.length !== 1) {
        addDiag(y, item, "warning", "yaml-shape", `A test in \`${listKey}:\` should have one key, the test's name (found ${keys.map((k) => `\`${k}\``).join(", ")}); or give \`test_name:\`.`);
        return undefined;
      }
      testName = keys[0];
      const inner = plain[testName];
      if (inner != null && !isPlainObject(inner)) {
        addDiag(y, item, "warning", "yaml-shape", `The arguments of test \`${testName}\` should be a mapping.`);
        return undefined;
      }
      raw = { ...(inner ?? {}) };
    }
  } else {
    addDiag(y, item, "warning", "yaml-shape", `Each entry of \`${listKey}:\` should be a test name or a mapping.`);
    return undefined;
  }
  if (!testName || !/^([A-Za-z_]\w*\.)?[A-Za-z_]\w*$/.test(testName)) {
    addDiag(y, item, "warning", "yaml-shape", `\`${testName ?? ""}\` is not a test name (\`name\` or \`package.name\`).`);
    return undefined;
  }
  const config: Record<string, unknown> = {};
  const nested = isPlainObject(raw.config) ? raw.config : {};
  delete raw.config;
  for (const key of CONFIG_ARGS) {
    if (raw[key] !== undefined) {
      config[key] = raw[key];
      delete raw[key];
    }
  }
  for (const [k, v] of Object.entries(nested)) if (v !== null && v !== undefined) config[k] = v;
  let customName: string | undefined;
  if (typeof raw.name === "string") customName = raw.name;
  delete raw.name;
  let description: string | undefined;
  if (typeof raw.description === "string") description = raw.description;
  delete raw.description;
  const columnArg = typeof raw.column_name === "string" ? raw.column_name : undefined;
  delete raw.column_name;
  const args: Record<string, unknown> = isPlainObject(raw.arguments) ? { ...raw.arguments } : {};
  delete raw.arguments;
  for (const [k, v] of Object.entries(raw)) if (!(k in args)) args[k] = v;
  const out: Pick<YamlDataTest, "testName" | "args" | "config" | "customName" | "description" | "column"> = { testName, args, config };
  if (customName !== undefined) out.customName = customName;
  if (description !== undefined) out.description = description;
  if (columnArg !== undefined) out.column = columnArg;
  return out;
}
