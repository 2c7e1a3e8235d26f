/** Messages between the runner and the child process that runs one TS asset function. */
import type { CheckOutcome } from "../../protocol/history";

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
}

export type TsStepMessage =
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string }
  | { type: "done"; rows?: number; metadata: Record<string, unknown>; checks?: CheckOutcome[]; ms: number }
  | { type: "error"; message: string; stack?: string };
