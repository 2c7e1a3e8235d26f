/**
 * `tributary plan | materialize | status | history | show`: the planner and runner from a terminal
 * (`jobs` and `daemon` live in `./jobsCommands.ts`).
 * Human output by default (progress per step, a final table); `--json` for machines.
 */
import { describeSelectionError, selectAssets } from "../graph/selection";
import { formatKey } from "../graph/keys";
import type { WorkspaceIndex } from "../index/workspace";
import { planSelection } from "../plan/planner";
import type { AssetStatus } from "../protocol/status";
import type { Plan } from "../protocol/plan";
import { RunContext } from "../run/context";
import { Warehouse } from "../run/warehouse";
import { HistoryStore, unlockWarehouse } from "../run/history";
import type { LockInfo } from "../run/warehouseLock";
import { hostname } from "node:os";
import { relationSql } from "../run/ts/io";
import { chooseEngine } from "../run/engineChoice";
import type { Engine, RunEvent } from "../protocol/runEvents";
import { currentCodeVersion, runPlan, type RunSummary } from "../run/runner";
import { checkSummaries, describeCheck, describeChecks } from "../run/checkStatus";
import { computeStatus, describeStatus, formatDuration } from "../run/status";

export class CliError extends Error {}

/** Selection text -> asset ids, or a CliError naming the column and what was expected. */
export function select(index: WorkspaceIndex, root: string, text: string): string[] {
  // Statuses hash every model file: computed only when the selection uses `status:`.
  let statuses: Map<string, AssetStatus> | undefined;
  const statusOf = (id: string) => (statuses ??= computeStatus(index.graph, HistoryStore.open(root), (asset) => currentCodeVersion(index, asset))).get(id)?.state;
  const result = selectAssets(text, index.graph, { status: statusOf, root, checks: (id) => index.checks().byAsset.get(id) ?? [] });
  if (!result.ok) throw new CliError(`Invalid selection: ${describeSelectionError(result.error, text)}`);
  return [...result.ids];
}

export function planFor(index: WorkspaceIndex, root: string, text: string): Plan {
  const ids = select(index, root, text);
  if (ids.length === 0) throw new CliError(`The selection '${text}' matches no asset.`);
  return planSelection(index.graph, ids);
}

export function printPlan(plan: Plan, index: WorkspaceIndex): void {
  const name = (id: string) => formatKey(index.graph.get(id)?.key ?? [id]);
  console.log(`${plan.steps.length} steps, ${plan.selection.length} assets (${plan.steps.filter((s) => s.kind === "dbt").length} dbt invocations)`);
  for (const [i, step] of plan.steps.entries()) {
    const after = step.dependsOn.length ? `  after ${step.dependsOn.join(", ")}` : "";
    const head = step.kind === "dbt" ? `dbt ${step.project ?? ""}`.trim() : "ts";
    console.log(`${String(i + 1).padStart(3)}. [${step.id}] ${head}: ${step.assets.map(name).join(", ")}${after}`);
  }
  if (plan.inputs.length) console.log(`inputs (read, not rebuilt): ${plan.inputs.map(name).join(", ")}`);
  if (plan.external.length) console.log(`external (never executed): ${plan.external.map(name).join(", ")}`);
  for (const s of plan.skipped) console.log(`skipped ${name(s.id)}: ${s.reason}`);
}

/** What `materialize` and `jobs run` take from their flags, tributary.json and the environment. */
export interface CliRunSettings {
  engine?: Engine;
  json?: boolean;
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  wait?: boolean;
  waitTimeoutMs?: number;
  dbtExecutable?: string;
  concurrency?: number;
}

/** The runner's options that follow from those settings, the same for `materialize` and `jobs run`. */
export function runnerOptions(settings: CliRunSettings) {
  return {
    vars: settings.vars,
    fullRefresh: settings.fullRefresh,
    waitForLock: settings.wait,
    waitTimeoutMs: settings.waitTimeoutMs,
    onWait: printWaiting,
    concurrency: settings.concurrency,
  };
}

export interface MaterializeOptions extends CliRunSettings {
  retryFailed?: boolean;
  /** `--no-checks`: false. */
  checks?: boolean;
  /** `check-assets`: run the checks only. */
  checksOnly?: boolean;
}

