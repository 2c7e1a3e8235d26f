/**
 * Durable run history (DESIGN.md §6) and the warehouse run lock.
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
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type {
  MaterializationRecord,
  RetryTargets,
  RunRecord,
  RunStatus,
  StepRecord,
  StepStatus,
} from "../protocol/history";

export const HISTORY_DIR = join(".tributary", "history");
export const EVENTS_FILE = "events.jsonl";
export const LOCK_FILE = join(".tributary", "run.lock");
/** Log excerpts (steps and materializations) keep at most this many bytes: the tail. */
export const LOG_LIMIT = 4096;
/** Runs whose plans and steps stay in memory. */
export const HOT_RUNS = 25;
/** Materializations per asset that stay in memory. */
export const RECENT_PER_ASSET = 10;

const VERSION = 1;
const CHUNK = 1 << 20;

export type HistoryEvent =
  | { v: number; type: "run_start"; run: RunRecord }
  | { v: number; type: "run_end"; id: string; status: RunStatus; endedAt: string; error?: string }
  | { v: number; type: "step_start"; step: StepRecord }
  | { v: number; type: "step_end"; runId: string; stepId: string; status: StepStatus; endedAt: string; error?: string; log?: string }
  | { v: number; type: "materialization"; m: MaterializationRecord };

/** A line of the log: byte offset and length (without the newline). */
type LineRef = [offset: number, length: number];

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

/** Whether a process is alive on this machine (`EPERM` means it is, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
  private offset = 0;
  private ino: number | undefined;
  private tornTail = false;
  private corrupt = 0;
  private eventCount = 0;
  private runsById = new Map<string, RunEntry>();
  /** Run ids in the order of their run_start lines. */
  private runOrder: string[] = [];
  private assets = new Map<string, AssetEntry>();

  private constructor(readonly workspaceRoot: string) {
    this.dir = join(workspaceRoot, HISTORY_DIR);
    this.file = join(this.dir, EVENTS_FILE);
  }

  /** Opens (without creating anything on disk until the first write) and reads the history. */
  static open(workspaceRoot: string, options: OpenOptions = {}): HistoryStore {
    const store = new HistoryStore(workspaceRoot);
    store.reload();
    if (options.markInterrupted !== false) store.markInterrupted();
    return store;
  }

  /** Lines skipped because they did not parse or had the wrong shape (since the last full read). */
  get corruptLines(): number {
    return this.corrupt;
  }

  /** Events read (since the last full read). */
  get events(): number {
    return this.eventCount;
  }

  /** Whether the file ends in an unterminated line (a torn write, or another process's write in flight). */
  get hasTornTail(): boolean {
    return this.tornTail;
  }

  // ---------------------------------------------------------------- writing

  startRun(input: StartRunInput): RunRecord {
    const run: RunRecord = dropUndefined({
      id: input.id,
      selection: input.selection,
      plan: jsonSafe(input.plan) ?? null,
      startedAt: input.startedAt ?? new Date().toISOString(),
      status: "running" as const,
      pid: input.pid ?? process.pid,
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
      if (run.status !== "running" || runAlive(run)) continue;
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
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      if (this.offset > 0 || this.eventCount > 0 || this.corrupt > 0) {
        this.reset();
        return true;
      }
      return false;
    }
    try {
      const st = fstatSync(fd);
      let changed = false;
      if (this.ino !== undefined && (st.ino !== this.ino || st.size < this.offset)) {
        this.reset();
        changed = true;
      }
      this.ino = st.ino;
      const size = st.size;
      const from = this.offset;
      if (size === this.offset) return changed;
      let carry: Buffer = Buffer.alloc(0);
      let carryStart = this.offset;
      let pos = this.offset;
      while (pos < size) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
        const n = readSync(fd, chunk, 0, chunk.length, pos);
        if (n <= 0) break;
        pos += n;
        const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        let lineStart = 0;
        for (let nl = buf.indexOf(0x0a, lineStart); nl !== -1; nl = buf.indexOf(0x0a, lineStart)) {
          if (this.applyLine(buf.subarray(lineStart, nl), carryStart + lineStart)) changed = true;
          lineStart = nl + 1;
        }
        carryStart += lineStart;
        carry = Buffer.from(buf.subarray(lineStart));
      }
      this.offset = carryStart;
      this.tornTail = carry.length > 0;
      return changed || carryStart > from;
    } finally {
      closeSync(fd);
    }
  }

  // ---------------------------------------------------------------- internals

  private reset(): void {
    this.offset = 0;
    this.ino = undefined;
    this.tornTail = false;
    this.corrupt = 0;
    this.eventCount = 0;
    this.runsById.clear();
    this.runOrder = [];
    this.assets.clear();
  }

  /** Appends events as lines: one write, then fsync; then reads the file forward. */
  private append(events: HistoryEvent[]): void {
    mkdirSync(this.dir, { recursive: true });
    const created = !existsSync(this.file);
    const body = events.map((e) => JSON.stringify(e)).join("\n") + "\n";
    const fd = openSync(this.file, "a+");
    try {
      const size = fstatSync(fd).size;
      let prefix = "";
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = "\n"; // a torn line: start ours on a fresh one
      }
      const buf = Buffer.from(prefix + body, "utf8");
      let written = 0;
      while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(this.dir);
    this.reload();
  }

  /** Parses and applies one line; returns whether it was an event. */
  private applyLine(line: Buffer, offset: number): boolean {
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    if (end === 0) return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.subarray(0, end).toString("utf8"));
    } catch {
      this.corrupt++;
      return false;
    }
    const event = validEvent(parsed);
    if (event === undefined) {
      this.corrupt++;
      return false;
    }
    if (event === null) return false;
    this.eventCount++;
    this.apply(event, [offset, line.length]);
    return true;
  }

  private readEvent(ref: LineRef): HistoryEvent | undefined {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.alloc(ref[1]);
      const n = readSync(fd, buf, 0, ref[1], ref[0]);
      const e = validEvent(JSON.parse(buf.subarray(0, n).toString("utf8")));
      return e ?? undefined;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
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
        let entry = this.assets.get(m.assetId);
        if (!entry) this.assets.set(m.assetId, (entry = { recent: [], refs: [] }));
        entry.recent.push(m);
        if (entry.recent.length > RECENT_PER_ASSET) entry.recent.shift();
        if (ref) entry.refs.push(ref);
        if (m.status === "success") entry.lastSuccess = m;
        this.runsById.get(m.runId)?.materialized?.add(m.assetId);
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

function runAlive(run: RunRecord): boolean {
  if (run.pid === process.pid) return ownRuns.has(run.id);
  return processAlive(run.pid);
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

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not possible on every platform (Windows); the file's own fsync is what matters most.
  }
}

