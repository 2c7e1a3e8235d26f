/**
 * Asset checks from the index's facts: dbt generic tests (property YAML), singular tests (SQL in
 * test-paths), unit tests, and TS checks; each attached to the asset(s) it tests, named as dbt names
 * it. Pure: facts and the linked graph in, checks out.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { AssetGraph } from "../graph/graph";
import type { AssetCheck, CheckConfig } from "../protocol/checks";
import type { AssetNode, IndexDiagnostic, Span } from "../protocol/types";
import { refArguments, sourceArguments } from "../dbt/refs";
import { parseDependsOn } from "./dbt/yaml";
import type { JinjaExpr, SqlFacts, TsFacts, YamlDataTest } from "./facts";
import type { ProjectFiles } from "./link/types";
import { resolveTsRef } from "./ts/resolveDeps";

export interface CheckIndex {
  checks: AssetCheck[];
  byId: Map<string, AssetCheck>;
  /** Asset id -> the checks attached to it. */
  byAsset: Map<string, AssetCheck[]>;
  diagnostics: IndexDiagnostic[];
}

/** `ref(...)` / `source(...)` / `var(...)` written as a test argument: dbt renders it as Jinja. */
const LOOKS_LIKE_FUNC = /^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$/s;

export function buildChecks(projects: ProjectFiles[], graph: AssetGraph, ts: Map<string, TsFacts>): CheckIndex {
  const out: CheckIndex = { checks: [], byId: new Map(), byAsset: new Map(), diagnostics: [] };
  const nodes = new NodeLookup(graph);
  const add = (check: AssetCheck) => {
    if (out.byId.has(check.id)) {
      out.diagnostics.push({ file: check.file, span: check.span, severity: "warning", code: "duplicate-check", message: `Another test is already named \`${check.name}\`: dbt needs test names to be unique (give one a \`name:\`).` });
      return;
    }
    out.byId.set(check.id, check);
    out.checks.push(check);
    for (const a of check.assets) {
      const list = out.byAsset.get(a);
      if (list) list.push(check);
      else out.byAsset.set(a, [check]);
    }
  };
  for (const p of projects) {
    const project = p.project.name;
    for (const [file, facts] of p.yaml) {
      for (const test of facts.dataTests ?? []) for (const check of genericChecks(test, file, project, nodes, out.diagnostics)) add(check);
      for (const unit of facts.unitTests ?? []) {
        const target = nodes.dbt(project, "dbt_model", unit.model);
        if (target.length === 0) continue;
        add({ id: `${project}.${unit.name}`, name: unit.name, kind: "unit", assets: [target[target.length - 1].id], reads: [], severity: "error", config: {}, enabled: true, project, file, span: unit.span, unit: { given: unit.given ?? [], expect: unit.expect ?? {} }, ...(unit.description ? { description: unit.description } : {}) });
      }
    }
    for (const [file, facts] of p.tests ?? []) {
      if (isGenericTestFile(p, file, facts)) continue;
      const check = singularCheck(file, facts, project, nodes);
      if (check) add(check);
    }
  }
  for (const [file, facts] of ts) {
    for (const def of facts.assets) for (const c of def.checks ?? []) {
      const assetId = def.key?.join("/");
      if (!assetId || !graph.get(assetId)) continue;
      add({ id: `${assetId}:${c.name}`, name: c.name, kind: "ts", assets: [assetId], reads: [], severity: c.blocking === false ? "warn" : "error", config: {}, enabled: true, file, span: c.span, ...(c.description ? { description: c.description } : {}) });
    }
    for (const c of facts.checks ?? []) {
      const assetId = c.asset.type === "key" ? c.asset.key.join("/") : resolveTsRef(c.asset.name, file, (f) => ts.get(f))?.asset.key?.join("/");
      if (!assetId || !graph.get(assetId)) {
        out.diagnostics.push({ file, span: c.asset.span, severity: "error", code: "unknown-dep", message: `Check \`${c.name}\` is on an unknown asset.` });
        continue;
      }
      const check: AssetCheck = { id: `${assetId}:${c.name}`, name: c.name, kind: "ts", assets: [assetId], reads: [], severity: c.blocking === false ? "warn" : "error", config: {}, enabled: true, file, span: c.span };
      if (c.description) check.description = c.description;
      if (c.exportName) check.exportName = c.exportName;
      add(check);
    }
  }
  return out;
}

// ---------------------------------------------------------------- names (dbt's synthesize_generic_test_names)

/** Python's `str()` of a YAML value, as dbt stringifies test arguments for names. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return pyRepr(v);
}

function pyRepr(v: unknown): string {
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (v && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  return pyStr(v);
}

/**
 * dbt's generic test name: `<type>_<target>_<args>` (args sorted by name, `model` left out, values
 * flattened and cleaned to `[0-9a-zA-Z_]`, joined by `__`); from 64 characters on, the first 30 of
 * `<type>_<target>` and the MD5 of the full name.
 */
