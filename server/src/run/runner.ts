/**
 * The runner: executes a plan step by step. dbt steps run on the embedded DuckDB engine or the real
 * dbt CLI; TS steps run in a child process. Every run, step and materialization is recorded in the
 * history as it happens; a failed step skips its downstream steps while independent branches go on;
 * cancel stops the running steps and records the run as cancelled.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Plan, PlanStep } from "../protocol/plan";
import type { CheckOutcome, MaterializationRecord, RunStatus, StepStatus } from "../protocol/history";
import type { WorkspaceIndex } from "../index/workspace";
import type { RunContext } from "./context";
import { runDbtStep, type DbtCliNode } from "./dbtCli";
import { runEmbeddedStep } from "./embedded/engine";
import { Warehouse } from "./embedded/warehouse";
import { checkWholeNumber, describeFsError, RunError } from "./errors";
import { acquireWarehouseLock, HistoryStore, newRunId, type LockInfo, type WarehouseLock } from "./history";
import { codeVersion } from "./status";
import type { InputSpec, TsStepRequest } from "./ts/protocol";
import { precompile } from "./ts/transpile";
import { runTsStep } from "./ts/tsStep";

export type Engine = "embedded" | "dbt";

export type RunEvent =
  | { type: "run_start"; runId: string; selection: string; engine: Engine; plan: Plan }
  | { type: "step_start"; runId: string; stepId: string; kind: "dbt" | "ts"; assets: string[] }
  | { type: "asset_start"; runId: string; stepId: string; assetId: string }
  | { type: "asset_materialized"; runId: string; stepId: string; assetId: string; rows?: number; ms: number }
  | { type: "asset_failed"; runId: string; stepId: string; assetId: string; error: string }
  | { type: "log"; runId: string; stepId: string; level: string; message: string }
  | { type: "step_end"; runId: string; stepId: string; status: StepStatus; ms: number }
  | { type: "step_failed"; runId: string; stepId: string; error: string; assets: string[] }
  | { type: "step_skipped"; runId: string; stepId: string; reason: string }
  | { type: "run_end"; runId: string; status: RunStatus; ms: number; failed: { assetId: string; error: string }[]; skipped: string[] };

export interface RunOptions {
  selection: string;
  engine?: Engine;
  dbtExecutable?: string;
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  /** Steps that may run at once (steps touching the warehouse still take turns). Default 2. */
  concurrency?: number;
  /** Wait for another run holding the warehouse instead of refusing. */
  waitForLock?: boolean;
  /** With `waitForLock`: give up after this long. */
  waitTimeoutMs?: number;
  /** With `waitForLock`: called when waiting starts and whenever the holder changes. */
  onWait?(holder: LockInfo): void;
  signal?: AbortSignal;
  trigger?: string;
  onEvent?(event: RunEvent): void;
  /** Node executable for TS steps. */
  nodePath?: string;
  /** When Dagster launched the run through Pipes: given to TS assets as `ctx.dagster`. */
  dagster?: TsStepRequest["dagster"];
}

export interface RunSummary {
  runId: string;
  status: RunStatus;
  ms: number;
  failed: { assetId: string; error: string }[];
  skipped: string[];
  materialized: { assetId: string; rows?: number; ms: number }[];
}

/** Why a step's outcome is not recorded as a success: the lock file no longer names this run. */
const LOST_LOCK = "the run no longer holds the warehouse lock (it was removed or taken over by another process), so this is not recorded as materialized";

