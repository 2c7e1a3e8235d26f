/**
 * Compiled SQL of dbt models without running them: the embedded engine's own renderer
 * (embedded/render.ts), so what `tributary compile` and "Show Compiled SQL" print is exactly the
 * SQL a run would materialize.
 *
 * Database access while rendering (`run_query`, `adapter.get_columns_in_relation`) is answered by
 * the warehouse when the caller opened one (read-only), else by an empty in-memory DuckDB: a model
 * whose SQL depends on warehouse data then compiles as it would against an empty warehouse, or
 * fails with the query's error.
 */
import { existsSync } from "node:fs";
import type { AssetNode } from "../protocol/types";
import type { RunContext } from "./context";
import { EmbeddedRenderError } from "./embedded/errors";
import { DbtRenderer } from "./embedded/render";
import { DbtCompilationError, type DataNeed } from "./embedded/renderErrors";
import { Warehouse, type RelationType } from "./warehouse";

export interface CompiledModel {
  id: string;
  file: string;
  /** The SQL a run would materialize (ephemeral upstreams injected as CTEs). */
  sql: string;
  materialized: string;
  /** `"schema"."identifier"`; absent for ephemeral models. */
  relation?: string;
  /** Upstream node ids the SQL actually `ref`s (ephemeral ones included). */
  refIds: string[];
  /** Relations the SQL reads through ref/source, `schema.identifier` lower-cased. */
  refKeys: string[];
  /** The model's own relation, `schema.identifier` lower-cased. */
  relationKey: string;
}

export interface CompileFailure {
  id: string;
  file: string;
  message: string;
  /** 1-based line and column of the Jinja position in `file`, when known. */
  line?: number;
  column?: number;
  /** The construct that failed (`{% do %}`, `adapter.foo()`), when the engine lacks it. */
  construct?: string;
}

export type CompileOutcome = { ok: true; value: CompiledModel } | { ok: false; error: CompileFailure };

export interface CompilerOptions {
  /** Unsaved editor text of a file, when it differs from the disk. */
  readSource?(file: string): string | undefined;
  /** dbt `--vars`. */
  vars?: Record<string, unknown>;
  /** Answers database questions asked while rendering; default: an empty in-memory DuckDB. */
  warehouse?: Warehouse;
}

const MAX_DATA_ROUNDS = 100;
/** Compiled SQL is rendered on the language server's thread: a loop over a huge range must not freeze it. */
const MAX_RANGE = 1_000_000;
const RENDER_BUDGET_MS = 5_000;

/** Whether an asset has SQL to compile (dbt models and snapshots written in SQL). */
export function isCompilable(node: AssetNode | undefined): node is AssetNode & { file: string } {
  return !!node?.file && (node.kind === "dbt_model" || node.kind === "dbt_snapshot") && /\.sql$/i.test(node.file);
}

/** Opens a project's warehouse read-only when its file exists and no writer holds it; else undefined. */
export async function openWarehouseForReading(file: string): Promise<Warehouse | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return await Warehouse.open(file, { readOnly: true });
  } catch {
    return undefined;
  }
}

/** Compiles models of one workspace; keeps one renderer per dbt project. Call `dispose()` after. */
export class ModelCompiler {
  private readonly renderers = new Map<string, DbtRenderer>();
  private scratch: Promise<Warehouse> | undefined;
  private catalog: Promise<Map<string, RelationType>> | undefined;
  private deadline = Infinity;

  constructor(
    readonly ctx: RunContext,
    readonly options: CompilerOptions = {},
  ) {}

