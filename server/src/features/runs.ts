/** Custom requests about selections, plans, statuses and runs (the extension's commands, trees and panel). */
import { describeSelectionError, selectAssets } from "../graph/selection";
import type { WorkspaceIndex } from "../index/workspace";
import { planSelection } from "../plan/planner";
import type { CheckSummary } from "../protocol/checks";
import type { ChecksParams, PlanParams, PlanResult, RunsResult, SelectResult } from "../protocol/requests";
import type { StatusMap } from "../protocol/status";
import { checkCounts, checkSummaries, describeChecks } from "../run/checkStatus";
import { describeStatus } from "../run/status";
import type { StatusService } from "./status";

export function select(index: WorkspaceIndex, statuses: StatusService, roots: string[], selection: string): SelectResult {
  const result = selectAssets(selection, index.graph, { status: (id) => statuses.status(id)?.state, root: roots, checks: (id) => index.checks().byAsset.get(id) ?? [] });
  if (!result.ok) return { error: { column: result.error.column, message: describeSelectionError(result.error) } };
  const ids = [...result.ids];
  const plan = ids.length ? planSelection(index.graph, ids) : undefined;
  return { ids, steps: plan?.steps.length ?? 0, dbtSteps: plan?.steps.filter((s) => s.kind === "dbt").length ?? 0 };
}

export function plan(index: WorkspaceIndex, statuses: StatusService, roots: string[], params: PlanParams): PlanResult {
  let ids = params.ids?.filter((id) => index.graph.get(id));
  if (!ids && params.selection !== undefined) {
    const selected = select(index, statuses, roots, params.selection);
    if ("error" in selected) return selected;
    ids = selected.ids;
  }
  return { plan: planSelection(index.graph, ids ?? []) };
}

export function statusMap(index: WorkspaceIndex, statuses: StatusService, ids?: string[]): StatusMap {
  const out: StatusMap = {};
  for (const id of ids ?? index.graph.nodes.keys()) {
    const status = statuses.status(id);
    if (!status) continue;
    const summaries = statuses.checks(id);
    const checks = summaries.length > 0 ? { ...checkCounts(summaries), text: describeChecks(summaries) } : undefined;
    out[id] = { state: status.state, detail: describeStatus(status).detail, ...(checks ? { checks } : {}) };
  }
  return out;
}

/** The checks of an asset, or one check, with their last results. */
export function checksOf(index: WorkspaceIndex, statuses: StatusService, params: ChecksParams): { checks: CheckSummary[] } {
  if (params.assetId) return { checks: statuses.checks(params.assetId) };
  if (!params.checkId) return { checks: checkSummaries(index.checks().checks, statuses.history()) };
  const check = params.checkId ? index.checks().byId.get(params.checkId) : undefined;
  if (!check) return { checks: [] };
  return { checks: statuses.checks(check.assets[0]).filter((c) => c.id === check.id) };
}

export function runs(statuses: StatusService, limit = 20): RunsResult {
  const store = statuses.history();
  if (!store) return { runs: [] };
  return { runs: store.runs(limit).map(({ plan: _plan, ...run }) => ({ ...run, steps: store.steps(run.id) })) };
}