export async function materialize(index: WorkspaceIndex, root: string, selection: string | undefined, options: MaterializeOptions): Promise<RunSummary> {
  let text = selection ?? "";
  let plan: Plan;
  if (options.retryFailed) {
    const store = HistoryStore.open(root);
    const targets = store.retryTargets();
    if (!targets || targets.assets.length === 0) throw new CliError("The last run has no failed or skipped steps to re-execute.");
    // Inside a failed dbt step, the models that did succeed in that run are not rebuilt.
    const succeeded = (id: string) => store.materializations(id, 5).some((m) => m.runId === targets.runId && m.status === "success");
    const known = targets.assets.filter((id) => index.graph.get(id) && !succeeded(id));
    plan = planSelection(index.graph, known);
    text = `retry of ${targets.runId} (${targets.selection})`;
  } else {
    if (!selection) throw new CliError("Give a selection, e.g. 'tributary materialize +fct_orders', or --retry-failed.");
    plan = planFor(index, root, selection);
  }
  const engine = chooseEngine(index, plan, options.engine, options.dbtExecutable);
  const cancel = cancelOnSignals(options.json === true);
  const progress = options.json ? undefined : new Progress(plan, index, options.checksOnly === true);
  if (progress && !options.checksOnly) printPlan(plan, index);
  try {
    const summary = await runPlan(new RunContext(index, root), plan, {
      selection: text,
      engine: engine.engine,
      dbtExecutable: engine.executable,
      ...runnerOptions(options),
      checks: options.checks,
      checksOnly: options.checksOnly,
      // Who asked for the run, for the history ("vscode" when the extension spawns the CLI).
      trigger: process.env.TRIBUTARY_TRIGGER || undefined,
      signal: cancel.signal,
      onEvent: (event) => (options.json ? process.stdout.write(JSON.stringify(event) + "\n") : progress!.on(event)),
    });
    if (progress) progress.finish(summary);
    return summary;
  } finally {
    cancel.dispose();
  }
}

/** Human progress: a bar per step as it runs, then a table of every asset. */
class Progress {
  private readonly done = new Map<string, number>();
  private readonly rows = new Map<string, { status: string; rows?: number; ms?: number; error?: string }>();
  private readonly tty = process.stdout.isTTY === true;

  constructor(
    private readonly plan: Plan,
    private readonly index: WorkspaceIndex,
    private readonly checksOnly = false,
  ) {}

  private name(id: string): string {
    return formatKey(this.index.graph.get(id)?.key ?? [id]);
  }

