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
  | { type: "unknown"; text: string };

// ---------------------------------------------------------------- SQL + Jinja files

export interface RefCall {
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

export interface SourceCall {
  args: JinjaExpr[];
  kwargs: Record<string, JinjaExpr>;
  span: Span;
  /** Span of the source name argument. */
  sourceSpan: Span;
  /** Span of the table name argument. */
  tableSpan: Span;
}

export interface MacroCall {
  /** `my_macro` or `package.my_macro` as written (dots kept). */
  name: string;
  span: Span;
}

export interface MacroDef {
  name: string;
  span: Span;
  nameSpan: Span;
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
}

export interface SnapshotDef {
  name: string;
  span: Span;
  nameSpan: Span;
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  config: Record<string, JinjaExpr>;
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
  diagnostics: IndexDiagnostic[];
}

// ---------------------------------------------------------------- dbt property YAML

export interface YamlRefDep {
  /** `ref('x')` / `source('s','t')` written inside YAML (exposures' depends_on). */
  call: "ref" | "source";
  args: string[];
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
}

export interface YamlSourceTable {
  name: string;
  identifier?: string;
  span: Span;
  nameSpan: Span;
  description?: string;
  tags: string[];
  meta: Record<string, unknown>;
}

export interface YamlSource {
  name: string;
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
  diagnostics: IndexDiagnostic[];
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
  codeVersion?: string;
  /** Source text of the asset function (for the code version hash). */
  fnText: string;
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
  imports: TsImport[];
  exports: TsExport[];
  diagnostics: IndexDiagnostic[];
}
