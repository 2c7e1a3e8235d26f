/**
 * dbt materializations on DuckDB, as dbt-duckdb does them (simplified where noted):
 *
 * - `view`: `create or replace view R as (sql)` (a table of the same name is dropped first).
 *   Rows: `select count(*)` on a side connection, reported only if it answers within
 *   `viewCountMs` (default 50 ms); otherwise omitted (a view can be arbitrarily expensive).
 * - `table`: `create or replace table R as (sql)`; rows = row count of the new table.
 * - `incremental`: first run / full refresh / existing view: as `table`. Later runs: the SQL is
 *   staged into a temp table, then, by `incremental_strategy`:
 *   `append` inserts; `delete+insert` and `merge` (default when `unique_key` is set) delete the
 *   target rows whose `unique_key` (a column/expression, or a list of columns) matches a staged
 *   row, then insert (an upsert; `merge_update_columns` etc. are not honoured). Without
 *   `unique_key` both append. `incremental_predicates` restrict the delete. `on_schema_change`:
 *   `ignore` (default: insert the target's columns the new rows have), `fail`,
 *   `append_new_columns`, `sync_all_columns` (adds and drops columns; type changes are ignored).
 *   All of it in one transaction. Rows = rows inserted. `insert_overwrite` / `microbatch` are
 *   not supported (the dbt engine is suggested).
 * - `seed`: `create or replace table R as select * from read_csv(path, header, auto_detect)`,
 *   `column_types` and `delimiter` honoured; rows = rows loaded.
 * - `snapshot`: strategies `timestamp` (`updated_at`) and `check` (`check_cols`: list or `all`),
 *   `unique_key` (column/expression or list), `hard_deletes: invalidate` (or legacy
 *   `invalidate_hard_deletes: true`), `dbt_valid_to_current`. Meta columns `dbt_scd_id`,
 *   `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`; new source columns are added. The check
 *   strategy uses the step's start time as `dbt_updated_at`. Not covered:
 *   `snapshot_meta_column_names`, `hard_deletes: new_record` (treated as `invalidate`), column
 *   type changes. Rows = rows inserted + rows closed.
 * - `ephemeral`: nothing in the database (inlined by the renderer).
 *
 * Schemas are created as needed. The catalog map (`schema.identifier` -> table/view) is kept
 * current so `is_incremental()` and `adapter.get_relation` stay right during the step.
 *
 * `MATERIALIZATIONS` (at the end) maps each name to its implementation: the engine looks a name
 * up there and nowhere else, so adding a materialization is adding an entry (and, usually, a
 * `Materializer` method doing the SQL).
 */
import type { DbtRelation } from "./relation";
import { quoteIdent } from "../warehouse";
import { UnsupportedFeatureError } from "./errors";
import type { ColumnInfo, RelationType, Warehouse } from "../warehouse";

export interface MaterializeResult {
  rows?: number;
  /** SQL statements run, in order (for logs). */
  statements: string[];
}

export class MaterializationError extends Error {}

function lit(s: string): string {
  return `'${String(s).replace(/'/g, "''")}'`;
}

function keysOf(v: unknown): string[] {
  if (v === undefined || v === null || v === "") return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x).trim()).filter(Boolean);
}

export class Materializer {
  private schemas = new Set<string>();

  constructor(
    private readonly wh: Warehouse,
    private readonly catalog: Map<string, RelationType>,
    private readonly opts: { viewCountMs?: number } = {},
  ) {}

  private log: string[] = [];

  private async exec(sql: string): Promise<number> {
    this.log.push(sql);
    return (await this.wh.run(sql)).rowsChanged;
  }

  private take(rows?: number): MaterializeResult {
    const out = { rows, statements: this.log };
    this.log = [];
    return out;
  }

