/**
 * Asset status (DESIGN.md §6), the one vocabulary of the server (run/status.ts computes it), the
 * CLI (`status`), the selection grammar (`status:`), the extension (trees) and the panel. Types
 * only, plus the list of states.
 *
 * Three types, three jobs:
 * - `AssetState`: the state alone (five values);
 * - `AssetStatus`: the state with its evidence (the reason, the materializations it was computed
 *   from), what the server and the CLI work with;
 * - `StatusSummary`: what people are shown (the state, one line of detail, the check counts), what
 *   hovers and code lenses print and `tributary/statuses` sends to the extension and the panel.
 *
 * Not to be confused with a run's outcome (`RunStatus`, `StepStatus`, `MaterializationStatus` in
 * history.ts) or a check's result (`CheckStatus` in checks.ts).
 */
import type { CheckCounts } from "./checks";
import type { MaterializationRecord } from "./history";

/**
 * Where an asset's data stands, from the graph, the run history and the current code:
 * - `missing`: never materialized successfully (and not failed last);
 * - `fresh`: materialized, and nothing changed since;
 * - `stale`: its code changed since its last success, or an upstream was materialized since
 *   (or is stale itself);
 * - `failed`: its last materialization failed;
 * - `running`: a run is materializing it now.
 */
export type AssetState = "missing" | "fresh" | "stale" | "failed" | "running";

/** Every state, in the order the selection grammar lists them (`status:` values). */
export const ASSET_STATES: readonly AssetState[] = ["missing", "fresh", "stale", "failed", "running"];

/** The states a run reports live for an asset while it goes (the runner never reports `missing`). */
export type RunProgressState = Exclude<AssetState, "missing">;

/** The status of one asset with its evidence, computed from the graph, the history and the current code. */
export interface AssetStatus {
  state: AssetState;
  /** Why it is stale / failed / running (`code changed since the last materialization`, `upstream x is stale`, ...). */
  reason?: string;
  /** The last materialization, successful or not. */
  last?: MaterializationRecord;
  /** The last successful materialization: the data that is there now. */
  lastSuccess?: MaterializationRecord;
}

/**
 * An asset's status as shown: hovers and code lenses (`fresh · materialized 3 min ago in 1.2 s`),
 * the Assets tree and the panel (colour, tooltip, check badge).
 */
export interface StatusSummary {
  state: AssetState;
  /** One line: why it is stale / failed, or when it was last materialized. */
  detail?: string;
  /** The asset's checks by last result (with `text`, e.g. `3/5 checks passed · 1 failed`), when it has any. */
  checks?: CheckCounts & { text: string };
}

/** Asset id → its status as shown (the answer to `tributary/statuses`). */
export type StatusMap = Record<string, StatusSummary>;
