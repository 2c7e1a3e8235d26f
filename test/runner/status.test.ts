import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssetGraph } from "../../server/src/graph/graph";
import type { AssetKind } from "../../server/src/protocol/types";
import type { MaterializationRecord } from "../../server/src/protocol/history";
import type { AssetStatus } from "../../server/src/protocol/status";
import { HistoryStore } from "../../server/src/run/history";
import { codeVersion, computeStatus, describeStatus, formatDuration, relativeTime } from "../../server/src/run/status";

/**
 *   src (external source) ─┐
 *   raw (seed) ──────────── stg ── fct ── model (ts) ── pred (ts) ── dash (exposure)
 *   lonely (model)
 */
function graph(): AssetGraph {
  const g = new AssetGraph();
  const nodes: [string, AssetKind][] = [
    ["src/orders", "dbt_source"],
    ["raw", "dbt_seed"],
    ["stg", "dbt_model"],
    ["fct", "dbt_model"],
    ["model", "ts_asset"],
    ["forecasting/pred", "ts_asset"],
    ["dash", "dbt_exposure"],
    ["lonely", "dbt_model"],
  ];
  for (const [id, kind] of nodes) g.addNode({ id, key: id.split("/"), kind, tags: [], owners: [], alsoAt: [] });
  const edges: [string, string][] = [
    ["src/orders", "stg"],
    ["raw", "stg"],
    ["stg", "fct"],
    ["fct", "model"],
    ["model", "forecasting/pred"],
    ["forecasting/pred", "dash"],
  ];
  for (const [from, to] of edges) assert.ok(g.addEdge({ from, to, origin: "sql" }));
  return g;
}

