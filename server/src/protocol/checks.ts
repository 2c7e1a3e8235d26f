/**
 * Asset checks: dbt data tests (generic, singular), dbt unit tests and TS checks, attached to the
 * assets they test, and their recorded results. Types only.
 */
import type { Span } from "./types";

export type CheckKind = "generic" | "singular" | "unit" | "ts";

/** dbt's test configs that change how a result is judged (`config:` or legacy top-level keys). */
export interface CheckConfig {
  where?: string;
  limit?: number;
  /** dbt's `warn_if` / `error_if`: a condition on the failure count, default `!= 0`. */
  warnIf?: string;
  errorIf?: string;
  failCalc?: string;
  storeFailures?: boolean;
  tags?: string[];
}

export interface AssetCheck {
  /** Unique in the graph: dbt checks `<project>.<name>`, TS checks `<asset id>:<name>`. */
  id: string;
  /** dbt's test name (`not_null_orders_order_id`, as in its unique id) or the TS check's name. */
  name: string;
  /** dbt's alias of a generic test: the name, or from 64 characters on its first 30 and an MD5 (the compiled file's name). */
  alias?: string;
  kind: CheckKind;
  /** The generic test (`not_null`, `dbt_utils.expression_is_true`); absent for singular / TS checks. */
  testName?: string;
  /** Asset ids the check is attached to (the model a generic test is on; every model a singular test refs). */
  assets: string[];
  /** Other assets the check reads (a `relationships` test's `to:`), which must exist before it runs. */
  reads: string[];
  column?: string;
  /** Arguments as written (after `arguments:` is flattened), without `model` and configs. */
  args?: Record<string, unknown>;
  /** `error` fails the asset and skips its downstream (as dbt build); `warn` only warns. */
  severity: "error" | "warn";
  config: CheckConfig;
  enabled: boolean;
  project?: string;
  description?: string;
  /** A dbt unit test's fixtures: `given` inputs and `expect`ed rows, as written. */
  unit?: { given: { input: string; rows?: unknown; format?: string }[]; expect: { rows?: unknown; format?: string } };
  /** A TS check declared with `check()`: the export of `file` the runner loads. */
  exportName?: string;
  /** Where it is declared (the YAML test entry, the test SQL file, the TS check). */
  file: string;
  span: Span;
}

export type CheckOutcome = "passed" | "failed" | "warned" | "error" | "skipped";

/** One execution of a check, as kept in the history. */
export interface CheckResultRecord {
  checkId: string;
  name: string;
  /** The asset ids the check is attached to. */
  assets: string[];
  runId: string;
  stepId: string;
  at: string;
  status: CheckOutcome;
  /** Failing rows found (dbt's `failures`). */
  failures?: number;
  durationMs: number;
  /** Why it errored or was skipped, or the TS check's message. */
  message?: string;
  /** The query that found the failing rows (dbt's compiled test SQL), to run by hand. */
  compiledSql?: string;
}

/** A check and its last result, as hover / lenses / panel / trees / CLI show it. */
export interface CheckSummary {
  id: string;
  name: string;
  /** The asset ids it checks. */
  assets: string[];
  kind: CheckKind;
  severity: "error" | "warn";
  /** `not run` when the history has no result for it. */
  status: CheckOutcome | "not run";
  failures?: number;
  at?: string;
  file: string;
  line: number;
  compiledSql?: string;
}

/** An asset's checks counted by their last result (the panel's badge, the Assets tree). */
export interface CheckCounts {
  total: number;
  passed: number;
  failed: number;
  warned: number;
  /** Never ran, skipped, or errored. */
  other: number;
}