  async ensureSchema(rel: DbtRelation): Promise<void> {
    if (!rel.schema) return;
    const key = `${rel.renderDatabase ? rel.database : ""}.${rel.schema}`.toLowerCase();
    if (this.schemas.has(key)) return;
    const db = rel.renderDatabase && rel.database ? `${quoteIdent(rel.database)}.` : "";
    await this.exec(`create schema if not exists ${db}${quoteIdent(rel.schema)}`);
    this.schemas.add(key);
  }

  existing(rel: DbtRelation): RelationType | undefined {
    return this.catalog.get(rel.key);
  }

  private async dropIf(rel: DbtRelation, type: RelationType): Promise<void> {
    if (this.existing(rel) === type) {
      await this.exec(`drop ${type} if exists ${rel.render()}`);
      this.catalog.delete(rel.key);
    }
  }

  private async count(rel: DbtRelation): Promise<number> {
    return Number(await this.wh.scalar(`select count(*) from ${rel.render()}`));
  }

  async runHooks(hooks: string[]): Promise<void> {
    for (const h of hooks) await this.exec(h);
  }

  async view(rel: DbtRelation, sql: string): Promise<MaterializeResult> {
    await this.ensureSchema(rel);
    await this.dropIf(rel, "table");
    await this.exec(`create or replace view ${rel.render()} as (\n${sql}\n)`);
    this.catalog.set(rel.key, "view");
    let rows: number | undefined;
    const budget = this.opts.viewCountMs ?? 50;
    if (budget > 0) {
      try {
        const r = await this.wh.queryWithin<{ n: unknown }>(`select count(*) as n from ${rel.render()}`, budget);
        if (r?.length) rows = Number(r[0].n);
      } catch {
        rows = undefined;
      }
    }
    return this.take(rows);
  }

  async table(rel: DbtRelation, sql: string): Promise<MaterializeResult> {
    await this.ensureSchema(rel);
    await this.dropIf(rel, "view");
    await this.exec(`create or replace table ${rel.render()} as (\n${sql}\n)`);
    this.catalog.set(rel.key, "table");
    return this.take(await this.count(rel));
  }

  async incremental(rel: DbtRelation, sql: string, config: Record<string, unknown>, fullRefresh: boolean): Promise<MaterializeResult> {
    const existing = this.existing(rel);
    if (existing !== "table" || fullRefresh) return this.table(rel, sql);

    const uniqueKey = keysOf(config.unique_key);
    const strategy = String(config.incremental_strategy ?? (uniqueKey.length ? "delete+insert" : "append"));
    if (!["append", "delete+insert", "merge"].includes(strategy)) {
      throw new UnsupportedFeatureError(`incremental_strategy='${strategy}'`, `the incremental strategy '${strategy}' is not supported by the embedded engine (append, delete+insert and merge are)`);
    }
    const tmp = quoteIdent(`${rel.identifier}__dbt_tmp`);
    await this.exec(`create or replace temp table ${tmp} as (\n${sql}\n)`);
    try {
      const tmpCols = (await this.wh.queryWithColumns(`select * from ${tmp} limit 0`)).columns;
      const targetCols = await this.wh.columns(rel.schema ?? "main", rel.identifier);
      const cols = await this.reconcileColumns(rel, targetCols, tmpCols, String(config.on_schema_change ?? "ignore"));
      const colList = cols.map(quoteIdent).join(", ");
      let inserted = 0;
      await this.exec("begin transaction");
      try {
        if (uniqueKey.length && strategy !== "append") {
          const preds = keysOf(config.incremental_predicates).map((p) => ` and (${p})`).join("");
          const target = quoteIdent(rel.identifier);
          if (uniqueKey.length === 1) {
            const k = uniqueKey[0];
            await this.exec(`delete from ${rel.render()} where (${k}) in (select (${k}) from ${tmp})${preds}`);
          } else {
            const on = uniqueKey.map((k) => `${tmp}.${k} = ${target}.${k}`).join(" and ");
            await this.exec(`delete from ${rel.render()} using ${tmp} where (${on})${preds}`);
          }
        }
        inserted = await this.exec(`insert into ${rel.render()} (${colList}) select ${colList} from ${tmp}`);
        await this.exec("commit");
      } catch (e) {
        await this.wh.run("rollback").catch(() => undefined);
        throw e;
      }
      return this.take(inserted);
    } finally {
      await this.wh.run(`drop table if exists ${tmp}`).catch(() => undefined);
    }
  }