  async compile(id: string): Promise<CompileOutcome> {
    const node = this.ctx.index.graph.get(id);
    if (!isCompilable(node)) {
      const what = node ? `${node.kind.replace(/_/g, " ")} '${id}' has no SQL to compile` : `no asset '${id}'`;
      return { ok: false, error: { id, file: node?.file ?? "", message: what } };
    }
    let renderer: DbtRenderer | undefined;
    try {
      renderer = await this.rendererFor(node);
    } catch (e) {
      return { ok: false, error: { id, file: node.file, message: e instanceof Error ? e.message : String(e) } };
    }
    if (!renderer) return { ok: false, error: { id, file: node.file, message: `dbt project '${node.project ?? "?"}' of '${id}' was not found` } };
    const embedded = this.ctx.embeddedNode(node);
    this.deadline = performance.now() + RENDER_BUDGET_MS;
    try {
      for (let round = 0; round < MAX_DATA_ROUNDS; round++) {
        const out = renderer.renderNode(embedded);
        if (out.ok) {
          const v = out.value;
          return {
            ok: true,
            value: {
              id,
              file: node.file,
              sql: v.sql,
              materialized: v.materialized,
              relation: v.materialized === "ephemeral" ? undefined : v.relation.render(),
              refIds: v.refIds,
              refKeys: v.refKeys,
              relationKey: v.relation.key,
            },
          };
        }
        if ("error" in out) return { ok: false, error: failure(id, out.error) };
        await this.answer(renderer, out.need);
      }
      return { ok: false, error: { id, file: node.file, message: `rendering needed more than ${MAX_DATA_ROUNDS} database round trips` } };
    } catch (e) {
      return { ok: false, error: { id, file: node.file, message: `${node.file}: ${e instanceof Error ? e.message : String(e)}` } };
    } finally {
      renderer.invalidate();
    }
  }

  dispose(): void {
    void this.scratch?.then((w) => w.close()).catch(() => undefined);
    this.scratch = undefined;
  }

  private database(): Promise<Warehouse> {
    if (this.options.warehouse) return Promise.resolve(this.options.warehouse);
    return (this.scratch ??= Warehouse.open(":memory:"));
  }

  private async rendererFor(node: AssetNode): Promise<DbtRenderer | undefined> {
    const name = node.project;
    const files = name ? this.ctx.projects.get(name) : undefined;
    if (!name || !files) return undefined;
    let renderer = this.renderers.get(name);
    if (renderer) return renderer;
    const catalog = await (this.catalog ??= this.options.warehouse ? this.options.warehouse.catalog() : Promise.resolve(new Map()));
    renderer = new DbtRenderer({
      project: { name, root: files.project.root, vars: files.project.vars },
      target: this.ctx.target(name),
      cliVars: this.options.vars ?? {},
      macroFiles: this.ctx.macroFiles(name),
      relations: this.ctx.relationResolver(name),
      fullRefresh: false,
      invocationId: "compile",
      runStartedAt: new Date(),
      catalog,
      readSource: this.options.readSource,
    });
    this.guardRange(renderer);
    this.renderers.set(name, renderer);
    return renderer;
  }

  /** `range()` refuses more than MAX_RANGE items, and every call checks the render's time budget. */
  private guardRange(renderer: DbtRenderer): void {
    const globals = (renderer.env as unknown as { globals: Record<string, unknown> }).globals;
    const range = globals.range as ((...args: number[]) => number[]) | undefined;
    if (typeof range !== "function") return;
    globals.range = (...args: number[]) => {
      if (performance.now() > this.deadline) throw new DbtCompilationError(`rendering took longer than ${RENDER_BUDGET_MS / 1000} s; stopped`);
      const [start, stop, step] = args.length === 1 ? [0, Number(args[0]), 1] : [Number(args[0]), Number(args[1]), args.length > 2 ? Number(args[2]) : 1];
      const count = step ? Math.ceil((stop - start) / step) : Infinity;
      if (!(count <= MAX_RANGE)) throw new DbtCompilationError(`range() of ${Number.isFinite(count) ? count.toLocaleString("en") : "endless"} items: compiled SQL is rendered with at most ${MAX_RANGE.toLocaleString("en")} per range()`);
      return range(...args);
    };
  }

  private async answer(renderer: DbtRenderer, need: DataNeed): Promise<void> {
    const db = await this.database();
    if (need.kind === "query") {
      try {
        renderer.answer(need, await db.queryWithColumns(need.sql));
      } catch (e) {
        const where = this.options.warehouse ? "the warehouse" : "an empty warehouse (none is materialized yet)";
        throw new Error(`run_query / statement failed on ${where}: ${e instanceof Error ? e.message : String(e)}\n--- query ---\n${need.sql}`);
      }
    } else {
      renderer.answer(need, { rows: [], columns: await db.columns(need.schema, need.identifier) });
    }
  }
}

function failure(id: string, e: EmbeddedRenderError): CompileFailure {
  return { id, file: e.file, message: e.message, line: e.line, column: e.column, construct: e.construct };
}
