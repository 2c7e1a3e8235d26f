import type { Location } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import type { Pos } from "../protocol/types";
import { assetAt, occurrenceAt, pathToUri } from "./lookup";

/** ref / source / dep -> where the asset is defined (for sources: the YAML entry; plus the TS producer). */
export function definition(index: WorkspaceIndex, file: string, pos: Pos): Location[] {
  const occurrence = occurrenceAt(index, file, pos);
  if (!occurrence?.target || occurrence.role === "definition") return [];
  const node = index.graph.get(occurrence.target);
  if (!node?.file) return [];
  // A dbt source written by a TS asset is defined twice over: the producer and the YAML entry.
  const places = [{ file: node.file, span: node.nameSpan ?? node.span! }, ...(node.producedByTs ? node.alsoAt : [])];
  return places.map((p) => ({ uri: pathToUri(p.file), range: p.span }));
}

/** Who reads this asset: every reference to it, plus (optionally) its definitions. */
export function references(index: WorkspaceIndex, file: string, pos: Pos, includeDeclaration: boolean): Location[] {
  const id = assetAt(index, file, pos);
  if (!id) return [];
  const out: Location[] = [];
  for (const [other, list] of index.occurrences) {
    for (const occurrence of list) {
      if (occurrence.target !== id) continue;
      if (occurrence.role === "definition" && !includeDeclaration) continue;
      out.push({ uri: pathToUri(other), range: occurrence.span });
    }
  }
  // Edges learned from macros or the manifest have no reference in the reader's file: point at the reader.
  const graph = index.graph;
  for (const d of graph.downstream(id)) {
    const edge = graph.edge(id, d);
    if (edge && !edge.at && graph.get(d)?.file) out.push({ uri: pathToUri(graph.get(d)!.file!), range: graph.get(d)!.span! });
  }
  return out;
}
