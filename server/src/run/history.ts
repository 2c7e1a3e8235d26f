/**
 * Durable run history (DESIGN.md §6). The warehouse run lock is run/warehouseLock.ts.
 *
 * File format: `<workspace>/.tributary/history/events.jsonl`, append-only JSON Lines, one event
 * per line, each `{"v":1,"type":...}`:
 *   - `run_start`       `{ run: RunRecord }` (status `running`)
 *   - `run_end`         `{ id, status, endedAt, error? }`
 *   - `step_start`      `{ step: StepRecord }` (status `running`, or already final, e.g. `skipped`)
 *   - `step_end`        `{ runId, stepId, status, endedAt, error?, log? }`
 *   - `materialization` `{ m: MaterializationRecord }`
 * Every append is one `write` on a descriptor opened for appending, followed by `fsync`, so a
 * kill -9 at any moment loses nothing already recorded, and appends of several processes never
 * interleave within a line. Reading skips (and counts) lines that do not parse; an unterminated
 * last line (a torn write) is left alone and the next append starts on a fresh line. Unknown
 * event types (from a newer version) are ignored. The first `run_end` / final `step_end` of a run
 * or step wins.
 *
 * Memory stays bounded on long histories: all run records are kept, but plans and steps only for
 * the latest `HOT_RUNS` runs (older ones are read back from the file on demand through their line
 * offsets), and the latest `RECENT_PER_ASSET` materializations per asset (older ones likewise).
 * Compaction (rewriting the log without old runs) is not done: the file grows by a few hundred
 * bytes per materialization.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CheckResultRecord } from "../protocol/checks";
import type {
  MaterializationRecord,
  RetryTargets,
  RunRecord,
  RunStatus,
  StepRecord,
  StepStatus,
} from "../protocol/history";
import { appendLines, JsonlReader, type LineRef } from "./durableLog";
import { describeFsError, RunError } from "./errors";
import { processAlive, processLiveness, selfIdentity, type Liveness } from "./lockFile";
import { lockNamesLiveRun, removeWarehouseLock, type UnlockResult } from "./warehouseLock";

export { processAlive };

export const HISTORY_DIR = join(".tributary", "history");
export const EVENTS_FILE = "events.jsonl";
/** Log excerpts (steps and materializations) keep at most this many bytes: the tail. */
export const LOG_LIMIT = 4096;
/** Runs whose plans and steps stay in memory. */
export const HOT_RUNS = 25;
/** Materializations per asset that stay in memory. */
export const RECENT_PER_ASSET = 10;

const VERSION = 1;

export type HistoryEvent =
  | { v: number; type: "run_start"; run: RunRecord }
  | { v: number; type: "run_end"; id: string; status: RunStatus; endedAt: string; error?: string }
  | { v: number; type: "step_start"; step: StepRecord }
  | { v: number; type: "step_end"; runId: string; stepId: string; status: StepStatus; endedAt: string; error?: string; log?: string }
  | { v: number; type: "materialization"; m: MaterializationRecord }
  | { v: number; type: "check"; c: CheckResultRecord };

interface RunEntry {
  record: RunRecord;
  /** Plan, steps and materialized assets: only while the run is among the latest `HOT_RUNS`. */
  hot: boolean;
  steps?: Map<string, StepRecord>;
  materialized?: Set<string>;
  /** The run_start line and every step line: enough to rebuild a cold run. */
  refs: LineRef[];
}

interface AssetEntry {
  /** Oldest first, at most `RECENT_PER_ASSET`. */
  recent: MaterializationRecord[];
  /** Every materialization line of the asset, oldest first. */
  refs: LineRef[];
  lastSuccess?: MaterializationRecord;
}

/** Run ids started by this process (so a run with our own, reused pid from an earlier process is seen as dead). */
const ownRuns = new Set<string>();

export interface StartRunInput {
  id: string;
  selection: string;
  plan: unknown;
  startedAt?: string;
  pid?: number;
  engine?: string;
  trigger?: string;
}

export type StartStepInput = Omit<StepRecord, "status"> & { status?: StepStatus };

export interface EndStepExtra {
  error?: string;
  log?: string;
  endedAt?: string;
}

export interface OpenOptions {
  /** Mark runs whose process is gone as interrupted (default true). */
  markInterrupted?: boolean;
}