  /** Applies `on_schema_change`; returns the columns to insert. */
  private async reconcileColumns(rel: DbtRelation, target: ColumnInfo[], source: ColumnInfo[], mode: string): Promise<string[]> {
    const tNames = new Map(target.map((c) => [c.name.toLowerCase(), c]));
    const sNames = new Map(source.map((c) => [c.name.toLowerCase(), c]));
    const added = source.filter((c) => !tNames.has(c.name.toLowerCase()));
    const removed = target.filter((c) => !sNames.has(c.name.toLowerCase()));
    if (mode === "fail" && (added.length || removed.length)) {
      throw new MaterializationError(
        `The source and target schemas on this incremental model are out of sync (on_schema_change='fail'): added ${added.map((c) => c.name).join(", ") || "none"}, removed ${removed.map((c) => c.name).join(", ") || "none"}. Run with full refresh.`,
      );
    }
    if (mode === "append_new_columns" || mode === "sync_all_columns") {
      for (const c of added) await this.exec(`alter table ${rel.render()} add column ${quoteIdent(c.name)} ${c.type}`);
      if (mode === "sync_all_columns") for (const c of removed) await this.exec(`alter table ${rel.render()} drop column ${quoteIdent(c.name)}`);
      return source.map((c) => c.name).filter((n) => tNames.has(n.toLowerCase()) || added.some((a) => a.name === n));
    }
    return target.map((c) => c.name).filter((n) => sNames.has(n.toLowerCase()));
  }

  async seed(rel: DbtRelation, csvPath: string, config: Record<string, unknown>): Promise<MaterializeResult> {
    await this.ensureSchema(rel);
    await this.dropIf(rel, "view");
    const opts = ["header = true", "auto_detect = true", "sample_size = -1"];
    if (config.delimiter !== undefined) opts.push(`delim = ${lit(String(config.delimiter))}`);
    const types = config.column_types;
    if (types && typeof types === "object" && Object.keys(types).length) {
      opts.push(`types = {${Object.entries(types as Record<string, unknown>).map(([k, v]) => `${lit(k)}: ${lit(String(v))}`).join(", ")}}`);
    }
    await this.exec(`create or replace table ${rel.render()} as select * from read_csv(${lit(csvPath)}, ${opts.join(", ")})`);
    this.catalog.set(rel.key, "table");
    return this.take(await this.count(rel));
  }

