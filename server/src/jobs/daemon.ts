/**
 * The schedule daemon: runs each job with a schedule at its due times. One class for
 * the CLI's `tributary daemon` and for VS Code's "run schedules while the workspace is open"; the
 * clock and the runner are injected, so tests drive it with a fake clock and a fake runner, and
 * the faces plug in the real runner (`runJob` with the trigger `schedule:<job>`).
 *
 * Behaviour:
 * - **Due times** come from each job's `Schedule` (croner, in the job's time zone, DST-correct).
 *   The daemon sleeps until the earliest next due time (at most `maxSleepMs`, so edits to jobs
 *   and clock jumps are noticed), then, for every job, handles the latest due time after the job's
 *   cursor: at most one tick per wake-up, so after a restart, a suspended laptop or a long run of
 *   the event loop, at most one missed tick is caught up (the others are counted in `missed`).
 * - **Ticks** are recorded in `.tributary/history/ticks.jsonl` (see `ticks.ts`) *before* the run
 *   starts: `started`, `skipped` (the previous run of that job is still going, here or, through
 *   `isRunningElsewhere`, in another process) or `failed` (the runner threw before a run existed).
 *   The run's outcome is appended when it ends. The cursor of each job is derived from that file,
 *   so a daemon killed with -9 and restarted neither runs a tick twice nor catches up more than
 *   one; started ticks left without an end by a dead daemon are closed as `interrupted`.
 * - **New jobs and changed schedules** start from the moment the daemon first sees them (a `watch`
 *   record): the daemon never runs a job immediately just because it was created.
 * - **Runs** go on in the background: a due time of another job is never delayed by a long run;
 *   a run that throws or fails is recorded and the daemon goes on.
 * - **Stopping** (`stop()`, which the CLI calls on SIGINT/SIGTERM): no new ticks; running runs are
 *   cancelled through their AbortSignal (the runner records them as `cancelled`; the next due time
 *   runs the job again) unless `cancelRuns: false`, which lets them finish; then the lock is
 *   released.
 * - **One daemon per workspace**: `start()` takes `.tributary/daemon.lock` (see `lock.ts`).
 */
import type { RunSummary } from "../run/runner";
import { processAlive } from "../run/history";
import { acquireDaemonLock, type DaemonLock } from "./lock";
import type { Schedule } from "./schedule";
import { TickStore, type TickRecord } from "./ticks";

/** Time as the daemon sees it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts. Never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
      signal.addEventListener("abort", done, { once: true });
    }),
};

/** A job the daemon runs: a name and a valid schedule (plus whatever the runner needs). */
export interface DaemonJob {
  name: string;
  schedule: Schedule;
  selection?: string;
}

export interface JobRunContext {
  /** Aborted when the daemon stops and cancels runs. */
  signal: AbortSignal;
  /** The tick that started this run. */
  tick: TickRecord;
  /** Call with the run id once the run is recorded in history (links the tick to the run). */
  onRunStart(runId: string): void;
}

/** Starts and awaits one run of a job. Throwing before `onRunStart` means "failed to start". */
export type JobRunner = (job: DaemonJob, context: JobRunContext) => Promise<RunSummary>;

export type DaemonEvent =
  | { type: "started"; pid: number; jobs: { name: string; next?: Date }[] }
  /** The set of jobs or their schedules changed. */
  | { type: "jobs"; jobs: { name: string; next?: Date }[] }
  | { type: "recovered"; ticks: TickRecord[] }
  | { type: "tick"; tick: TickRecord }
  | { type: "run_end"; tick: TickRecord; summary?: RunSummary; error?: string }
  | { type: "error"; message: string }
  | { type: "stopping"; cancelRuns: boolean; running: string[] }
  | { type: "stopped" };

