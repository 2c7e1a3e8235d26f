/**
 * The job list as data: what `tributary jobs --json` prints and what a Jobs tree shows (job,
 * schedule, next run, selection size, planned steps, last run and last tick).
 */
import * as path from "node:path";
import { readTributaryConfig, WorkspaceIndex, type TributaryConfig } from "../index/workspace";
import type { RunRecord } from "../protocol/history";
import { HistoryStore } from "../run/history";
import { collectJobs } from "./jobs";
import { lastJobRun } from "./triggers";
import { isoInZone } from "./schedule";
import { TickStore, type TickRecord } from "./ticks";

/** Reads the workspace the way the other commands do, without printing. */
export function loadWorkspace(root: string): { index: WorkspaceIndex; config: TributaryConfig } {
  const { config } = readTributaryConfig([root]);
  const index = new WorkspaceIndex({ roots: [root], include: config.include, exclude: config.exclude });
  index.load();
  return { index, config };
}

export interface JobListEntry {
  name?: string;
  /** Relative to the workspace root. */
  file: string;
  line: number;
  description?: string;
  selection?: string;
  /** Selected asset ids, upstream first. */
  assets: string[];
  steps?: number;
  dbtInvocations?: number;
  schedule?: string;
  /** The 5-field pattern (macros expanded). */
  cron?: string;
  scheduleText?: string;
  timezone?: string;
  /** True when the job gives no timezone and the machine's is used. */
  timezoneDefault?: boolean;
  /** ISO UTC, and the same in the job's time zone. */
  nextRun?: string;
  nextRunLocal?: string;
  lastRun?: Pick<RunRecord, "id" | "status" | "startedAt" | "endedAt" | "trigger" | "error">;
  lastTick?: TickRecord;
  errors: string[];
}

/** The data of `tributary jobs --json` (also what a Jobs tree needs). */
export function listJobs(index: WorkspaceIndex, root: string, now = Date.now()): JobListEntry[] {
  const history = HistoryStore.open(root, { markInterrupted: false });
  const ticks = TickStore.open(root);
  return collectJobs(index, { roots: [root], plan: true }).map((job) => {
    const entry: JobListEntry = { name: job.name, file: path.relative(root, job.file), line: job.def.span.start.line + 1, assets: job.assets, errors: [] };
    if (entry.name === undefined) delete entry.name;
    if (job.def.description) entry.description = job.def.description;
    if (job.selection !== undefined) entry.selection = job.selection;
    if (job.plan) {
      entry.steps = job.plan.steps.length;
      entry.dbtInvocations = job.plan.steps.filter((s) => s.kind === "dbt").length;
    }
    if (job.def.schedule !== undefined) entry.schedule = job.def.schedule;
    if (job.def.timezone !== undefined) entry.timezone = job.def.timezone;
    if (job.schedule) {
      entry.cron = job.schedule.cron;
      entry.scheduleText = job.schedule.describe();
      entry.timezone = job.schedule.timezone;
      if (!job.schedule.explicitTimezone) entry.timezoneDefault = true;
      const next = job.schedule.next(now);
      if (next) {
        entry.nextRun = next.toISOString();
        entry.nextRunLocal = isoInZone(next, job.schedule.timezone);
      }
    }
    if (job.name !== undefined) {
      const last = lastJobRun(history, job.name);
      if (last) entry.lastRun = { id: last.id, status: last.status, startedAt: last.startedAt, endedAt: last.endedAt, trigger: last.trigger, error: last.error };
      const tick = ticks.lastTick(job.name);
      if (tick) entry.lastTick = tick;
    }
    if (job.name === undefined) entry.errors.push("no name that can be read statically");
    if (job.duplicate) entry.errors.push("another job has the same name");
    if (job.selectionError) entry.errors.push(`invalid selection: ${job.selectionError.message} (column ${job.selectionError.column})`);
    else if (job.selection !== undefined && job.assets.length === 0 && !job.usesStatus) entry.errors.push("the selection matches no asset");
    if (job.scheduleError) entry.errors.push(`invalid ${job.scheduleError.field}: ${job.scheduleError.message}`);
    return entry;
  });
}
