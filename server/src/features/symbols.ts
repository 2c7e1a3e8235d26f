import { SymbolKind, type DocumentSymbol, type WorkspaceSymbol } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import type { AssetNode } from "../protocol/types";
import { kindLabel, pathToUri } from "./lookup";

const SYMBOL_KIND: Record<AssetNode["kind"], SymbolKind> = {
  dbt_model: SymbolKind.Class,
  dbt_seed: SymbolKind.File,
  dbt_snapshot: SymbolKind.Struct,
  dbt_source: SymbolKind.Field,
  dbt_exposure: SymbolKind.Event,
  ts_asset: SymbolKind.Function,
};

export function documentSymbols(index: WorkspaceIndex, file: string): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const id of index.assetsIn(file)) {
    const node = index.graph.get(id);
    if (!node) continue;
    const span = node.file === file ? node.span ?? node.nameSpan : node.alsoAt.find((a) => a.file === file)?.span;
    if (!span) continue;
    const selection = node.file === file ? node.nameSpan ?? span : span;
    out.push({ name: node.key.join("/"), detail: kindLabel(node), kind: SYMBOL_KIND[node.kind], range: span, selectionRange: selection });
  }
  return out;
}

/** The asset catalog: every asset whose key contains the query's characters in order. */
export function workspaceSymbols(index: WorkspaceIndex, query: string, limit = 500): WorkspaceSymbol[] {
  const needle = query.toLowerCase();
  const out: WorkspaceSymbol[] = [];
  for (const node of index.graph.nodes.values()) {
    if (!node.file || !subsequence(needle, node.id.toLowerCase())) continue;
    out.push({
      name: node.key.join("/"),
      kind: SYMBOL_KIND[node.kind],
      containerName: kindLabel(node) + (node.group ? ` · ${node.group}` : ""),
      location: { uri: pathToUri(node.file), range: node.nameSpan ?? node.span ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } },
    });
    if (out.length >= limit) break;
  }
  return out;
}

function subsequence(needle: string, haystack: string): boolean {
  let i = 0;
  for (let j = 0; j < haystack.length && i < needle.length; j++) if (haystack[j] === needle[i]) i++;
  return i === needle.length;
}
