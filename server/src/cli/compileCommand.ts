/** `tributary compile <selection>`: the SQL the embedded engine would run for each selected model. */
import * as path from "node:path";
import { formatKey } from "../graph/keys";
import type { WorkspaceIndex } from "../index/workspace";
import { ModelCompiler, isCompilable, openWarehouseForReading, type CompileFailure, type CompiledModel } from "../run/compile";
import { RunContext } from "../run/context";
import type { Warehouse } from "../run/warehouse";
import { CliError, select } from "./runCommands";
import { columnLineage, readCatalogColumns } from "../columns/lineage";
import type { ColumnLineageMap } from "../protocol/sql";

export interface CompileJson {
  models: (Omit<CompiledModel, "file" | "refKeys" | "relationKey"> & { key: string[]; file: string })[];
  errors: (CompileFailure & { key: string[] })[];
}

/** Compiles the selection's models in graph order; one renderer and read-only warehouse per project. */
export async function compileSelection(index: WorkspaceIndex, root: string, selection: string, vars?: Record<string, unknown>): Promise<CompileJson> {
  const chosen = new Set(select(index, root, selection));
  const graph = index.graph;
  const ids = graph.topologicalOrder().filter((id) => chosen.has(id) && isCompilable(graph.get(id)));
  if (ids.length === 0) throw new CliError(chosen.size ? `The selection '${selection}' matches no dbt model or snapshot written in SQL.` : `The selection '${selection}' matches no asset.`);
  const ctx = new RunContext(index, root);
  const rel = (file: string) => path.relative(root, file).split(path.sep).join("/");
  const out: CompileJson = { models: [], errors: [] };
  const byProject = new Map<string, string[]>();
  for (const id of ids) {
    const project = graph.get(id)!.project ?? "";
    byProject.set(project, [...(byProject.get(project) ?? []), id]);
  }
  for (const [project, projectIds] of byProject) {
    let warehouse: Warehouse | undefined;
    try {
      warehouse = await openWarehouseForReading(ctx.target(project || undefined).path);
    } catch {
      warehouse = undefined;
    }
    const compiler = new ModelCompiler(ctx, { vars, warehouse });
    try {
      for (const id of projectIds) {
        const key = graph.get(id)!.key;
        const result = await compiler.compile(id);
        if (result.ok) {
          const { file, refKeys: _refKeys, relationKey: _relationKey, ...rest } = result.value;
          out.models.push({ ...rest, key, file: rel(file) });
        } else out.errors.push({ ...result.error, key, file: result.error.file ? rel(result.error.file) : "" });
      }
    } finally {
      compiler.dispose();
      warehouse?.close();
    }
  }
  return out;
}

/** Column lineage of the whole workspace, with each project's warehouse catalog when it can be read. */
export async function workspaceColumnLineage(index: WorkspaceIndex, root: string): Promise<ColumnLineageMap> {
  const ctx = new RunContext(index, root);
  const catalogColumns = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const project of ctx.projects.keys()) {
    let file: string;
    try {
      file = ctx.target(project).path;
    } catch {
      continue;
    }
    if (seen.has(file)) continue;
    seen.add(file);
    const warehouse = await openWarehouseForReading(file);
    if (!warehouse) continue;
    try {
      for (const [k, v] of await readCatalogColumns(warehouse)) if (!catalogColumns.has(k)) catalogColumns.set(k, v);
    } finally {
      warehouse.close();
    }
  }
  return columnLineage(ctx, undefined, { catalogColumns });
}

export function printCompiled(result: CompileJson): void {
  for (const m of result.models) {
    console.log(`-- ${formatKey(m.key)} (${m.file}, ${m.materialized})`);
    console.log(`${m.sql}\n`);
  }
  for (const e of result.errors) console.error(`error: ${e.message}`);
}
