/**
 * The SQL features of a model file: its compiled SQL, column lineage (hover on a column name), and
 * a read-only preview of its rows. All of them render the project's Jinja, so the server answers
 * them only in a trusted workspace.
 */
import * as path from "node:path";
import type { Hover } from "vscode-languageserver";
import { columnLineage, readCatalogColumns } from "../columns/lineage";
import { SqlParser, type ParseTree } from "../columns/parser";
import type { WorkspaceIndex } from "../index/workspace";
import type { ColumnLineageMap, CompileResult, PreviewParams, PreviewResult } from "../protocol/sql";
import type { Pos, Span } from "../protocol/types";
import { ModelCompiler, isCompilable } from "../run/compile";
import type { ReadOnlyAttacher } from "../run/readOnlyAttach";
import { RunContext } from "../run/context";
import { readFileSync } from "node:fs";
import { assetLink } from "./lookup";
import { scanSql } from "../index/dbt/jinja";

export const RESTRICTED = "Tributary renders a model's Jinja only in a trusted workspace (Restricted Mode is on).";
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export interface SqlFeatureContext {
  index: WorkspaceIndex;
  roots: string[];
  /** Unsaved editor text of a file. */
  readSource(file: string): string | undefined;
  parser: SqlParser;
  /** Read-only access to warehouse files (ATTACH on a shared in-memory instance). */
  attacher: ReadOnlyAttacher;
}

function rootFor(roots: string[], file: string): string {
  return roots.filter((r) => file.startsWith(r + path.sep) || file === r).sort((a, b) => b.length - a.length)[0] ?? roots[0] ?? path.dirname(file);
}

function modelIn(index: WorkspaceIndex, file: string): string | undefined {
  return index.assetsIn(file).find((id) => isCompilable(index.graph.get(id)));
}

/** The compiled SQL of the model a file defines (its unsaved text), or the rendering error and where. */
export async function compileFile(c: SqlFeatureContext, file: string): Promise<CompileResult> {
  const id = modelIn(c.index, file);
  if (!id) return { ok: false, message: `${path.basename(file)} defines no dbt model or snapshot written in SQL.` };
  const ctx = new RunContext(c.index, rootFor(c.roots, file));
  let target;
  try {
    target = ctx.target(c.index.graph.get(id)!.project);
  } catch (e) {
    return { ok: false, id, message: e instanceof Error ? e.message : String(e), file, span: { start: { line: 0, character: 0 }, end: { line: 0, character: 1000 } } };
  }
  return c.attacher.with(target.path, target.database, async (warehouse): Promise<CompileResult> => {
    const compiler = new ModelCompiler(ctx, { readSource: c.readSource, warehouse });
    try {
      const result = await compiler.compile(id);
      if (result.ok) return { ok: true, id, sql: result.value.sql, materialized: result.value.materialized, relation: result.value.relation };
      const e = result.error;
      const line = Math.max(0, (e.line ?? 1) - 1);
      const character = Math.max(0, (e.column ?? 1) - 1);
      const at = e.file || file;
      const span = (at === file ? syntaxErrorAtOrBefore(c, file, line) : undefined) ?? { start: { line, character }, end: { line, character: e.column ? character + 1 : character + 1000 } };
      return { ok: false, id, message: e.message, file: at, span };
    } finally {
      compiler.dispose();
    }
  });
}

/**
 * The renderer reports a syntax error where it noticed it (an unclosed `{{` at the next line); the
 * index's scanner knows where the broken tag opened: prefer that position when it comes first.
 */