const CHAIN = ["raw", "stg", "fct", "model", "forecasting/pred"];
const T0 = Date.parse("2026-11-24T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function tempStore(t: { after: (fn: () => void) => void }): HistoryStore {
  const root = mkdtempSync(join(tmpdir(), "tributary-status-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return HistoryStore.open(root);
}

/** Records a materialization of `id` in `runId`, from second `s` to `s + 1`, reading its upstreams' current versions. */
function record(
  store: HistoryStore,
  g: AssetGraph,
  id: string,
  runId: string,
  s: number,
  extra: Partial<MaterializationRecord> & { withVersions?: boolean } = {},
): void {
  const { withVersions = true, ...over } = extra;
  const ups = g.upstream(id).filter((u) => g.get(u)!.kind !== "dbt_source");
  if (!store.run(runId)) store.startRun({ id: runId, selection: "test", plan: null, startedAt: at(s) });
  store.recordMaterialization({
    assetId: id,
    key: id.split("/"),
    runId,
    stepId: "step-1",
    startedAt: at(s),
    endedAt: at(s + 1),
    status: "success",
    durationMs: 1000,
    rows: 10,
    codeVersion: `v1-${id}`,
    upstreamVersions: withVersions ? store.dataVersions(ups) : {},
    ...over,
  });
}

/** The whole chain materialized in one run, upstream first. */
function materializeAll(store: HistoryStore, g: AssetGraph, runId: string, from: number, withVersions = true): void {
  CHAIN.forEach((id, i) => record(store, g, id, runId, from + i * 2, { withVersions }));
}

const v1 = (id: string) => `v1-${id}`;
const states = (m: Map<string, AssetStatus>) => Object.fromEntries([...m].map(([id, s]) => [id, s.state]));
const reasons = (m: Map<string, AssetStatus>) => Object.fromEntries([...m].map(([id, s]) => [id, s.reason]));

describe("asset status", () => {
  test("missing before any run; external sources and exposures get no status", (t) => {
    const g = graph();
    const status = computeStatus(g, tempStore(t), v1);
    assert.deepEqual(states(status), { raw: "missing", stg: "missing", fct: "missing", model: "missing", "forecasting/pred": "missing", lonely: "missing" });
    assert.equal(status.has("src/orders"), false);
    assert.equal(status.has("dash"), false);
  });

  test("fresh after materializing, with last and lastSuccess", (t) => {
    const g = graph();
    const store = tempStore(t);
    materializeAll(store, g, "r1", 0);
    const status = computeStatus(g, store, v1);
    for (const id of CHAIN) assert.equal(status.get(id)!.state, "fresh", id);
    assert.equal(status.get("lonely")!.state, "missing");
    assert.equal(status.get("fct")!.lastSuccess!.runId, "r1");
    assert.equal(status.get("fct")!.last!.runId, "r1");
    // Unknown current code (undefined) is not a change.
    assert.equal(computeStatus(g, store, () => undefined).get("fct")!.state, "fresh");
  });

  test("stale when the code changed, and transitively downstream", (t) => {
    const g = graph();
    const store = tempStore(t);
    materializeAll(store, g, "r1", 0);
    const status = computeStatus(g, store, (id) => (id === "fct" ? "v2-fct" : v1(id)));
    assert.deepEqual(states(status), { raw: "fresh", stg: "fresh", fct: "stale", model: "stale", "forecasting/pred": "stale", lonely: "missing" });
    assert.equal(status.get("fct")!.reason, "code changed since the last materialization");
    assert.equal(status.get("model")!.reason, "upstream fct is stale");
    assert.equal(status.get("forecasting/pred")!.reason, "upstream model is stale");
  });

  test("stale when an upstream was materialized after it (by recorded version, and by time)", (t) => {
    for (const withVersions of [true, false]) {
      const g = graph();
      const store = tempStore(t);
      materializeAll(store, g, "r1", 0, withVersions);
      record(store, g, "stg", "r2", 100, { withVersions });
      const status = computeStatus(g, store, v1);
      assert.deepEqual(states(status), { raw: "fresh", stg: "fresh", fct: "stale", model: "stale", "forecasting/pred": "stale", lonely: "missing" }, `withVersions ${withVersions}`);
      assert.deepEqual(reasons(status), {
        raw: undefined,
        stg: undefined,
        fct: `upstream stg was materialized after it (at ${at(101)})`,
        model: "upstream fct is stale",
        "forecasting/pred": "upstream model is stale",
        lonely: "never materialized",
      });
      // Rebuilding the downstream chain makes everything fresh again.
      ["fct", "model", "forecasting/pred"].forEach((id, i) => record(store, g, id, "r3", 200 + i * 2, { withVersions }));
      assert.deepEqual(
        [...computeStatus(g, store, v1).values()].filter((s) => s.state !== "fresh").length,
        1, // lonely
      );
    }
  });

  test("the recorded upstream version decides over clocks", (t) => {
    const g = graph();
    const store = tempStore(t);
    materializeAll(store, g, "r1", 0);
    // model read fct@r1; fct is rebuilt in r2 with an *earlier* clock (skew): still newer data.
    record(store, g, "fct", "r2", -500);
    assert.equal(computeStatus(g, store, v1).get("model")!.state, "stale");
    // ... and a record saying it read the current version is fresh whatever the clocks say.
    record(store, g, "model", "r3", -1000);
    assert.equal(computeStatus(g, store, v1).get("model")!.state, "fresh");
  });

  test("failed when the last materialization failed; its downstream is not failed", (t) => {
    const g = graph();
    const store = tempStore(t);
    materializeAll(store, g, "r1", 0);
    record(store, g, "fct", "r2", 100, { status: "failed", error: "Binder Error: column x not found\nat line 3", rows: undefined });
    record(store, g, "lonely", "r2", 100, { status: "failed", error: "boom" });
    const status = computeStatus(g, store, v1);
    assert.equal(status.get("fct")!.state, "failed");
    assert.equal(status.get("fct")!.reason, "materialization failed in run r2: Binder Error: column x not found");
    assert.equal(status.get("fct")!.lastSuccess!.runId, "r1");
    assert.equal(status.get("fct")!.last!.runId, "r2");
    assert.equal(status.get("model")!.state, "fresh", "downstream keeps reading fct's last good data");
    assert.equal(status.get("lonely")!.state, "failed", "a first attempt that failed is failed, not missing");
  });

  test("running from the given set, or from the history's running steps", (t) => {
    const g = graph();
    const store = tempStore(t);
    materializeAll(store, g, "r1", 0);
    assert.equal(computeStatus(g, store, v1, new Set(["model"])).get("model")!.state, "running");
    assert.equal(computeStatus(g, store, v1).get("model")!.state, "fresh");

    store.startRun({ id: "r2", selection: "fct+", plan: null });
    store.startStep({ runId: "r2", stepId: "step-1", kind: "dbt", assets: ["fct", "lonely"] });
    let status = computeStatus(g, store, v1);
    assert.equal(status.get("fct")!.state, "running");
    assert.equal(status.get("fct")!.reason, "being materialized by run r2");
    assert.equal(status.get("fct")!.lastSuccess!.runId, "r1");
    assert.equal(status.get("lonely")!.state, "running");
    // A model the step already recorded is no longer running.
    record(store, g, "fct", "r2", 100);
    status = computeStatus(g, store, v1);
    assert.equal(status.get("fct")!.state, "fresh");
    assert.equal(status.get("model")!.state, "stale");
    assert.equal(status.get("lonely")!.state, "running");
    store.endStep("r2", "step-1", "failed");
    store.endRun("r2", "failed");
    assert.equal(computeStatus(g, store, v1).get("lonely")!.state, "missing");
  });

  test("codeVersion hashes the text with line ends normalised", () => {
    const v = codeVersion("select 1\nfrom x\n");
    assert.match(v, /^[0-9a-f]{16}$/);
    assert.equal(codeVersion("select 1\r\nfrom x\r\n"), v);
    assert.notEqual(codeVersion("select 2\nfrom x\n"), v);
    assert.equal(v, createHash("sha256").update("select 1\nfrom x\n").digest("hex").slice(0, 16));
  });

  test("describeStatus renders one line for hovers and lenses", () => {
    const now = T0 + 3 * 60_000 + 1000;
    const m: MaterializationRecord = {
      assetId: "fct",
      key: ["fct"],
      runId: "r1",
      stepId: "step-1",
      startedAt: at(0),
      endedAt: at(1),
      status: "success",
      durationMs: 1234,
      rows: 180,
      codeVersion: "x",
      upstreamVersions: {},
    };
    assert.deepEqual(describeStatus({ state: "fresh", last: m, lastSuccess: m }, now), { state: "fresh", detail: "materialized 3 min ago in 1.2 s, 180 rows" });
    assert.deepEqual(describeStatus({ state: "stale", reason: "upstream stg is stale", last: m, lastSuccess: m }, now), {
      state: "stale",
      detail: "upstream stg is stale; materialized 3 min ago in 1.2 s, 180 rows",
    });
    const failed = { ...m, status: "failed" as const, endedAt: at(150), error: "boom\nstack", rows: undefined };
    assert.deepEqual(describeStatus({ state: "failed", last: failed, lastSuccess: m }, now), { state: "failed", detail: "failed 31 s ago: boom; last success 3 min ago" });
    assert.deepEqual(describeStatus({ state: "failed", last: failed }, now), { state: "failed", detail: "failed 31 s ago: boom; never materialized successfully" });
    assert.deepEqual(describeStatus({ state: "missing" }, now), { state: "missing", detail: "never materialized" });
    assert.deepEqual(describeStatus({ state: "running", reason: "being materialized by run r2", lastSuccess: m }, now), {
      state: "running",
      detail: "being materialized by run r2; last materialized 3 min ago in 1.2 s, 180 rows",
    });
    assert.equal(describeStatus({ state: "fresh", lastSuccess: { ...m, rows: 1 } }, now).detail, "materialized 3 min ago in 1.2 s, 1 row");
    assert.equal(describeStatus({ state: "fresh", lastSuccess: { ...m, rows: undefined, durationMs: 340 } }, now).detail, "materialized 3 min ago in 340 ms");
  });

  test("relative times and durations", () => {
    const now = T0;
    assert.equal(relativeTime(at(-3), now), "just now");
    assert.equal(relativeTime(at(-42), now), "42 s ago");
    assert.equal(relativeTime(at(-7200), now), "2 h ago");
    assert.equal(relativeTime(at(-3 * 86400), now), "3 d ago");
    assert.equal(relativeTime(at(-90 * 86400), now), "on 2026-08-26");
    assert.equal(relativeTime(at(60), now), "just now", "clock skew into the future");
    assert.equal(formatDuration(42_400), "42 s");
    assert.equal(formatDuration(185_000), "3 min 5 s");
    assert.equal(formatDuration(4_320_000), "1 h 12 min");
  });
});
