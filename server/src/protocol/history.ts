/**
 * Run history records (DESIGN.md §6): what `server/src/run/history.ts` keeps durably under
 * `.tributary/history/` and what the CLI (`history --json`), the language server (hover, lenses)
 * and the extension (Runs tree) read. Types only.
 */

export type RunStatus = "running" | "success" | "failed" | "cancelled" | "interrupted";

/** One run of the runner: a selection, planned and executed. */
export interface RunRecord {
  /** `YYYYMMDD-HHMMSS-xxxx` (see `newRunId`): sorts by start time. */
  id: string;
  /** The selection text as the user wrote it (or `retry of <run>`, a job name, ...). */
  selection: string;
  /**
   * The plan that was executed (a `Plan` from `protocol/plan.ts`; opaque here). The history keeps
   * the plans of recent runs in memory; `HistoryStore.runs()` may leave it out for older runs,
   * `HistoryStore.run(id)` always reads it back.
   */
  plan: unknown;
  /** ISO timestamps. */
  startedAt: string;
  endedAt?: string;
  status: RunStatus;
  /** The process doing the run: a run still `running` whose process is gone is `interrupted`. */
  pid: number;
  /** Its host, PID namespace and start time (see `processLiveness` in run/lockFile.ts); absent in older histories. */
  host?: string;
  pidNamespace?: string;
  pidStart?: string;
  engine?: string;
  error?: string;
  /** `"cli" | "vscode" | "schedule:<job>"`. */
  trigger?: string;
}

export type StepStatus = "running" | "success" | "failed" | "skipped" | "cancelled";

/** One step of a run's plan (one dbt invocation or one TS asset). */
export interface StepRecord {
  runId: string;
  stepId: string;
  kind: "dbt" | "ts";
  /** Asset ids of the step. */
  assets: string[];
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** Log excerpt (the tail), capped at 4 KB. */
  log?: string;
}

export type MaterializationStatus = "success" | "failed";

/** One asset materialized (or failing to be) by a step. */
export interface MaterializationRecord {
  assetId: string;
  key: string[];
  runId: string;
  stepId: string;
  startedAt: string;
  endedAt: string;
  status: MaterializationStatus;
  durationMs: number;
  rows?: number;
  /** `codeVersion(text)` of the model SQL or the asset function text (status.ts), or the asset's declared `codeVersion`. */
  codeVersion: string;
  /**
   * Upstream asset id -> the data version it read: the run id of that upstream's last successful
   * materialization (`HistoryStore.dataVersion`), or `"external"` for data Tributary never wrote.
   */
  upstreamVersions: Record<string, string>;
  metadata?: Record<string, unknown>;
  /** Log excerpt (the tail), capped at 4 KB. */
  log?: string;
  error?: string;
}

/** What `--retry-failed` / "Re-execute failed" reruns. */
export interface RetryTargets {
  runId: string;
  /** The selection text of the run being retried. */
  selection: string;
  runStatus: RunStatus;
  /** Asset ids of the steps to rerun, in step order, without duplicates. */
  assets: string[];
  steps: { stepId: string; kind: "dbt" | "ts"; status: StepStatus | "not started"; assets: string[] }[];
}
