/**
 * What the runner reports as a run goes: the events `tributary materialize --json` prints, one JSON
 * object a line, which the extension's run manager folds into its progress, status bar and panel.
 * Types only; the runner (run/runner.ts) emits them, extension/src/runProgress.ts reads them.
 */
import type { CheckOutcome } from "./checks";
import type { RunStatus, StepStatus } from "./history";
import type { Plan } from "./plan";

export type Engine = "embedded" | "dbt";

export type RunEvent =
  | { type: "run_start"; runId: string; selection: string; engine: Engine; plan: Plan }
  | { type: "step_start"; runId: string; stepId: string; kind: "dbt" | "ts"; assets: string[] }
  | { type: "asset_start"; runId: string; stepId: string; assetId: string }
  | { type: "asset_materialized"; runId: string; stepId: string; assetId: string; rows?: number; ms: number }
  | { type: "asset_failed"; runId: string; stepId: string; assetId: string; error: string }
  | { type: "log"; runId: string; stepId: string; level: string; message: string }
  | { type: "step_end"; runId: string; stepId: string; status: StepStatus; ms: number }
  | { type: "check_result"; runId: string; stepId: string; checkId: string; name: string; assets: string[]; status: CheckOutcome; severity: "error" | "warn"; failures?: number; message?: string }
  | { type: "step_failed"; runId: string; stepId: string; error: string; assets: string[] }
  | { type: "step_skipped"; runId: string; stepId: string; reason: string }
  | { type: "run_end"; runId: string; status: RunStatus; ms: number; failed: { assetId: string; error: string }[]; skipped: string[] };
