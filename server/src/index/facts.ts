/**
 * What each parser extracts from one file. Parsers are pure (text in, facts out) and never throw:
 * problems become `diagnostics`. The workspace index caches facts per file and the linker turns
 * all facts into one asset graph.
 */
import type { IndexDiagnostic, Span } from "../protocol/types";

// ---------------------------------------------------------------- Jinja expressions

/**
 * A Jinja argument expression, kept symbolic so it can be resolved later with project vars.
 * `unknown` keeps the source text for the "dynamic ref" information diagnostic.
 */
export type JinjaExpr =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "none" }
  | { type: "list"; items: JinjaExpr[] }
  | { type: "dict"; entries: Record<string, JinjaExpr> }
  | { type: "var"; name: JinjaExpr; fallback?: JinjaExpr }
  | { type: "concat"; parts: JinjaExpr[] }
  /** A parameter of the enclosing macro: bound to the call's argument when the linker expands a call. */
  | { type: "param"; name: string }
  /** Any one item of a list: the variable of `{% for x in <of> %}`; `text` is the variable as written. */
  | { type: "each"; of: JinjaExpr; text: string }
  /** Conditions of `{% if %}` guards. */
  | { type: "not"; of: JinjaExpr }
  | { type: "and"; items: JinjaExpr[] }
  | { type: "or"; items: JinjaExpr[] }
  | { type: "compare"; op: "==" | "!=" | "in" | "not in"; left: JinjaExpr; right: JinjaExpr }
  /** `then if when else otherwise`: one of two values, by a condition known at link time or not. */
  | { type: "choice"; when: JinjaExpr; then: JinjaExpr; otherwise: JinjaExpr }
  /** `x[1]`, `x['k']`, `x.k` on a value known statically (a tuple or dict item of a loop). */
  | { type: "index"; of: JinjaExpr; key: number | string }
  | { type: "unknown"; text: string };

/**
 * `{% if %}` conditions a call sits under (all must hold; `{% else %}` branches negate the earlier
 * ones). dbt renders with the project's vars when it parses, so a ref under `{% if var('x') %}` only
 * exists when the var is truthy; the linker drops a call whose guard is certainly false.
 */
export interface Guarded {
  when?: JinjaExpr;
}

// ---------------------------------------------------------------- SQL + Jinja files

export interface RefCall extends Guarded {
  /** Positional arguments: `ref('m')` has one, `ref('pkg', 'm')` two. */
  args: JinjaExpr[];
  /** Keyword arguments, e.g. `v` / `version` / `package`. */
  kwargs: Record<string, JinjaExpr>;
  /** The whole call `ref(...)`. */
  span: Span;
  /** The last positional argument (the model name), where definition/hover/diagnostics point. */
  nameSpan: Span;
  /** Span of the first positional argument when there are two (package / project name). */
  packageSpan?: Span;
}

export interface SourceCall extends Guarded {
  args: JinjaExpr[];
  kwargs: Record<string, JinjaExpr>;
  span: Span;
  /** Span of the source name argument. */
  sourceSpan: Span;
  /** Span of the table name argument. */
  tableSpan: Span;
}

export interface MacroCall extends Guarded {
  /** `my_macro` or `package.my_macro` as written (dots kept). */
  name: string;
  span: Span;
  /** Arguments, when the call has any (bound to the macro's parameters by the linker). */
  args?: JinjaExpr[];
  kwargs?: Record<string, JinjaExpr>;
}

/**
 * A `var('x')` call. dbt renders a string var value as Jinja in the calling node's context, so
 * `vars: {orders: "{{ ref('stg_orders') }}"}` makes `{{ var('orders') }}` a ref (Fivetran-style
 * packages are built on this).
 */
export interface VarCall extends Guarded {
  /** The `var(...)` expression (type `var`). */
  expr: JinjaExpr;
  span: Span;
}

export interface MacroParam {
  name: string;
  default?: JinjaExpr;
}

