/**
 * Column-level lineage of a workspace, statically: every dbt model is compiled with the embedded
 * engine's renderer, parsed by DuckDB's parser and analyzed (analyze.ts) in graph order, so a
 * `select *` over an upstream model expands to the columns that model's own SQL produces.
 *
 * Column lists of assets that have no SQL to read, in order of preference:
 * - seeds: the CSV header; sources and models: the `columns:` declared in YAML;
 * - TS assets with `io: "table"`: their `columns` option;
 * - any of them: the warehouse catalog when it was materialized (`catalogColumns`).
 * A model's own SQL wins over its YAML (YAML often documents only some columns, the SQL is what
 * runs); its YAML or catalog columns are used only when its SQL cannot be analyzed.
 */
import { readFileSync } from "node:fs";
import type { AssetNode } from "../protocol/types";
import type { AssetColumns, ColumnLineageMap, ColumnOrigin } from "../protocol/sql";
import type { RunContext } from "../run/context";
import { ModelCompiler, isCompilable, type CompileOutcome, type CompilerOptions } from "../run/compile";
import type { Warehouse } from "../run/warehouse";
import { analyzeStatement, UnsupportedShape, type TableInfo } from "./analyze";
import { SqlParser, type ParseTree } from "./parser";

export interface ColumnLineageOptions extends CompilerOptions {
  /** `schema.identifier` (lower-cased) -> column names, from the warehouse (see `readCatalogColumns`). */
  catalogColumns?: Map<string, string[]>;
  parser?: SqlParser;
  /** Compile results already at hand (the compiled-SQL view's), by asset id. */
  compiled?: Map<string, CompileOutcome>;
}

const PARSE_BATCH = 200;
const YIELD_EVERY_MS = 20;
const SNAPSHOT_COLUMNS = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"];