/** A sortable run id: `YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits). */
export function newRunId(now: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${date}-${time}-${randomBytes(2).toString("hex")}`;
}

/** The tail of a log, at most `LOG_LIMIT` bytes of UTF-8, with a note of what was cut. */
export function capLog(text: string | undefined, limit = LOG_LIMIT): string | undefined {
  if (text === undefined) return undefined;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= limit) return text;
  const note = `… (${bytes.length - limit} earlier bytes cut)\n`;
  const keep = Math.max(0, limit - Buffer.byteLength(note));
  let tail = bytes.subarray(bytes.length - keep).toString("utf8");
  // A multi-byte character cut in half decodes as U+FFFD: drop it.
  while (tail.startsWith("\uFFFD")) tail = tail.slice(1);
  return note + tail;
}

function jsonSafe<T>(value: T): T | { unserializable: string } {
  if (value === undefined) return value;
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    return text === undefined ? (undefined as T) : (JSON.parse(text) as T);
  } catch (err) {
    return { unserializable: err instanceof Error ? err.message : String(err) };
  }
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const RUN_STATUS = new Set<string>(["running", "success", "failed", "cancelled", "interrupted"]);
const STEP_STATUS = new Set<string>(["running", "success", "failed", "skipped", "cancelled"]);
const isStr = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks the shape of a parsed line: `undefined` for a line to skip as corrupt, `null` for an unknown event type. */
function validEvent(e: unknown): HistoryEvent | null | undefined {
  if (!isObj(e) || !isStr(e.type)) return undefined;
  switch (e.type) {
    case "run_start": {
      const r = e.run;
      return isObj(r) && isStr(r.id) && isStr(r.startedAt) && RUN_STATUS.has(r.status as string) ? (e as HistoryEvent) : undefined;
    }
    case "run_end":
      return isStr(e.id) && RUN_STATUS.has(e.status as string) && isStr(e.endedAt) ? (e as HistoryEvent) : undefined;
    case "step_start": {
      const s = e.step;
      return isObj(s) && isStr(s.runId) && isStr(s.stepId) && Array.isArray(s.assets) && STEP_STATUS.has(s.status as string)
        ? (e as HistoryEvent)
        : undefined;
    }
    case "step_end":
      return isStr(e.runId) && isStr(e.stepId) && STEP_STATUS.has(e.status as string) && isStr(e.endedAt) ? (e as HistoryEvent) : undefined;
    case "materialization": {
      const m = e.m;
      return isObj(m) && isStr(m.assetId) && isStr(m.runId) && isStr(m.endedAt) && (m.status === "success" || m.status === "failed")
        ? (e as HistoryEvent)
        : undefined;
    }
    case "check": {
      const c = e.c;
      return isObj(c) && isStr(c.checkId) && isStr(c.runId) && isStr(c.status) && Array.isArray(c.assets) ? (e as HistoryEvent) : undefined;
    }
    default:
      return null;
  }
}

/**
 * The run history of one workspace. Writes go straight to the file (and are read back from it, so
 * the in-memory view is always the file's, including other processes' appends); `reload()` reads
 * what others appended since.
 */
export class HistoryStore {
  readonly dir: string;
  /** The event log: watch it to call `reload()`. */
  readonly file: string;
  /** Reads the log forward, tolerating corrupt lines and a torn tail. */
  private readonly log: JsonlReader<HistoryEvent>;
  private eventCount = 0;
  private unknownRun = 0;
  private runsById = new Map<string, RunEntry>();
  /** Run ids in the order of their run_start lines. */
  private runOrder: string[] = [];
  private assets = new Map<string, AssetEntry>();
  /** Check id -> its last result; run id -> the results of its checks. */
  private checks = new Map<string, CheckResultRecord>();
  private checksByRun = new Map<string, CheckResultRecord[]>();

  private constructor(readonly workspaceRoot: string) {
    this.dir = join(workspaceRoot, HISTORY_DIR);
    this.file = join(this.dir, EVENTS_FILE);
    this.log = new JsonlReader(this.file, {
      validate: validEvent,
      apply: (event, ref) => {
        this.eventCount++;
        this.apply(event, ref);
      },
      reset: () => this.reset(),
    });
  }

  /** Opens (without creating anything on disk until the first write) and reads the history. */
  static open(workspaceRoot: string, options: OpenOptions = {}): HistoryStore {
    const store = new HistoryStore(workspaceRoot);
    try {
      store.reload();
    } catch (error) {
      throw new RunError(`Cannot read the run history ${store.file}: ${describeFsError(error)}.`);
    }
    if (options.markInterrupted !== false) store.markInterrupted();
    return store;
  }

  /** Lines skipped because they did not parse or had the wrong shape (since the last full read). */
  get corruptLines(): number {
    return this.log.corruptLines;
  }

  /** Materialization lines ignored because they name a run the log never started (since the last full read). */
  get materializationsOfUnknownRuns(): number {
    return this.unknownRun;
  }

  /** Events read (since the last full read). */
  get events(): number {
    return this.eventCount;
  }

  /** Whether the file ends in an unterminated line (a torn write, or another process's write in flight). */
  get hasTornTail(): boolean {
    return this.log.hasTornTail;
  }

  // ---------------------------------------------------------------- writing

  startRun(input: StartRunInput): RunRecord {
    const me = input.pid === undefined || input.pid === process.pid ? selfIdentity() : undefined;
    const run: RunRecord = dropUndefined({
      id: input.id,
      selection: input.selection,
      plan: jsonSafe(input.plan) ?? null,
      startedAt: input.startedAt ?? new Date().toISOString(),
      status: "running" as const,
      pid: input.pid ?? process.pid,
      host: me?.host,
      pidNamespace: me?.pidNamespace,
      pidStart: me?.startTime,
      engine: input.engine,
      trigger: input.trigger,
    });
    if (run.pid === process.pid) ownRuns.add(run.id);
    this.append([{ v: VERSION, type: "run_start", run }]);
    return run;
  }

  endRun(id: string, status: Exclude<RunStatus, "running">, error?: string, endedAt = new Date().toISOString()): void {
    this.append([dropUndefined({ v: VERSION, type: "run_end" as const, id, status, endedAt, error: capLog(error) })]);
  }

  /** Records a step starting (or, with a final `status` such as `skipped`, a step that never ran). */
  startStep(input: StartStepInput): StepRecord {
    const status = input.status ?? "running";
    const step: StepRecord = dropUndefined({
      ...input,
      assets: [...input.assets],
      status,
      startedAt: input.startedAt ?? (status === "running" ? new Date().toISOString() : undefined),
      log: capLog(input.log),
      error: capLog(input.error),
    });
    this.append([{ v: VERSION, type: "step_start", step }]);
    return step;
  }

  endStep(runId: string, stepId: string, status: Exclude<StepStatus, "running">, extra: EndStepExtra = {}): void {
    this.append([
      dropUndefined({
        v: VERSION,
        type: "step_end" as const,
        runId,
        stepId,
        status,
        endedAt: extra.endedAt ?? new Date().toISOString(),
        error: capLog(extra.error),
        log: capLog(extra.log),
      }),
    ]);
  }

  recordMaterialization(m: MaterializationRecord): MaterializationRecord {
    return this.recordMaterializations([m])[0];
  }

  /** Several materializations in one write and one fsync (a dbt step's models). */
  recordMaterializations(ms: MaterializationRecord[]): MaterializationRecord[] {
    const out = ms.map((m) =>
      dropUndefined({
        ...m,
        key: [...m.key],
        upstreamVersions: { ...m.upstreamVersions },
        metadata: m.metadata === undefined ? undefined : (jsonSafe(m.metadata) as Record<string, unknown>),
        log: capLog(m.log),
        error: capLog(m.error),
      }),
    );
    if (out.length > 0) this.append(out.map((m) => ({ v: VERSION, type: "materialization" as const, m })));
    return out;
  }

  /**
   * Runs still `running` whose process is gone get a `run_end` with status `interrupted`, their
   * running steps a `step_end` `cancelled`. Returns the ids of the runs marked. If the log cannot be
   * written (read-only workspace), the runs are marked in memory only.
   */
  markInterrupted(): string[] {
    this.reload();
    const events: HistoryEvent[] = [];
    const marked: string[] = [];
    const now = new Date().toISOString();
    for (const id of this.runOrder) {
      const run = this.runsById.get(id)!.record;
      if (run.status !== "running" || runAlive(run, this.workspaceRoot)) continue;
      marked.push(id);
      for (const step of this.steps(id)) {
        if (step.status !== "running") continue;
        events.push({
          v: VERSION,
          type: "step_end",
          runId: id,
          stepId: step.stepId,
          status: "cancelled",
          endedAt: now,
          error: "interrupted: the run's process ended before the step finished",
        });
      }
      events.push({
        v: VERSION,
        type: "run_end",
        id,
        status: "interrupted",
        endedAt: now,
        error: `interrupted: the run's process (pid ${run.pid}) ended without finishing the run`,
      });
    }
    if (events.length > 0) {
      try {
        this.append(events);
      } catch {
        for (const e of events) this.apply(e, undefined);
      }
    }
    return marked;
  }

  // ---------------------------------------------------------------- reading

  /** Runs, newest first. Plans of runs older than the latest `HOT_RUNS` are left out (see `run(id)`). */
  runs(limit = Infinity): RunRecord[] {
    const out: RunRecord[] = [];
    for (let i = this.runOrder.length - 1; i >= 0 && out.length < limit; i--) out.push(this.runsById.get(this.runOrder[i])!.record);
    return out;
  }

  /** One run, with its plan. */
  run(id: string): RunRecord | undefined {
    const entry = this.runsById.get(id);
    if (!entry) return undefined;
    if (entry.hot) return entry.record;
    const start = entry.refs.length > 0 ? this.readEvent(entry.refs[0]) : undefined;
    return { ...entry.record, plan: start?.type === "run_start" ? start.run.plan : undefined };
  }

  /** The steps of a run, in the order they were first recorded. */
  steps(runId: string): StepRecord[] {
    const entry = this.runsById.get(runId);
    if (!entry) return [];
    if (entry.hot) return [...entry.steps!.values()];
    const steps = new Map<string, StepRecord>();
    for (const ref of entry.refs) {
      const e = this.readEvent(ref);
      if (e?.type === "step_start") applyStepStart(steps, e.step);
      else if (e?.type === "step_end") applyStepEnd(steps, e);
    }
    // A run that ended (or was marked interrupted in memory) has no running steps.
    if (entry.record.status !== "running") for (const s of steps.values()) closeRunningStep(s, entry.record);
    return [...steps.values()];
  }

  /** The most recently started run. */
  lastRun(): RunRecord | undefined {
    const id = this.runOrder[this.runOrder.length - 1];
    return id === undefined ? undefined : this.runsById.get(id)!.record;
  }

  /** Records a check's result (the compiled SQL is kept, capped, for results that were not a pass). */
  recordCheck(c: CheckResultRecord): CheckResultRecord {
    const record = dropUndefined({ ...c, message: capLog(c.message), compiledSql: c.status === "passed" ? undefined : capLog(c.compiledSql, 16 * 1024) });
    this.append([{ v: VERSION, type: "check", c: record }]);
    return record;
  }

  /** The last result of a check, if it ever ran. */
  lastCheck(checkId: string): CheckResultRecord | undefined {
    return this.checks.get(checkId);
  }

  /** The check results of a run, in the order they were recorded. */
  checkResults(runId: string): CheckResultRecord[] {
    return this.checksByRun.get(runId) ?? [];
  }

  /** Materializations of an asset, newest first. */
  materializations(assetId: string, limit = 20): MaterializationRecord[] {
    const entry = this.assets.get(assetId);
    if (!entry) return [];
    const out: MaterializationRecord[] = [];
    for (let i = entry.recent.length - 1; i >= 0 && out.length < limit; i--) out.push(entry.recent[i]);
    for (let i = entry.refs.length - 1 - entry.recent.length; i >= 0 && out.length < limit; i--) {
      const e = this.readEvent(entry.refs[i]);
      if (e?.type === "materialization") out.push(e.m);
    }
    return out;
  }

  lastMaterialization(assetId: string): MaterializationRecord | undefined {
    const recent = this.assets.get(assetId)?.recent;
    return recent?.[recent.length - 1];
  }

  lastSuccess(assetId: string): MaterializationRecord | undefined {
    return this.assets.get(assetId)?.lastSuccess;
  }

  /** The data version of an asset for `upstreamVersions`: the run id of its last success, or `"external"`. */
  dataVersion(assetId: string): string {
    return this.lastSuccess(assetId)?.runId ?? "external";
  }

  /** `upstreamVersions` for a materialization reading these assets. */
  dataVersions(assetIds: Iterable<string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const id of assetIds) out[id] = this.dataVersion(id);
    return out;
  }

  /** Assets being materialized now: those of running steps of running runs not yet recorded in that run. Asset id -> run id. */
  runningAssets(): Map<string, string> {
    const out = new Map<string, string>();
    for (const id of this.runOrder) {
      const entry = this.runsById.get(id)!;
      if (entry.record.status !== "running") continue;
      const done = entry.materialized ?? new Set<string>();
      for (const step of this.steps(id)) {
        if (step.status !== "running") continue;
        for (const a of step.assets) if (!done.has(a)) out.set(a, id);
      }
    }
    return out;
  }

  /**
   * What `--retry-failed` reruns: the failed and skipped steps of the last run that is not still
   * running. With `includeUnfinished`, a cancelled or interrupted run also gives its cancelled steps
   * and the plan steps that never started. `undefined` when there is no finished run.
   */
  retryTargets(options: { includeUnfinished?: boolean } = {}): RetryTargets | undefined {
    let run: RunRecord | undefined;
    for (let i = this.runOrder.length - 1; i >= 0 && !run; i--) {
      const r = this.runsById.get(this.runOrder[i])!.record;
      if (r.status !== "running") run = r;
    }
    if (!run) return undefined;
    const steps = this.steps(run.id);
    const unfinished = options.includeUnfinished === true && (run.status === "cancelled" || run.status === "interrupted");
    const chosen: RetryTargets["steps"] = [];
    for (const s of steps) {
      if (s.status === "failed" || s.status === "skipped" || (unfinished && s.status === "cancelled")) {
        chosen.push({ stepId: s.stepId, kind: s.kind, status: s.status, assets: [...s.assets] });
      }
    }
    if (unfinished) {
      const seen = new Set(steps.map((s) => s.stepId));
      for (const p of planSteps(this.run(run.id)?.plan)) {
        if (!seen.has(p.id)) chosen.push({ stepId: p.id, kind: p.kind, status: "not started", assets: p.assets });
      }
    }
    const assets: string[] = [];
    const seenAsset = new Set<string>();
    for (const s of chosen) {
      for (const a of s.assets) {
        if (seenAsset.has(a)) continue;
        seenAsset.add(a);
        assets.push(a);
      }
    }
    return { runId: run.id, selection: run.selection, runStatus: run.status, assets, steps: chosen };
  }

  /**
   * Reads what was appended since the last read (from the last offset; a replaced or truncated
   * file is read again from the start). Returns whether anything new was read.
   */
  reload(): boolean {
    return this.log.reload();
  }

  // ---------------------------------------------------------------- internals

  /** Forgets what was read (the log's reader starts over: the file was replaced, truncated or removed). */
  private reset(): void {
    this.eventCount = 0;
    this.unknownRun = 0;
    this.runsById.clear();
    this.runOrder = [];
    this.assets.clear();
    this.checks.clear();
    this.checksByRun.clear();
  }

  /** Appends events as lines: one write, then fsync; then reads the file forward. */
  private append(events: HistoryEvent[]): void {
    appendLines(this.file, events);
    this.reload();
  }

  private readEvent(ref: LineRef): HistoryEvent | undefined {
    return this.log.readAt(ref);
  }

  /** Applies an event to the in-memory view (`ref` is its line, undefined for in-memory-only events). */
  private apply(e: HistoryEvent, ref: LineRef | undefined): void {
    switch (e.type) {
      case "run_start": {
        if (this.runsById.has(e.run.id)) return; // a duplicate start: the first wins
        const entry: RunEntry = { record: { ...e.run }, hot: true, steps: new Map(), materialized: new Set(), refs: ref ? [ref] : [] };
        this.runsById.set(e.run.id, entry);
        this.runOrder.push(e.run.id);
        if (this.runOrder.length > HOT_RUNS) this.cool(this.runOrder[this.runOrder.length - 1 - HOT_RUNS]);
        return;
      }
      case "run_end": {
        const entry = this.runsById.get(e.id);
        if (!entry || entry.record.status !== "running") return;
        const r = entry.record;
        r.status = e.status;
        r.endedAt = e.endedAt;
        if (e.error !== undefined) r.error = e.error;
        if (entry.steps) for (const s of entry.steps.values()) closeRunningStep(s, r);
        return;
      }
      case "step_start":
      case "step_end": {
        const runId = e.type === "step_start" ? e.step.runId : e.runId;
        const entry = this.runsById.get(runId);
        if (!entry) return;
        if (ref) entry.refs.push(ref);
        if (!entry.steps) return;
        if (e.type === "step_start") applyStepStart(entry.steps, e.step);
        else applyStepEnd(entry.steps, e);
        return;
      }
      case "materialization": {
        const m = e.m;
        // Only a run's own process records its materializations, after its run_start: a line naming
        // a run the log never started is forged or misplaced, and must not make an asset fresh.
        if (!this.runsById.has(m.runId)) {
          this.unknownRun++;
          return;
        }
        let entry = this.assets.get(m.assetId);
        if (!entry) this.assets.set(m.assetId, (entry = { recent: [], refs: [] }));
        entry.recent.push(m);
        if (entry.recent.length > RECENT_PER_ASSET) entry.recent.shift();
        if (ref) entry.refs.push(ref);
        if (m.status === "success") entry.lastSuccess = m;
        this.runsById.get(m.runId)?.materialized?.add(m.assetId);
        return;
      }
      case "check": {
        this.checks.set(e.c.checkId, e.c);
        const list = this.checksByRun.get(e.c.runId);
        if (list) list.push(e.c);
        else this.checksByRun.set(e.c.runId, [e.c]);
        return;
      }
    }
  }

  /** Drops a run's plan and steps from memory (they stay readable through its line refs). */
  private cool(id: string): void {
    const entry = this.runsById.get(id);
    if (!entry || !entry.hot || entry.refs.length === 0) return;
    entry.hot = false;
    entry.steps = undefined;
    entry.materialized = undefined;
    entry.record.plan = undefined;
  }
}

