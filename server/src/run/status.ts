/**
 * Asset status (DESIGN.md §6): missing, fresh, stale (code changed, an upstream is newer, or an
 * upstream is stale), failed, running, from the graph, the run history and the current code, and a
 * one-line rendering of it for hovers, code lenses and the CLI.
 */
import { createHash } from "node:crypto";
import type { AssetGraph } from "../graph/graph";
import type { MaterializationRecord } from "../protocol/history";
import type { AssetStatus, StatusSummary } from "../protocol/status";
import type { AssetNode } from "../protocol/types";
import type { HistoryStore } from "./history";

/** The code version of a model's SQL or an asset function's text: sha256 hex, first 16 digits, line ends normalised. */
export function codeVersion(text: string): string {
  return createHash("sha256").update(text.replace(/\r\n/g, "\n"), "utf8").digest("hex").slice(0, 16);
}

/** Nodes the runner materializes (dbt sources are external, or merged into their TS producer; exposures are documentation). */
export function isMaterializable(node: AssetNode | undefined): boolean {
  return node !== undefined && node.kind !== "dbt_source" && node.kind !== "dbt_exposure";
}

const time = (iso: string | undefined): number => (iso ? Date.parse(iso) : NaN);

/**
 * Status of every materializable asset of the graph (dbt sources and exposures get none).
 * - `running`: in `running` (default: the assets of running steps in the history);
 * - `failed`: the last materialization failed (even when there never was a success);
 * - `missing`: never materialized successfully;
 * - `stale`: the code changed since the last success (`codeVersionOf(id)` differs from the
 *   recorded code version; `undefined` means unknown, not changed), or a materializable upstream
 *   was materialized after the data this asset read (by the recorded upstream version when there
 *   is one, else by time), or an upstream's data is stale (propagated in topological order,
 *   through failed and running assets too: their data is what downstream read);
 * - `fresh` otherwise.
 */
export function computeStatus(
  graph: AssetGraph,
  history: HistoryStore,
  codeVersionOf: (id: string) => string | undefined,
  running?: Set<string>,
): Map<string, AssetStatus> {
  const runningNow = running ?? new Map(history.runningAssets());
  const out = new Map<string, AssetStatus>();
  /** Assets whose current data (last success) is stale. */
  const staleData = new Set<string>();
  for (const id of graph.topologicalOrder()) {
    const node = graph.get(id);
    if (!isMaterializable(node)) continue;
    const last = history.lastMaterialization(id);
    const lastSuccess = history.lastSuccess(id);
    const staleReason = lastSuccess ? whyStale(graph, history, id, lastSuccess, codeVersionOf, staleData) : undefined;
    if (staleReason) staleData.add(id);
    let status: AssetStatus;
    if (runningNow.has(id)) {
      const runId = runningNow instanceof Map ? runningNow.get(id) : undefined;
      status = { state: "running", reason: runId ? `being materialized by run ${runId}` : "being materialized" };
    } else if (last?.status === "failed") {
      status = { state: "failed", reason: `materialization failed in run ${last.runId}${last.error ? `: ${firstLine(last.error)}` : ""}` };
    } else if (!lastSuccess) {
      status = { state: "missing", reason: "never materialized" };
    } else if (staleReason) {
      status = { state: "stale", reason: staleReason };
    } else {
      status = { state: "fresh" };
    }
    if (last) status.last = last;
    if (lastSuccess) status.lastSuccess = lastSuccess;
    out.set(id, status);
  }
  return out;
}

function whyStale(
  graph: AssetGraph,
  history: HistoryStore,
  id: string,
  mine: MaterializationRecord,
  codeVersionOf: (id: string) => string | undefined,
  staleData: Set<string>,
): string | undefined {
  const code = codeVersionOf(id);
  if (code !== undefined && mine.codeVersion && code !== mine.codeVersion) return "code changed since the last materialization";
  const ups = graph.upstream(id).filter((u) => isMaterializable(graph.get(u)));
  for (const u of ups) {
    const theirs = history.lastSuccess(u);
    if (!theirs || theirs.runId === mine.runId) continue; // built together, in order
    const read = mine.upstreamVersions?.[u];
    const newer = read !== undefined ? read !== theirs.runId : time(theirs.endedAt) > time(mine.startedAt);
    if (newer) return `upstream ${u} was materialized after it (at ${theirs.endedAt})`;
  }
  for (const u of ups) if (staleData.has(u)) return `upstream ${u} is stale`;
  return undefined;
}

function firstLine(text: string, max = 120): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`, `on 2026-10-01`. */
export function relativeTime(iso: string | undefined, now: number = Date.now()): string {
  const t = time(iso);
  if (!Number.isFinite(t)) return "at an unknown time";
  const s = Math.max(0, (now - t) / 1000);
  if (s < 10) return "just now";
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 30 * 86400) return `${Math.floor(s / 86400)} d ago`;
  return `on ${new Date(t).toISOString().slice(0, 10)}`;
}

/** `340 ms`, `1.2 s`, `42 s`, `3 min 5 s`, `1 h 12 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

function materialized(m: MaterializationRecord, now: number): string {
  const rows = m.rows !== undefined ? `, ${m.rows.toLocaleString("en-US")} ${m.rows === 1 ? "row" : "rows"}` : "";
  return `materialized ${relativeTime(m.endedAt, now)} in ${formatDuration(m.durationMs)}${rows}`;
}

/**
 * One line for hovers and code lenses, e.g. `{state: "fresh", detail: "materialized 3 min ago in 1.2 s, 180 rows"}`
 * or `{state: "stale", detail: "code changed since the last materialization; materialized 2 d ago in 4.0 s"}`.
 */
export function describeStatus(s: AssetStatus, now: number = Date.now()): StatusSummary {
  switch (s.state) {
    case "fresh":
      return s.lastSuccess ? { state: "fresh", detail: materialized(s.lastSuccess, now) } : { state: "fresh" };
    case "stale": {
      const parts = [s.reason ?? "stale"];
      if (s.lastSuccess) parts.push(materialized(s.lastSuccess, now));
      return { state: "stale", detail: parts.join("; ") };
    }
    case "failed": {
      const last = s.last;
      const parts = [last ? `failed ${relativeTime(last.endedAt, now)}${last.error ? `: ${firstLine(last.error)}` : ""}` : (s.reason ?? "failed")];
      parts.push(s.lastSuccess ? `last success ${relativeTime(s.lastSuccess.endedAt, now)}` : "never materialized successfully");
      return { state: "failed", detail: parts.join("; ") };
    }
    case "missing":
      return { state: "missing", detail: "never materialized" };
    case "running": {
      const parts = [s.reason ?? "being materialized"];
      if (s.lastSuccess) parts.push(`last ${materialized(s.lastSuccess, now)}`);
      return { state: "running", detail: parts.join("; ") };
    }
  }
}
