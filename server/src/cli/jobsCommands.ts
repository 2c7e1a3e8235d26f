/**
 * `tributary jobs`, `tributary jobs run NAME` and `tributary daemon`: jobs from a terminal.
 * Human output by default, `--json` for machines.
 */
import { chooseEngine } from "../run/engineChoice";
import { cancelOnSignals, CliError, printPlan, runnerOptions, type CliRunSettings } from "./runCommands";
import { formatKey } from "../graph/keys";
import type { WorkspaceIndex } from "../index/workspace";
import type { Engine, RunEvent } from "../protocol/runEvents";
import type { RunSummary } from "../run/runner";
import { userDbtExecutable } from "../run/dbtCli";
import { formatDuration, relativeTime } from "../run/status";
import type { DaemonEvent } from "../jobs/daemon";
import { listJobs } from "../jobs/list";
import { DaemonLockedError, runningDaemon } from "../jobs/lock";
import { JobError, runJob } from "../jobs/run";
import { formatInZone, isoInZone, relativeFuture } from "../jobs/schedule";
import { createWorkspaceDaemon } from "../jobs/workspaceDaemon";

/** `tributary jobs [--json]`. */
export function jobsCommand(index: WorkspaceIndex, root: string, json: boolean): void {
  const now = Date.now();
  const list = listJobs(index, root, now);
  if (json) {
    process.stdout.write(JSON.stringify(list) + "\n");
    return;
  }
  if (list.length === 0) {
    console.log("No job() definitions found. Declare one in a TypeScript asset file:\n  export const nightly = job({ name: \"nightly\", selection: \"+my_asset\", schedule: \"0 3 * * *\" });");
    return;
  }
  const rows = list.map((j) => {
    const assets = j.errors.some((e) => e.startsWith("invalid selection")) ? "—" : `${j.assets.length}`;
    const next = j.nextRun && j.timezone ? `${formatInZone(new Date(j.nextRun), j.timezone)} (${relativeFuture(new Date(j.nextRun), now)})` : j.schedule === undefined ? "on demand" : "—";
    const last = j.lastRun ? `${j.lastRun.status} ${relativeTime(j.lastRun.endedAt ?? j.lastRun.startedAt, now)}` : "never";
    return [
      j.name ?? "?",
      j.schedule ?? "",
      j.schedule !== undefined ? `${j.timezone ?? ""}${j.timezoneDefault ? " (local)" : ""}` : "",
      j.selection ?? "",
      assets,
      j.steps === undefined ? "—" : String(j.steps),
      next,
      last,
      `${j.file}:${j.line}`,
    ];
  });
  const header = ["JOB", "SCHEDULE", "TIMEZONE", "SELECTION", "ASSETS", "STEPS", "NEXT RUN", "LAST RUN", "FILE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  for (const j of list) for (const e of j.errors) console.log(`  ⚠ ${j.name ?? `${j.file}:${j.line}`}: ${e}`);
  const daemon = runningDaemon(root);
  console.log(daemon ? `\nschedule daemon: running (pid ${daemon.pid}${daemon.owner ? `, ${daemon.owner}` : ""}, since ${daemon.startedAt})` : "\nschedule daemon: not running (start it with `tributary daemon`)");
}

/** `tributary jobs run NAME`: the job's selection through the planner and runner, like `materialize`. */
export async function jobRunCommand(index: WorkspaceIndex, root: string, name: string, options: CliRunSettings): Promise<RunSummary> {
  const cancel = cancelOnSignals(options.json === true);
  const name_ = (id: string) => formatKey(index.graph.get(id)?.key ?? [id]);
  try {
    const summary = await runJob(index, root, name, {
      // The same engine choice as `materialize`.
      resolveEngine: (plan) => chooseEngine(index, plan, options.engine, options.dbtExecutable),
      ...runnerOptions(options),
      signal: cancel.signal,
      onPlan: (plan, job) => {
        if (options.json) return;
        console.log(`job ${name}: ${job.selection}`);
        printPlan(plan, index);
      },
      onEvent: (event) => {
        if (options.json) process.stdout.write(JSON.stringify(event) + "\n");
        else printEvent(event, name_);
      },
    });
    if (!options.json) {
      console.log(`\nrun ${summary.runId} ${summary.status} in ${formatDuration(summary.ms)}: ${summary.materialized.length} materialized, ${summary.failed.length} failed, ${summary.skipped.length} skipped`);
      for (const f of summary.failed) console.log(`  ✗ ${name_(f.assetId)}: ${f.error.split("\n")[0]}`);
    }
    return summary;
  } catch (error) {
    if (error instanceof JobError) throw new CliError(error.message);
    throw error;
  } finally {
    cancel.dispose();
  }
}

function printEvent(event: RunEvent, name: (id: string) => string): void {
  switch (event.type) {
    case "run_start":
      console.log(`\nrun ${event.runId} (${event.engine} engine)`);
      break;
    case "asset_materialized":
      console.log(`  ✓ ${name(event.assetId)}${event.rows === undefined ? "" : `  ${event.rows} rows`}  ${formatDuration(event.ms)}`);
      break;
    case "asset_failed":
      console.log(`  ✗ ${name(event.assetId)}: ${event.error.split("\n")[0]}`);
      break;
    case "step_skipped":
      console.log(`  [${event.stepId}] skipped: ${event.reason}`);
      break;
    default:
      break;
  }
}

export interface DaemonCliOptions {
  engine?: Engine;
  json?: boolean;
  /** Let running runs finish on SIGINT/SIGTERM instead of cancelling them. */
  drain?: boolean;
  /** Longest sleep between two looks at the workspace (ms). */
  pollMs?: number;
}

/**
 * `tributary daemon`: runs the workspace's schedules until SIGINT/SIGTERM, logging every tick.
 * The workspace is read again at every wake-up (at least once a minute), so edited jobs apply
 * without a restart; each run reads the workspace afresh. On the first signal the daemon stops
 * scheduling and cancels running runs (with `--drain`: lets them finish; a second signal
 * cancels them), then exits 0.
 */
export async function daemonCommand(root: string, options: DaemonCliOptions): Promise<void> {
  const log = (text: string) => {
    if (!options.json) console.log(`${isoInZone(new Date(), "UTC").slice(0, 19)}Z ${text}`);
  };
  const daemon = createWorkspaceDaemon({
    root,
    owner: "cli",
    engine: options.engine,
    maxSleepMs: options.pollMs,
    // The same engine choice as `materialize`.
    resolveEngine: (index, plan, engine) => chooseEngine(index, plan, engine, userDbtExecutable()),
    onEvent: (event) => {
      if (options.json) process.stdout.write(JSON.stringify(event) + "\n");
      else if (event.type === "ignored") for (const i of event.jobs) log(`job ${i.name ?? "?"} (${i.file}) is not scheduled: ${i.reason}`);
      else if (event.type === "run_event") {
        if (event.event.type === "asset_failed") log(`${event.job}: ✗ ${event.event.assetId}: ${event.event.error.split("\n")[0]}`);
      } else if (event.type !== "stopping") log(describeDaemonEvent(event)); // the signal's line says it
    },
  });
  // Signals are handled from the start: one arriving while the daemon starts stops it right after.
  let signals = 0;
  let started = false;
  let stopping: Promise<void> | undefined;
  const stop = (cancelRuns: boolean) => {
    stopping = daemon.stop({ cancelRuns });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      const running = daemon.running;
      log(`${signal}: stopping${running.length ? (options.drain ? `; letting ${running.join(", ")} finish (send it again to cancel)` : `; cancelling ${running.join(", ")}`) : ""}`);
      if (started) stop(!options.drain);
    } else if (signals === 2 && options.drain) {
      log(`${signal}: cancelling the running runs`);
      if (started) stop(true);
    } else {
      log(`${signal}: exiting now`);
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal); // the terminal closed: stop like Ctrl-C, not die with runs in flight
  try {
    await daemon.start();
  } catch (error) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    if (error instanceof DaemonLockedError) throw new CliError(error.message);
    throw error;
  }
  started = true;
  if (signals > 0) stop(!options.drain || signals > 1);
  await daemon.done;
  await stopping;
  await daemon.stop({ cancelRuns: !options.drain });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("SIGHUP", onSignal);
  process.exitCode = 0;
  // Nothing of ours should keep the process alive now; make sure nothing else does either.
  setTimeout(() => process.exit(0), 3000).unref();
}

