import * as path from "node:path";
import type { WorkspaceIndex } from "../index/workspace";
import { jobDiagnostics } from "../jobs/jobs";
import type { ColumnLineageMap } from "../protocol/sql";
import type { IndexDiagnostic, Severity } from "../protocol/types";

/** The `tributary graph --json` shape: paths relative to the directory, lines 1-based. */
export interface GraphJson {
  assets: {
    key: string[];
    kind: string;
    file: string | null;
    line: number | null;
    upstream: string[][];
    downstream: string[][];
    /** dbt tests and TS checks attached to the asset. */
    checks: { name: string; kind: string; test: string | null; column: string | null; severity: "error" | "warn"; file: string; line: number }[];
    /** With `--columns`: per-column lineage, or `columnLevel: "table"` and why. */
    columnLevel?: "columns" | "table";
    columns?: { name: string; upstream: { key: string[]; column: string }[]; how: "copy" | "derived" }[];
    columnReason?: string;
  }[];
  diagnostics: { file: string; line: number; column: number; severity: Severity; message: string; code: string }[];
}

export function graphJson(index: WorkspaceIndex, dir: string): GraphJson {
  const graph = index.graph;
  const keyOf = (id: string) => graph.get(id)!.key;
  const rel = (file: string) => path.relative(dir, file).split(path.sep).join("/");
  const checks = index.checks().byAsset;
  const assets = [...graph.nodes.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((node) => ({
      key: node.key,
      kind: node.kind,
      file: node.file ? rel(node.file) : null,
      line: node.span ? node.span.start.line + 1 : null,
      upstream: [...graph.upstream(node.id)].sort().map(keyOf),
      downstream: [...graph.downstream(node.id)].sort().map(keyOf),
      checks: (checks.get(node.id) ?? []).map((c) => ({ name: c.name, kind: c.kind, test: c.testName ?? null, column: c.column ?? null, severity: c.severity, file: rel(c.file), line: c.span.start.line + 1 })),
    }));
  return { assets, diagnostics: sortedDiagnostics(index, dir).map((d) => ({ file: rel(d.file), line: d.span.start.line + 1, column: d.span.start.character + 1, severity: d.severity, message: d.message, code: d.code })) };
}

/**
 * Adds column lineage to a `graph --json` answer: each asset's columns with their upstream
 * columns; models whose SQL cannot be analyzed get an info diagnostic saying why.
 */
export function withColumns(data: GraphJson, index: WorkspaceIndex, dir: string, lineage: ColumnLineageMap): GraphJson {
  const graph = index.graph;
  const keyOf = (id: string) => graph.get(id)?.key ?? [id];
  const rel = (file: string) => path.relative(dir, file).split(path.sep).join("/");
  const byKey = new Map([...graph.nodes.values()].map((n) => [n.key.join("\0"), n]));
  const assets = data.assets.map((asset) => {
    const node = byKey.get(asset.key.join("\0"));
    const entry = node ? lineage[node.id] : undefined;
    if (!entry) return asset;
    return {
      ...asset,
      columnLevel: entry.level,
      columns: entry.columns.map((c) => ({ name: c.name, how: c.how, upstream: c.upstream.map((u) => ({ key: keyOf(u.asset), column: u.column })) })),
      ...(entry.reason ? { columnReason: entry.reason } : {}),
    };
  });
  const infos = Object.values(lineage)
    .filter((e) => e.level === "table" && graph.get(e.id)?.kind === "dbt_model" && graph.get(e.id)?.file)
    .map((e) => ({ file: rel(graph.get(e.id)!.file!), line: 1, column: 1, severity: "info" as const, message: `Column lineage of ${e.id} is table-level only: ${e.reason ?? "unknown reason"}.`, code: "column-lineage" }));
  return { assets, diagnostics: [...data.diagnostics, ...infos].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column) };
}

export function sortedDiagnostics(index: WorkspaceIndex, dir: string): IndexDiagnostic[] {
  return [...[...index.diagnostics().values()].flat(), ...jobDiagnostics(index, { roots: [dir] })]
    .sort((a, b) => a.file.localeCompare(b.file) || a.span.start.line - b.span.start.line || a.span.start.character - b.span.start.character);
}