export interface MacroDef {
  name: string;
  span: Span;
  nameSpan: Span;
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  /** Parameters, when the macro declares any. */
  params?: MacroParam[];
  /** `var()` calls, when there are any. */
  varCalls?: VarCall[];
}

export interface SnapshotDef {
  name: string;
  span: Span;
  nameSpan: Span;
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  config: Record<string, JinjaExpr>;
  varCalls?: VarCall[];
}

/** Facts of one `.sql` file: a model, a snapshot file, a macro file, an analysis. */
export interface SqlFacts {
  refs: RefCall[];
  sources: SourceCall[];
  /** Literal keyword args of every `config(...)` call (later calls win). */
  config: Record<string, JinjaExpr>;
  /** Calls of anything else than ref/source/config/var and Jinja builtins, in `{{ }}` / `{% %}`. */
  macroCalls: MacroCall[];
  /** `{% macro name(...) %}` blocks (macro files). */
  macros: MacroDef[];
  /** `{% snapshot name %}` blocks. */
  snapshots: SnapshotDef[];
  /** `var()` calls outside macro / snapshot blocks, when there are any. */
  varCalls?: VarCall[];
  diagnostics: IndexDiagnostic[];
}

// ---------------------------------------------------------------- dbt_project.yml

export interface DbtProject {
  name: string;
  /** Absolute folder holding dbt_project.yml. */
  root: string;
  /** Absolute path of dbt_project.yml. */
  file: string;
  /** Absolute folders (may lie outside root, e.g. `../../sources`). */
  modelPaths: string[];
  seedPaths: string[];
  snapshotPaths: string[];
  macroPaths: string[];
  analysisPaths: string[];
  testPaths: string[];
  /** Project-level `vars:` (global ones; per-package scopes flattened under their package). */
  vars: Record<string, unknown>;
  /**
   * This project's global vars (no package scopes, not its own scope): what it passes down to the
   * packages it installs, as dbt applies a root project's vars to every package.
   */
  globalVars?: Record<string, unknown>;
  /** The raw `vars:` mapping (package scopes included: `vars: {pkg: {...}}`). */
  rawVars?: Record<string, unknown>;
  /** Absolute folders of `local:` packages (packages.yml / dependencies.yml). */
  localPackages?: string[];
  /** Each entry of `packages:` in packages.yml / dependencies.yml, where it is written. */
  declaredPackages?: DeclaredPackage[];
  /** For a package: the config trees of the project that installs it (they win over the package's own). */
  rootConfig?: Pick<DbtProject, "modelConfig" | "seedConfig" | "snapshotConfig" | "sourceConfig" | "dispatch">;
  /** `dispatch:` — per macro namespace, the packages searched for a dispatched macro, in order. */
  dispatch?: Record<string, string[]>;
  profile?: string;
  /** `target-path`, absolute (default `<root>/target`). */
  targetPath: string;
  /** `packages-install-path`, absolute (default `<root>/dbt_packages`). */
  packagesPath: string;
  /** Project names from `dependencies.yml` `projects:` (dbt mesh). */
  projectDependencies: string[];
  /** The raw `models:` / `seeds:` / `snapshots:` config trees, for `+tags`, `+materialized`, ... */
  modelConfig: Record<string, unknown>;
  seedConfig: Record<string, unknown>;
  snapshotConfig: Record<string, unknown>;
  /** The `sources:` config tree (`+enabled` per project / folder / source / table). */
  sourceConfig?: Record<string, unknown>;
  diagnostics: IndexDiagnostic[];
}

/** One `packages:` entry: what `dbt deps` installs under packages-install-path. */
export interface DeclaredPackage {
  /** As written: `fivetran/hubspot_source`, a git URL, a local folder. */
  spec: string;
  /** The project name it is expected to install as (best guess for git packages); undefined when unknown. */
  name?: string;
  /** Absolute folder of a `local:` package. */
  local?: string;
  file: string;
  span: Span;
}