/** One log line per daemon event. */
export function describeDaemonEvent(event: DaemonEvent): string {
  const nextOf = (jobs: { name: string; next?: Date }[]) =>
    jobs.length ? jobs.map((j) => `${j.name} next ${j.next ? j.next.toISOString() : "never"}`).join(", ") : "no scheduled jobs";
  switch (event.type) {
    case "started":
      return `schedule daemon started (pid ${event.pid}): ${nextOf(event.jobs)}`;
    case "jobs":
      return `jobs changed: ${nextOf(event.jobs)}`;
    case "recovered":
      return `closed ${event.ticks.length} tick(s) left running by a daemon that died: ${event.ticks.map((t) => `${t.job} ${t.scheduledFor}`).join(", ")}`;
    case "tick": {
      const t = event.tick;
      const missed = t.missed ? ` (caught up; ${t.missed} earlier due time(s) not run)` : "";
      if (t.status === "skipped") return `${t.job} tick ${t.scheduledFor}: skipped — ${t.reason ?? ""}${missed}`;
      if (t.status === "failed") return `${t.job} tick ${t.scheduledFor}: failed to start — ${t.error ?? ""}`;
      return `${t.job} tick ${t.scheduledFor}: starting run${missed}`;
    }
    case "run_end": {
      const t = event.tick;
      if (t.status === "failed") return `${t.job} tick ${t.scheduledFor}: failed to start — ${event.error ?? t.error ?? ""}`;
      const ms = event.summary ? ` in ${formatDuration(event.summary.ms)}` : "";
      return `${t.job} run ${t.runId ?? "?"} ${t.runStatus ?? "ended"}${ms}${t.error ? ` — ${t.error}` : ""}`;
    }
    case "error":
      return `error: ${event.message}`;
    case "stopping":
      return `stopping${event.running.length ? ` (${event.cancelRuns ? "cancelling" : "waiting for"} ${event.running.join(", ")})` : ""}`;
    case "stopped":
      return "schedule daemon stopped";
  }
}