export interface DaemonOptions {
  /** The workspace folder holding `.tributary/`. */
  root: string;
  /** The jobs to run, read again at every wake-up (a throwing source keeps the previous list). */
  jobs: () => DaemonJob[] | Promise<DaemonJob[]>;
  run: JobRunner;
  clock?: Clock;
  onEvent?(event: DaemonEvent): void;
  /** Longest sleep between two looks at the jobs and the clock. Default 60 s. */
  maxSleepMs?: number;
  /** Whether another process runs the job right now (e.g. a manual run seen in the run history). */
  isRunningElsewhere?(job: string): string | boolean | undefined;
  /** Written into the lock file (`cli`, `vscode`). */
  owner?: string;
  /** Take `.tributary/daemon.lock` (default true). */
  lock?: boolean;
}

export interface JobState {
  name: string;
  schedule: string;
  timezone: string;
  /** The next due time after the job's cursor. */
  next?: Date;
  lastTick?: TickRecord;
  running: boolean;
}

interface ActiveRun {
  tick: TickRecord;
  controller: AbortController;
  done: Promise<void>;
}

/** Due times counted when reporting how many were missed. */
const MISSED_COUNT_LIMIT = 1000;

export class ScheduleDaemon {
  private readonly clock: Clock;
  private readonly maxSleepMs: number;
  private ticks: TickStore | undefined;
  private lock: DaemonLock | undefined;
  private jobs: DaemonJob[] = [];
  private jobsSignature = "";
  private readonly active = new Map<string, ActiveRun>();
  /** Ticks started by this instance (a tick with our pid but not here is a dead predecessor's). */
  private readonly ownTicks = new Set<string>();
  private sleeper: AbortController | undefined;
  private loopDone: Promise<void> | undefined;
  private state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";

  constructor(private readonly options: DaemonOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxSleepMs = Math.max(1, options.maxSleepMs ?? 60_000);
  }

  /**
   * Takes the lock (throws `DaemonLockedError` when another daemon runs; `start()` may then be
   * called again later), closes interrupted ticks, starts the loop.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("The schedule daemon was already started.");
    this.state = "starting";
    try {
      if (this.options.lock !== false) this.lock = acquireDaemonLock(this.options.root, this.options.owner);
      this.ticks = TickStore.open(this.options.root);
      this.recover();
      this.jobs = await this.readJobs();
      this.jobsSignature = signature(this.jobs);
    } catch (error) {
      this.lock?.release();
      this.lock = undefined;
      this.state = "new"; // may be started again (e.g. once the other daemon is gone)
      throw error;
    }
    // stop() was called while starting: never begin.
    if ((this.state as string) === "stopped") {
      this.lock?.release();
      return;
    }
    this.state = "running";
    const now = this.clock.now();
    for (const job of this.jobs) this.cursorOf(job, now);
    this.emit({ type: "started", pid: process.pid, jobs: this.jobs.map((j) => ({ name: j.name, next: this.nextRun(j) })) });
    this.loopDone = this.loop();
  }

  /**
   * Stops scheduling; cancels running runs (default) or lets them finish; waits for them; releases
   * the lock. Idempotent.
   */
  async stop(options: { cancelRuns?: boolean } = {}): Promise<void> {
    const cancelRuns = options.cancelRuns ?? true;
    if (this.state === "stopped" || this.state === "new" || this.state === "starting") {
      this.state = "stopped";
      return;
    }
    if (this.state === "running") {
      this.state = "stopping";
      this.emit({ type: "stopping", cancelRuns, running: [...this.active.keys()] });
    }
    this.sleeper?.abort();
    await this.loopDone;
    if (cancelRuns) for (const run of this.active.values()) run.controller.abort();
    await this.settled();
    if (this.state === "stopping") {
      this.state = "stopped";
      this.lock?.release();
      this.emit({ type: "stopped" });
    }
  }

  /** Look at the jobs and the clock now (after an edit of the jobs, a resume from sleep, ...). */
  wake(): void {
    this.sleeper?.abort();
  }

