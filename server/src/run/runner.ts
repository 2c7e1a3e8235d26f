/**
 * The runner: executes a plan step by step. dbt steps run on the embedded DuckDB engine or the real
 * dbt CLI; TS steps run in a child process. Every run, step and materialization is recorded in the
 * history as it happens; a failed step skips its downstream steps while independent branches go on;
 * cancel stops the running steps and records the run as cancelled.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Plan, PlanStep } from "../protocol/plan";
import type { AssetCheck, CheckOutcome, CheckResultRecord } from "../protocol/checks";
import type { MaterializationRecord, RunStatus, StepStatus } from "../protocol/history";
import type { Engine, RunEvent } from "../protocol/runEvents";
import type { WorkspaceIndex } from "../index/workspace";
import type { RunContext } from "./context";
import { dbtChecksOf, embeddedTests, outcomeOf } from "./checks";
import { runDbtStep, type DbtCliNode, type DbtTestResult } from "./dbtCli";
import { runEmbeddedStep } from "./embedded/engine";
import { Warehouse } from "./warehouse";
import { checkWholeNumber, describeFsError, RunError } from "./errors";
import { HistoryStore, newRunId } from "./history";
import { acquireWarehouseLock, type LockInfo, type WarehouseLock } from "./warehouseLock";
import { codeVersion } from "./status";
import type { InputSpec, TsStepRequest } from "./ts/protocol";
import { ioNeedsRelation, ioUsesWarehouse } from "./ts/io";
import { precompile } from "./ts/transpile";
import { runTsStep } from "./ts/tsStep";

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
  /** Run the assets' checks (dbt tests, TS checks) after they materialize. Default true. */
  checks?: boolean;
  /** Materialize nothing: only run the checks of the selected assets on the data that is there. */
  checksOnly?: boolean;
}

export interface RunSummary {
  runId: string;
  status: RunStatus;
  ms: number;
  failed: { assetId: string; error: string }[];
  skipped: string[];
  materialized: { assetId: string; rows?: number; ms: number }[];
  /** Results of the assets' checks, in the order they ran. */
  checks?: { checkId: string; name: string; assets: string[]; status: CheckOutcome; severity: "error" | "warn"; failures?: number; message?: string }[];
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
  const summary: RunSummary = { runId, status: "running", ms: 0, failed: [], skipped: [], materialized: [], checks: [] };
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
  /** Step id -> the dbt checks it runs (each check in the step holding the last planned asset it reads). */
  private readonly stepChecks = new Map<string, AssetCheck[]>();
  /** Check id -> why it cannot run in this run. */
  private readonly unrunnable = new Map<string, string>();

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
    const extra = this.options.checks !== false || this.options.checksOnly ? this.assignChecks(plan) : [];
    const pending = [...plan.steps, ...extra];
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

  /**
   * Gives each dbt check to the step holding the last planned asset it reads. Checks of selected
   * external sources (which no step builds) go to the first dbt step of their project, or to an
   * extra step of their own, returned.
   */
  private assignChecks(plan: Plan): PlanStep[] {
    const stepIndex = new Map<string, number>();
    plan.steps.forEach((step, i) => step.assets.forEach((a) => stepIndex.set(a, i)));
    const all = dbtChecksOf(this.ctx.index, [...plan.steps.filter((s) => s.kind === "dbt").flatMap((s) => s.assets), ...plan.external]);
    const extra: PlanStep[] = [];
    for (const check of all) {
      let last = Math.max(...[...check.assets, ...check.reads].map((a) => stepIndex.get(a) ?? -1));
      if (last < 0) {
        if (!check.assets.every((a) => plan.external.includes(a))) continue;
        last = plan.steps.findIndex((s) => s.kind === "dbt" && s.project === check.project);
        if (last < 0) {
          let own = extra.find((s) => s.project === check.project);
          if (!own) extra.push((own = { id: `checks-${extra.length + 1}`, kind: "dbt", assets: [], project: check.project, dependsOn: [], parallelGroup: 0 }));
          this.stepChecks.set(own.id, [...(this.stepChecks.get(own.id) ?? []), check]);
          continue;
        }
      }
      const step = plan.steps[last];
      // Like dbt's `buildable` selection: a check reading a model this run does not build, and that
      // was never built, would only fail on a missing table.
      const graph = this.ctx.index.graph;
      const unbuilt = check.reads.find((r) => !stepIndex.has(r) && graph.get(r)?.kind !== "dbt_source" && !this.history.lastSuccess(r));
      if (unbuilt && !this.options.checksOnly) {
        this.unrunnable.set(check.id, `it reads ${unbuilt}, which is not in this run and was never materialized`);
      }
      this.stepChecks.set(step.id, [...(this.stepChecks.get(step.id) ?? []), check]);
    }
    return extra;
  }

