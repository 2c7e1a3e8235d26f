import * as path from "node:path";
import type { WorkspaceIndex } from "../index/workspace";
import { jobDiagnostics } from "../jobs/jobs";
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

export function sortedDiagnostics(index: WorkspaceIndex, dir: string): IndexDiagnostic[] {
  return [...[...index.diagnostics().values()].flat(), ...jobDiagnostics(index, { roots: [dir] })]
    .sort((a, b) => a.file.localeCompare(b.file) || a.span.start.line - b.span.start.line || a.span.start.character - b.span.start.character);
}