/** One turn at a time on the warehouse file: DuckDB allows a single writing process. */
class Mutex {
  private tail = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

export async function runPlan(ctx: RunContext, plan: Plan, options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const engine = options.engine ?? "embedded";
  if (options.concurrency !== undefined) checkWholeNumber("concurrency", options.concurrency);
  const history = HistoryStore.open(ctx.root); // a RunError when it cannot be read
  const runId = newRunId();
  const emit = (event: RunEvent) => options.onEvent?.(event);
  const lock: WarehouseLock = await acquireWarehouseLock(ctx.root, { runId, wait: options.waitForLock ?? false, timeoutMs: options.waitTimeoutMs, signal: options.signal, onWait: options.onWait });
  const summary: RunSummary = { runId, status: "running", ms: 0, failed: [], skipped: [], materialized: [] };
  try {
    try {
      history.startRun({ id: runId, selection: options.selection, plan, engine, trigger: options.trigger ?? "cli" });
    } catch (error) {
      summary.status = "failed";
      throw new RunError(`${historyWriteFailure(history, error)}; nothing was run.`);
    }
    emit({ type: "run_start", runId, selection: options.selection, engine, plan });
    const executor = new StepExecutor(ctx, history, runId, engine, options, emit, summary, lock);
    // Never throws: every step has stopped when it returns, so the lock is held until then.
    await executor.runAll(plan);
    if (executor.historyError !== undefined) {
      summary.status = "failed";
      const message = `${historyWriteFailure(history, executor.historyError)}; the run was stopped and what it did since is not recorded.`;
      try {
        history.endRun(runId, "failed", message);
      } catch {
        // the run shows as interrupted once this process has ended
      }
      throw new RunError(message);
    }
    const notRun = executor.stepsNotSucceeded();
    summary.status = options.signal?.aborted ? "cancelled" : summary.failed.length > 0 || notRun.length > 0 ? "failed" : "success";
    const errors = summary.failed.map((f) => `${f.assetId}: ${firstLine(f.error)}`);
    if (summary.failed.length === 0 && notRun.length > 0) errors.push(`${notRun.length} of ${plan.steps.length} steps did not run (${notRun.join(", ")})`);
    history.endRun(runId, summary.status as Exclude<RunStatus, "running">, errors.length ? errors.join("; ") : undefined);
  } catch (error) {
    if (summary.status === "running") {
      summary.status = "failed";
      try {
        history.endRun(runId, "failed", error instanceof Error ? error.message : String(error));
      } catch (writeError) {
        throw new RunError(`${historyWriteFailure(history, writeError)}; the run could not be recorded as ended.`);
      }
    }
    throw error;
  } finally {
    lock.release();
    summary.ms = performance.now() - started;
    emit({ type: "run_end", runId, status: summary.status, ms: summary.ms, failed: summary.failed, skipped: summary.skipped });
  }
  return summary;
}

function historyWriteFailure(history: HistoryStore, error: unknown): string {
  return `Could not write the run history ${history.file}: ${describeFsError(error)}`;
}

class StepExecutor {
  private readonly warehouse = new Mutex();
  private readonly status = new Map<string, StepStatus>();
  /** Aborted when the caller cancels, or when the history cannot be written (the run stops). */
  private readonly stop = new AbortController();
  readonly signal = this.stop.signal;
  private planned: string[] = [];
  /** The first failed history write: the run stops and records nothing more. */
  historyError: unknown;

  constructor(
    private readonly ctx: RunContext,
    private readonly history: HistoryStore,
    private readonly runId: string,
    private readonly engine: Engine,
    private readonly options: RunOptions,
    private readonly emit: (event: RunEvent) => void,
    private readonly summary: RunSummary,
    private readonly lock: WarehouseLock,
  ) {
    const outer = options.signal;
    if (outer?.aborted) this.stop.abort(outer.reason);
    else outer?.addEventListener("abort", this.onOuterAbort, { once: true });
  }

  private readonly onOuterAbort = () => this.stop.abort(this.options.signal?.reason);

  /** Ids of the steps that did not succeed (skipped, cancelled, failed or never started). */
  stepsNotSucceeded(): string[] {
    return this.planned.filter((id) => this.status.get(id) !== "success");
  }

  /** A history write; the first failure stops the run (running steps are cancelled) and later writes are not tried. */
  private write(what: () => void): void {
    if (this.historyError !== undefined) return;
    try {
      what();
    } catch (error) {
      this.historyError = error ?? new Error("unknown error");
      this.stop.abort(new RunError("the run history cannot be written"));
    }
  }

  /** Starts every step whose dependencies succeeded, up to the concurrency limit, until none is left. Never rejects. */
  async runAll(plan: Plan): Promise<void> {
    try {
      await this.runSteps(plan);
    } finally {
      this.options.signal?.removeEventListener("abort", this.onOuterAbort);
    }
  }