  private recordCheck(step: PlanStep, check: { id: string; name: string; assets: string[]; severity: "error" | "warn" }, status: CheckOutcome, extra: { failures?: number; ms: number; message?: string; compiledSql?: string }): void {
    const record: CheckResultRecord = { checkId: check.id, name: check.name, assets: check.assets, runId: this.runId, stepId: step.id, at: new Date().toISOString(), status, durationMs: Math.round(extra.ms) };
    if (extra.failures !== undefined) record.failures = extra.failures;
    if (extra.message) record.message = extra.message;
    if (extra.compiledSql) record.compiledSql = extra.compiledSql;
    this.write(() => this.history.recordCheck(record));
    const entry = { checkId: check.id, name: check.name, assets: check.assets, status, severity: check.severity, ...(extra.failures !== undefined ? { failures: extra.failures } : {}), ...(extra.message ? { message: extra.message } : {}) };
    (this.summary.checks ??= []).push(entry);
    this.emit({ type: "check_result", runId: this.runId, stepId: step.id, ...entry });
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
    // Checking only: an asset without TS checks has nothing to do.
    if (this.options.checksOnly && !(this.ctx.index.checks().byAsset.get(assetId) ?? []).some((c) => c.kind === "ts")) return [];
    const graph = this.ctx.index.graph;
    const node = graph.get(assetId)!;
    const inputs: InputSpec[] = graph.upstream(assetId).map((up) => {
      const upstream = graph.get(up)!;
      const io = upstream.kind === "ts_asset" && !upstream.producedByTs ? upstream.materialized ?? "json" : "table";
      return { name: upstream.key[upstream.key.length - 1], key: upstream.key, io, relation: ioNeedsRelation(io) ? this.ctx.relationOf(up) : undefined };
    });
    const io = node.materialized ?? "json";
    const needsWarehouse = ioUsesWarehouse(io) || inputs.some((i) => ioUsesWarehouse(i.io));
    const release = needsWarehouse ? await this.warehouse.lock() : () => undefined;
    const started = new Date();
    this.emit({ type: "asset_start", runId: this.runId, stepId: step.id, assetId });
    const cacheDir = path.join(this.ctx.root, ".tributary", "build");
    const externalChecks = (this.ctx.index.checks().byAsset.get(assetId) ?? []).filter((c) => c.kind === "ts" && c.exportName).map((c) => ({ file: c.file, exportName: c.exportName! }));
    precompile(cacheDir, [...new Set([node.file!, ...externalChecks.map((c) => c.file)].flatMap((f) => localModules(this.ctx.index, f)))]);
    try {
      const result = await runTsStep(
        {
          file: node.file!,
          exportName: node.exportName,
          key: node.key,
          runId: this.runId,
          inputs,
          output: { io, relation: ioNeedsRelation(io) ? this.ctx.relationOf(assetId) : undefined },
          warehousePath: this.ctx.targetForAsset(assetId).path,
          storageDir: this.ctx.storageDir,
          cacheDir,
          dagster: this.options.dagster,
          runnerPid: process.pid,
          lock: { file: this.lock.file, token: this.lock.info.token },
          runChecks: this.options.checks !== false || this.options.checksOnly === true,
          checksOnly: this.options.checksOnly === true,
          externalChecks,
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
        const blocking = this.recordTsChecks(step, assetId, result.checks ?? []);
        if (this.options.checksOnly) {
          if (blocking.length > 0) this.summary.failed.push({ assetId, error: blocking.join("; ") });
          return [];
        }
        if (blocking.length > 0) {
          const error = blocking.join("; ");
          this.record(step, assetId, started, result.ms, { ok: false, error }, result.log);
          return [{ assetId, error }];
        }
        this.record(step, assetId, started, result.ms, { ok: true, rows: result.rows, metadata: result.metadata }, result.log);
        return [];
      }
      const error = result.error ?? result.status;
      if (this.options.checksOnly) {
        // The stored value could not be read (never materialized?): the checks could not run; nothing was materialized.
        this.summary.failed.push({ assetId, error: `its checks could not run: ${firstLine(error)}` });
        return [];
      }
      this.record(step, assetId, started, result.ms, { ok: false, error }, result.log);
      return [{ assetId, error }];
    } finally {
      release();
    }
  }

  /** Records a TS asset's check results; returns why its blocking checks failed. */
  private recordTsChecks(step: PlanStep, assetId: string, outcomes: { name: string; passed: boolean; failures?: number; message?: string; ms: number; error?: string; blocking?: boolean }[]): string[] {
    const declared = new Map((this.ctx.index.checks().byAsset.get(assetId) ?? []).filter((c) => c.kind === "ts").map((c) => [c.name, c]));
    const blocking: string[] = [];
    for (const o of outcomes) {
      // What the check said at run time wins over what could be read statically (a computed `checks` list).
      const severity: "error" | "warn" = o.blocking === false ? "warn" : (declared.get(o.name)?.severity ?? "error");
      const check = { ...(declared.get(o.name) ?? { id: `${assetId}:${o.name}`, name: o.name, assets: [assetId] }), severity };
      const status: CheckOutcome = o.error ? "error" : o.passed ? "passed" : check.severity === "warn" ? "warned" : "failed";
      this.recordCheck(step, check, status, { failures: o.failures, ms: o.ms, message: o.error ?? o.message });
      if (check.severity === "error" && (status === "failed" || status === "error")) blocking.push(`check ${o.name} ${status === "failed" ? "failed" : "errored"}${o.failures !== undefined ? ` (${o.failures} failing)` : ""}${o.message ? `: ${o.message}` : ""}`);
    }
    return blocking;
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
          projectTargetPath: projectFiles.project.targetPath,
          profilesDir: existsSync(path.join(projectFiles.project.root, "profiles.yml")) ? projectFiles.project.root : undefined,
          vars: this.options.vars,
          signal: this.signal,
          onNodeEvent: onNode,
          onLog: (line) => this.logLine(step, log, "dbt", line),
          tests: this.options.checksOnly ? "only" : this.options.checks === false ? "exclude" : "include",
        });
        const lost = !this.lock.held();
        const blocked = this.recordDbtTests(step, result.tests);
        if (this.options.checksOnly) {
          for (const [assetId, why] of blocked) this.summary.failed.push({ assetId, error: why.join("; ") });
          return [];
        }
        for (const r of result.results) {
          if (lost && r.status === "success") {
            this.finishNode(step, r.id, starts, r.ms ?? 0, "error", r.rows, LOST_LOCK, log, failures);
            continue;
          }
          const why = r.status === "success" ? blocked.get(r.id) : undefined;
          this.finishNode(step, r.id, starts, r.ms ?? 0, why ? "error" : r.status, r.rows, why ? why.join("; ") : r.message, log, failures);
        }
        if (result.results.length === 0 && !result.cancelled && result.exitCode !== 0) {
          for (const n of nodes) failures.push({ assetId: n.id, error: `dbt exited with code ${result.exitCode}:\n${result.log.slice(-1500)}` });
        }
        return failures;
      }
      const target = this.ctx.target(project);
      const warehouse = await Warehouse.open(target.path);
      const checks = (this.stepChecks.get(step.id) ?? []).filter((c) => {
        const why = this.unrunnable.get(c.id);
        if (why) this.recordCheck(step, c, "skipped", { ms: 0, message: why });
        return !why;
      });
      const checksById = new Map(checks.map((c) => [c.id, c]));
      const checksOnly = this.options.checksOnly === true;
      const checkFailures: { assetId: string; error: string }[] = [];
      try {
        const results = await runEmbeddedStep(checksOnly ? [] : nodes, {
          tests: embeddedTests(this.ctx.index, checks, checksOnly ? [] : step.assets, this.ctx),
          onTestResult: (r) => {
            const check = checksById.get(r.id);
            if (!check) return;
            const status = outcomeOf(r.status);
            this.logLine(step, log, status === "passed" ? "info" : status === "warned" ? "warn" : "error", `check ${check.name}: ${status}${r.failures ? ` (${r.failures} failing row${r.failures === 1 ? "" : "s"})` : ""}${r.error ? `: ${r.error}` : ""}`);
            this.recordCheck(step, check, status, { failures: r.failures, ms: r.ms, message: r.error, compiledSql: r.sql });
            // A blocking failure on data this step does not build (checking only, or a source's test) fails the step.
            const external = checksOnly || !check.assets.some((a) => step.assets.includes(a));
            if (external && check.severity === "error" && (status === "failed" || status === "error")) for (const a of check.assets) checkFailures.push({ assetId: a, error: `check ${check.name} ${status}${r.failures ? ` (${r.failures} failing row${r.failures === 1 ? "" : "s"})` : ""}` });
          },
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
      // Checking only: a failed check fails the run, but the other steps' checks still run.
      if (checksOnly) this.summary.failed.push(...checkFailures);
      return checksOnly ? [] : [...checkFailures, ...failures];
    } finally {
      release();
    }
  }

  /** Records the tests `dbt build` / `dbt test` ran; returns, per asset, why its blocking tests failed. */
  private recordDbtTests(step: PlanStep, tests: DbtTestResult[]): Map<string, string[]> {
    const checks = this.ctx.index.checks().byId;
    const blocked = new Map<string, string[]>();
    for (const t of tests) {
      const parts = t.uniqueId.split(".");
      const name = parts[0] === "unit_test" ? parts[parts.length - 1] : parts[2] ?? t.name;
      const known = checks.get(`${parts[1]}.${name}`);
      const assets = known?.assets ?? (t.attachedTo ? [t.attachedTo] : []);
      const check = { id: known?.id ?? `${parts[1]}.${name}`, name, assets, severity: known?.severity ?? ("error" as const) };
      const status: CheckOutcome = t.status === "pass" ? "passed" : t.status === "fail" ? "failed" : t.status === "warn" ? "warned" : t.status;
      this.recordCheck(step, check, status, { failures: t.failures, ms: t.ms ?? 0, message: status === "passed" ? undefined : t.message, compiledSql: t.compiledSql });
      if (status === "failed" || status === "error") {
        const why = `test ${name} ${status === "failed" ? `failed${t.failures !== undefined ? ` (${t.failures} failing row${t.failures === 1 ? "" : "s"})` : ""}` : `errored: ${t.message ?? ""}`}`;
        for (const a of assets) blocked.set(a, [...(blocked.get(a) ?? []), why]);
      }
    }
    return blocked;
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
