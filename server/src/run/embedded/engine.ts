/**
 * The embedded engine: runs one "dbt step" (nodes of ONE dbt project, in topological order)
 * in-process: dbt Jinja rendered in JS (render.ts), materialized in DuckDB (materialize.ts).
 *
 * ## API
 *
 * ```ts
 * const wh = await Warehouse.open(profile.path);          // the runner opens it for the step...
 * try {
 *   const results = await runEmbeddedStep(nodes, {
 *     project: { name, root, vars },                       // DbtProject fields
 *     target: { name: "dev", type: "duckdb", schema: "main", database: "warehouse", path, threads: 4 },
 *     cliVars: {},                                        // --vars (win over project vars)
 *     macroFiles: [...],                                  // project + installed packages' macro files
 *     relations,                                          // RelationResolver built from the graph
 *     connection: wh,
 *     fullRefresh: false,
 *     onNodeEvent: (e) => ...,                            // start / success / error / skipped
 *     signal,                                             // cancellation
 *   });
 * } finally {
 *   wh.close();                                           // ...and closes it: dbt or the next step can open the file
 * }
 * ```
 *
 * - Nodes run one after the other in the given order (DuckDB parallelizes each query itself).
 * - A node is skipped (`status: "skipped"`) when an upstream node in the same step failed or was
 *   skipped: upstreams are known from `dependsOn` (ids, when the runner gives them) and from what
 *   the node's SQL actually `ref`s / `source`s (ids and relation names). Independent nodes go on.
 * - Nothing throws for a node's failure: every node gets a result; `error` names the file (and for
 *   rendering problems the line and the construct, plus a hint to use `--engine dbt` when the
 *   construct is something this engine does not implement). Only misuse (a closed warehouse)
 *   rejects the promise.
 * - Relation names: `ref()` of a node goes through `RelationResolver.ref`. Return
 *   `{ kind: "node", node }` to let the engine name it exactly as dbt would (config `schema` /
 *   `alias` / `database`, in-file `config()`, the project's own `generate_schema_name` /
 *   `generate_alias_name` / `generate_database_name` macros, ephemeral inlining), or
 *   `{ kind: "relation", ... }` for a fixed name, or `{ kind: "ephemeral", node }` to force
 *   inlining. `relationName()` gives the default dbt naming for runners that need it without the
 *   engine (e.g. to read a model's table from a TS asset).
 * - Result `rows`: tables/seeds: row count; incremental: rows inserted; snapshot: rows inserted +
 *   closed; view: `count(*)` only when it answers within `viewCountMs` (default 50 ms).
 * - Result `dbMs`: time spent waiting for DuckDB; `ms - dbMs` is the engine's own overhead.
 *
 * See render.ts for the supported dbt Jinja context and materialize.ts for the materializations.
 *
 * ## Known gaps (a model hitting one fails with file:line, the construct and `--engine dbt`)
 *
 * - Jinja (nunjucks underneath, see jinja.ts): `{% for ... recursive %}`, `*args` / `**kwargs`
 *   in calls and signatures, the `varargs` / `kwargs` variables of macros, `{% include %}` /
 *   `{% import %}` / `{% extends %}`. Silent differences: an undefined attribute renders empty
 *   instead of raising; `{% set %}` inside a loop can update an outer variable of the same name;
 *   `{{ 1.0 }}` prints `1`; a backslash-newline inside a string literal is kept.
 * - dbt context: `graph` is empty unless the runner passes one; `adapter` methods beyond
 *   dispatch/quote/get_relation/get_columns_in_relation/get_columns_in_table/
 *   list_relations_without_caching/check_schema_exists/get_missing_columns; the project's
 *   `dispatch:` search-order config; models that live inside installed packages render with the
 *   root project's macro namespace; `modules.datetime` is UTC-only (pytz zones are names only).
 * - Materializations: `insert_overwrite` / `microbatch` strategies, custom materializations,
 *   dbt-duckdb `external`, Python models; `merge` is delete+insert; `on_schema_change: ignore`
 *   inserts the columns the target and the new rows share; snapshots: see materialize.ts;
 *   contracts, constraints, grants and persist_docs are ignored; `threads` is ignored (nodes run
 *   one by one, DuckDB parallelizes each query).
 * - `run_query` / `statement`: each distinct query runs once per node render (a data-changing
 *   query issued twice with the same text runs once).
 *
 * Overhead (everything but DuckDB's own time), measured by `npm run bench -- run` (perModelOverheadMs) on
 * a chain of 200 models each calling a project macro: about 1 ms per model.
 */
