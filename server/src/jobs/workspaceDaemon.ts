/**
 * The schedule daemon wired to a real workspace: jobs read from the workspace index (read again at
 * every wake-up, so edited jobs apply without a restart), runs through `runJob` (planner + runner,
 * trigger `schedule:<job>`, waiting for the warehouse lock), overlaps with runs of the same job in
 * other processes seen in the run history. The CLI's `tributary daemon` and VS Code's "run
 * schedules while the workspace is open" both use this.
 */
import * as path from "node:path";
import type { WorkspaceIndex, TributaryConfig } from "../index/workspace";
import type { Plan } from "../protocol/plan";
import { HistoryStore, processAlive } from "../run/history";
import type { Engine, RunEvent } from "../protocol/runEvents";
import { userDbtExecutable } from "../run/dbtCli";
import { ScheduleDaemon, type Clock, type DaemonEvent } from "./daemon";
import { scheduledJobs } from "./jobs";
import { loadWorkspace } from "./list";
import { runJob } from "./run";
import { jobOfRun, jobTrigger } from "./triggers";

export type WorkspaceDaemonEvent =
  | DaemonEvent
  /** A runner event of a scheduled run. */
  | { type: "run_event"; job: string; event: RunEvent }
  /** Jobs with a schedule that are not run (invalid, duplicated); sent when the list changes. */
  | { type: "ignored"; jobs: { name?: string; file: string; reason: string }[] };

export interface WorkspaceDaemonOptions {
  /** The workspace folder (holding `.tributary/`). */
  root: string;
  /** Written into the daemon lock: `cli`, `vscode`. */
  owner?: string;
  /** The engine asked for (default: `tributary.json`'s, else the runner's default). */
  engine?: Engine;
  /** Picks the engine per plan (the CLI passes `chooseEngine`, as `materialize` does). */
  resolveEngine?(index: WorkspaceIndex, plan: Plan, engine: Engine | undefined, config: TributaryConfig): { engine: Engine; executable?: string };
  /** A fresh index of the workspace (default: read from disk). Called at each wake-up and for each run. */
  load?(): { index: WorkspaceIndex; config: TributaryConfig };
  onEvent?(event: WorkspaceDaemonEvent): void;
  clock?: Clock;
  maxSleepMs?: number;
}

export function createWorkspaceDaemon(options: WorkspaceDaemonOptions): ScheduleDaemon {
  const { root } = options;
  const load = options.load ?? (() => loadWorkspace(root));
  const emit = (event: WorkspaceDaemonEvent) => options.onEvent?.(event);
  let lastIgnored = "";
  const history = HistoryStore.open(root, { markInterrupted: false });
  return new ScheduleDaemon({
    root,
    owner: options.owner,
    clock: options.clock,
    maxSleepMs: options.maxSleepMs,
    jobs: () => {
      const { index } = load();
      const { jobs, ignored } = scheduledJobs(index, { roots: [root] });
      const signature = JSON.stringify(ignored);
      if (signature !== lastIgnored) {
        lastIgnored = signature;
        if (ignored.length) emit({ type: "ignored", jobs: ignored.map((i) => ({ ...i, file: path.relative(root, i.file) })) });
      }
      return jobs;
    },
    run: async (job, ctx) => {
      const { index, config } = load();
      const engine = options.engine ?? config.engine;
      return runJob(index, root, job.name, {
        trigger: jobTrigger(job.name, true),
        signal: ctx.signal,
        waitForLock: true,
        engine,
        dbtExecutable: userDbtExecutable(),
        resolveEngine: options.resolveEngine && ((plan) => options.resolveEngine!(index, plan, engine, config)),
        concurrency: config.concurrency,
        onEvent: (event) => {
          if (event.type === "run_start") ctx.onRunStart(event.runId);
          emit({ type: "run_event", job: job.name, event });
        },
      });
    },
    isRunningElsewhere: (name) => {
      history.reload();
      const run = history.runs().find((r) => r.status === "running" && r.pid !== process.pid && jobOfRun(r) === name && processAlive(r.pid));
      return run ? `run ${run.id}, pid ${run.pid}` : undefined;
    },
    onEvent: emit,
  });
}
