import type { WorkspaceIndex } from "../index/workspace";
import type { NeighbourhoodParams, NeighbourhoodResult } from "../protocol/requests";
import { uriToPath } from "./lookup";

/** The centre assets plus `upstream` / `downstream` layers around them, for the lineage panel. */
export function neighbourhood(index: WorkspaceIndex, params: NeighbourhoodParams): NeighbourhoodResult {
  const graph = index.graph;
  const centre = params.ids?.filter((id) => graph.get(id)) ?? (params.uri ? index.assetsIn(uriToPath(params.uri)) : []);
  const keep = new Set(centre);
  for (const id of graph.reach(centre, "up", params.upstream ?? 2)) keep.add(id);
  for (const id of graph.reach(centre, "down", params.downstream ?? 2)) keep.add(id);
  const nodes = [...keep].map((id) => graph.get(id)!);
  const edges = graph.edges.filter((e) => keep.has(e.from) && keep.has(e.to));
  const truncated = [...keep].filter((id) => [...graph.upstream(id), ...graph.downstream(id)].some((n) => !keep.has(n)));
  return { nodes, edges, centre, truncated };
}
