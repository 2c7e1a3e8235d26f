/**
 * Follows a run from the runner's JSON events (one per line on its stdout): counts, the current
 * asset, failures, and the message shown when it ends. Pure, so it is unit-tested without VS Code.
 */
import type { RunStatus } from "../../server/src/protocol/history";
import type { RunEvent } from "../../server/src/protocol/runEvents";
import type { RunProgressState } from "../../server/src/protocol/status";

export interface RunState {
  runId?: string;
  totalSteps: number;
  doneSteps: number;
  totalAssets: number;
  doneAssets: number;
  current?: string;
  status: "starting" | RunStatus;
  failed: { assetId: string; error: string; stepId?: string }[];
  skipped: string[];
  /** Per asset, what the lineage panel should show while the run goes. */
  assetStates: Map<string, RunProgressState>;
  /** Log lines per step, for "open the failed step's log". */
  logs: Map<string, string[]>;
}

export function initialRunState(): RunState {
  return { totalSteps: 0, doneSteps: 0, totalAssets: 0, doneAssets: 0, status: "starting", failed: [], skipped: [], assetStates: new Map(), logs: new Map() };
}

/** Applies one event; returns the state (mutated) for convenience. */
export function applyRunEvent(state: RunState, event: RunEvent): RunState {
  const log = (stepId: string | undefined, line: string) => {
    if (!stepId) return;
    const lines = state.logs.get(stepId) ?? [];
    lines.push(line);
    state.logs.set(stepId, lines);
  };
  switch (event.type) {
    case "run_start":
      state.runId = event.runId;
      state.status = "running";
      state.totalSteps = event.plan.steps.length;
      state.totalAssets = event.plan.steps.reduce((n, s) => n + s.assets.length, 0);
      break;
    case "asset_start":
      state.current = event.assetId;
      if (event.assetId) state.assetStates.set(event.assetId, "running");
      break;
    case "asset_materialized":
      state.doneAssets++;
      if (event.assetId) state.assetStates.set(event.assetId, "fresh");
      log(event.stepId, `${event.assetId}: done${event.rows === undefined ? "" : `, ${event.rows} rows`}`);
      break;
    case "asset_failed":
      state.doneAssets++;
      if (event.assetId) state.assetStates.set(event.assetId, "failed");
      log(event.stepId, `${event.assetId}: FAILED\n${event.error ?? ""}`);
      break;
    case "log":
      log(event.stepId, `[${event.level}] ${event.message}`);
      break;
    case "step_failed":
      for (const assetId of event.assets) {
        if (!state.failed.some((f) => f.assetId === assetId)) state.failed.push({ assetId, error: event.error ?? "failed", stepId: event.stepId });
      }
      log(event.stepId, `step failed:\n${event.error ?? ""}`);
      break;
    case "step_end":
    case "step_skipped":
      state.doneSteps++;
      break;
    case "run_end":
      state.status = (event.status as RunState["status"]) ?? "failed";
      state.current = undefined;
      state.skipped = event.skipped ?? [];
      for (const f of event.failed ?? []) if (!state.failed.some((x) => x.assetId === f.assetId)) state.failed.push(f);
      break;
    default:
      break;
  }
  return state;
}

/** The progress notification's line, e.g. `step 2/4 · 5/8 assets · fct_orders`. */
export function progressMessage(state: RunState): string {
  if (state.status === "starting") return "planning…";
  return `step ${Math.min(state.doneSteps + 1, state.totalSteps)}/${state.totalSteps} · ${state.doneAssets}/${state.totalAssets} assets${state.current ? ` · ${state.current}` : ""}`;
}

/** The message shown when a run ends. */
export function summaryMessage(state: RunState, selection: string): string {
  switch (state.status) {
    case "success":
      return `Tributary: materialized ${state.doneAssets} asset${state.doneAssets === 1 ? "" : "s"} (${selection}).`;
    case "cancelled":
      return `Tributary: run cancelled after ${state.doneAssets} of ${state.totalAssets} assets.`;
    default: {
      const names = state.failed.map((f) => f.assetId).join(", ");
      const skipped = state.skipped.length ? `; ${state.skipped.length} skipped` : "";
      return `Tributary: run failed — ${names || "the runner stopped"}${skipped}.`;
    }
  }
}

/** Splits a chunk of runner stdout into complete JSON events, keeping the partial tail. */
export class EventLineParser {
  private buffer = "";
  push(chunk: string): RunEvent[] {
    this.buffer += chunk;
    const lines = this.buffer.split("\n");
    this.buffer = lines.pop() ?? "";
    const events: RunEvent[] = [];
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      try {
        events.push(JSON.parse(line) as RunEvent);
      } catch {
        // a line that is not an event is ignored (the output channel still shows it)
      }
    }
    return events;
  }
}
