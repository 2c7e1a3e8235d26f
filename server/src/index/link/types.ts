/** The linker's input and output, and the node it builds before the graph holds it. */
import type { AssetGraph } from "../../graph/graph";
import type { AssetNode, IndexDiagnostic, Span } from "../../protocol/types";
import type { DbtProject, MacroCall, ManifestFacts, RefCall, SourceCall, SqlFacts, TsFacts, VarCall, YamlFacts } from "../facts";

/** One project's files as the workspace index knows them. */
export interface ProjectFiles {
  project: DbtProject;
  /** True for projects installed under dbt_packages/: indexed, but not the user's to fix. */
  isPackage: boolean;
  models: Map<string, SqlFacts>;
  snapshots: Map<string, SqlFacts>;
  macros: Map<string, SqlFacts>;
  seeds: Set<string>;
  yaml: Map<string, YamlFacts>;
  /** SQL files under test-paths: singular tests, and generic `{% test %}` definitions (`tests/generic/`). */
  tests?: Map<string, SqlFacts>;
  /** Packages declared in packages.yml / dependencies.yml (so unknown refs can say "run dbt deps"). */
  declaresPackages: boolean;
  manifest?: ManifestFacts;
}

export interface LinkInput {
  projects: ProjectFiles[];
  ts: Map<string, TsFacts>;
}

/** Something in a file that names an asset: a definition, or a reference to one. */
export interface Occurrence {
  span: Span;
  /** The asset named; undefined when the reference does not resolve. */
  target?: string;
  role: "definition" | "reference";
  /** For references: the asset that holds the reference (the model reading `ref('x')`). */
  from?: string;
  /** What completion should offer at this place. */
  completes?: "ref" | "source" | "source_table" | "ts_dep";
  /** For `source_table` completion: the source name. */
  sourceName?: string;
}

export interface LinkResult {
  graph: AssetGraph;
  diagnostics: Map<string, IndexDiagnostic[]>;
  occurrences: Map<string, Occurrence[]>;
  /** Assets defined in each file (a SQL model, a YAML file's sources, a TS file's assets). */
  assetsByFile: Map<string, string[]>;
  /** Merged dbt config per dbt node id (what the engines need to name and build relations). */
  configs: Map<string, Record<string, unknown>>;
}

/** What a node (or a macro expansion) reads: refs, sources, macro calls, `var()` calls. */
export interface NodeRefs {
  refs: RefCall[];
  sources: SourceCall[];
  macroCalls: MacroCall[];
  varCalls?: VarCall[];
}

export interface PendingNode extends AssetNode {
  /** dbt config merged from dbt_project.yml folders, YAML properties and in-file config(). */
  config?: Record<string, unknown>;
  /** Facts behind the node, to read its references in the second pass. */
  facts?: NodeRefs;
  owner?: ProjectFiles;
  /** `enabled` depends on something only known when dbt runs (`target.type == 'snowflake'`). */
  maybeDisabled?: boolean;
}