/** Column names of every table and view of a warehouse, by `schema.identifier` lower-cased. */
export async function readCatalogColumns(warehouse: Warehouse): Promise<Map<string, string[]>> {
  const rows = await warehouse.query<{ s: string; t: string; c: string }>(
    "select table_schema as s, table_name as t, column_name as c from information_schema.columns where table_catalog = current_database() order by table_schema, table_name, ordinal_position",
  );
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.s}.${r.t}`.toLowerCase();
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(r.c);
  }
  return out;
}

/** Column lineage of `ids` (default: every asset) and of everything upstream of them. */
export async function columnLineage(ctx: RunContext, ids: string[] | undefined, options: ColumnLineageOptions = {}): Promise<ColumnLineageMap> {
  const graph = ctx.index.graph;
  const wanted = ids ? closure(ctx, ids) : undefined;
  const order = graph.topologicalOrder().filter((id) => !wanted || wanted.has(id));
  const relations = relationIndex(ctx);
  const compiler = new ModelCompiler(ctx, options);
  const parser = options.parser ?? new SqlParser();
  const out: ColumnLineageMap = {};
  try {
    // 1. Compile every model (graph order), then parse them in batches: parsing needs no schema.
    const compiled = new Map<string, CompileOutcome>();
    let slice = performance.now();
    for (const id of order) {
      if (!isCompilable(graph.get(id))) continue;
      // Let the language server answer other requests during a long computation.
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      const result = options.compiled?.get(id) ?? (await compiler.compile(id));
      compiled.set(id, result);
      if (result.ok) relations.set(result.value.relationKey, id);
    }
    const okIds = [...compiled].filter(([, r]) => r.ok).map(([id]) => id);
    const trees = new Map<string, ParseTree>();
    for (let i = 0; i < okIds.length; i += PARSE_BATCH) {
      const batch = okIds.slice(i, i + PARSE_BATCH);
      const parsed = await parser.parseMany(batch.map((id) => (compiled.get(id) as { ok: true; value: { sql: string } }).value.sql));
      batch.forEach((id, j) => trees.set(id, parsed[j]));
    }
    // 2. Analyze in graph order: upstream column lists are known before their readers.
    const declared = declaredColumns(ctx);
    /** An asset's column list; YAML lists may be partial (documentation often covers some columns). */
    const known = (id: string): { columns: string[]; partial: boolean } | undefined => {
      const entry = out[id];
      if (entry?.level === "columns") return { columns: entry.columns.map((c) => c.name), partial: entry.origin === "yaml" };
      const listed = declared.get(id);
      if (listed) return { columns: listed.columns, partial: listed.origin === "yaml" };
      const catalog = catalogOf(ctx, id, options.catalogColumns);
      return catalog ? { columns: catalog, partial: false } : undefined;
    };
    for (const id of order) {
      const node = graph.get(id)!;
      const result = compiled.get(id);
      if (!result) {
        const cols = declared.get(id) ?? catalogEntry(ctx, id, options.catalogColumns);
        if (node.kind === "dbt_exposure") continue;
        out[id] = cols
          ? { id, level: "columns", origin: cols.origin, columns: cols.columns.map((name) => ({ name, upstream: [], how: "derived" })) }
          : { id, level: "table", columns: [], reason: noColumnsReason(node) };
        continue;
      }
      if (!result.ok) {
        out[id] = { id, level: "table", columns: [], reason: `the model does not compile: ${firstLine(result.error.message)}` };
        continue;
      }
      const schemaOf = targetSchema(ctx, node.project);
      const env = {
        table: (_catalog: string, schema: string, name: string): TableInfo | undefined => {
          const ephemeral = /^__dbt__cte__(.+)$/i.exec(name);
          const asset = ephemeral ? ephemeralAsset(ctx, node, ephemeral[1]) : relations.get(`${(schema || schemaOf).toLowerCase()}.${name.toLowerCase()}`);
          const list = asset ? known(asset) : undefined;
          return asset ? { asset, columns: list?.columns, partial: list?.partial } : undefined;
        },
      };
      try {
        const columns = analyzeStatement(trees.get(id)!, env);
        // A snapshot's table adds dbt's validity columns to what its SELECT produces.
        if (node.kind === "dbt_snapshot") for (const name of SNAPSHOT_COLUMNS) if (!columns.some((c) => c.name.toLowerCase() === name)) columns.push({ name, upstream: [], how: "derived" });
        out[id] = { id, level: "columns", origin: "sql", columns };
      } catch (e) {
        if (!(e instanceof UnsupportedShape)) throw e;
        out[id] = { id, level: "table", columns: [], reason: e.message };
      }
    }
  } finally {
    compiler.dispose();
    if (!options.parser) parser.close();
  }
  return out;
}

function closure(ctx: RunContext, ids: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...ids];
  while (queue.length) {
    const id = queue.pop()!;
    if (seen.has(id) || !ctx.index.graph.get(id)) continue;
    seen.add(id);
    queue.push(...ctx.index.graph.upstream(id));
  }
  return seen;
}

/** `schema.identifier` (lower-cased) -> asset id, from dbt's default naming; compiled models refine it. */
function relationIndex(ctx: RunContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of ctx.index.graph.nodes.values()) {
    if (node.kind === "dbt_exposure") continue;
    let rel: { schema: string; identifier: string } | undefined;
    try {
      rel = ctx.relationOf(node.id);
    } catch {
      rel = undefined; // a non-DuckDB profile: names cannot be computed
    }
    if (rel) out.set(`${rel.schema}.${rel.identifier}`.toLowerCase(), node.id);
  }
  return out;
}

function ephemeralAsset(ctx: RunContext, reader: AssetNode, name: string): string | undefined {
  for (const n of ctx.index.graph.nodes.values()) if (n.kind === "dbt_model" && n.dbtName === name && (!reader.project || n.project === reader.project)) return n.id;
  return undefined;
}

/** Column lists written down by the user: seed CSV headers, YAML `columns:`, TS `columns` options. */
function declaredColumns(ctx: RunContext): Map<string, { columns: string[]; origin: ColumnOrigin }> {
  const out = new Map<string, { columns: string[]; origin: ColumnOrigin }>();
  const graph = ctx.index.graph;
  const byName = new Map<string, AssetNode>();
  const bySource = new Map<string, AssetNode>();
  for (const n of graph.nodes.values()) {
    if (n.sourceName && n.dbtName && (n.kind === "dbt_source" || n.producedByTs)) bySource.set(`${n.project ?? ""}\0${n.sourceName}\0${n.dbtName}`, n);
    else if (n.dbtName && n.kind !== "dbt_exposure" && n.kind !== "ts_asset") byName.set(`${n.project ?? ""}\0${n.dbtName}`, n);
  }
  for (const files of ctx.index.projectFiles()) {
    const project = files.project.name;
    for (const facts of files.yaml.values()) {
      for (const props of [...facts.models, ...facts.seeds, ...facts.snapshots]) {
        const node = byName.get(`${project}\0${props.name}`);
        if (node && props.columns) out.set(node.id, { columns: props.columns, origin: "yaml" });
      }
      for (const source of facts.sources) {
        for (const table of source.tables) {
          const node = bySource.get(`${project}\0${source.name}\0${table.name}`);
          if (node && table.columns) out.set(node.id, { columns: table.columns, origin: "yaml" });
        }
      }
    }
  }
  for (const node of graph.nodes.values()) {
    if (node.kind === "dbt_seed" && node.file) {
      const header = csvHeader(node.file);
      if (header) out.set(node.id, { columns: header, origin: "csv" });
    }
    if (node.kind === "ts_asset" && node.file) {
      const def = ctx.index.tsFacts(node.file)?.assets.find((a) => a.key?.join("/") === node.id);
      if (def?.columns) out.set(node.id, { columns: def.columns, origin: "declared" });
    }
  }
  return out;
}

function csvHeader(file: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").slice(0, 64 * 1024);
  } catch {
    return undefined;
  }
  const line = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0];
  if (!line) return undefined;
  const cells: string[] = [];
  for (const m of line.matchAll(/\s*(?:"((?:[^"]|"")*)"|([^,]*))\s*(?:,|$)/g)) {
    if (m.index === line.length && cells.length) break;
    cells.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2].trim());
  }
  return cells.length && cells.every(Boolean) ? cells : undefined;
}

function catalogOf(ctx: RunContext, id: string, catalog: Map<string, string[]> | undefined): string[] | undefined {
  return catalogEntry(ctx, id, catalog)?.columns;
}

function catalogEntry(ctx: RunContext, id: string, catalog: Map<string, string[]> | undefined): { columns: string[]; origin: ColumnOrigin } | undefined {
  if (!catalog) return undefined;
  let rel: { schema: string; identifier: string } | undefined;
  try {
    rel = ctx.relationOf(id);
  } catch {
    return undefined;
  }
  const node = ctx.index.graph.get(id);
  if (!rel || (node?.kind === "ts_asset" && node.materialized !== "table" && !node.producedByTs)) return undefined;
  const columns = catalog.get(`${rel.schema}.${rel.identifier}`.toLowerCase());
  return columns ? { columns, origin: "catalog" } : undefined;
}

function noColumnsReason(node: AssetNode): string {
  if (node.kind === "ts_asset") return node.materialized === "table" ? "its columns are unknown: give the asset a `columns` option or materialize it" : "it is not stored as a table (io is not \"table\")";
  if (node.kind === "dbt_source") return "its columns are unknown: declare them under `columns:` in the source's YAML, or materialize it";
  if (node.kind === "dbt_model") return "it is not a SQL model";
  return "its columns are unknown";
}

function targetSchema(ctx: RunContext, project: string | undefined): string {
  try {
    return ctx.target(project).schema.toLowerCase();
  } catch {
    return "main";
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

export type { AssetColumns };
