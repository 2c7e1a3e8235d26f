/**
 * dbt's `Relation` as seen from Jinja (`{{ this }}`, `{{ ref('x') }}`), and the default relation
 * naming of dbt (`generate_schema_name`, `generate_alias_name`, `generate_database_name`).
 */
import { quoteIdent } from "../warehouse";
import { splitArgs } from "./python";

export type RelationKind = "table" | "view" | "cte" | "external";

export class DbtRelation {
  constructor(
    readonly database: string | undefined,
    readonly schema: string | undefined,
    readonly identifier: string,
    readonly type: RelationKind | undefined = undefined,
    /** Include the database part when rendering (only when it differs from the target's). */
    readonly renderDatabase = false,
  ) {}

  get name(): string {
    return this.identifier;
  }
  get table(): string {
    return this.identifier;
  }
  get is_table(): boolean {
    return this.type === "table";
  }
  get is_view(): boolean {
    return this.type === "view";
  }
  get is_cte(): boolean {
    return this.type === "cte";
  }
  get path(): Record<string, string | undefined> {
    return { database: this.database, schema: this.schema, identifier: this.identifier };
  }
  get quote_policy(): Record<string, boolean> {
    return { database: true, schema: true, identifier: true };
  }

  render(): string {
    if (this.type === "cte") return this.identifier;
    const parts: string[] = [];
    if (this.renderDatabase && this.database) parts.push(quoteIdent(this.database));
    if (this.schema) parts.push(quoteIdent(this.schema));
    parts.push(quoteIdent(this.identifier));
    return parts.join(".");
  }
  toString(): string {
    return this.render();
  }

  /** `relation.include(database=False)` and friends. */
  include(...args: unknown[]): DbtRelation {
    const { kw } = splitArgs(args);
    const db = kw.database === undefined ? this.renderDatabase : !!kw.database;
    const schema = kw.schema === false ? undefined : this.schema;
    return new DbtRelation(this.database, schema, this.identifier, this.type, db);
  }
  /** `relation.incorporate(path={"identifier": "x"}, type="table")`. */
  incorporate(...args: unknown[]): DbtRelation {
    const { kw } = splitArgs(args);
    const path = (kw.path ?? {}) as Record<string, string | undefined>;
    return new DbtRelation(
      path.database ?? this.database,
      path.schema ?? this.schema,
      path.identifier ?? this.identifier,
      (kw.type as RelationKind | undefined) ?? this.type,
      this.renderDatabase,
    );
  }
  quote(): DbtRelation {
    return this;
  }
  without_identifier(): string {
    return [this.renderDatabase && this.database ? quoteIdent(this.database) : undefined, this.schema ? quoteIdent(this.schema) : undefined].filter(Boolean).join(".");
  }
  /** Key for catalog lookups: `schema.identifier`, lower-cased (DuckDB names are case-insensitive). */
  get key(): string {
    return `${this.schema ?? ""}.${this.identifier}`.toLowerCase();
  }
}

/** dbt's default `generate_schema_name`: `<target_schema>_<custom>` or the target schema. */
export function defaultSchemaName(targetSchema: string, custom: unknown): string {
  if (custom === undefined || custom === null || custom === "") return targetSchema;
  return `${targetSchema}_${String(custom).trim()}`;
}

/** dbt's default `generate_alias_name`: the alias, else the node name (versioned: `name_v<v>`). */
export function defaultAliasName(name: string, custom: unknown, version?: string): string {
  if (custom !== undefined && custom !== null && custom !== "") return String(custom).trim();
  return version ? `${name}_v${version}` : name;
}

/** dbt's default `generate_database_name`. */
export function defaultDatabaseName(targetDatabase: string, custom: unknown): string {
  if (custom === undefined || custom === null || custom === "") return targetDatabase;
  return String(custom).trim();
}