import { randomUUID } from "node:crypto";
import type { DbtRelation } from "./relation";
import { defaultAliasName, defaultDatabaseName, defaultSchemaName } from "./relation";
import { findMaterialization, Materializer, MATERIALIZATIONS, materializationNamed } from "./materialize";
import type { MaterializeResult } from "./materialize";
import { DBT_ENGINE_HINT, EmbeddedRenderError, UnsupportedFeatureError } from "./errors";
import type { EmbeddedNode, RelationResolver } from "./nodes";
import { normalizeConfig } from "../../dbt/config";
import { DbtRenderer, type RenderedNode } from "./render";
import { runTest, type EmbeddedTest, type EmbeddedTestResult } from "./tests";
import type { Warehouse } from "../warehouse";

export { Warehouse } from "../warehouse";
export type { EmbeddedTest, EmbeddedTestResult } from "./tests";
export { DbtRelation } from "./relation";

export interface EmbeddedTarget {
  name: string;
  type: "duckdb";
  schema: string;
  /** The DuckDB catalog name (the database file's name without extension, or as attached). */
  database: string;
  path: string;
  threads: number;
}

export interface EmbeddedNodeEvent {
  id: string;
  phase: "start" | "success" | "error" | "skipped";
  rows?: number;
  ms?: number;
  error?: string;
}

export interface EmbeddedContext {
  project: { name: string; root: string; vars: Record<string, unknown> };
  target: EmbeddedTarget;
  /** --vars: win over project vars. */
  cliVars: Record<string, unknown>;
  /** The project's (and installed packages') macro .sql files, absolute, each with the package the index found it in. */
  macroFiles: { file: string; package: string }[];
  relations: RelationResolver;
  connection: Warehouse;
  /** `--full-refresh`: rebuild incremental models from scratch (per-model `full_refresh` config wins). */
  fullRefresh?: boolean;
  onNodeEvent?(e: EmbeddedNodeEvent): void;
  /** `log()` / `print()` / `exceptions.warn()` output of the models. */
  onLog?(e: { id: string; level: "debug" | "info" | "warn"; message: string }): void;
  signal?: AbortSignal;
  /** dbt's `invocation_id` (default: a random UUID). */
  invocationId?: string;
  /** dbt's `run_started_at` (default: now); also the snapshot time of `check` snapshots. */
  runStartedAt?: Date;
  /** Environment for `env_var()` (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Budget of the row count of views (ms; 0 disables). Default 50. */
  viewCountMs?: number;
  /** dbt's `graph` context variable, if the runner has one (default: empty). */
  graph?: Record<string, unknown>;
  /**
   * dbt tests of the step's nodes, as `dbt build` runs them: each right after the last node it
   * waits for; an error-severity failure fails the nodes it is attached to (so their downstream
   * nodes are skipped); tests of nodes that did not succeed are skipped.
   */
  tests?: EmbeddedTest[];
  onTestResult?(r: EmbeddedTestResult): void;
}

export interface EmbeddedNodeResult {
  id: string;
  status: "success" | "error" | "skipped";
  rows?: number;
  /** Wall time of the node. */
  ms: number;
  /** Part of `ms` spent waiting for DuckDB. */
  dbMs?: number;
  error?: string;
  /** The SQL that was materialized (ephemeral CTEs included). */
  compiledSql?: string;
  /** The relation built, as SQL (`"schema"."identifier"`); absent for ephemeral models. */
  relation?: string;
  /** The materialization used (`view`, `table`, `incremental`, `ephemeral`, `seed`, `snapshot`). */
  materialized?: string;
}