  private async runSteps(plan: Plan): Promise<void> {
    const limit = this.options.concurrency ?? 2;
    const pending = [...plan.steps];
    this.planned = plan.steps.map((s) => s.id);
    const running = new Set<Promise<void>>();
    while (pending.length > 0 || running.size > 0) {
      if (this.signal.aborted) {
        for (const step of pending.splice(0)) this.skip(step, this.historyError !== undefined ? "the run history cannot be written" : "the run was cancelled", "cancelled");
      }
      for (let i = 0; i < pending.length && running.size < limit; ) {
        const step = pending[i];
        const deps = step.dependsOn.map((d) => this.status.get(d));
        const blocked = step.dependsOn.find((d) => ["failed", "skipped", "cancelled"].includes(this.status.get(d) ?? ""));
        if (blocked) {
          pending.splice(i, 1);
          this.skip(step, `upstream step ${blocked} did not succeed`);
          continue;
        }
        if (deps.every((s) => s === "success")) {
          pending.splice(i, 1);
          const task = this.runStep(step)
            .catch((error: unknown) => {
              // Only a listener or bookkeeping bug gets here: the step counts as failed, the others go on.
              this.status.set(step.id, "failed");
              this.summary.failed.push(...step.assets.map((assetId) => ({ assetId, error: error instanceof Error ? error.message : String(error) })));
            })
            .finally(() => running.delete(task));
          running.add(task);
          continue;
        }
        i++;
      }
      if (running.size > 0) await Promise.race(running);
      else if (pending.length > 0 && !this.signal.aborted) {
        // Nothing can start and nothing runs: the plan's dependencies cannot be met.
        for (const step of pending.splice(0)) this.skip(step, "its dependencies can never complete");
      }
    }
  }

  private skip(step: PlanStep, reason: string, status: "skipped" | "cancelled" = "skipped"): void {
    this.status.set(step.id, status);
    const now = new Date().toISOString();
    this.write(() => this.history.startStep({ runId: this.runId, stepId: step.id, kind: step.kind, assets: step.assets, status, startedAt: now, endedAt: now, error: reason }));
    if (status === "skipped") this.summary.skipped.push(...step.assets);
    this.emit({ type: "step_skipped", runId: this.runId, stepId: step.id, reason });
  }

  private async runStep(step: PlanStep): Promise<void> {
    const started = performance.now();
    this.status.set(step.id, "running");
    this.write(() => this.history.startStep({ runId: this.runId, stepId: step.id, kind: step.kind, assets: step.assets, startedAt: new Date().toISOString() }));
    this.emit({ type: "step_start", runId: this.runId, stepId: step.id, kind: step.kind, assets: step.assets });
    const log: string[] = [];
    let failures: { assetId: string; error: string }[] = [];
    try {
      if (this.signal.aborted) throw new Error("cancelled");
      if (!this.lock.held()) throw new Error(`not run: ${LOST_LOCK}`);
      failures = step.kind === "ts" ? await this.runTs(step, log) : await this.runDbt(step, log);
    } catch (error) {
      failures = step.assets.map((assetId) => ({ assetId, error: error instanceof Error ? error.message : String(error) }));
    }
    const cancelled = this.signal.aborted;
    const status: StepStatus = cancelled ? "cancelled" : failures.length > 0 ? "failed" : "success";
    this.status.set(step.id, status);
    this.write(() => this.history.endStep(this.runId, step.id, status, { error: failures.map((f) => `${f.assetId}: ${f.error}`).join("\n") || undefined, log: log.join("\n") }));
    if (status === "failed") {
      this.summary.failed.push(...failures);
      this.emit({ type: "step_failed", runId: this.runId, stepId: step.id, error: failures.map((f) => `${f.assetId}: ${f.error}`).join("\n"), assets: failures.map((f) => f.assetId) });
    }
    this.emit({ type: "step_end", runId: this.runId, stepId: step.id, status, ms: performance.now() - started });
  }

  private logLine(step: PlanStep, log: string[], level: string, message: string): void {
    log.push(`[${level}] ${message}`);
    this.emit({ type: "log", runId: this.runId, stepId: step.id, level, message });
  }

