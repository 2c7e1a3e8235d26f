/** The graph requests: the whole graph, a neighbourhood, the assets at a place, diagnostics, refresh. */
import { AssetsAtRequest, DiagnosticsRequest, GraphRequest, NeighbourhoodRequest, RefreshRequest, type AssetsAtResult } from "../../protocol/requests";
import type { Feature } from "../feature";
import { assetAt, uriToPath } from "../lookup";
import { neighbourhood } from "../neighbourhood";

export const graphFeature: Feature = {
  register(c) {
    c.connection.onRequest(GraphRequest, (token) => c.safe("graph", token, { nodes: [], edges: [] }, (i) => i.graph.toData()));
    c.connection.onRequest(NeighbourhoodRequest, (params, token) => c.safe("neighbourhood", token, { nodes: [], edges: [], centre: [], truncated: [] }, (i) => neighbourhood(i, params)));
    c.connection.onRequest(AssetsAtRequest, (params, token) =>
      c.safe<AssetsAtResult>("assetsAt", token, { inFile: [] }, (i) => {
        const file = uriToPath(params.uri);
        return { atCursor: params.position ? assetAt(i, file, params.position) : undefined, inFile: i.assetsIn(file) };
      }),
    );
    c.connection.onRequest(DiagnosticsRequest, (token) => c.safe("diagnostics", token, [], (i) => [...i.diagnostics().values()].flat()));
    c.connection.onRequest(RefreshRequest, (token) =>
      c.safe("refresh", token, { assets: 0, edges: 0, files: 0, diagnostics: 0 }, (i) => {
        i.load();
        c.graphChanged();
        return c.stats();
      }),
    );
  },
};
