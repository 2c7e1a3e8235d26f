/**
 * A small DuckDB handle over `@duckdb/node-api`, and identifier quoting: used by the embedded
 * engine, the runner, TS steps' IO managers, compile/preview and column lineage.
 *
 * - `Warehouse.open(path)` creates the parent folders and opens the database file (`":memory:"`
 *   works too). DuckDB allows one writing process per file: open it only while a step needs it and
 *   `close()` it afterwards; `close()` really releases the file lock, so dbt (another process) or
 *   a later step can open it.
 * - `query()` returns rows as plain JS objects: DATE as `"YYYY-MM-DD"`, TIMESTAMP(TZ) as ISO 8601
 *   (`Date#toISOString`), TIME as `"HH:MM:SS[.ffffff]"`, BIGINT/HUGEINT as numbers when they are
 *   safe integers (strings otherwise), DECIMAL as numbers, LIST/STRUCT/MAP converted recursively.
 * - `dbMs` accumulates the time spent awaiting DuckDB, so callers can measure their own overhead.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DuckDBConnection, DuckDBInstance, DuckDBTypeId } from "@duckdb/node-api";
import type { DuckDBValue } from "@duckdb/node-api";

/** A DuckDB (and SQL standard) quoted identifier. */
export function quoteIdent(name: string): string {
  return `"${String(name).replace(/"/g, '""')}"`;
}

export type Row = Record<string, unknown>;
export type SqlParam = string | number | boolean | null | bigint;

export interface WarehouseOptions {
  /** Open read-only (several readers may share a file, no writer). */
  readOnly?: boolean;
  /** Extra DuckDB configuration options (`threads`, `memory_limit`, ...). */
  config?: Record<string, string>;
}

export interface ColumnInfo {
  name: string;
  /** DuckDB type name, e.g. `INTEGER`, `VARCHAR`, `DECIMAL(10,2)`. */
  type: string;
}

export type RelationType = "table" | "view";