export function genericTestName(testType: string, target: string, args: Record<string, unknown>): { short: string; full: string } {
  const flat: string[] = [];
  for (const name of Object.keys(args).sort()) {
    if (name === "model") continue;
    const v = args[name];
    const parts = Array.isArray(v) ? v : v && typeof v === "object" ? Object.values(v) : [v];
    for (const p of parts) flat.push(pyStr(p));
  }
  const unique = flat.map((a) => a.replace(/[^0-9a-zA-Z_]+/g, "_")).join("__");
  const identifier = `${testType}_${target}`;
  const full = `${identifier}_${unique}`;
  if (full.length < 64) return { short: full, full };
  return { short: `${identifier.slice(0, 30)}_${createHash("md5").update(full).digest("hex")}`, full };
}

// ---------------------------------------------------------------- generic tests

/**
 * What a test's checks share whichever project reads its file (a property file in a folder several
 * projects read is parsed once, and its tests are checked once per project): computed once per test.
 */
interface TestNaming {
  typeName: string;
  args: Record<string, unknown>;
  /** Names by target name (a versioned model's versions each get theirs). */
  names: Map<string, { short: string; full: string }>;
}

const namingOf = new WeakMap<YamlDataTest, TestNaming>();

function testNaming(test: YamlDataTest): TestNaming {
  let naming = namingOf.get(test);
  if (!naming) {
    const dot = test.testName.indexOf(".");
    const namespace = dot >= 0 ? test.testName.slice(0, dot) : undefined;
    const bare = dot >= 0 ? test.testName.slice(dot + 1) : test.testName;
    let typeName = test.resource === "source" ? `source_${bare}` : bare;
    if (namespace) typeName = `${namespace}_${typeName}`;
    const args: Record<string, unknown> = { ...test.args };
    if (test.column !== undefined) args.column_name = test.column;
    naming = { typeName, args, names: new Map() };
    namingOf.set(test, naming);
  }
  return naming;
}

function genericChecks(test: YamlDataTest, file: string, project: string, nodes: NodeLookup, diagnostics: IndexDiagnostic[]): AssetCheck[] {
  const targets = test.resource === "source" ? nodes.source(project, test.sourceName!, test.target) : nodes.dbt(project, KIND[test.resource], test.target, test.version);
  if (targets.length === 0) return [];
  const naming = testNaming(test);
  const reads = readsOf(test, project, nodes, file, diagnostics);
  const config = checkConfig(test.config);
  const severity = String(test.config.severity ?? "error").toLowerCase() === "warn" ? "warn" : "error";
  const checks: AssetCheck[] = [];
  for (const node of targets) {
    const targetName = test.resource === "source" ? `${test.sourceName}_${test.target}` : node.version !== undefined ? `${test.target}_v${node.version}` : test.target;
    // dbt names the test node with the full name (its unique id, `dbt build`'s log, --select) and
    // gives it the hashed short name as alias (the compiled file, the store_failures table).
    let names = test.customName ? { full: test.customName, short: test.customName } : naming.names.get(targetName);
    if (!names) {
      names = genericTestName(naming.typeName, targetName, naming.args);
      naming.names.set(targetName, names);
    }
    const check: AssetCheck = {
      id: `${project}.${names.full}`,
      name: names.full,
      alias: names.short,
      kind: "generic",
      testName: test.testName,
      assets: [node.id],
      reads: reads.filter((r) => r !== node.id),
      args: test.args,
      severity,
      config,
      enabled: test.config.enabled !== false,
      project,
      file,
      span: test.span,
    };
    if (test.column !== undefined) check.column = test.column;
    if (test.description !== undefined) check.description = test.description;
    checks.push(check);
  }
  return checks;
}

const KIND = { model: "dbt_model", seed: "dbt_seed", snapshot: "dbt_snapshot" } as const;

function checkConfig(c: Record<string, unknown>): CheckConfig {
  const out: CheckConfig = {};
  if (typeof c.where === "string" && c.where.trim()) out.where = c.where;
  const limit = typeof c.limit === "number" ? c.limit : typeof c.limit === "string" && /^\d+$/.test(c.limit) ? Number(c.limit) : undefined;
  if (limit !== undefined) out.limit = limit;
  if (typeof c.warn_if === "string") out.warnIf = c.warn_if;
  if (typeof c.error_if === "string") out.errorIf = c.error_if;
  if (typeof c.fail_calc === "string") out.failCalc = c.fail_calc;
  if (typeof c.store_failures === "boolean") out.storeFailures = c.store_failures;
  if (Array.isArray(c.tags)) out.tags = c.tags.map(String);
  else if (typeof c.tags === "string") out.tags = [c.tags];
  return out;
}

/** Assets named by `ref(...)` / `source(...)` arguments (a `relationships` test's `to:`). */
function readsOf(test: YamlDataTest, project: string, nodes: NodeLookup, file: string, diagnostics: IndexDiagnostic[]): string[] {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === "string") {
      if (!LOOKS_LIKE_FUNC.test(v)) return;
      const call = parseDependsOn(v);
      if (!call || call === "other") return;
      const found = call.call === "ref" ? nodes.ref(project, call.args, call.version) : nodes.source(project, call.args[0], call.args[1]);
      if (found.length === 0) {
        diagnostics.push({ file, span: test.span, severity: "warning", code: "unknown-ref", message: `Test \`${test.testName}\` on \`${test.target}\` reads \`${v.trim()}\`, which is not in the workspace.` });
      }
      for (const n of found.slice(-1)) if (!out.includes(n.id)) out.push(n.id);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  visit(test.args);
  return out;
}

