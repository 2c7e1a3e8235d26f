import type { CodeLens } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import type { CommandId } from "../protocol/commands";
import { jobLenses } from "./jobs";
import type { CheckSummary } from "../protocol/checks";
import { describeCheck, describeChecks } from "../run/checkStatus";
import type { ChecksProvider, StatusProvider } from "./hover";

/**
 * Code lenses over each asset defined in a file: ↑ n upstream · ↓ m downstream (opens the lineage
 * panel), plus the status line when the run history knows the asset. Materialize lenses are added
 * by the extension's commands through the same command ids.
 */
export function codeLenses(index: WorkspaceIndex, file: string, status?: StatusProvider, checks?: ChecksProvider): CodeLens[] {
  const graph = index.graph;
  const lenses: CodeLens[] = [];
  for (const id of index.assetsIn(file)) {
    const node = graph.get(id);
    if (!node) continue;
    const here = node.file === file ? node.nameSpan ?? node.span : node.alsoAt.find((a) => a.file === file)?.span;
    if (!here) continue;
    const range = { start: here.start, end: here.start };
    const up = graph.upstream(id).length;
    const down = graph.downstream(id).length;
    if (node.kind !== "dbt_exposure" && node.kind !== "dbt_source") {
      lenses.push({ range, command: { title: "▶ Materialize", command: "tributary.materialize" satisfies CommandId, arguments: [id] } });
      lenses.push({ range, command: { title: "with upstream", command: "tributary.materializeUpstream" satisfies CommandId, arguments: [id] } });
    }
    lenses.push({ range, command: { title: `↑${up} ↓${down}`, command: "tributary.showLineage" satisfies CommandId, arguments: [id] } });
    if ((node.kind === "dbt_model" || node.kind === "dbt_snapshot") && node.file === file && /\.sql$/i.test(file)) {
      lenses.push({ range, command: { title: "Compiled SQL", command: "tributary.showCompiledSql" satisfies CommandId } });
      lenses.push({ range, command: { title: "Preview", command: "tributary.previewResults" satisfies CommandId } });
    }
    const line = status?.(id);
    if (line) lenses.push({ range, command: { title: line.detail ? `${line.state} · ${line.detail}` : line.state, command: "tributary.showRunHistory" satisfies CommandId, arguments: [id] } });
    // Checks: their last results; a failed one opens the query that found its rows.
    const summaries = node.file === file ? checks?.(id) ?? [] : [];
    if (summaries.length > 0) {
      const failed = summaries.find((s) => (s.status === "failed" || s.status === "error") && s.compiledSql) ?? summaries.find((s) => s.status === "warned" && s.compiledSql);
      lenses.push({ range, command: failed ? { title: describeChecks(summaries), command: "tributary.openCheckQuery" satisfies CommandId, arguments: [failed.id] } : { title: describeChecks(summaries), command: "tributary.showRunHistory" satisfies CommandId, arguments: [id] } });
    }
  }
  // Over each test declared here (a YAML test entry, a singular test's SQL, a TS check): its last result.
  if (checks) {
    const here = index.checks().checks.filter((c) => c.file === file);
    const summaries = new Map<string, CheckSummary>();
    for (const assetId of new Set(here.map((c) => c.assets[0]))) for (const s of checks(assetId)) summaries.set(s.id, s);
    for (const c of here) {
      const s = summaries.get(c.id);
      if (!s) continue;
      const range = { start: c.span.start, end: c.span.start };
      lenses.push({ range, command: s.compiledSql && s.status !== "passed" ? { title: describeCheck(s), command: "tributary.openCheckQuery" satisfies CommandId, arguments: [s.id] } : { title: describeCheck(s), command: "tributary.showRunHistory" satisfies CommandId, arguments: [c.assets[0]] } });
    }
  }
  // ▶ Run job · next run at … over each job({...}) call.
  lenses.push(...jobLenses(index, file));
  return lenses;
}
