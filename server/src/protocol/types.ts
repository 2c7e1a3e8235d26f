/**
 * Plain data types shared by every side (server core, language server, CLI, extension, webview).
 * Types only: nothing here may import a runtime module.
 */

/** An asset key: a path of segments. `"a/b"` written as a string means `["a", "b"]`. */
export type AssetKey = string[];

export type AssetKind =
  | "dbt_model"
  | "dbt_seed"
  | "dbt_snapshot"
  | "dbt_source"
  | "dbt_exposure"
  | "ts_asset";

/** Zero-based line and UTF-16 character offset, as in LSP. */
export interface Pos {
  line: number;
  character: number;
}

export interface Span {
  start: Pos;
  end: Pos;
}

/** A place in a file; `file` is an absolute path. */
export interface FileSpan {
  file: string;
  span: Span;
}

export type Severity = "error" | "warning" | "info";

/** A problem found while reading the workspace, always tied to a file and a range. */
export interface IndexDiagnostic {
  /** Absolute path. */
  file: string;
  span: Span;
  severity: Severity;
  message: string;
  /** Stable machine-readable code, e.g. `unknown-ref`, `cycle`, `yaml-syntax`. */
  code: string;
}

/** Where an edge was learned. */
export type EdgeOrigin = "sql" | "yaml" | "ts" | "macro" | "manifest" | "var";

export interface AssetEdge {
  /** Upstream asset id. */
  from: string;
  /** Downstream asset id. */
  to: string;
  origin: EdgeOrigin;
  /** The reference that made the edge (the `ref('x')` string, the TS dep), when there is one. */
  at?: FileSpan;
}

export interface AssetNode {
  /** `key.join("/")`: unique in a graph. */
  id: string;
  key: AssetKey;
  kind: AssetKind;
  /** Where the asset is defined: model/seed/snapshot file, source YAML entry, TS `asset()` call. */
  file?: string;
  span?: Span;
  /** Span of the name to highlight (model name in YAML, exported identifier in TS). */
  nameSpan?: Span;
  /** dbt project name for dbt nodes. */
  project?: string;
  /** dbt node name (model/seed/snapshot name, source table name). */
  dbtName?: string;
  /** For sources: the source name; for versioned models: the version. */
  sourceName?: string;
  version?: string;
  group?: string;
  tags: string[];
  owners: string[];
  /** Markdown from the repository, made inert (images are links, HTML is escaped): see index/markdown.ts. */
  description?: string;
  meta?: Record<string, unknown>;
  /** dbt materialization (`view`, `table`, ...) or TS io manager name. */
  materialized?: string;
  /** Other places that describe this asset (YAML property entries, the TS producer of a source). */
  alsoAt: FileSpan[];
  /** For a dbt source produced by a TS asset: the file of that asset. */
  producedByTs?: boolean;
  /** TS asset: exported constant name. */
  exportName?: string;
}

/** The graph as sent over the wire (CLI `--json`, custom LSP requests, webview). */
export interface GraphData {
  nodes: AssetNode[];
  edges: AssetEdge[];
}
