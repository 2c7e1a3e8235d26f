/**
 * kill -9 at several points of a run: nothing recorded before the kill is lost, the history stays
 * readable, the run shows as interrupted, and the next run takes over the lock and succeeds.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { after, describe, test } from "node:test";
import { HistoryStore } from "../../server/src/run/history";
import { CLI } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";


/** Starts a run and SIGKILLs it once `killAfter` events were printed; returns those events. */
async function runAndKill(root: string, killAfter: (events: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  const child = spawn(process.execPath, [CLI, "materialize", "+forecast_vs_actual", "--json"], { cwd: root });
  const events: Record<string, unknown>[] = [];
  let buffer = "";
  let killed = false;
  child.stdout.on("data", (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) if (line.startsWith("{")) events.push(JSON.parse(line) as Record<string, unknown>);
    if (!killed && killAfter(events)) {
      killed = true;
      child.kill("SIGKILL");
    }
  });
  await new Promise((resolve) => child.on("exit", resolve));
  assert.ok(killed, `the run ended before the kill point: ${JSON.stringify(events.at(-1))}`);
  return events;
}

describe("kill -9 mid-run", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));

  const points: [string, (events: Record<string, unknown>[]) => boolean][] = [
    ["right after the run started", (e) => e.some((x) => x.type === "run_start")],
    ["after the first materialization", (e) => e.some((x) => x.type === "asset_materialized")],
    ["while the first TS asset runs", (e) => e.some((x) => x.type === "asset_start" && x.assetId === "order_forecast_model")],
    ["after the TS predictions were stored", (e) => e.some((x) => x.type === "asset_materialized" && x.assetId === "forecasting/predicted_orders")],
  ];

  for (const [when, killAfter] of points) {
    test(`killed ${when}: history consistent, run interrupted, next run succeeds`, async () => {
      const ws = copyExample();
      cleanup.push(ws.dispose);
      const events = await runAndKill(ws.root, killAfter);
      const runId = events.find((e) => e.type === "run_start")!.runId as string;

      const history = HistoryStore.open(ws.root);
      assert.equal(history.corruptLines, 0);
      assert.equal(history.run(runId)?.status, "interrupted");
      for (const e of events.filter((x) => x.type === "asset_materialized")) {
        const record = history.materializations(e.assetId as string, 5).find((m) => m.runId === runId);
        assert.equal(record?.status, "success", `${String(e.assetId)} was recorded before the kill`);
      }
      for (const step of history.steps(runId)) assert.notEqual(step.status, "running", `step ${step.stepId} is closed`);

      const next = spawnSync(process.execPath, [CLI, "materialize", "+forecast_vs_actual"], { cwd: ws.root, encoding: "utf8" });
      assert.equal(next.status, 0, next.stderr + next.stdout);
      assert.equal(HistoryStore.open(ws.root).lastRun()!.status, "success");
    });
  }
});
