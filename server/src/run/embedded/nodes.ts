/** The dbt nodes the embedded engine builds, and how it resolves ref() / source() to relations. */

export interface EmbeddedNode {
  /** Graph id, e.g. "fct_orders". */
  id: string;
  resourceType: "model" | "seed" | "snapshot";
  /** dbt name. */
  name: string;
  /** Absolute path (.sql, .csv; a .yml for snapshots defined in YAML with a `relation` config). */
  file: string;
  /**
   * Already-merged config from dbt_project.yml folders + YAML (`+` prefixes and `pre-hook`
   * spellings are accepted). In-file `config()` calls are applied by the engine and win.
   */
  config: Record<string, unknown>;
  /** Ids of the node's direct upstream nodes (optional; used to skip downstream of failures early). */
  dependsOn?: string[];
  /** SQL + Jinja to render instead of reading `file` (a generic test's query). */
  sql?: string;
}

export type RefResolution =
  | { kind: "relation"; schema: string; identifier: string; database?: string }
  | { kind: "ephemeral"; node: EmbeddedNode }
  | { kind: "node"; node: EmbeddedNode };

export interface RelationResolver {
  ref(name: string, projectOrPackage?: string, version?: string): RefResolution | undefined;
  source(sourceName: string, tableName: string): { schema: string; identifier: string; database?: string } | undefined;
}
