/** Selections, plans, statuses, run history and checks for the trees, the panel and the commands. */
import { ChecksRequest, PlanRequest, RunsRequest, SelectRequest, StatusesRequest, type PlanResult } from "../../protocol/requests";
import type { Feature } from "../feature";
import { checksOf, plan, runs, select, statusMap } from "../runs";

export const runsFeature: Feature = {
  register(c) {
    c.connection.onRequest(ChecksRequest, (params, token) => c.safe("checks", token, { checks: [] }, (i) => checksOf(i, c.statuses, params)));
    c.connection.onRequest(SelectRequest, (params, token) => c.safe("select", token, { ids: [], steps: 0, dbtSteps: 0 }, (i) => select(i, c.statuses, c.roots, params.selection)));
    c.connection.onRequest(PlanRequest, (params, token) => c.safe<PlanResult>("plan", token, { error: { column: 1, message: "the server failed to plan" } }, (i) => plan(i, c.statuses, c.roots, params)));
    c.connection.onRequest(StatusesRequest, (params, token) => c.safe("statuses", token, {}, (i) => statusMap(i, c.statuses, params.ids)));
    c.connection.onRequest(RunsRequest, (params, token) => c.safe("runs", token, { runs: [] }, () => runs(c.statuses, params.limit)));
  },
};