  private record(step: PlanStep, assetId: string, started: Date, ms: number, outcome: { ok: true; rows?: number; metadata?: Record<string, unknown>; checks?: CheckOutcome[] } | { ok: false; error: string }, log: string[]): void {
    const graph = this.ctx.index.graph;
    const node = graph.get(assetId)!;
    const materialization: MaterializationRecord = {
      assetId,
      key: node.key,
      runId: this.runId,
      stepId: step.id,
      startedAt: started.toISOString(),
      endedAt: new Date().toISOString(),
      status: outcome.ok ? "success" : "failed",
      durationMs: Math.round(ms),
      rows: outcome.ok ? outcome.rows : undefined,
      codeVersion: currentCodeVersion(this.ctx.index, assetId) ?? "unknown",
      upstreamVersions: this.history.dataVersions(graph.upstream(assetId)),
      metadata: outcome.ok ? outcome.metadata : undefined,
      checks: outcome.ok && outcome.checks?.length ? outcome.checks : undefined,
      log: log.slice(-40).join("\n") || undefined,
      error: outcome.ok ? undefined : outcome.error,
    };
    this.write(() => this.history.recordMaterialization(materialization));
    if (this.historyError !== undefined) return; // not recorded: not reported as done either
    if (outcome.ok) {
      this.summary.materialized.push({ assetId, rows: outcome.rows, ms });
      this.emit({ type: "asset_materialized", runId: this.runId, stepId: step.id, assetId, rows: outcome.rows, ms });
    } else {
      this.emit({ type: "asset_failed", runId: this.runId, stepId: step.id, assetId, error: outcome.error });
    }
  }

  // ------------------------------------------------------------------ TS steps