  async snapshot(rel: DbtRelation, sql: string, config: Record<string, unknown>, snapshotTime: Date): Promise<MaterializeResult> {
    const keys = keysOf(config.unique_key);
    if (!keys.length) throw new MaterializationError("a snapshot needs a `unique_key` config");
    const strategy = String(config.strategy ?? "timestamp");
    if (strategy !== "timestamp" && strategy !== "check") {
      throw new UnsupportedFeatureError(`strategy='${strategy}'`, `the snapshot strategy '${strategy}' is not supported by the embedded engine (timestamp and check are)`);
    }
    if (strategy === "timestamp" && !config.updated_at) throw new MaterializationError("a snapshot with strategy 'timestamp' needs an `updated_at` config");
    const now = `cast(${lit(snapshotTime.toISOString().replace("T", " ").replace("Z", ""))} as timestamp)`;
    const updated = strategy === "timestamp" ? String(config.updated_at) : now;
    const keyExpr = keys.length === 1 ? keys[0] : keys.map((k) => `coalesce(cast(${k} as varchar), '')`).join(" || '|' || ");
    const scd = (upd: string) => `md5(coalesce(cast(${keyExpr} as varchar), '') || '|' || coalesce(cast(${upd} as varchar), ''))`;
    const validToCurrent = config.dbt_valid_to_current === undefined || config.dbt_valid_to_current === null ? undefined : String(config.dbt_valid_to_current);
    const isCurrent = (alias = "") => (validToCurrent ? `(${alias}dbt_valid_to is null or ${alias}dbt_valid_to = ${validToCurrent})` : `${alias}dbt_valid_to is null`);
    const hard = String(config.hard_deletes ?? (config.invalidate_hard_deletes === true ? "invalidate" : "ignore"));

    await this.ensureSchema(rel);
    if (this.existing(rel) !== "table") {
      await this.dropIf(rel, "view");
      const validTo = validToCurrent ?? `nullif(${updated}, ${updated})`;
      await this.exec(
        `create table ${rel.render()} as (\nselect *, ${scd(updated)} as dbt_scd_id, ${updated} as dbt_updated_at, ${updated} as dbt_valid_from, cast(${validTo} as timestamp) as dbt_valid_to\nfrom (\n${sql}\n) as snapshot_query\n)`,
      );
      this.catalog.set(rel.key, "table");
      return this.take(await this.count(rel));
    }

    const src = quoteIdent(`${rel.identifier}__dbt_snap_src`);
    const cur = quoteIdent(`${rel.identifier}__dbt_snap_cur`);
    const upd = quoteIdent(`${rel.identifier}__dbt_snap_upd`);
    try {
      await this.exec(
        `create or replace temp table ${src} as (select *, ${keyExpr} as dbt_unique_key, ${updated} as dbt_new_updated_at, ${scd(updated)} as dbt_new_scd_id from (\n${sql}\n) as snapshot_query)`,
      );
      const srcCols = (await this.wh.queryWithColumns(`select * from ${src} limit 0`)).columns.filter(
        (c) => !["dbt_unique_key", "dbt_new_updated_at", "dbt_new_scd_id"].includes(c.name),
      );
      const snapCols = await this.wh.columns(rel.schema ?? "main", rel.identifier);
      const snapNames = new Set(snapCols.map((c) => c.name.toLowerCase()));
      for (const c of srcCols) {
        if (!snapNames.has(c.name.toLowerCase())) await this.exec(`alter table ${rel.render()} add column ${quoteIdent(c.name)} ${c.type}`);
      }
      await this.exec(`create or replace temp table ${cur} as (select *, ${keyExpr} as dbt_unique_key from ${rel.render()} where ${isCurrent()})`);
      const checkCols =
        strategy === "check"
          ? config.check_cols === "all" || config.check_cols === undefined
            ? srcCols.map((c) => c.name).filter((n) => !keys.includes(n))
            : keysOf(config.check_cols)
          : [];
      const changed =
        strategy === "timestamp"
          ? `c.dbt_valid_from < s.dbt_new_updated_at`
          : checkCols.length
            ? `(${checkCols.map((n) => `c.${/^\w+$/.test(n) ? quoteIdent(n) : n} is distinct from s.${/^\w+$/.test(n) ? quoteIdent(n) : n}`).join(" or ")})`
            : "false";
      await this.exec(
        `create or replace temp table ${upd} as (select c.dbt_scd_id, c.dbt_unique_key, s.dbt_new_updated_at as new_valid_to from ${src} s join ${cur} c on s.dbt_unique_key = c.dbt_unique_key where ${changed})`,
      );
      const colList = srcCols.map((c) => quoteIdent(c.name)).join(", ");
      let rows = 0;
      await this.exec("begin transaction");
      try {
        rows += await this.exec(`update ${rel.render()} set dbt_valid_to = u.new_valid_to from ${upd} u where ${rel.render()}.dbt_scd_id = u.dbt_scd_id and ${isCurrent(`${rel.render()}.`)}`);
        rows += await this.exec(
          `insert into ${rel.render()} (${colList}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)\nselect ${colList}, dbt_new_scd_id, dbt_new_updated_at, dbt_new_updated_at, ${validToCurrent ? `cast(${validToCurrent} as timestamp)` : "null"} from ${src}\nwhere dbt_unique_key not in (select dbt_unique_key from ${cur} where dbt_unique_key is not null) or dbt_unique_key in (select dbt_unique_key from ${upd})`,
        );
        if (hard === "invalidate" || hard === "new_record") {
          rows += await this.exec(
            `update ${rel.render()} set dbt_valid_to = ${now} where ${isCurrent()} and dbt_scd_id in (select dbt_scd_id from ${cur} where dbt_unique_key not in (select dbt_unique_key from ${src} where dbt_unique_key is not null))`,
          );
        }
        await this.exec("commit");
      } catch (e) {
        await this.wh.run("rollback").catch(() => undefined);
        throw e;
      }
      return this.take(rows);
    } finally {
      for (const t of [src, cur, upd]) await this.wh.run(`drop table if exists ${t}`).catch(() => undefined);
    }
  }
}

