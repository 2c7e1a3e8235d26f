import { CompletionItemKind, type CompletionItem } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import type { Pos } from "../protocol/types";
import { contains, kindLabel } from "./lookup";

/**
 * Completion inside `ref('`, `source('`, `source('s', '` in SQL/YAML, and inside a string of a TS
 * asset's `deps`. `linePrefix` is the text of the line up to the cursor.
 */
export function complete(index: WorkspaceIndex, file: string, pos: Pos, linePrefix: string): CompletionItem[] {
  const graph = index.graph;
  const nodes = [...graph.nodes.values()];
  const item = (label: string, id: string): CompletionItem => {
    const node = graph.get(id)!;
    return { label, kind: node.kind === "dbt_source" ? CompletionItemKind.Field : CompletionItemKind.Reference, detail: kindLabel(node), documentation: node.description, data: id };
  };

  let match = /source\(\s*['"]([\w-]+)['"]\s*,\s*['"][\w-]*$/.exec(linePrefix);
  if (match) {
    const sourceName = match[1];
    return nodes.filter((n) => n.sourceName === sourceName && n.dbtName).map((n) => item(n.dbtName!, n.id));
  }
  if (/source\(\s*['"][\w-]*$/.test(linePrefix)) {
    const seen = new Map<string, CompletionItem>();
    for (const n of nodes) {
      if (n.sourceName && !seen.has(n.sourceName)) seen.set(n.sourceName, { label: n.sourceName, kind: CompletionItemKind.Module, detail: "dbt source" });
    }
    return [...seen.values()];
  }
  match = /ref\(\s*(?:['"]([\w-]+)['"]\s*,\s*)?['"][\w.-]*$/.exec(linePrefix);
  if (match) {
    const project = match[1];
    return nodes
      .filter((n) => (n.kind === "dbt_model" || n.kind === "dbt_seed" || n.kind === "dbt_snapshot") && (!project || n.project === project))
      .map((n) => item(n.dbtName ?? n.id, n.id));
  }
  if (/\.(ts|mts|cts|tsx)$/.test(file) && /["'`][\w/.-]*$/.test(linePrefix) && insideDeps(index, file, pos)) {
    return nodes.filter((n) => n.kind !== "dbt_exposure").map((n) => item(n.id, n.id));
  }
  return [];
}

/** True when the position lies inside an `asset()` call of the file and after a `deps` key on the way. */
function insideDeps(index: WorkspaceIndex, file: string, pos: Pos): boolean {
  const facts = index.tsFacts(file);
  if (!facts) return false;
  return facts.assets.some((a) => contains(a.span, pos));
}