// ==================================================================== the warehouse run lock

export interface LockInfo {
  pid: number;
  runId: string;
  startedAt: string;
  host: string;
  /** Random: tells this acquisition from a later one of the same run or pid. */
  token: string;
}

export interface WarehouseLock {
  readonly info: LockInfo;
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

export interface LockOptions {
  /** The run taking the lock (named in the message others see). */
  runId?: string;
  /** Wait for the holder (polling with backoff) instead of refusing. */
  wait: boolean;
  /** With `wait`: give up after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** With `wait`: called when waiting starts and whenever the holder changes. */
  onWait?: (holder: LockInfo) => void;
}

/** Thrown when another live process holds the warehouse lock (and we do not, or no longer, wait). */
export class WarehouseLockedError extends Error {
  constructor(
    readonly holder: LockInfo,
    waitedMs?: number,
  ) {
    super(
      (waitedMs !== undefined ? `Timed out after ${(waitedMs / 1000).toFixed(1)} s: ` : "") +
        `Another Tributary run (run ${holder.runId}, pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ""}) is writing this warehouse; wait for it or cancel it.`,
    );
    this.name = "WarehouseLockedError";
  }
}

/** Tokens of locks this process holds now. */
const heldTokens = new Set<string>();

/** A lock file whose content could not be read for this long is taken for the leftover of a crash. */
const UNREADABLE_STALE_MS = 5000;
const TAKEOVER_STALE_MS = 10000;

interface LockFileState {
  info?: LockInfo;
  ino: number;
  mtimeMs: number;
  size: number;
}

function readLock(file: string): LockFileState | undefined {
  try {
    const st = statSync(file);
    let info: LockInfo | undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LockInfo>;
      if (typeof parsed.pid === "number" && isStr(parsed.runId)) {
        info = { pid: parsed.pid, runId: parsed.runId, startedAt: parsed.startedAt ?? "", host: parsed.host ?? hostname(), token: parsed.token ?? "" };
      }
    } catch {
      info = undefined;
    }
    return { info, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function holderAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell for another machine: assume it runs
  if (info.pid === process.pid) return heldTokens.has(info.token);
  return processAlive(info.pid);
}

function sameLock(a: LockFileState, b: LockFileState): boolean {
  if (a.info && b.info) return a.info.token === b.info.token && a.info.pid === b.info.pid && a.info.runId === b.info.runId && a.ino === b.ino;
  return !a.info && !b.info && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

function writeDurably(file: string, text: string, flag: "w" | "wx"): void {
  const fd = openSync(file, flag);
  try {
    const buf = Buffer.from(text, "utf8");
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One attempt at creating the lock file with complete content; false when it exists. */
function tryCreate(lockFile: string, info: LockInfo): boolean {
  const text = JSON.stringify(info) + "\n";
  const tmp = `${lockFile}.${info.pid}.${info.token}.tmp`;
  writeDurably(tmp, text, "w");
  try {
    linkSync(tmp, lockFile); // atomic, and fails if the lock exists: nobody ever sees a half-written lock
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // File systems without hard links: exclusive create (readers treat a briefly empty file as held).
    try {
      writeDurably(lockFile, text, "wx");
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err2;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/** Removes a stale lock, if it is still the one judged stale, under a short-lived takeover guard. */
function takeOver(lockFile: string, stale: LockFileState): void {
  const guard = `${lockFile}.takeover`;
  try {
    closeSync(openSync(guard, "wx"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    try {
      if (Date.now() - statSync(guard).mtimeMs > TAKEOVER_STALE_MS) unlinkSync(guard); // its owner died in here
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const now = readLock(lockFile);
    if (now && sameLock(now, stale)) unlinkSync(lockFile);
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      // ignore
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Takes the lock that lets one run at a time write the workspace's warehouse:
 * `<workspace>/.tributary/run.lock` holding `{pid, runId, startedAt, host, token}`, created
 * atomically. A lock whose process is gone is taken over. When a live process holds it, either
 * waits (polling with backoff, up to `timeoutMs`, abortable) or throws `WarehouseLockedError`.
 * The lock is also removed if this process exits normally without releasing it.
 */
export async function acquireWarehouseLock(workspaceRoot: string, options: LockOptions): Promise<WarehouseLock> {
  const lockFile = join(workspaceRoot, LOCK_FILE);
  mkdirSync(join(workspaceRoot, ".tributary"), { recursive: true });
  const began = Date.now();
  let delay = 25;
  let lastHolder: string | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const info: LockInfo = {
      pid: process.pid,
      runId: options.runId ?? `adhoc-${process.pid}`,
      startedAt: new Date().toISOString(),
      host: hostname(),
      token: randomBytes(8).toString("hex"),
    };
    if (tryCreate(lockFile, info)) return held(lockFile, info);
    const state = readLock(lockFile);
    if (!state) continue; // released meanwhile: try again at once
    let holder = state.info;
    if (holder ? !holderAlive(holder) : Date.now() - state.mtimeMs > UNREADABLE_STALE_MS) {
      if (Date.now() - began > TAKEOVER_STALE_MS + 2000 && !options.wait) {
        throw new Error(`Could not take over the stale warehouse lock ${lockFile}${holder ? ` (run ${holder.runId}, pid ${holder.pid}, no longer running)` : ""}; delete it if no Tributary run is going on.`);
      }
      takeOver(lockFile, state);
      await sleep(5, options.signal);
      continue;
    }
    holder ??= { pid: 0, runId: "unknown", startedAt: "", host: hostname(), token: "" };
    if (!options.wait) throw new WarehouseLockedError(holder);
    const waited = Date.now() - began;
    if (options.timeoutMs !== undefined && waited >= options.timeoutMs) throw new WarehouseLockedError(holder, waited);
    if (lastHolder !== holder.token) {
      lastHolder = holder.token;
      options.onWait?.(holder);
    }
    let pause = delay;
    if (options.timeoutMs !== undefined) pause = Math.max(1, Math.min(pause, options.timeoutMs - waited));
    await sleep(pause, options.signal);
    delay = Math.min(1000, Math.round(delay * 1.5));
  }
}

function held(lockFile: string, info: LockInfo): WarehouseLock {
  heldTokens.add(info.token);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldTokens.delete(info.token);
    process.removeListener("exit", release);
    try {
      const now = readLock(lockFile);
      if (now?.info?.token === info.token) unlinkSync(lockFile);
    } catch {
      // gone already
    }
  };
  process.on("exit", release);
  return { info, file: lockFile, release };
}