  private async runTs(step: PlanStep, log: string[]): Promise<{ assetId: string; error: string }[]> {
    const assetId = step.assets[0];
    const graph = this.ctx.index.graph;
    const node = graph.get(assetId)!;
    const inputs: InputSpec[] = graph.upstream(assetId).map((up) => {
      const upstream = graph.get(up)!;
      const io = upstream.kind === "ts_asset" && !upstream.producedByTs ? upstream.materialized ?? "json" : "table";
      return { name: upstream.key[upstream.key.length - 1], key: upstream.key, io, relation: io === "table" ? this.ctx.relationOf(up) : undefined };
    });
    const io = node.materialized ?? "json";
    const needsWarehouse = io !== "json" || inputs.some((i) => i.io !== "json");
    const release = needsWarehouse ? await this.warehouse.lock() : () => undefined;
    const started = new Date();
    this.emit({ type: "asset_start", runId: this.runId, stepId: step.id, assetId });
    const cacheDir = path.join(this.ctx.root, ".tributary", "build");
    precompile(cacheDir, localModules(this.ctx.index, node.file!));
    try {
      const result = await runTsStep(
        {
          file: node.file!,
          exportName: node.exportName,
          key: node.key,
          runId: this.runId,
          inputs,
          output: { io, relation: io === "table" ? this.ctx.relationOf(assetId) : undefined },
          warehousePath: this.ctx.targetForAsset(assetId).path,
          storageDir: this.ctx.storageDir,
          cacheDir,
          dagster: this.options.dagster,
          runnerPid: process.pid,
          lock: { file: this.lock.file, token: this.lock.info.token },
        },
        { signal: this.signal, nodePath: this.options.nodePath, onLog: (level, message) => this.logLine(step, [], level, message) },
      );
      log.push(...result.log);
      // A cancelled asset produced nothing: no materialization is recorded for it.
      if (result.status === "cancelled") return [];
      if (result.status === "success" && !this.lock.held()) {
        this.record(step, assetId, started, result.ms, { ok: false, error: LOST_LOCK }, result.log);
        return [{ assetId, error: LOST_LOCK }];
      }
      if (result.status === "success") {
        this.record(step, assetId, started, result.ms, { ok: true, rows: result.rows, metadata: result.metadata, checks: result.checks }, result.log);
        return [];
      }
      const error = result.error ?? result.status;
      this.record(step, assetId, started, result.ms, { ok: false, error }, result.log);
      return [{ assetId, error }];
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------ dbt steps

  private async runDbt(step: PlanStep, log: string[]): Promise<{ assetId: string; error: string }[]> {
    const graph = this.ctx.index.graph;
    const nodes = step.assets.map((id) => this.ctx.embeddedNode(graph.get(id)!));
    const project = step.project ?? graph.get(step.assets[0])!.project!;
    const projectFiles = this.ctx.projects.get(project);
    if (!projectFiles) throw new Error(`dbt project '${project}' is not in the workspace`);
    const starts = new Map<string, Date>();
    const failures: { assetId: string; error: string }[] = [];
    const onNode = (e: { id: string; phase: string; rows?: number; ms?: number; error?: string; message?: string }) => {
      if (e.phase === "start") {
        starts.set(e.id, new Date());
        this.emit({ type: "asset_start", runId: this.runId, stepId: step.id, assetId: e.id });
      }
    };
    const release = await this.warehouse.lock();
    try {
      if (this.engine === "dbt") {
        const cliNodes: DbtCliNode[] = nodes.map((n) => ({ id: n.id, name: n.name, resourceType: n.resourceType, packageName: project, version: graph.get(n.id)?.version }));
        const result = await runDbtStep(cliNodes, {
          executable: this.options.dbtExecutable ?? "dbt",
          projectDir: projectFiles.project.root,
          profilesDir: existsSync(path.join(projectFiles.project.root, "profiles.yml")) ? projectFiles.project.root : undefined,
          vars: this.options.vars,
          signal: this.signal,
          onNodeEvent: onNode,
          onLog: (line) => this.logLine(step, log, "dbt", line),
        });
        const lost = !this.lock.held();
        for (const r of result.results) {
          if (lost && r.status === "success") this.finishNode(step, r.id, starts, r.ms ?? 0, "error", r.rows, LOST_LOCK, log, failures);
          else this.finishNode(step, r.id, starts, r.ms ?? 0, r.status, r.rows, r.message, log, failures);
        }
        if (result.results.length === 0 && !result.cancelled && result.exitCode !== 0) {
          for (const n of nodes) failures.push({ assetId: n.id, error: `dbt exited with code ${result.exitCode}:\n${result.log.slice(-1500)}` });
        }
        return failures;
      }
      const target = this.ctx.target(project);
      const warehouse = await Warehouse.open(target.path);
      try {
        const results = await runEmbeddedStep(nodes, {
          project: { name: project, root: projectFiles.project.root, vars: projectFiles.project.vars },
          target,
          cliVars: this.options.vars ?? {},
          macroFiles: this.ctx.macroFiles(project),
          relations: this.ctx.relationResolver(project),
          connection: warehouse,
          fullRefresh: this.options.fullRefresh,
          onNodeEvent: onNode,
          onLog: (e) => this.logLine(step, log, e.level, `${e.id}: ${e.message}`),
          signal: this.signal,
          invocationId: this.runId,
        });
        const lost = !this.lock.held();
        for (const r of results) {
          if (lost && r.status === "success") this.finishNode(step, r.id, starts, r.ms, "error", r.rows, LOST_LOCK, log, failures);
          else this.finishNode(step, r.id, starts, r.ms, r.status, r.rows, r.error, log, failures);
        }
      } finally {
        warehouse.close();
      }
      return failures;
    } finally {
      release();
    }
  }

  private finishNode(step: PlanStep, id: string, starts: Map<string, Date>, ms: number, status: string, rows: number | undefined, error: string | undefined, log: string[], failures: { assetId: string; error: string }[]): void {
    if (status === "skipped") {
      this.summary.skipped.push(id);
      this.logLine(step, log, "info", `${id}: skipped (${error ?? "an upstream model failed"})`);
      return;
    }
    const started = starts.get(id) ?? new Date(Date.now() - ms);
    if (status === "success") {
      this.logLine(step, log, "info", `${id}: ${rows === undefined ? "done" : `${rows} rows`} in ${Math.round(ms)} ms`);
      this.record(step, id, started, ms, { ok: true, rows }, log);
    } else {
      const message = error ?? "failed";
      this.logLine(step, log, "error", `${id}: ${message}`);
      this.record(step, id, started, ms, { ok: false, error: message }, log);
      failures.push({ assetId: id, error: message });
    }
  }
}

/** The code version of an asset now: hash of the model SQL / seed CSV, or of the TS asset function. */
export function currentCodeVersion(index: WorkspaceIndex, id: string): string | undefined {
  const node = index.graph.get(id);
  if (!node?.file) return undefined;
  if (node.kind === "ts_asset") {
    const def = index.tsFacts(node.file)?.assets.find((a) => a.key?.join("/") === id);
    if (!def) return undefined;
    return def.codeVersion ?? codeVersion(def.fnText);
  }
  try {
    return codeVersion(readFileSync(node.file, "utf8"));
  } catch {
    return undefined;
  }
}

/** An asset file and the local TS modules it imports, transitively (from the index's import tables). */
function localModules(index: WorkspaceIndex, entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const facts = index.tsFacts(queue.pop()!);
    for (const imported of [...(facts?.imports ?? []).map((i) => i.from), ...(facts?.exports ?? []).map((e) => e.from)]) {
      if (imported && !seen.has(imported)) {
        seen.add(imported);
        queue.push(imported);
      }
    }
  }
  return [...seen];
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}
