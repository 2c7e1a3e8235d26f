/**
 * Every custom LSP request and notification, typed once and imported by server and extension.
 * Each line says which way it travels.
 */
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type { CheckSummary } from "./checks";
import type { RunRecord, RunStatus, StepRecord } from "./history";
import type { Plan } from "./plan";
import type { StatusMap } from "./status";
import type { GraphData, IndexDiagnostic } from "./types";

export interface NeighbourhoodParams {
  /** Asset ids to centre on; or `uri` to centre on the assets of a file. */
  ids?: string[];
  uri?: string;
  /** Layers upstream / downstream (default 2 / 2). */
  upstream?: number;
  downstream?: number;
}

export interface NeighbourhoodResult extends GraphData {
  /** The ids the neighbourhood was centred on. */
  centre: string[];
  /** Nodes with neighbours outside the returned set (the panel offers to expand them). */
  truncated: string[];
}

export interface AssetsAtParams {
  uri: string;
  position?: { line: number; character: number };
}

export interface AssetsAtResult {
  /** The asset under the cursor (definition or reference), if any. */
  atCursor?: string;
  /** Assets defined in the file. */
  inFile: string[];
}

export interface IndexStats {
  assets: number;
  edges: number;
  files: number;
  diagnostics: number;
}

/** client -> server: the whole graph. */
export const GraphRequest = new RequestType0<GraphData, void>("tributary/graph");
/** client -> server: a neighbourhood of some assets or of a file's assets. */
export const NeighbourhoodRequest = new RequestType<NeighbourhoodParams, NeighbourhoodResult, void>("tributary/neighbourhood");
/** client -> server: which asset a command run at a place in a file should act on. */
export const AssetsAtRequest = new RequestType<AssetsAtParams, AssetsAtResult, void>("tributary/assetsAt");
/** client -> server: every diagnostic of the index (for tests and the `check` view). */
export const DiagnosticsRequest = new RequestType0<IndexDiagnostic[], void>("tributary/diagnostics");
/** client -> server: re-read the whole workspace from disk. */
export const RefreshRequest = new RequestType0<IndexStats, void>("tributary/refresh");
/** server -> client: the graph changed (after an edit, a file event or a refresh). */
export const GraphChangedNotification = new NotificationType<IndexStats>("tributary/graphChanged");

export interface SelectParams {
  selection: string;
}
export type SelectResult = { ids: string[]; steps: number; dbtSteps: number } | { error: { column: number; message: string } };

export interface PlanParams {
  /** Plan these assets, or the assets the selection matches. */
  ids?: string[];
  selection?: string;
}
export type PlanResult = { plan: Plan } | { error: { column: number; message: string } };

export interface StatusesParams {
  ids?: string[];
}

export interface RunsResult {
  runs: (Omit<RunRecord, "plan"> & { steps: StepRecord[] })[];
}

/** client -> server: evaluate a selection (live validation in the input box, the panel's search). */
export const SelectRequest = new RequestType<SelectParams, SelectResult, void>("tributary/select");
/** client -> server: the plan for some assets or a selection, without running it. */
export const PlanRequest = new RequestType<PlanParams, PlanResult, void>("tributary/plan");
/** client -> server: status per asset from the run history. */
export const StatusesRequest = new RequestType<StatusesParams, StatusMap, void>("tributary/statuses");

export interface ChecksParams {
  /** The checks of this asset... */
  assetId?: string;
  /** ...or this one check (neither: every check). */
  checkId?: string;
}
/** client -> server: checks with their last results (and, for failed ones, the query that found the rows). */
export const ChecksRequest = new RequestType<ChecksParams, { checks: CheckSummary[] }, void>("tributary/checks");
/** client -> server: recent runs with their steps (the Runs tree). */
export const RunsRequest = new RequestType<{ limit?: number }, RunsResult, void>("tributary/runs");

/** One job() definition as the Jobs tree shows it. */
export interface JobSummary {
  name: string;
  /** Absolute path and 1-based line of the job() call. */
  file: string;
  line: number;
  selection?: string;
  schedule?: string;
  timezone?: string;
  assets: number;
  steps?: number;
  /** Next scheduled time in the job's time zone (ISO with offset), when it has a valid schedule. */
  nextRun?: string;
  lastRunStatus?: RunStatus;
  lastRunAt?: string;
  errors: string[];
}

/** client -> server: the workspace's job() definitions with their next and last runs. */
export const JobsRequest = new RequestType0<{ jobs: JobSummary[] }, void>("tributary/jobs");

/** What the extension sends as `initializationOptions` (client → server, once, at start). */
export interface InitializationOptions {
  /** The `tributary.include` / `tributary.exclude` settings (globs, added to tributary.json's). */
  include?: string[];
  exclude?: string[];
  /** The workspace is trusted: the server may render the project's Jinja (compiled SQL, preview, column lineage). */
  trusted?: boolean;
}
