/**
 * The IO managers that ship: `json` (a file under `.tributary/storage/`) and `table` (rows <-> a
 * DuckDB table, so dbt can read it as a source). Users register others with `registerIOManager`.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Warehouse } from "../embedded/warehouse";
import { quoteIdent } from "../embedded/relation";
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
