/**
 * Schedule ticks: what the schedule daemon decided at each due time of each job, kept durably in
 * `<workspace>/.tributary/history/ticks.jsonl` next to the run history (`events.jsonl`, which
 * this file leaves alone: runs started by a tick are ordinary runs there, with the trigger
 * `schedule:<job>`).
 *
 * File format: append-only JSON Lines, one event per line, each `{"v":1,"type":...}`:
 *   - `tick`      `{ tick: TickRecord }`: a due time was handled: `started` (the run is being
 *                 started), `skipped` (the previous run of the job is still going) or `failed`
 *                 (the run could not be started);
 *   - `tick_run`  `{ id, runId }`: the run the tick started has its id (it was recorded in history);
 *   - `tick_end`  `{ id, endedAt, runId?, runStatus?, status?, error? }`: the run ended
 *                 (`runStatus`), or never started (`status: "failed"` and the `error`);
 *   - `watch`     `{ job, schedule, at }`: the daemon began watching a job whose schedule it had no
 *                 tick for (a new job, or a changed schedule / time zone): ticks before `at` are
 *                 never caught up.
 * The same discipline as the run history: every append is one `write` on a descriptor opened for
 * appending, then `fsync` (and the folder is fsync'd when the file is created), so a kill -9 loses
 * nothing already recorded; a torn last line is skipped and the next append starts a fresh line;
 * unparsable lines and unknown event types are skipped.
 *
 * The daemon's state is derived from this file alone: the *cursor* of a job is the latest of its
 * last tick's scheduled time and its last `watch` time, for the schedule it was recorded with.
 * A tick is written *before* the run starts, so a tick is never run twice, even across a kill -9.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { RunStatus } from "../protocol/history";
import { appendLines, JsonlReader } from "../run/durableLog";
import { capLog, HISTORY_DIR } from "../run/history";

export const TICKS_FILE = "ticks.jsonl";
const VERSION = 1;

export type TickStatus = "started" | "skipped" | "failed";

/** One due time of one job, as the daemon handled it (with what later lines added). */
export interface TickRecord {
  /** `tick-<random>`: unique. */
  id: string;
  job: string;
  /** ISO (UTC) time the tick was due. */
  scheduledFor: string;
  /** ISO (UTC) time the daemon handled it. */
  recordedAt: string;
  /** `started`, `skipped` (overlap) or `failed` (the run could not be started). */
  status: TickStatus;
  /** The schedule identity it was handled under (`Schedule.key`: pattern and time zone). */
  schedule: string;
  /** The daemon's process. */
  pid: number;
  /** Earlier due times since the previous tick that were not run (at most one missed tick is caught up); counted up to 999. */
  missed?: number;
  /** Why it was skipped. */
  reason?: string;
  /** Why the run could not be started, or how it failed. */
  error?: string;
  runId?: string;
  /** How the started run ended; `interrupted` when the daemon died before it ended. */
  runStatus?: Exclude<RunStatus, "running">;
  endedAt?: string;
}

export type TickEvent =
  | { v: number; type: "tick"; tick: TickRecord }
  | { v: number; type: "tick_run"; id: string; runId: string }
  | { v: number; type: "tick_end"; id: string; endedAt: string; runId?: string; runStatus?: Exclude<RunStatus, "running">; status?: "failed"; error?: string }
  | { v: number; type: "watch"; job: string; schedule: string; at: string };

/** Where a job's schedule stands: the latest tick's due time or watch start, and under which schedule. */
export interface JobCursor {
  job: string;
  schedule: string;
  /** Epoch ms. */
  at: number;
  /** The last tick of the job (any schedule). */
  lastTick?: TickRecord;
}