function applyStepStart(steps: Map<string, StepRecord>, step: StepRecord): void {
  const current = steps.get(step.stepId);
  if (current && current.status !== "running") return;
  steps.set(step.stepId, { ...step, assets: [...step.assets] });
}

function applyStepEnd(steps: Map<string, StepRecord>, e: Extract<HistoryEvent, { type: "step_end" }>): void {
  const s = steps.get(e.stepId);
  if (!s) return; // a step_end without a start carries no kind or assets: nothing to show
  if (s.status !== "running") return;
  s.status = e.status;
  s.endedAt = e.endedAt;
  if (e.error !== undefined) s.error = e.error;
  if (e.log !== undefined) s.log = e.log;
}

/** A step left running when its run ended is cancelled. */
function closeRunningStep(s: StepRecord, run: RunRecord): void {
  if (s.status !== "running") return;
  s.status = "cancelled";
  s.endedAt ??= run.endedAt;
  s.error ??= run.status === "interrupted" ? "interrupted: the run's process ended before the step finished" : `the run ended (${run.status}) before the step finished`;
}

/**
 * Whether a run still `running` in the log is going on: its process looked up by host, PID
 * namespace, pid and start time; a process this machine cannot look up (another host or PID
 * namespace) runs while the workspace's run lock names the run and is not stale (every run holds
 * the lock from before its run_start to after its run_end).
 */