// ---------------------------------------------------------------- dbt property YAML

export interface YamlRefDep {
  /** `ref('x')` / `source('s','t')` written inside YAML (exposures' depends_on). */
  call: "ref" | "source";
  args: string[];
  /** `ref('x', v=2)`: the version asked for. */
  version?: string;
  span: Span;
}

export interface YamlNodeProps {
  name: string;
  span: Span;
  nameSpan: Span;
  description?: string;
  tags: string[];
  meta: Record<string, unknown>;
  /** `config:` block (may also hold tags/meta/materialized/group). */
  config: Record<string, unknown>;
  group?: string;
  /** Versioned models: `versions: [{v: 1}, {v: 2, defined_in: ...}]`. */
  versions?: { v: string; definedIn?: string; span: Span }[];
  latestVersion?: string;
  /** YAML-defined snapshots (dbt >= 1.9): `relation: ref('x')` / `source('s', 't')`. */
  relation?: YamlRefDep;
  /**
   * Foreign-key constraint targets (`constraints: [{type: foreign_key, to: ref('x')}]` on the
   * model, its columns or one of its versions): dbt >= 1.9 makes them the model's parents.
   */
  constraintDeps?: YamlConstraintDep[];
  /** Column names declared under `columns:` (in order). */
  columns?: string[];
}

/** A foreign key's `to:`; `onlyVersion` when it is written under one of the model's `versions`. */
export type YamlConstraintDep = YamlRefDep & { onlyVersion?: string };

export interface YamlSourceTable {
  name: string;
  identifier?: string;
  /** `enabled` / `config: {enabled}` as written (a boolean, or text such as `"{{ var('x', true) }}"`). */
  enabled?: unknown;
  span: Span;
  nameSpan: Span;
  description?: string;
  tags: string[];
  meta: Record<string, unknown>;
  /** Column names declared under `columns:` (in order). */
  columns?: string[];
}

export interface YamlSource {
  name: string;
  /** `enabled` / `config: {enabled}` as written. */
  enabled?: unknown;
  /** Raw strings; may contain Jinja which is kept as text. */
  schema?: string;
  database?: string;
  span: Span;
  nameSpan: Span;
  description?: string;
  tags: string[];
  meta: Record<string, unknown>;
  tables: YamlSourceTable[];
}

export interface YamlExposure {
  name: string;
  span: Span;
  nameSpan: Span;
  type?: string;
  description?: string;
  owners: string[];
  tags: string[];
  meta: Record<string, unknown>;
  dependsOn: YamlRefDep[];
}

export interface YamlFacts {
  sources: YamlSource[];
  models: YamlNodeProps[];
  seeds: YamlNodeProps[];
  snapshots: YamlNodeProps[];
  exposures: YamlExposure[];
  /** Generic data tests (`data_tests:` / `tests:`) on the file's models, seeds, snapshots, sources and their columns. */
  dataTests?: YamlDataTest[];
  /** `unit_tests:` entries. */
  unitTests?: YamlUnitTest[];
  diagnostics: IndexDiagnostic[];
}

/** One generic test entry of a property file, as written (dbt's TestBuilder input). */
export interface YamlDataTest {
  resource: "model" | "seed" | "snapshot" | "source";
  /** The model / seed / snapshot name, or the source table name. */
  target: string;
  sourceName?: string;
  /** For a test under one of a model's `versions:`. */
  version?: string;
  column?: string;
  /** As written: `not_null`, `dbt_utils.expression_is_true`. */
  testName: string;
  /** Arguments (`arguments:` flattened in), without configs, `name` and `column_name`. */
  args: Record<string, unknown>;
  /** `config:` merged with the legacy top-level config keys (severity, where, limit, ...). */
  config: Record<string, unknown>;
  /** `name:` given to the test. */
  customName?: string;
  description?: string;
  span: Span;
}