export function newTickId(): string {
  return `tick-${randomBytes(6).toString("hex")}`;
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const TICK_STATUS = new Set(["started", "skipped", "failed"]);

function validEvent(e: unknown): TickEvent | null | undefined {
  if (!isObj(e) || !isStr(e.type)) return undefined;
  switch (e.type) {
    case "tick": {
      const t = e.tick;
      return isObj(t) && isStr(t.id) && isStr(t.job) && isStr(t.scheduledFor) && isStr(t.schedule) && TICK_STATUS.has(t.status as string) && Number.isFinite(Date.parse(t.scheduledFor))
        ? (e as TickEvent)
        : undefined;
    }
    case "tick_run":
      return isStr(e.id) && isStr(e.runId) ? (e as TickEvent) : undefined;
    case "tick_end":
      return isStr(e.id) && isStr(e.endedAt) ? (e as TickEvent) : undefined;
    case "watch":
      return isStr(e.job) && isStr(e.schedule) && isStr(e.at) && Number.isFinite(Date.parse(e.at)) ? (e as TickEvent) : undefined;
    default:
      return null;
  }
}

/**
 * The ticks of one workspace. Writes go to the file first, then to memory; `reload()` reads what
 * other processes appended (the daemon is the only writer while it holds the daemon lock).
 */
export class TickStore {
  readonly file: string;
  /** Reads the file forward, tolerating corrupt lines and a torn tail. */
  private readonly log: JsonlReader<TickEvent>;
  private readonly byId = new Map<string, TickRecord>();
  /** Ticks in file order. */
  private order: TickRecord[] = [];
  private readonly cursors = new Map<string, JobCursor>();

  private constructor(readonly workspaceRoot: string) {
    this.file = join(workspaceRoot, HISTORY_DIR, TICKS_FILE);
    this.log = new JsonlReader(this.file, { validate: validEvent, apply: (event) => this.apply(event), reset: () => this.reset() });
  }

  /** Opens and reads the ticks (nothing is created on disk before the first write). */
  static open(workspaceRoot: string): TickStore {
    const store = new TickStore(workspaceRoot);
    store.reload();
    return store;
  }

  get corruptLines(): number {
    return this.log.corruptLines;
  }

  /** Ticks, newest first; of one job when `job` is given. */
  ticks(job?: string, limit = Infinity): TickRecord[] {
    const out: TickRecord[] = [];
    for (let i = this.order.length - 1; i >= 0 && out.length < limit; i--) {
      const t = this.order[i];
      if (job === undefined || t.job === job) out.push({ ...t });
    }
    return out;
  }

  tick(id: string): TickRecord | undefined {
    const t = this.byId.get(id);
    return t && { ...t };
  }

  lastTick(job: string): TickRecord | undefined {
    const t = this.cursors.get(job)?.lastTick;
    return t && { ...t };
  }

  /** The job's cursor, or undefined when nothing was ever recorded for it. */
  cursor(job: string): JobCursor | undefined {
    const c = this.cursors.get(job);
    return c && { ...c };
  }

  /** Ticks that were started and whose end was never recorded. */
  unfinished(): TickRecord[] {
    return this.order.filter((t) => t.status === "started" && t.endedAt === undefined).map((t) => ({ ...t }));
  }

  // ---------------------------------------------------------------- writing

  recordTick(input: Omit<TickRecord, "id" | "pid"> & { id?: string; pid?: number }): TickRecord {
    const tick: TickRecord = dropUndefined({ ...input, id: input.id ?? newTickId(), pid: input.pid ?? process.pid, reason: capLog(input.reason), error: capLog(input.error) });
    this.append({ v: VERSION, type: "tick", tick });
    return { ...tick };
  }

  recordRun(id: string, runId: string): void {
    this.append({ v: VERSION, type: "tick_run", id, runId });
  }

  /** The started run ended (`runStatus`), or it never started (`status: "failed"`). */
  endTick(id: string, end: { runId?: string; runStatus?: Exclude<RunStatus, "running">; status?: "failed"; error?: string; endedAt?: string }): void {
    this.append(dropUndefined({ v: VERSION, type: "tick_end" as const, id, endedAt: end.endedAt ?? new Date().toISOString(), runId: end.runId, runStatus: end.runStatus, status: end.status, error: capLog(end.error) }));
  }

  watch(job: string, schedule: string, at: string): void {
    this.append({ v: VERSION, type: "watch", job, schedule, at });
  }

  /** Reads what was appended since the last read; a replaced or truncated file is read again. */
  reload(): boolean {
    return this.log.reload();
  }

  // ---------------------------------------------------------------- internals

  /** Forgets what was read (the reader starts over: the file was replaced, truncated or removed). */
  private reset(): void {
    this.byId.clear();
    this.order = [];
    this.cursors.clear();
  }

  private append(event: TickEvent): void {
    appendLines(this.file, [event]);
    this.reload();
  }

  private apply(e: TickEvent): void {
    switch (e.type) {
      case "tick": {
        if (this.byId.has(e.tick.id)) return;
        const tick: TickRecord = { ...e.tick };
        this.byId.set(tick.id, tick);
        this.order.push(tick);
        this.advance(tick.job, tick.schedule, Date.parse(tick.scheduledFor), tick);
        break;
      }
      case "tick_run": {
        const t = this.byId.get(e.id);
        if (t) t.runId ??= e.runId;
        break;
      }
      case "tick_end": {
        const t = this.byId.get(e.id);
        if (!t || t.endedAt !== undefined) return; // the first end wins
        t.endedAt = e.endedAt;
        if (e.runId !== undefined) t.runId = e.runId;
        if (e.runStatus !== undefined) t.runStatus = e.runStatus;
        if (e.status === "failed") t.status = "failed";
        if (e.error !== undefined) t.error = e.error;
        break;
      }
      case "watch":
        this.advance(e.job, e.schedule, Date.parse(e.at));
        break;
    }
  }

  /** The latest record wins (file order is time order for one daemon); a tick also becomes `lastTick`. */
  private advance(job: string, schedule: string, at: number, tick?: TickRecord): void {
    const current = this.cursors.get(job);
    const next: JobCursor = { job, schedule, at, lastTick: tick ?? current?.lastTick };
    // Within one schedule the cursor never moves back (a clock set back does not re-run ticks).
    if (current && current.schedule === schedule && current.at > at) next.at = current.at;
    this.cursors.set(job, next);
  }
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