/** dbt's default relation name of a node (no project macro overrides): for runners and IO managers. */
export function relationName(node: EmbeddedNode, target: Pick<EmbeddedTarget, "schema" | "database">): { database: string; schema: string; identifier: string } {
  const cfg = normalizeConfig(node.config);
  const schema = node.resourceType === "snapshot" && cfg.target_schema ? String(cfg.target_schema) : defaultSchemaName(target.schema, cfg.schema);
  return {
    database: defaultDatabaseName(target.database, cfg.database),
    schema,
    identifier: defaultAliasName(node.name, cfg.alias, cfg.version == null ? undefined : String(cfg.version)),
  };
}

const MAX_DATA_ROUNDS = 100;

export async function runEmbeddedStep(nodes: EmbeddedNode[], ctx: EmbeddedContext): Promise<EmbeddedNodeResult[]> {
  const wh = ctx.connection;
  if (!wh.isOpen) throw new Error("runEmbeddedStep: the warehouse connection is closed");
  const catalog = await wh.catalog();
  const runStartedAt = ctx.runStartedAt ?? new Date();
  let currentId = "";
  const renderer = new DbtRenderer({
    project: ctx.project,
    target: ctx.target,
    cliVars: ctx.cliVars ?? {},
    macroFiles: ctx.macroFiles ?? [],
    relations: ctx.relations,
    fullRefresh: !!ctx.fullRefresh,
    invocationId: ctx.invocationId ?? randomUUID(),
    runStartedAt,
    catalog,
    env: ctx.env,
    graph: ctx.graph,
    log: (message, level) => ctx.onLog?.({ id: currentId, level, message }),
  });
  const materializer = new Materializer(wh, catalog, { viewCountMs: ctx.viewCountMs });
  const failedIds = new Set<string>();
  const failedKeys = new Set<string>();
  const results: EmbeddedNodeResult[] = [];
  const emit = (e: EmbeddedNodeEvent) => {
    try {
      ctx.onNodeEvent?.(e);
    } catch {
      /* a listener's failure must not stop the step */
    }
  };
  const onAbort = () => wh.interrupt();
  ctx.signal?.addEventListener("abort", onAbort);
  const pendingTests = [...(ctx.tests ?? [])];
  const succeeded = new Set<string>();
  const testResult = (r: EmbeddedTestResult) => {
    try {
      ctx.onTestResult?.(r);
    } catch {
      /* a listener's failure must not stop the step */
    }
  };
  /** Runs the tests that were waiting for `id` only; returns the blocking failures per attached node. */
  const runReadyTests = async (id: string | undefined): Promise<Map<string, string[]>> => {
    if (id !== undefined) succeeded.add(id);
    const failing = new Map<string, string[]>();
    for (let i = 0; i < pendingTests.length; ) {
      const test = pendingTests[i];
      const ready = id === undefined ? test.waitFor.length === 0 : test.waitFor.includes(id) && test.waitFor.every((w) => succeeded.has(w));
      if (!ready) {
        i++;
        continue;
      }
      pendingTests.splice(i, 1);
      if (ctx.signal?.aborted) {
        testResult({ id: test.id, status: "skipped", ms: 0, error: "cancelled" });
        continue;
      }
      currentId = id ?? test.id;
      const r = await runTest(test, renderer, wh, renderWithData);
      renderer.queryCache.clear();
      testResult(r);
      if (test.severity === "error" && (r.status === "fail" || r.status === "error")) {
        const why = r.status === "fail" ? `test ${test.name} failed (${r.failures} failing row${r.failures === 1 ? "" : "s"})` : `test ${test.name} errored: ${r.error}`;
        for (const a of test.attachedTo) failing.set(a, [...(failing.get(a) ?? []), why]);
      }
    }
    return failing;
  };
  /** A node that succeeded but whose blocking tests failed: an error, so its downstream is skipped. */
  const failByTests = (failing: Map<string, string[]>) => {
    for (const [id, why] of failing) {
      const earlier = results.find((r) => r.id === id);
      if (!earlier) {
        // Data this step does not build (a source): what reads it is skipped, as dbt build does.
        failedIds.add(id);
        renderer.failedIds.add(id);
        continue;
      }
      if (earlier.status !== "success") continue;
      earlier.status = "error";
      earlier.error = why.join("; ");
      failedIds.add(id);
      renderer.failedIds.add(id);
      succeeded.delete(id);
    }
  };

  try {
    // Tests that wait for no node of the step (checking data that is already there, a source).
    if (pendingTests.some((t) => t.waitFor.length === 0)) failByTests(await runReadyTests(undefined));
    for (const node of nodes) {
      currentId = node.id;
      const t0 = performance.now();
      const db0 = wh.dbMs;
      const finish = (r: Omit<EmbeddedNodeResult, "id" | "ms" | "dbMs">): void => {
        const ms = performance.now() - t0;
        const result: EmbeddedNodeResult = { id: node.id, ms, dbMs: wh.dbMs - db0, ...r };
        results.push(result);
        if (r.status !== "success") {
          failedIds.add(node.id);
          renderer.failedIds.add(node.id);
        }
        emit({ id: node.id, phase: r.status, rows: r.rows, ms, error: r.error });
      };

      if (ctx.signal?.aborted) {
        finish({ status: "skipped", error: "cancelled" });
        continue;
      }
      const failedUp = node.dependsOn?.find((d) => failedIds.has(d));
      if (failedUp) {
        finish({ status: "skipped", error: `skipped: upstream '${failedUp}' did not succeed` });
        continue;
      }
      emit({ id: node.id, phase: "start" });

      let relationKey: string | undefined;
      let relationSql: string | undefined;
      let compiledSql: string | undefined;
      let materialized: string | undefined;
      try {
        let outcome: MaterializeResult | undefined;
        if (node.resourceType === "seed") {
          materialized = "seed";
          const info = renderer.seedInfo(node);
          if (!info.ok) throw info.error;
          relationKey = info.relation.key;
          relationSql = info.relation.render();
          if (info.config.enabled === false) {
            finish({ status: "skipped", error: "disabled (enabled: false)", materialized });
            continue;
          }
          outcome = await MATERIALIZATIONS.seed.build(materializer, { relation: info.relation, sql: "", file: node.file, config: info.config, fullRefresh: !!ctx.fullRefresh, startedAt: runStartedAt });
        } else {
          if (!/\.(sql|ya?ml)$/i.test(node.file)) {
            throw new EmbeddedRenderError(`${node.file}: only SQL models can run on the embedded engine (Python models need dbt). ${DBT_ENGINE_HINT}`, node.file, undefined, "python model", true);
          }
          const rendered = await renderWithData(renderer, node, wh);
          compiledSql = rendered.sql;
          materialized = rendered.materialized;
          const rel = rendered.relation;
          // Upstreams of this step that failed, found through what the SQL references.
          const badRef = rendered.refIds.find((id) => failedIds.has(id)) ?? rendered.refKeys.find((k) => failedKeys.has(k));
          if (badRef) {
            finish({ status: "skipped", error: `skipped: upstream '${badRef}' did not succeed`, compiledSql, materialized });
            failedKeys.add(rel.key);
            continue;
          }
          if (rendered.config.enabled === false) {
            finish({ status: "skipped", error: "disabled (enabled: false)", compiledSql, materialized });
            continue;
          }
          if (findMaterialization(materialized, node.resourceType)?.builds === false) {
            finish({ status: "success", compiledSql, materialized });
            if (pendingTests.length > 0) failByTests(await runReadyTests(node.id));
            continue;
          }
          relationKey = rel.key;
          relationSql = rel.render();
          outcome = await materialize(materializer, rendered.materialized, rel, rendered.sql, rendered.config, node, rendered.preHooks, rendered.postHooks, !!ctx.fullRefresh, runStartedAt);
        }
        renderer.invalidate(relationKey);
        finish({ status: "success", rows: outcome.rows, compiledSql, relation: relationSql, materialized });
        if (pendingTests.length > 0) failByTests(await runReadyTests(node.id));
      } catch (e) {
        renderer.invalidate(relationKey);
        if (!relationKey) {
          try {
            relationKey = renderer.relationFor(node, renderer.effectiveConfig(node)).key;
          } catch {
            /* the name itself cannot be computed */
          }
        }
        if (relationKey) failedKeys.add(relationKey);
        const cancelled = ctx.signal?.aborted;
        if (e instanceof EmbeddedRenderError && e.failedUpstream) {
          finish({ status: "skipped", error: e.message, materialized });
          continue;
        }
        finish({ status: cancelled ? "skipped" : "error", error: cancelled ? "cancelled" : describeNodeError(e, node), compiledSql, relation: relationSql, materialized });
      }
    }
    for (const test of pendingTests) {
      const failed = test.waitFor.find((w) => !succeeded.has(w));
      testResult({ id: test.id, status: "skipped", ms: 0, error: ctx.signal?.aborted ? "cancelled" : `'${failed}' did not succeed` });
    }
  } finally {
    ctx.signal?.removeEventListener("abort", onAbort);
  }
  return results;
}

