/**
 * The IO managers that ship: `json` (a file under `.tributary/storage/`) and `table` (rows <-> a
 * DuckDB table, so dbt can read it as a source). `BUILTIN_IO_MANAGERS` is their table: the TS step
 * (child.ts) registers each with the runtime package's `registerIOManager` before it loads the
 * user's module, then finds every manager, built-in or not, with `getIOManager`; so a user's
 * registration under `json` or `table` replaces the built-in, as the runtime package documents.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { quoteIdent, type Warehouse } from "../warehouse";
import { keyProblem } from "../../graph/keys";

export interface Relation {
  schema: string;
  identifier: string;
}

export function relationSql(relation: Relation): string {
  return `${quoteIdent(relation.schema)}.${quoteIdent(relation.identifier)}`;
}

/** `.tributary/storage/<key segments>.json`; a key that would leave the storage folder is refused. */
export function jsonPath(storageDir: string, key: string[]): string {
  const problem = keyProblem(key);
  if (problem) throw new Error(`The asset key '${key.join("/")}' cannot name a stored value: ${problem}.`);
  const root = path.resolve(storageDir);
  const file = path.resolve(root, ...key.slice(0, -1), `${key[key.length - 1]}.json`);
  if (!file.startsWith(root + path.sep)) throw new Error(`The asset key '${key.join("/")}' would be stored outside ${root}.`);
  return file;
}

export function loadJson(storageDir: string, key: string[]): unknown {
  const file = jsonPath(storageDir, key);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch (error) {
    throw new Error(`Input '${key.join("/")}' has no stored value (${file}): materialize it first. (${(error as Error).message})`);
  }
}

/** Writes atomically (temp file + rename) so a killed run never leaves half a value. */
export function storeJson(storageDir: string, key: string[], value: unknown): { rows?: number } {
  const file = jsonPath(storageDir, key);
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value ?? null));
  renameSync(temp, file);
  return Array.isArray(value) ? { rows: value.length } : {};
}

export async function loadTable(warehouse: Warehouse, relation: Relation): Promise<Record<string, unknown>[]> {
  return warehouse.query(`select * from ${relationSql(relation)}`);
}

/** Replaces the table with the rows (an array of plain objects); DuckDB infers the column types. */
export async function storeTable(warehouse: Warehouse, relation: Relation, value: unknown, scratchDir: string): Promise<{ rows: number }> {
  if (!Array.isArray(value) || value.some((row) => row === null || typeof row !== "object" || Array.isArray(row))) {
    throw new Error(`The table IO manager stores an array of row objects; the asset returned ${describe(value)}.`);
  }
  if (value.length === 0) throw new Error(`The asset returned no rows: the table IO manager needs at least one row to know the columns of ${relation.schema}.${relation.identifier}.`);
  mkdirSync(scratchDir, { recursive: true });
  const file = path.join(scratchDir, `${relation.schema}.${relation.identifier}.${process.pid}.ndjson`);
  writeFileSync(file, value.map((row) => JSON.stringify(row)).join("\n"));
  try {
    await warehouse.run(`create schema if not exists ${quoteIdent(relation.schema)}`);
    await warehouse.run(`create or replace table ${relationSql(relation)} as select * from read_json_auto('${file.replace(/'/g, "''")}', format = 'newline_delimited')`);
  } finally {
    rmSync(file, { force: true });
  }
  return { rows: value.length };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array with non-object items";
  return `a ${typeof value}`;
}

/** An IO manager as the runtime package's `registerIOManager` takes it. */
export interface StepIOManager {
  load(key: string[], ctx: unknown): Promise<unknown>;
  store(key: string[], value: unknown, ctx: unknown): Promise<{ rows?: number; metadata?: Record<string, unknown> } | void>;
}

/** What the built-in managers need from the step that registers them. */
export interface BuiltinIOEnv {
  storageDir: string;
  /** The step's warehouse, opened on first use. */
  warehouse(): Promise<Warehouse>;
  /** The warehouse table of an input's or the output's key (the runner sends it when `needsRelation`). */
  relationOf(key: string[]): Relation;
  /** Throws unless the run may still write (it holds the warehouse lock). */
  assertMayWrite(): void;
}

export interface BuiltinIOManager {
  /** The runner takes the warehouse for a step that reads or writes through it. */
  readonly usesWarehouse: boolean;
  /** The runner sends the asset's warehouse relation along. */
  readonly needsRelation: boolean;
  create(env: BuiltinIOEnv): StepIOManager;
}

/** The built-in IO managers, by name. Adding one is adding an entry. */
export const BUILTIN_IO_MANAGERS = {
  json: {
    usesWarehouse: false,
    needsRelation: false,
    create: (env) => ({
      // async: a missing value is a rejected promise, as from any manager
      load: async (key) => loadJson(env.storageDir, key),
      store: async (key, value) => storeJson(env.storageDir, key, value),
    }),
  },
  table: {
    usesWarehouse: true,
    needsRelation: true,
    create: (env) => ({
      load: async (key) => loadTable(await env.warehouse(), env.relationOf(key)),
      store: async (key, value) => {
        const opened = await env.warehouse();
        env.assertMayWrite(); // opening may have waited for the file
        return storeTable(opened, env.relationOf(key), value, path.join(env.storageDir, ".scratch"));
      },
    }),
  },
} as const satisfies Record<string, BuiltinIOManager>;

function builtin(io: string): BuiltinIOManager | undefined {
  return Object.hasOwn(BUILTIN_IO_MANAGERS, io) ? (BUILTIN_IO_MANAGERS as Record<string, BuiltinIOManager>)[io] : undefined;
}

/** Whether a step using `io` needs the warehouse: a user's manager may use `ctx.warehouse`. */
export function ioUsesWarehouse(io: string): boolean {
  return builtin(io)?.usesWarehouse ?? true;
}

/** Whether the runner sends the warehouse relation of an asset stored through `io`. */
export function ioNeedsRelation(io: string): boolean {
  return builtin(io)?.needsRelation ?? false;
}

/** The warehouse relations the runner sent, by key (`a/b`): the inputs' and the output's. */
export function keyRelations(request: { key: string[]; inputs: { key: string[]; relation?: Relation }[]; output: { relation?: Relation } }): Map<string, Relation> {
  const out = new Map<string, Relation>();
  for (const input of request.inputs) if (input.relation) out.set(input.key.join("/"), input.relation);
  if (request.output.relation) out.set(request.key.join("/"), request.output.relation);
  return out;
}