function runAlive(run: RunRecord, workspaceRoot: string): boolean {
  const liveness: Liveness = processLiveness({ pid: run.pid, host: run.host ?? selfIdentity().host, pidNamespace: run.pidNamespace, startTime: run.pidStart });
  if (liveness === "alive" && run.pid === process.pid) return ownRuns.has(run.id);
  if (liveness !== "unknown") return liveness === "alive";
  return lockNamesLiveRun(workspaceRoot, run.id);
}

/** Plan steps, duck-typed (`Plan` is opaque to the history). */
function planSteps(plan: unknown): { id: string; kind: "dbt" | "ts"; assets: string[] }[] {
  if (!isObj(plan) || !Array.isArray(plan.steps)) return [];
  const out: { id: string; kind: "dbt" | "ts"; assets: string[] }[] = [];
  for (const s of plan.steps as unknown[]) {
    if (isObj(s) && isStr(s.id) && (s.kind === "dbt" || s.kind === "ts") && Array.isArray(s.assets)) {
      out.push({ id: s.id, kind: s.kind, assets: s.assets.filter(isStr) });
    }
  }
  return out;
}

/**
 * `tributary unlock`: removes the warehouse lock when no run holds it any more
 * (`removeWarehouseLock`, run/warehouseLock.ts, says when); a run whose lock is removed shows as
 * interrupted from then on.
 */
export function unlockWarehouse(workspaceRoot: string, options: { force?: boolean; now?: number } = {}): UnlockResult {
  const result = removeWarehouseLock(workspaceRoot, options);
  if (result.outcome !== "removed") return result;
  // The run it named is no longer alive for anyone: record it as interrupted now.
  try {
    HistoryStore.open(workspaceRoot);
  } catch {
    // an unreadable history is reported by the commands that read it
  }
  return result;
}