/** What a materialization gets for one node. */
export interface MaterializeInput {
  relation: DbtRelation;
  /** The rendered SQL (empty for a seed). */
  sql: string;
  /** The node's file (a seed's CSV). */
  file: string;
  config: Record<string, unknown>;
  /** Rebuild from scratch: `--full-refresh`, or the node's own `full_refresh` config. */
  fullRefresh: boolean;
  /** When the run started (a snapshot's timestamps). */
  startedAt: Date;
}

export type MaterializedResource = "model" | "seed" | "snapshot";

export interface Materialization {
  /** The resource types it builds (a model cannot be `materialized='seed'`). */
  readonly for: readonly MaterializedResource[];
  /** `false`: nothing is built in the database (`ephemeral`: the renderer inlines the model as a CTE). */
  readonly builds: boolean;
  build(m: Materializer, input: MaterializeInput): Promise<MaterializeResult>;
}

/** The embedded engine's materializations, by the name `materialized` gives. Adding one is adding an entry. */
export const MATERIALIZATIONS = {
  view: { for: ["model"], builds: true, build: (m, x) => m.view(x.relation, x.sql) },
  table: { for: ["model"], builds: true, build: (m, x) => m.table(x.relation, x.sql) },
  incremental: { for: ["model"], builds: true, build: (m, x) => m.incremental(x.relation, x.sql, x.config, x.fullRefresh) },
  ephemeral: { for: ["model"], builds: false, build: () => Promise.resolve({ statements: [] }) },
  seed: { for: ["seed"], builds: true, build: (m, x) => m.seed(x.relation, x.file, x.config) },
  snapshot: { for: ["model", "snapshot"], builds: true, build: (m, x) => m.snapshot(x.relation, x.sql, x.config, x.startedAt) },
} as const satisfies Record<string, Materialization>;

/** The materialization named `name` for a `resource`, if the embedded engine has it. */
export function findMaterialization(name: string, resource: MaterializedResource): Materialization | undefined {
  const found = Object.hasOwn(MATERIALIZATIONS, name) ? (MATERIALIZATIONS as Record<string, Materialization>)[name] : undefined;
  return found?.for.includes(resource) ? found : undefined;
}

/**
 * The materialization named `name` for a `resource`; any other name is an `UnsupportedFeatureError`
 * naming the ones the table has for that resource.
 */
export function materializationNamed(name: string, resource: MaterializedResource): Materialization {
  const found = findMaterialization(name, resource);
  if (found) return found;
  const known = Object.entries(MATERIALIZATIONS as Record<string, Materialization>)
    .filter(([, m]) => m.for.includes(resource))
    .map(([n]) => n)
    .join(", ");
  throw new UnsupportedFeatureError(`materialized='${name}'`, `the materialization '${name}' is not supported by the embedded engine for a ${resource} (${known} are)`);
}