/** Renders, answering the renderer's database questions (run_query, columns) as they come. */
async function renderWithData(renderer: DbtRenderer, node: EmbeddedNode, wh: Warehouse): Promise<RenderedNode> {
  for (let round = 0; round < MAX_DATA_ROUNDS; round++) {
    const out = renderer.renderNode(node);
    if (out.ok) return out.value;
    if ("error" in out) throw out.error;
    const need = out.need;
    if (need.kind === "query") {
      try {
        const r = await wh.queryWithColumns(need.sql);
        renderer.answer(need, r);
      } catch (e) {
        throw new Error(`run_query / statement failed while rendering: ${e instanceof Error ? e.message : String(e)}\n--- query ---\n${need.sql}`);
      }
    } else {
      renderer.answer(need, { rows: [], columns: await wh.columns(need.schema, need.identifier) });
    }
  }
  throw new Error(`rendering needed more than ${MAX_DATA_ROUNDS} database round trips`);
}

async function materialize(
  m: Materializer,
  materialized: string,
  rel: DbtRelation,
  sql: string,
  config: Record<string, unknown>,
  node: EmbeddedNode,
  pre: string[],
  post: string[],
  fullRefreshFlag: boolean,
  runStartedAt: Date,
): Promise<MaterializeResult> {
  const fullRefresh = config.full_refresh === true || config.full_refresh === false ? config.full_refresh : fullRefreshFlag;
  const materialization = materializationNamed(node.resourceType === "snapshot" ? "snapshot" : materialized, node.resourceType);
  await m.runHooks(pre);
  if (config.sql_header) await m.runHooks([String(config.sql_header)]);
  const out = await materialization.build(m, { relation: rel, sql, file: node.file, config, fullRefresh, startedAt: runStartedAt });
  await m.runHooks(post);
  return out;
}

function describeNodeError(e: unknown, node: EmbeddedNode): string {
  const kind = node.resourceType;
  if (e instanceof EmbeddedRenderError) return e.message;
  if (e instanceof UnsupportedFeatureError) return `${node.file}: the embedded engine cannot run ${e.construct} in ${kind} ${node.name}: ${e.message}. ${DBT_ENGINE_HINT}`;
  const msg = e instanceof Error ? e.message : String(e);
  return `Database Error in ${kind} ${node.name} (${node.file}): ${msg}`;
}
