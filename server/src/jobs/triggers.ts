/**
 * How job runs are found in the run history: a run started for a job carries the trigger
 * `job:<name>` (on demand: CLI `jobs run`, VS Code "Run now") or `schedule:<name>` (the daemon).
 */
import type { RunRecord } from "../protocol/history";
import type { HistoryStore } from "../run/history";

/** The trigger recorded for a job's runs. */
export function jobTrigger(name: string, scheduled: boolean): string {
  return `${scheduled ? "schedule" : "job"}:${name}`;
}

/** The job a run was started for (from its trigger), if any. */
export function jobOfRun(run: Pick<RunRecord, "trigger">): string | undefined {
  const m = /^(?:schedule|job):(.+)$/.exec(run.trigger ?? "");
  return m ? m[1] : undefined;
}

/** The latest run of a job (scheduled or on demand) in the history. */
export function lastJobRun(history: HistoryStore, name: string): RunRecord | undefined {
  return history.runs().find((r) => jobOfRun(r) === name); // newest first
}

/** A run of the job that is still going (its process alive), if any. */
export function runningJobRun(history: HistoryStore, name: string): RunRecord | undefined {
  return history.runs().find((r) => r.status === "running" && jobOfRun(r) === name);
}