// ---------------------------------------------------------------- singular tests

/** Files under `<test-path>/generic/`, or defining `{% test %}` blocks, hold generic tests, not singular ones. */
function isGenericTestFile(p: ProjectFiles, file: string, facts: SqlFacts): boolean {
  if (facts.macros.length > 0) return true;
  return p.project.testPaths.some((dir) => file.startsWith(path.join(dir, "generic") + path.sep));
}

function singularCheck(file: string, facts: SqlFacts, project: string, nodes: NodeLookup): AssetCheck | undefined {
  const name = path.basename(file).replace(/\.sql$/i, "");
  const assets: string[] = [];
  for (const ref of facts.refs) {
    const call = refArguments({ pos: ref.args, kw: ref.kwargs });
    const target = call.package ? [call.package, call.name] : [call.name];
    const args = target.map((a) => (a ? literal(a) : undefined));
    if (args.length === 0 || args.some((a) => a === undefined)) continue;
    const found = nodes.ref(project, args as string[], call.version ? literal(call.version) : undefined);
    for (const n of found.slice(-1)) if (!assets.includes(n.id)) assets.push(n.id);
  }
  for (const src of facts.sources) {
    const call = sourceArguments({ pos: src.args, kw: src.kwargs });
    const s = call.source && literal(call.source);
    const t = call.table && literal(call.table);
    if (s === undefined || t === undefined) continue;
    for (const n of nodes.source(project, s, t)) if (!assets.includes(n.id)) assets.push(n.id);
  }
  if (assets.length === 0) return undefined;
  const severity = facts.config.severity && literal(facts.config.severity)?.toLowerCase() === "warn" ? "warn" : "error";
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(facts.config)) {
    const lit = v.type === "number" ? v.value : v.type === "bool" ? v.value : literal(v);
    if (lit !== undefined) config[k] = lit;
  }
  const span: Span = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  return { id: `${project}.${name}`, name, kind: "singular", assets, reads: [], severity, config: checkConfig(config), enabled: config.enabled !== false, project, file, span };
}

function literal(e: JinjaExpr): string | undefined {
  return e.type === "string" ? e.value : e.type === "number" ? String(e.value) : undefined;
}

// ---------------------------------------------------------------- node lookup

/** dbt nodes by name and sources by (source, table); built on first use (most projects of a big workspace have no tests). */
class NodeLookup {
  private readonly byName = new Map<string, AssetNode[]>();
  private readonly sources = new Map<string, AssetNode[]>();
  private built = false;

  constructor(private readonly graph: AssetGraph) {}

  private build(): void {
    if (this.built) return;
    this.built = true;
    for (const n of this.graph.nodes.values()) {
      if (n.kind === "dbt_model" || n.kind === "dbt_seed" || n.kind === "dbt_snapshot") push(this.byName, n.dbtName ?? n.key[n.key.length - 1], n);
      if (n.sourceName && n.dbtName) push(this.sources, `${n.sourceName}\u0000${n.dbtName}`, n);
    }
  }

  /** Nodes of a model / seed / snapshot, the project's own first; every version when none is asked. */
  dbt(project: string, kind: AssetNode["kind"], name: string, version?: string): AssetNode[] {
    this.build();
    const all = (this.byName.get(name) ?? []).filter((n) => n.kind === kind && (version === undefined || n.version === version));
    const own = all.filter((n) => n.project === project);
    return own.length > 0 ? own : all.slice(0, 1);
  }

  /** `ref('m')` / `ref('pkg', 'm')`: the latest version when none is asked (the last one listed). */
  ref(project: string, args: string[], version?: string): AssetNode[] {
    this.build();
    const name = args[args.length - 1];
    const pkg = args.length === 2 ? args[0] : undefined;
    const all = (this.byName.get(name) ?? []).filter((n) => version === undefined || n.version === version);
    const scoped = pkg ? all.filter((n) => n.project === pkg) : all.filter((n) => n.project === project);
    const found = scoped.length > 0 ? scoped : pkg ? [] : all;
    if (version !== undefined || found.length <= 1) return found;
    const latest = found.filter((n) => n.version === undefined);
    return latest.length > 0 ? latest : [found.sort((a, b) => Number(a.version) - Number(b.version))[found.length - 1]];
  }

  source(project: string, sourceName: string, table: string): AssetNode[] {
    this.build();
    const all = this.sources.get(`${sourceName}\u0000${table}`) ?? [];
    // One table (the common case) is the answer whichever project asks.
    if (all.length <= 1) return all;
    const own = all.filter((n) => n.project === project);
    return own.length > 0 ? own : all.slice(0, 1);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
