/** Shared lookups for the LSP features: what sits under the cursor, how to name and link an asset. */
import * as path from "node:path";
import { URI } from "vscode-uri";
import type { Occurrence } from "../index/link/types";
import type { WorkspaceIndex } from "../index/workspace";
import type { AssetNode, Pos, Span } from "../protocol/types";

export function uriToPath(uri: string): string {
  return URI.parse(uri).fsPath;
}

export function pathToUri(file: string): string {
  return URI.file(file).toString();
}

export function contains(span: Span, pos: Pos): boolean {
  const afterStart = pos.line > span.start.line || (pos.line === span.start.line && pos.character >= span.start.character);
  const beforeEnd = pos.line < span.end.line || (pos.line === span.end.line && pos.character <= span.end.character);
  return afterStart && beforeEnd;
}

/** The innermost occurrence (reference or definition) at a position. */
export function occurrenceAt(index: WorkspaceIndex, file: string, pos: Pos): Occurrence | undefined {
  let best: Occurrence | undefined;
  for (const occurrence of index.occurrences.get(file) ?? []) {
    if (!contains(occurrence.span, pos)) continue;
    if (!best || spanSize(occurrence.span) < spanSize(best.span)) best = occurrence;
  }
  return best;
}

function spanSize(span: Span): number {
  return (span.end.line - span.start.line) * 100000 + (span.end.character - span.start.character);
}

/**
 * The asset a position stands for: the reference or definition under the cursor; else, in a file
 * that defines exactly one asset (a model, a seed's YAML), that asset.
 */
export function assetAt(index: WorkspaceIndex, file: string, pos: Pos | undefined): string | undefined {
  if (pos) {
    const occurrence = occurrenceAt(index, file, pos);
    if (occurrence?.target) return occurrence.target;
  }
  const inFile = index.assetsIn(file).filter((id) => index.graph.get(id)?.file === file);
  return inFile.length === 1 ? inFile[0] : undefined;
}

const KIND_LABELS: Record<AssetNode["kind"], string> = {
  dbt_model: "dbt model",
  dbt_seed: "dbt seed",
  dbt_snapshot: "dbt snapshot",
  dbt_source: "dbt source",
  dbt_exposure: "dbt exposure",
  ts_asset: "TypeScript asset",
};

export function kindLabel(node: AssetNode): string {
  if (node.kind === "ts_asset" && node.producedByTs) return "TypeScript asset (writes dbt source)";
  return KIND_LABELS[node.kind];
}

/** A markdown link that opens the asset's definition. */
export function assetLink(node: AssetNode): string {
  const label = node.key.join("/");
  if (!node.file) return `\`${label}\``;
  const line = (node.span?.start.line ?? 0) + 1;
  return `[${label}](${pathToUri(node.file)}#L${line})`;
}

export function relativeTo(roots: string[], file: string): string {
  for (const root of roots) {
    const rel = path.relative(root, file);
    if (!rel.startsWith("..")) return rel.split(path.sep).join("/");
  }
  return file;
}