function syntaxErrorAtOrBefore(c: SqlFeatureContext, file: string, line: number): Span | undefined {
  let text: string;
  try {
    text = c.readSource(file) ?? readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return scanSql(text, file).diagnostics.find((d) => d.code === "jinja-syntax" && d.span.start.line <= line)?.span;
}

/** Column lineage per graph generation: computed on demand for an asset and its upstreams, then reused. */
export class ColumnLineageCache {
  private results = new Map<string, Promise<ColumnLineageMap>>();

  invalidate(): void {
    this.results.clear();
  }

  get(c: SqlFeatureContext, ids: string[]): Promise<ColumnLineageMap> {
    const key = [...ids].sort().join("\0");
    let result = this.results.get(key);
    if (!result) {
      result = this.compute(c, ids);
      this.results.set(key, result);
      result.catch(() => this.results.delete(key));
    }
    return result;
  }

  private async compute(c: SqlFeatureContext, ids: string[]): Promise<ColumnLineageMap> {
    const first = ids.map((id) => c.index.graph.get(id)?.file).find(Boolean);
    const ctx = new RunContext(c.index, rootFor(c.roots, first ?? c.roots[0] ?? "/"));
    const catalogColumns = new Map<string, string[]>();
    const project = ids.map((id) => c.index.graph.get(id)?.project).find(Boolean);
    try {
      const target = ctx.target(project);
      await c.attacher.with(target.path, target.database, async (warehouse) => {
        if (warehouse) for (const [k, v] of await readCatalogColumns(warehouse)) catalogColumns.set(k, v);
      });
    } catch {
      /* no catalog: declared columns and the SQL still give lineage */
    }
    return columnLineage(ctx, ids, { readSource: c.readSource, parser: c.parser, catalogColumns });
  }
}

/** Hover on a column name in a model: the model's column of that name, or an upstream's, with where it comes from. */
export async function columnHover(c: SqlFeatureContext, cache: ColumnLineageCache, file: string, text: string, pos: Pos): Promise<Hover | null> {
  const id = modelIn(c.index, file);
  if (!id) return null;
  const word = wordAt(text, pos);
  if (!word) return null;
  const map = await cache.get(c, [id]);
  const graph = c.index.graph;
  const name = (asset: string) => {
    const node = graph.get(asset);
    return node ? assetLink(node) : `\`${asset}\``;
  };
  const find = (asset: string) => map[asset]?.columns.find((col) => col.name.toLowerCase() === word.word.toLowerCase());
  const own = find(id);
  const candidates = own ? [id] : graph.upstream(id).filter((u) => find(u));
  if (!candidates.length) return null;
  const lines: string[] = [];
  for (const asset of candidates) {
    const col = find(asset)!;
    lines.push(`**${col.name}** · column of ${name(asset)}${asset === id ? "" : " (upstream)"}`);
    if (col.upstream.length) {
      lines.push("", `${col.how === "copy" ? "Copied from" : "Computed from"}: ${col.upstream.map((u) => `${name(u.asset)}.\`${u.column}\``).join(", ")}`);
    } else {
      lines.push("", map[asset].origin === "sql" ? "Computed from no upstream column (a constant or count(*))." : `Declared (${map[asset].origin ?? "unknown origin"}); no upstream column lineage.`);
    }
    const down = Object.values(map).flatMap((e) => e.columns.filter((d) => d.upstream.some((u) => u.asset === asset && u.column.toLowerCase() === col.name.toLowerCase())).map((d) => `${name(e.id)}.\`${d.name}\``));
    if (down.length) lines.push("", `Used by: ${down.join(", ")}`);
  }
  if (map[id]?.level === "table") lines.push("", `_Column lineage of ${id} is table-level only: ${map[id].reason ?? ""}_`);
  return { contents: { kind: "markdown", value: lines.join("\n") }, range: { start: { line: pos.line, character: word.start }, end: { line: pos.line, character: word.end } } };
}

function wordAt(text: string, pos: Pos): { word: string; start: number; end: number } | undefined {
  const line = text.split("\n")[pos.line];
  if (line === undefined) return undefined;
  let start = pos.character;
  let end = pos.character;
  while (start > 0 && /\w/.test(line[start - 1])) start--;
  while (end < line.length && /\w/.test(line[end])) end++;
  if (start === end) return undefined;
  // Inside Jinja ({{ ... }}) a word is not a column.
  const before = line.slice(0, start);
  if (before.lastIndexOf("{{") > before.lastIndexOf("}}") || before.lastIndexOf("{%") > before.lastIndexOf("%}")) return undefined;
  return { word: line.slice(start, end), start, end };
}

/** The CTE whose definition (`name as ( ... )`) encloses an offset of the model's source, innermost first. */
export function cteAt(source: string, offset: number): string | undefined {
  let found: string | undefined;
  for (const m of source.matchAll(/\b([A-Za-z_]\w*)\s+as\s*\(/gi)) {
    const open = m.index + m[0].length - 1;
    const close = matchingParen(source, open);
    if (m.index <= offset && offset <= close && !/^(cast|try_cast)$/i.test(m[1])) found = m[1];
  }
  return found;
}

function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === "'" || ch === '"') {
      const end = s.indexOf(ch, i + 1);
      i = end < 0 ? s.length : end;
    } else if (ch === "-" && s[i + 1] === "-") {
      const nl = s.indexOf("\n", i);
      i = nl < 0 ? s.length : nl;
    } else if (ch === "(") depth++;
    else if (ch === ")" && --depth === 0) return i;
  }
  return s.length;
}

