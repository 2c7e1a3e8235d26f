/**
 * Running a job for real: its selection, planned by the planner, executed by the runner — the same
 * path as `tributary materialize` (`planSelection` + `runPlan`), with the run recorded in history
 * under the trigger `job:<name>` (on demand: CLI `jobs run`, VS Code "Run now") or
 * `schedule:<name>` (the schedule daemon).
 */
import { describeSelectionError } from "../graph/selection";
import type { WorkspaceIndex } from "../index/workspace";
import { planSelection } from "../plan/planner";
import type { Plan } from "../protocol/plan";
import { RunContext } from "../run/context";
import { HistoryStore } from "../run/history";
import type { Engine } from "../protocol/runEvents";
import { currentCodeVersion, runPlan, type RunOptions, type RunSummary } from "../run/runner";
import { computeStatus } from "../run/status";
import { collectJobs, type JobInfo } from "./jobs";
import { jobTrigger } from "./triggers";

/** A job that cannot be run: unknown, duplicated, invalid or empty selection. */
export class JobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JobError";
  }
}

/** Resolves a job by name and plans its selection, with `status:` selectors read from the history. Throws `JobError`. */
export function planJob(index: WorkspaceIndex, root: string, name: string): { job: JobInfo; plan: Plan } {
  let statuses: ReturnType<typeof computeStatus> | undefined;
  const status = (id: string) => {
    statuses ??= computeStatus(index.graph, HistoryStore.open(root), (asset) => currentCodeVersion(index, asset));
    return statuses.get(id)?.state;
  };
  const jobs = collectJobs(index, { roots: [root], status });
  const matching = jobs.filter((j) => j.name === name);
  if (matching.length === 0) {
    const names = [...new Set(jobs.map((j) => j.name).filter((n): n is string => n !== undefined))].sort();
    throw new JobError(`No job named '${name}'.${names.length ? ` Jobs: ${names.join(", ")}.` : " The workspace defines no job() yet."}`);
  }
  if (matching.length > 1) throw new JobError(`${matching.length} jobs are named '${name}' (${matching.map((j) => j.file).join(", ")}); rename one.`);
  const job = matching[0];
  if (job.selection === undefined) throw new JobError(`Job '${name}' has no selection that can be read statically.`);
  if (job.selectionError) throw new JobError(`Job '${name}' has an invalid selection '${job.selection}': ${describeSelectionError(job.selectionError, job.selection)}`);
  if (job.assets.length === 0) throw new JobError(`The selection '${job.selection}' of job '${name}' matches no asset.`);
  return { job, plan: planSelection(index.graph, job.assets) };
}

export interface RunJobOptions extends Omit<RunOptions, "selection" | "trigger"> {
  /** Default `job:<name>`; the daemon passes `schedule:<name>`. */
  trigger?: string;
  /** Called with the plan before the run starts. */
  onPlan?(plan: Plan, job: JobInfo): void;
  /** Picks the engine for this plan (`chooseEngine` in run/engineChoice.ts); wins over `engine` / `dbtExecutable`. */
  resolveEngine?(plan: Plan): { engine: Engine; executable?: string };
}

/** Materializes a job's selection (planner + runner). Throws `JobError` before anything runs when the job cannot run. */
export async function runJob(index: WorkspaceIndex, root: string, name: string, options: RunJobOptions = {}): Promise<RunSummary> {
  const { job, plan } = planJob(index, root, name);
  const { onPlan, resolveEngine, trigger, ...rest } = options;
  const engine = resolveEngine?.(plan);
  if (engine) {
    rest.engine = engine.engine;
    rest.dbtExecutable = engine.executable;
  }
  onPlan?.(plan, job);
  return runPlan(new RunContext(index, root), plan, { ...rest, selection: job.selection!, trigger: trigger ?? jobTrigger(name, false) });
}