export interface YamlUnitTest {
  name: string;
  model: string;
  description?: string;
  /** `given:` inputs (`input: ref('x')`, `rows:`, `format:`) and `expect:`, as written. */
  given?: { input: string; rows?: unknown; format?: string }[];
  expect?: { rows?: unknown; format?: string };
  span: Span;
  nameSpan: Span;
}

// ---------------------------------------------------------------- dbt manifest.json

export interface ManifestFacts {
  /** dbt unique_id -> parent unique_ids (from `parent_map`, else nodes' `depends_on.nodes`). */
  parents: Record<string, string[]>;
  /** unique_id -> how to find the node: resource type, package, name, source name, version. */
  nodes: Record<string, { resourceType: string; packageName: string; name: string; sourceName?: string; version?: string; originalFilePath?: string }>;
  diagnostics: IndexDiagnostic[];
}

// ---------------------------------------------------------------- TypeScript asset files

export type TsDep =
  /** A key written as a string (`"fct_orders"`, `"a/b"`) or a string array. */
  | { type: "key"; key: string[]; span: Span }
  /** An identifier naming another asset constant (resolved through imports by the linker). */
  | { type: "ref"; name: string; span: Span };

export interface TsAssetDef {
  /** `undefined` when the key could not be read statically (a diagnostic says so). */
  key?: string[];
  keySpan?: Span;
  /** The whole `asset(...)` call. */
  span: Span;
  /** The declared variable identifier (`orderForecastModel`), or the call when anonymous. */
  nameSpan: Span;
  /** Local variable name the call is assigned to. */
  localName?: string;
  /** Name under which it is exported, when exported. */
  exportName?: string;
  deps: TsDep[];
  group?: string;
  tags: string[];
  owners: string[];
  description?: string;
  io?: string;
  /** `columns: ["a", "b"]`: the table's columns, declared for column-level lineage. */
  columns?: string[];
  codeVersion?: string;
  /** Source text of the asset function (for the code version hash). */
  fnText: string;
  /** `checks: [{ name, fn, blocking }]` of the asset. */
  checks?: TsCheckDef[];
}

/** `check({ asset, name, blocking }, fn)`, declared apart from its asset. */
export interface TsStandaloneCheck extends TsCheckDef {
  asset: TsDep;
  /** The export the runner loads it by. */
  exportName?: string;
}

export interface TsCheckDef {
  name: string;
  span: Span;
  nameSpan: Span;
  /** `blocking: false` makes a failure a warning (default: blocking, like dbt's error severity). */
  blocking?: boolean;
  description?: string;
}

export interface TsJobDef {
  name?: string;
  nameSpan?: Span;
  span: Span;
  localName?: string;
  exportName?: string;
  selection?: string;
  selectionSpan?: Span;
  schedule?: string;
  scheduleSpan?: Span;
  timezone?: string;
  description?: string;
}

/** `import { a as b } from "./x"` -> { local: "b", imported: "a", from: "/abs/x.ts" }. */
export interface TsImport {
  local: string;
  /** `default` for default imports, `*` for namespace imports. */
  imported: string;
  /** Absolute resolved path of the module file, when it is a relative import that exists. */
  from?: string;
  specifier: string;
}

/** `export { a as b } from "./x"` / `export * from "./x"` / `export { a as b }`. */
export interface TsExport {
  /** Exported name, `*` for `export *`. */
  exported: string;
  /** Local or imported name it refers to. */
  local: string;
  /** Absolute path when re-exported from another module. */
  from?: string;
}

export interface TsFacts {
  /** False when the file does not import from `tributary-assets` (then it holds no assets). */
  importsTributary: boolean;
  assets: TsAssetDef[];
  jobs: TsJobDef[];
  /** `check()` calls, when there are any. */
  checks?: TsStandaloneCheck[];
  imports: TsImport[];
  exports: TsExport[];
  diagnostics: IndexDiagnostic[];
}