/** `with <the model's CTEs> select * from <cte>`, built on DuckDB's parse tree of the compiled SQL. */
export async function cteQuery(parser: SqlParser, compiledSql: string, cte: string): Promise<string | undefined> {
  const tree = await parser.parse(compiledSql);
  const node = (tree.statements as { node: ParseTree }[] | undefined)?.[0]?.node;
  const map = ((node?.cte_map as ParseTree | undefined)?.map as { key: string }[] | undefined) ?? [];
  if (!node || !map.some((e) => e.key.toLowerCase() === cte.toLowerCase())) return undefined;
  const select: ParseTree = {
    type: "SELECT_NODE",
    modifiers: [],
    cte_map: node.cte_map,
    select_list: [{ class: "STAR", type: "STAR", alias: "", query_location: 0, relation_name: "", exclude_list: [], replace_list: [], columns: false, expr: null, qualified_exclude_list: [], rename_list: [] }],
    from_table: { type: "BASE_TABLE", alias: "", sample: null, query_location: 0, schema_name: "", table_name: cte, column_name_alias: [], catalog_name: "", at_clause: null },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
    aggregate_handling: "STANDARD_HANDLING",
    having: null,
    sample: null,
    qualify: null,
  };
  return parser.unparse({ ...tree, statements: [{ node: select, named_param_map: [] }] });
}

export interface Cancellation {
  isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Runs a model's compiled SQL (or a CTE of it, or given SQL) on its warehouse, read-only, with a LIMIT. */
export async function preview(c: SqlFeatureContext, params: PreviewParams & { file: string }, token?: Cancellation): Promise<PreviewResult> {
  const file = params.file;
  const id = modelIn(c.index, file);
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(params.limit ?? DEFAULT_LIMIT)));
  const ctx = new RunContext(c.index, rootFor(c.roots, file));
  const project = id ? c.index.graph.get(id)?.project : c.index.assetsIn(file).map((a) => c.index.graph.get(a)?.project).find(Boolean);
  let target;
  try {
    target = ctx.target(project ?? [...ctx.projects.keys()][0]);
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  return c.attacher.with(target.path, target.database, async (warehouse): Promise<PreviewResult> => {
    if (!warehouse) {
      return { ok: false, message: `The warehouse ${target.path} cannot be read: it does not exist yet (materialize the model's upstreams first) or a run is writing it.` };
    }
    const onCancel = token?.onCancellationRequested(() => warehouse.interrupt());
    try {
      let sql: string;
      let title: string;
      if (params.sql?.trim()) {
        sql = params.sql;
        title = `${id ?? path.basename(file)} (selection)`;
      } else {
        if (!id) return { ok: false, message: `${path.basename(file)} defines no dbt model or snapshot written in SQL.` };
        const compiler = new ModelCompiler(ctx, { readSource: c.readSource, warehouse });
        const compiled = await compiler.compile(id).finally(() => compiler.dispose());
        if (!compiled.ok) return { ok: false, message: compiled.error.message };
        sql = compiled.value.sql;
        title = id;
        if (params.position) {
          const source = c.readSource(file) ?? readFileSync(file, "utf8");
          const cte = cteAt(source, offsetOf(source, params.position));
          const query = cte ? await cteQuery(c.parser, sql, cte) : undefined;
          if (query) {
            sql = query;
            title = `${id} · ${cte}`;
          }
        }
      }
      sql = sql.replace(/;\s*$/, "");
      if (token?.isCancellationRequested) return { ok: false, message: "cancelled" };
      const started = performance.now();
      const result = await warehouse.queryWithColumns(`select * from (\n${sql}\n) as __tributary_preview limit ${limit}`);
      const ms = performance.now() - started;
      return { ok: true, title, sql, limit, ms, columns: result.columns, rows: result.rows.map((r) => result.columns.map((col) => r[col.name])) };
    } catch (e) {
      if (token?.isCancellationRequested) return { ok: false, message: "cancelled" };
      return { ok: false, message: e instanceof Error ? e.message : String(e) };
    } finally {
      onCancel?.dispose();
    }
  });
}

function offsetOf(text: string, pos: Pos): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < pos.line && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + pos.character;
}