  /** Resolves when the runs in flight have ended (and their ends are recorded). */
  async settled(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()].map((r) => r.done));
  }

  /** Names of the jobs with a run in flight. */
  get running(): string[] {
    return [...this.active.keys()];
  }

  get isRunning(): boolean {
    return this.state === "running";
  }

  /** Resolves when the scheduling loop has ended (after `stop()`). */
  get done(): Promise<void> {
    return this.loopDone ?? Promise.resolve();
  }

  /** Each job's next due time, last tick and whether it runs: for a Jobs tree or `jobs --json`. */
  jobStates(): JobState[] {
    return this.jobs.map((job) => ({
      name: job.name,
      schedule: job.schedule.text,
      timezone: job.schedule.timezone,
      next: this.nextRun(job),
      lastTick: this.ticks?.lastTick(job.name),
      running: this.active.has(job.name),
    }));
  }

  // ---------------------------------------------------------------- the loop

  private async loop(): Promise<void> {
    while (this.state === "running") {
      try {
        const jobs = await this.readJobs();
        const sig = signature(jobs);
        if (sig !== this.jobsSignature) {
          this.jobs = jobs;
          this.jobsSignature = sig;
          const now = this.clock.now();
          for (const job of jobs) this.cursorOf(job, now);
          this.emit({ type: "jobs", jobs: jobs.map((j) => ({ name: j.name, next: this.nextRun(j) })) });
        }
      } catch (error) {
        this.emit({ type: "error", message: `Could not read the jobs (keeping the previous ones): ${message(error)}` });
      }
      if (this.state !== "running") break;
      const now = this.clock.now();
      for (const job of this.jobs) {
        try {
          this.handleDue(job, now);
        } catch (error) {
          this.emit({ type: "error", message: `Job ${job.name}: ${message(error)}` });
        }
      }
      if (this.state !== "running") break;
      let wakeAt = this.clock.now() + this.maxSleepMs;
      for (const job of this.jobs) {
        const next = this.nextDue(job);
        if (next && next.getTime() < wakeAt) wakeAt = next.getTime();
      }
      const sleeper = new AbortController();
      this.sleeper = sleeper;
      await this.clock.sleep(Math.max(1, wakeAt - this.clock.now()), sleeper.signal);
      if (this.sleeper === sleeper) this.sleeper = undefined;
    }
  }

  private async readJobs(): Promise<DaemonJob[]> {
    const jobs = await this.options.jobs();
    const seen = new Set<string>();
    return jobs.filter((j) => !seen.has(j.name) && seen.add(j.name));
  }

  /** The job's cursor for its current schedule; a new job or schedule is watched from `now`. */
  private cursorOf(job: DaemonJob, now: number): number {
    const ticks = this.ticks!;
    const cursor = ticks.cursor(job.name);
    if (cursor && cursor.schedule === job.schedule.key) return cursor.at;
    ticks.watch(job.name, job.schedule.key, new Date(now).toISOString());
    return now;
  }

  /** The first due time after the job's cursor (may be past: a catch-up the loop is about to run). */
  private nextDue(job: DaemonJob): Date | undefined {
    const cursor = this.ticks?.cursor(job.name);
    const from = cursor && cursor.schedule === job.schedule.key ? cursor.at : this.clock.now();
    return job.schedule.next(from);
  }

  /** The next due time from now on, for display. */
  private nextRun(job: DaemonJob): Date | undefined {
    const cursor = this.ticks?.cursor(job.name);
    const now = this.clock.now();
    return job.schedule.next(cursor && cursor.schedule === job.schedule.key ? Math.max(cursor.at, now) : now);
  }

  /** Fires the latest due time after the cursor, if any (at most one per call). */
  private handleDue(job: DaemonJob, now: number): void {
    const cursor = this.cursorOf(job, now);
    const due = job.schedule.latest(now);
    if (!due || due.getTime() <= cursor) return;
    // Counting is bounded (croner steps one due time at a time): `missed` stops at MISSED_COUNT_LIMIT - 1.
    const missed = job.schedule.between(cursor, due.getTime(), MISSED_COUNT_LIMIT).length - 1;
    this.fire(job, due, Math.max(0, missed));
  }

  private fire(job: DaemonJob, due: Date, missed: number): void {
    const ticks = this.ticks!;
    const base = {
      job: job.name,
      scheduledFor: due.toISOString(),
      recordedAt: new Date(this.clock.now()).toISOString(),
      schedule: job.schedule.key,
      missed: missed > 0 ? missed : undefined,
    };
    const previous = this.active.get(job.name);
    const elsewhere = previous ? undefined : this.options.isRunningElsewhere?.(job.name);
    if (previous || elsewhere) {
      const where = previous
        ? `the previous run of ${job.name}${previous.tick.runId ? ` (run ${previous.tick.runId})` : ""}, started for ${previous.tick.scheduledFor}, is still going`
        : `a run of ${job.name}${typeof elsewhere === "string" ? ` (${elsewhere})` : ""} is still going in another process`;
      const tick = ticks.recordTick({ ...base, status: "skipped", reason: where });
      this.emit({ type: "tick", tick });
      return;
    }
    const tick = ticks.recordTick({ ...base, status: "started" });
    this.ownTicks.add(tick.id);
    this.emit({ type: "tick", tick });
    const controller = new AbortController();
    const run: ActiveRun = { tick, controller, done: Promise.resolve() };
    this.active.set(job.name, run);
    run.done = this.execute(job, run).finally(() => {
      if (this.active.get(job.name) === run) this.active.delete(job.name);
    });
  }

  private async execute(job: DaemonJob, run: ActiveRun): Promise<void> {
    const ticks = this.ticks!;
    const { tick, controller } = run;
    let runId: string | undefined;
    const onRunStart = (id: string) => {
      if (runId !== undefined) return;
      runId = id;
      run.tick = { ...run.tick, runId: id };
      try {
        ticks.recordRun(tick.id, id);
      } catch (error) {
        this.emit({ type: "error", message: `Could not record the run of tick ${tick.id}: ${message(error)}` });
      }
    };
    let summary: RunSummary | undefined;
    let failure: string | undefined;
    try {
      // Let the caller's synchronous work (and the tick event) finish before the run begins.
      await Promise.resolve();
      summary = await this.options.run(job, { signal: controller.signal, tick, onRunStart });
    } catch (error) {
      failure = message(error);
    }
    const endedAt = new Date(this.clock.now()).toISOString();
    try {
      if (summary) {
        const status = summary.status === "running" ? "failed" : summary.status;
        const error = summary.failed.length ? summary.failed.map((f) => `${f.assetId}: ${firstLine(f.error)}`).join("; ") : undefined;
        ticks.endTick(tick.id, { runId: summary.runId ?? runId, runStatus: status, error, endedAt });
      } else if (runId === undefined) {
        ticks.endTick(tick.id, { status: "failed", error: failure, endedAt });
      } else {
        ticks.endTick(tick.id, { runId, runStatus: controller.signal.aborted ? "cancelled" : "failed", error: failure, endedAt });
      }
    } catch (error) {
      this.emit({ type: "error", message: `Could not record the end of tick ${tick.id}: ${message(error)}` });
    }
    this.emit({ type: "run_end", tick: ticks.tick(tick.id) ?? run.tick, summary, error: failure });
  }

  /**
   * Started ticks of dead daemons (kill -9, crash) are closed as interrupted. Holding the lock, every
   * other daemon is dead (only the lock holder writes ticks); without it, their process is checked.
   */
  private recover(): void {
    const ticks = this.ticks!;
    const closed: TickRecord[] = [];
    for (const t of ticks.unfinished()) {
      if (this.ownTicks.has(t.id)) continue;
      if (!this.lock && t.pid !== process.pid && processAlive(t.pid)) continue;
      ticks.endTick(t.id, { runStatus: "interrupted", error: "the schedule daemon stopped before the run ended", endedAt: new Date(this.clock.now()).toISOString() });
      closed.push(ticks.tick(t.id)!);
    }
    if (closed.length) this.emit({ type: "recovered", ticks: closed });
  }

  private emit(event: DaemonEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // a listener's failure is not the daemon's
    }
  }
}

function signature(jobs: DaemonJob[]): string {
  return jobs
    .map((j) => `${j.name}\u0000${j.schedule.key}`)
    .sort()
    .join("\u0001");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string, max = 200): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