  private bar(stepId: string, current?: string): string {
    const step = this.plan.steps.find((s) => s.id === stepId)!;
    const done = this.done.get(stepId) ?? 0;
    const width = 20;
    const filled = Math.round((done / step.assets.length) * width);
    return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${step.assets.length} ${step.kind === "dbt" ? "dbt" : "ts "} ${current ? this.name(current) : ""}`;
  }

  on(event: RunEvent): void {
    switch (event.type) {
      case "run_start":
        console.log(`\nrun ${event.runId} (${event.engine} engine)`);
        break;
      case "asset_start":
        if (this.tty) process.stdout.write(`\r\x1b[2K${this.bar(event.stepId, event.assetId)}`);
        break;
      case "asset_materialized":
      case "asset_failed": {
        this.done.set(event.stepId, (this.done.get(event.stepId) ?? 0) + 1);
        const ok = event.type === "asset_materialized";
        this.rows.set(event.assetId, ok ? { status: "ok", rows: event.rows, ms: event.ms } : { status: "FAILED", error: event.error });
        const line = `${this.bar(event.stepId, event.assetId)} ${ok ? "✓" : "✗"}`;
        if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
        else console.log(line);
        break;
      }
      case "step_end":
        if (this.tty) process.stdout.write("\n");
        break;
      case "check_result": {
        const mark = event.status === "passed" ? "✓" : event.status === "warned" ? "!" : event.status === "skipped" ? "-" : "✗";
        const failures = event.failures ? ` (${event.failures} failing row${event.failures === 1 ? "" : "s"})` : "";
        const line = `  ${mark} check ${event.name} ${event.status}${failures}${event.message && event.status !== "passed" ? `: ${event.message.split("\n")[0]}` : ""}`;
        if (this.tty) process.stdout.write(`\r\x1b[2K${line}\n`);
        else console.log(line);
        break;
      }
      case "step_skipped":
        for (const id of this.plan.steps.find((s) => s.id === event.stepId)?.assets ?? []) this.rows.set(id, { status: "skipped", error: event.reason });
        console.log(`[${event.stepId}] skipped: ${event.reason}`);
        break;
      default:
        break;
    }
  }

  finish(summary: RunSummary): void {
    console.log("");
    const checks = summary.checks ?? [];
    if (checks.length > 0 || this.checksOnly) {
      const count = (s: string) => checks.filter((c) => c.status === s).length;
      console.log(`checks: ${count("passed")} passed, ${count("failed")} failed, ${count("warned")} warned, ${count("error")} errored, ${count("skipped")} skipped`);
    }
    if (this.checksOnly) {
      console.log(`run ${summary.runId} ${summary.status} in ${formatDuration(summary.ms)}`);
      return;
    }
    const width = Math.max(...this.plan.selection.map((id) => this.name(id).length), 5);
    console.log(`${"asset".padEnd(width)}  status   rows      time`);
    for (const step of this.plan.steps) {
      for (const id of step.assets) {
        const row = this.rows.get(id) ?? { status: summary.skipped.includes(id) ? "skipped" : "—" };
        console.log(`${this.name(id).padEnd(width)}  ${row.status.padEnd(7)}  ${(row.rows === undefined ? "" : String(row.rows)).padStart(6)}  ${row.ms === undefined ? "" : formatDuration(row.ms).padStart(8)}`);
      }
    }
    console.log(`\nrun ${summary.runId} ${summary.status} in ${formatDuration(summary.ms)}`);
    for (const failure of summary.failed) console.log(`  ✗ ${this.name(failure.assetId)}: ${failure.error}`);
  }
}

export function status(index: WorkspaceIndex, root: string, selection: string | undefined, json: boolean): void {
  const history = HistoryStore.open(root);
  const statuses = computeStatus(index.graph, history, (id) => currentCodeVersion(index, id));
  const ids = selection ? select(index, root, selection) : index.graph.topologicalOrder();
  const byAsset = index.checks().byAsset;
  const rows = ids.filter((id) => statuses.has(id)).map((id) => ({ key: index.graph.get(id)!.key, ...statuses.get(id)!, checks: checkSummaries(byAsset.get(id) ?? [], history) }));
  if (json) {
    process.stdout.write(JSON.stringify(rows.map((r) => ({ key: r.key, state: r.state, reason: r.reason, lastMaterialization: r.lastSuccess ?? r.last, checks: r.checks }))) + "\n");
    return;
  }
  for (const row of rows) {
    const line = describeStatus(row);
    console.log(`${formatKey(row.key).padEnd(36)} ${line.state.padEnd(8)} ${line.detail ?? ""}`);
    if (row.checks.length === 0) continue;
    console.log(`${"".padEnd(36)} ${describeChecks(row.checks)}`);
    for (const c of row.checks) if (c.status !== "passed") console.log(`${"".padEnd(38)}${describeCheck(c)}`);
  }
}

export function history(index: WorkspaceIndex, root: string, key: string | undefined, json: boolean): void {
  const store = HistoryStore.open(root);
  if (!key) {
    const runs = store.runs(20);
    if (json) process.stdout.write(JSON.stringify(runs.map(({ plan: _plan, ...r }) => ({ ...r, checks: store.checkResults(r.id) }))) + "\n");
    else {
      for (const r of runs) {
        console.log(`${r.id}  ${r.status.padEnd(11)} ${r.selection}${r.error ? `  — ${r.error}` : ""}`);
        const checks = store.checkResults(r.id);
        const count = (s: string) => checks.filter((c) => c.status === s).length;
        if (checks.length) console.log(`${"".padEnd(22)}checks: ${count("passed")} passed, ${count("failed")} failed, ${count("warned")} warned${count("error") ? `, ${count("error")} errored` : ""}${count("skipped") ? `, ${count("skipped")} skipped` : ""}`);
      }
    }
    return;
  }
  const ids = select(index, root, key);
  const id = ids.find((i) => i === key) ?? ids[0];
  if (!id) throw new CliError(`No asset matches '${key}'.`);
  const records = store.materializations(id, 50);
  // Each materialization with the results of the asset's checks in that run.
  const checksOf = (runId: string) => store.checkResults(runId).filter((c) => c.assets.includes(id));
  if (json) {
    process.stdout.write(JSON.stringify(records.map((m) => ({ ...m, checks: checksOf(m.runId) }))) + "\n");
    return;
  }
  if (records.length === 0) console.log(`${key}: never materialized`);
  for (const m of records) {
    console.log(`${m.endedAt}  ${m.status.padEnd(7)} run ${m.runId}  ${formatDuration(m.durationMs)}${m.rows === undefined ? "" : `  ${m.rows} rows`}  code ${m.codeVersion}${m.error ? `\n    ${m.error.split("\n")[0]}` : ""}`);
    for (const c of checksOf(m.runId)) console.log(`    ${c.status === "passed" ? "✓" : c.status === "warned" ? "⚠" : c.status === "skipped" ? "○" : "✗"} ${c.name} ${c.status}${c.failures ? ` (${c.failures} failing rows)` : ""}`);
  }
}

/** `tributary unlock [--force]`: the exit code (0 removed or nothing to do, 1 refused). */
export function unlock(root: string, force: boolean): number {
  const result = unlockWarehouse(root, { force });
  if (result.outcome === "none") {
    console.log("No run holds the warehouse lock: nothing to do.");
    return 0;
  }
  const who = result.holder ? `run ${result.holder.runId} (pid ${result.holder.pid} on ${result.holder.host})` : "an unreadable lock";
  if (result.outcome === "removed") {
    console.log(`Removed the warehouse lock of ${who}: ${result.reason}.`);
    return 0;
  }
  console.error(`Not unlocked: ${result.reason}`);
  return 1;
}

/** `tributary show <key>`: the first rows of an asset's table, like `dbt show`. */
export async function show(index: WorkspaceIndex, root: string, key: string, limit: number, json: boolean): Promise<void> {
  const ids = select(index, root, key);
  const id = ids.find((i) => i === key) ?? (ids.length === 1 ? ids[0] : undefined);
  if (!id) throw new CliError(ids.length ? `'${key}' matches ${ids.length} assets; name one.` : `No asset matches '${key}'.`);
  const ctx = new RunContext(index, root);
  const relation = ctx.relationOf(id);
  const node = index.graph.get(id)!;
  if (!relation || (node.kind === "ts_asset" && node.materialized !== "table" && !node.producedByTs)) throw new CliError(`'${key}' is not stored in the warehouse (io: ${node.materialized ?? "json"}).`);
  const target = node.kind === "ts_asset" ? ctx.targetForAsset(id) : ctx.target(node.project);
  const warehouse = await Warehouse.open(target.path, { readOnly: true });
  try {
    const rows = await warehouse.query(`select * from ${relationSql(relation)} limit ${Math.max(1, Math.floor(limit))}`);
    if (json) {
      process.stdout.write(JSON.stringify(rows) + "\n");
      return;
    }
    console.log(`${relation.schema}.${relation.identifier} (first ${rows.length} rows)`);
    console.table(rows);
  } finally {
    warehouse.close();
  }
}

/** `--wait`: who we wait for, on stderr (stdout may carry JSON events). */
export function printWaiting(holder: LockInfo): void {
  process.stderr.write(`waiting for the warehouse lock: run ${holder.runId} (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ""}) is writing it…\n`);
}

/** Ctrl-C, SIGTERM or SIGHUP (the terminal closed) aborts the returned signal (a run then stops its steps); `dispose` stops listening. */
export function cancelOnSignals(json: boolean): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (!json) process.stderr.write("\ncancelling…\n");
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("SIGHUP", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("SIGHUP", onSignal);
    },
  };
}
