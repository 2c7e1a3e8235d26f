/**
 * An asset's checks with their last recorded result, and the short texts the CLI, hovers, code
 * lenses, trees and the panel show for them.
 */
import type { AssetCheck, CheckCounts, CheckSummary } from "../protocol/checks";
import type { HistoryStore } from "./history";

export function checkSummaries(checks: readonly AssetCheck[], history: HistoryStore | undefined): CheckSummary[] {
  return checks.map((c) => {
    const last = history?.lastCheck(c.id);
    const out: CheckSummary = { id: c.id, name: c.name, assets: c.assets, kind: c.kind, severity: c.severity, status: last?.status ?? "not run", file: c.file, line: c.span.start.line + 1 };
    if (last?.failures !== undefined) out.failures = last.failures;
    if (last) out.at = last.at;
    if (last?.compiledSql) out.compiledSql = last.compiledSql;
    return out;
  });
}

export function checkCounts(summaries: readonly CheckSummary[]): CheckCounts {
  const counts: CheckCounts = { total: summaries.length, passed: 0, failed: 0, warned: 0, other: 0 };
  for (const s of summaries) {
    if (s.status === "passed") counts.passed++;
    else if (s.status === "failed") counts.failed++;
    else if (s.status === "warned") counts.warned++;
    else counts.other++;
  }
  return counts;
}

/** `3/5 checks passed · 1 failed · 1 not run`. */
export function describeChecks(summaries: readonly CheckSummary[]): string {
  const c = checkCounts(summaries);
  const parts = [`${c.passed}/${c.total} check${c.total === 1 ? "" : "s"} passed`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.warned) parts.push(`${c.warned} warned`);
  const errored = summaries.filter((s) => s.status === "error").length;
  if (errored) parts.push(`${errored} errored`);
  const notRun = summaries.filter((s) => s.status === "not run" || s.status === "skipped").length;
  if (notRun) parts.push(`${notRun} not run`);
  return parts.join(" · ");
}

/** One check as a line: `✗ name — failed, 3 failing rows`. */
export function describeCheck(s: CheckSummary): string {
  const mark = s.status === "passed" ? "✓" : s.status === "failed" || s.status === "error" ? "✗" : s.status === "warned" ? "⚠" : "○";
  const rows = s.failures ? `, ${s.failures} failing row${s.failures === 1 ? "" : "s"}` : "";
  return `${mark} ${s.name} — ${s.status}${rows}${s.severity === "warn" ? " (warn)" : ""}`;
}