export class Warehouse {
  /** Milliseconds spent waiting for DuckDB since the warehouse was opened. */
  dbMs = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private instance: DuckDBInstance,
    private conn: DuckDBConnection,
    /** The instance belongs to someone else (see `onConnection`): `close()` closes the connection only. */
    private readonly sharedInstance = false,
  ) {}

  /** A warehouse over a connection of an instance owned elsewhere (an ATTACHed database made current with USE). */
  static onConnection(path: string, instance: DuckDBInstance, conn: DuckDBConnection): Warehouse {
    return new Warehouse(path, instance, conn, true);
  }

  static async open(path: string, options: WarehouseOptions = {}): Promise<Warehouse> {
    const memory = path === ":memory:" || path === "";
    const file = memory ? ":memory:" : resolve(path);
    if (!memory) mkdirSync(dirname(file), { recursive: true });
    const config: Record<string, string> = { ...(options.config ?? {}) };
    if (options.readOnly) config.access_mode = "READ_ONLY";
    const instance = await DuckDBInstance.create(file, config);
    let conn: DuckDBConnection;
    try {
      conn = await instance.connect();
    } catch (e) {
      instance.closeSync();
      throw e;
    }
    return new Warehouse(file, instance, conn);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs one or more statements; returns the rows changed by the last one (0 for DDL). */
  async run(sql: string, params?: SqlParam[] | Record<string, SqlParam>): Promise<{ rowsChanged: number }> {
    this.assertOpen();
    const t0 = performance.now();
    try {
      const res = await this.conn.run(sql, params as DuckDBValue[] | undefined);
      return { rowsChanged: Number(res.rowsChanged) };
    } finally {
      this.dbMs += performance.now() - t0;
    }
  }

  /** Runs a query and returns every row as a plain object (see the file comment for types). */
  async query<T extends object = Row>(sql: string, params?: SqlParam[] | Record<string, SqlParam>): Promise<T[]> {
    return (await this.queryWithColumns<T>(sql, params)).rows;
  }

  /** Like `query`, plus the result's column names and DuckDB types. */
  async queryWithColumns<T extends object = Row>(sql: string, params?: SqlParam[] | Record<string, SqlParam>): Promise<{ rows: T[]; columns: ColumnInfo[] }> {
    this.assertOpen();
    const t0 = performance.now();
    let reader;
    try {
      reader = await this.conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    } finally {
      this.dbMs += performance.now() - t0;
    }
    const names = reader.deduplicatedColumnNames();
    const types = reader.columnTypes();
    const rawRows = reader.getRowsJS();
    const rows: T[] = new Array(rawRows.length);
    for (let r = 0; r < rawRows.length; r++) {
      const raw = rawRows[r];
      const row: Row = {};
      for (let c = 0; c < names.length; c++) row[names[c]] = toPlain(raw[c], types[c].typeId);
      rows[r] = row as unknown as T;
    }
    return { rows, columns: names.map((name, i) => ({ name, type: types[i].toString() })) };
  }

  /** The single value of the first row's first column, or undefined. */
  async scalar(sql: string, params?: SqlParam[]): Promise<unknown> {
    const { rows, columns } = await this.queryWithColumns(sql, params);
    return rows.length && columns.length ? rows[0][columns[0].name] : undefined;
  }

  /** Whether `schema.name` exists as a table or a view (case-insensitive, like DuckDB names). */
  async tableExists(schema: string, name: string): Promise<boolean> {
    return (await this.relationType(schema, name)) !== undefined;
  }

  async relationType(schema: string, name: string): Promise<RelationType | undefined> {
    const rows = await this.query<{ table_type: string }>(
      "select table_type from information_schema.tables where lower(table_schema) = lower(?) and lower(table_name) = lower(?) and table_catalog = current_database()",
      [schema, name],
    );
    if (!rows.length) return undefined;
    return rows[0].table_type === "VIEW" ? "view" : "table";
  }

  /** Every table and view of the current database: `schema.name` (lower-cased) -> type. */
  async catalog(): Promise<Map<string, RelationType>> {
    const rows = await this.query<{ s: string; n: string; t: string }>(
      "select table_schema as s, table_name as n, table_type as t from information_schema.tables where table_catalog = current_database()",
    );
    const out = new Map<string, RelationType>();
    for (const r of rows) out.set(`${r.s}.${r.n}`.toLowerCase(), r.t === "VIEW" ? "view" : "table");
    return out;
  }

  /** Columns of a relation in table order. */
  async columns(schema: string, name: string): Promise<ColumnInfo[]> {
    const rows = await this.query<{ column_name: string; data_type: string }>(
      "select column_name, data_type from information_schema.columns where lower(table_schema) = lower(?) and lower(table_name) = lower(?) and table_catalog = current_database() order by ordinal_position",
      [schema, name],
    );
    return rows.map((r) => ({ name: r.column_name, type: r.data_type }));
  }

  /**
   * Runs a query and gives up after `timeoutMs` (the query is interrupted and `undefined`
   * returned). Used for "cheap" figures such as a view's row count. It runs on the main
   * connection: a second connection kept DuckDB's file lock after `close()`.
   */
  async queryWithin<T extends object = Row>(sql: string, timeoutMs: number): Promise<T[] | undefined> {
    this.assertOpen();
    const conn = this.conn;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<undefined>((res) => {
      timer = setTimeout(() => {
        timedOut = true;
        try {
          conn.interrupt();
        } catch {
          /* already finished */
        }
        res(undefined);
      }, timeoutMs);
    });
    const work = this.queryWithColumns<T>(sql).then(
      (r) => r.rows,
      (e) => {
        if (timedOut) return undefined;
        throw e;
      },
    );
    try {
      const result = await Promise.race([work, timeout]);
      if (result === undefined) await work.catch(() => undefined); // let the interrupted query settle
      return timedOut ? undefined : result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Interrupts the running query of the main connection (cancellation). */
  interrupt(): void {
    if (this.closed) return;
    try {
      this.conn.interrupt();
    } catch {
      /* nothing running */
    }
  }

  /** Closes every connection and the database: the file lock is released when this returns. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.closeSync();
    } finally {
      if (!this.sharedInstance) this.instance.closeSync();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the warehouse ${this.path} is closed`);
  }
}

// ---------------------------------------------------------------- value conversion

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function timeFromMicros(micros: bigint): string {
  const total = Number(micros);
  const us = total % 1_000_000;
  const secs = Math.floor(total / 1_000_000);
  const base = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
  return us ? `${base}.${pad(us, 6)}` : base;
}

function plainNested(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(plainNested);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainNested(x);
    return out;
  }
  return v;
}

function toPlain(v: unknown, typeId: DuckDBTypeId): unknown {
  if (v === null || v === undefined) return null;
  switch (typeId) {
    case DuckDBTypeId.DATE:
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
      return typeof v === "bigint" ? timeFromMicros(typeId === DuckDBTypeId.TIME_NS ? v / 1000n : v) : String(v);
    default:
      return plainNested(v);
  }
}
