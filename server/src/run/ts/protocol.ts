/** Messages between the runner and the child process that runs one TS asset function. */

/** Where an input comes from, decided by the runner from the graph. */
export interface InputSpec {
  /** The name the function receives it under: the last segment of the dep's key. */
  name: string;
  key: string[];
  /** `table`: read the relation; `json`: read the stored file; anything else: a registered IO manager. */
  io: string;
  relation?: { schema: string; identifier: string };
}

export interface TsStepRequest {
  type: "run";
  file: string;
  /** Exported name of the asset constant; when absent the module's exports are searched by key. */
  exportName?: string;
  key: string[];
  runId: string;
  inputs: InputSpec[];
  output: { io: string; relation?: { schema: string; identifier: string } };
  warehousePath: string;
  storageDir: string;
  /** Transpiled modules (see transpile.ts). */
  cacheDir: string;
  /** When Dagster launched the run through Pipes: passed to the asset as `ctx.dagster`. */
  dagster?: { runId: string; jobName: string | null; partitionKey: string | null; retryNumber: number; extras: Record<string, unknown> };
  /** The runner's pid: once the step's parent is another process, the runner is gone and the step stops. */
  runnerPid: number;
  /** The warehouse lock the run holds: nothing is written once the lock file no longer names this token. */
  lock: { file: string; token: string };
  /** Run the asset's `checks` on the value after storing it (default true). */
  runChecks?: boolean;
  /** Only run the checks, on the value stored by the last materialization (loaded through the IO manager). */
  checksOnly?: boolean;
  /** Checks declared with `check()`, by module and export name (run after the asset's own). */
  externalChecks?: { file: string; exportName: string }[];
}

/** The outcome of one TS check. */
export interface TsCheckOutcome {
  name: string;
  passed: boolean;
  failures?: number;
  message?: string;
  ms: number;
  /** The check threw: it neither passed nor failed. */
  error?: string;
  /** `blocking: false` as the check was declared at run time (a failure only warns). */
  blocking?: boolean;
}

export type TsStepMessage =
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string }
  | { type: "done"; rows?: number; metadata: Record<string, unknown>; ms: number; checks?: TsCheckOutcome[] }
  | { type: "error"; message: string; stack?: string };
