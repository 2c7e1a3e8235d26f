import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  capLog,
  HistoryStore,
  HOT_RUNS,
  LOG_LIMIT,
  newRunId,
  RECENT_PER_ASSET,
} from "../../server/src/run/history";
import { acquireWarehouseLock, WarehouseLockedError } from "../../server/src/run/warehouseLock";
import { MAX_LINE_BYTES } from "../../server/src/run/durableLog";
import type { MaterializationRecord } from "../../server/src/protocol/history";

const REPO = join(import.meta.dirname, "..", "..");
const CHILD = join(import.meta.dirname, "fixtures", "history-child.ts");

function tempRoot(t: { after: (fn: () => void) => void }): string {
  const root = mkdtempSync(join(tmpdir(), "tributary-history-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function eventsFile(root: string): string {
  return join(root, ".tributary", "history", "events.jsonl");
}

/** A child process with its stdout split into lines and a way to wait for one. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  private waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = "";

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
    let buf = "";
    this.proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.proc.stderr!.setEncoding("utf8").on("data", (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.proc.on("close", (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first line (seen or to come) passing `test`; rejects if the child exits first. */
  waitFor(test: (line: string) => boolean, timeoutMs = 30000): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; lines: ${this.lines.slice(-3).join(" | ")}; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`child exited before the line; stderr: ${this.stderr}`));
      });
    });
  }

  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }
}

function mat(over: Partial<MaterializationRecord> & { assetId: string; runId: string }): MaterializationRecord {
  return {
    key: over.assetId.split("/"),
    stepId: "step-1",
    startedAt: "2026-11-24T10:00:00.000Z",
    endedAt: "2026-11-24T10:00:01.000Z",
    status: "success",
    durationMs: 1000,
    codeVersion: "abc",
    upstreamVersions: {},
    ...over,
  };
}

describe("history store", { timeout: 120_000 }, () => {
  test("every record kind round-trips through the file", (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    assert.equal(existsSync(join(root, ".tributary")), false, "opening creates nothing");
    const plan = { selection: ["a", "b"], steps: [{ id: "step-1", kind: "dbt", assets: ["a"] }], inputs: [], external: [], skipped: [] };
    const run = store.startRun({ id: "r1", selection: "+b", plan, engine: "embedded", trigger: "cli", startedAt: "2026-11-24T10:00:00.000Z" });
    store.startStep({ runId: "r1", stepId: "step-1", kind: "dbt", assets: ["a"], startedAt: "2026-11-24T10:00:00.100Z" });
    store.endStep("r1", "step-1", "failed", { error: "boom", log: "line 1\nline 2", endedAt: "2026-11-24T10:00:02.000Z" });
    store.startStep({ runId: "r1", stepId: "step-2", kind: "ts", assets: ["b"], status: "skipped", error: "upstream step-1 failed" });
    const m = mat({
      assetId: "x/a",
      runId: "r1",
      rows: 180,
      metadata: { big: 10n, nested: { ok: true } },
      upstreamVersions: { src: "external" },
      log: "ok",
      error: undefined,
    });
    store.recordMaterialization(m);
    store.recordMaterialization(mat({ assetId: "x/a", runId: "r1", status: "failed", error: "oops", endedAt: "2026-11-24T10:00:03.000Z" }));
    store.endRun("r1", "failed", "1 step failed", "2026-11-24T10:00:04.000Z");

    const lines = readFileSync(eventsFile(root), "utf8").split("\n");
    assert.equal(lines.pop(), "", "the file ends with a newline");
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { type: string }).type),
      ["run_start", "step_start", "step_end", "step_start", "materialization", "materialization", "run_end"],
    );

    for (const s of [store, HistoryStore.open(root)]) {
      assert.deepEqual(s.run("r1"), {
        ...run,
        plan,
        status: "failed",
        endedAt: "2026-11-24T10:00:04.000Z",
        error: "1 step failed",
      });
      assert.equal(run.pid, process.pid);
      assert.deepEqual(s.steps("r1"), [
        { runId: "r1", stepId: "step-1", kind: "dbt", assets: ["a"], status: "failed", startedAt: "2026-11-24T10:00:00.100Z", endedAt: "2026-11-24T10:00:02.000Z", error: "boom", log: "line 1\nline 2" },
        { runId: "r1", stepId: "step-2", kind: "ts", assets: ["b"], status: "skipped", error: "upstream step-1 failed" },
      ]);
      const last = s.lastMaterialization("x/a")!;
      assert.equal(last.status, "failed");
      assert.equal(last.error, "oops");
      const ok = s.lastSuccess("x/a")!;
      const { error: _none, ...written } = m;
      assert.deepEqual(ok, { ...written, metadata: { big: "10", nested: { ok: true } } }, "bigints become strings");
      assert.equal(ok.rows, 180);
      assert.deepEqual(ok.upstreamVersions, { src: "external" });
      assert.deepEqual(s.materializations("x/a").map((x) => x.status), ["failed", "success"]);
      assert.equal(s.lastRun()!.id, "r1");
      assert.deepEqual(s.runs().map((r) => r.id), ["r1"]);
      assert.equal(s.dataVersion("x/a"), "r1");
      assert.equal(s.dataVersion("nope"), "external");
      assert.equal(s.corruptLines, 0);
    }
  });

  test("log excerpts keep the last 4 KB", () => {
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} é`).join("\n");
    const capped = capLog(text)!;
    assert.ok(Buffer.byteLength(capped) <= LOG_LIMIT, `${Buffer.byteLength(capped)} bytes`);
    assert.ok(capped.endsWith("line 1999 é"));
    assert.match(capped, /earlier bytes cut/);
    assert.equal(capLog("short"), "short");
  });

  test("a line longer than the reader keeps in memory is read past and counted as corrupt, even a valid record", (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    store.startRun({ id: "r1", selection: "a", plan: null });
    store.endRun("r1", "success");
    const file = eventsFile(root);
    const [start, end] = readFileSync(file, "utf8").split("\n").filter(Boolean);
    const huge = JSON.parse(start) as { run: { id: string; selection: string } };
    huge.run.id = "r9";
    huge.run.selection = "a".repeat(MAX_LINE_BYTES + 1024);
    writeFileSync(file, `${start}\n${JSON.stringify(huge)}\n${end}\n`);

    const reopened = HistoryStore.open(root, { markInterrupted: false });
    assert.equal(reopened.run("r9"), undefined, "the oversized line is not read as a record");
    assert.equal(reopened.run("r1")!.status, "success", "the lines after it are read");
    assert.equal(reopened.corruptLines, 1);

    // Unterminated at the end of the file: pending, like a torn line; the next append ends it.
    writeFileSync(file, `${start}\n${end}\n${JSON.stringify(huge)}`);
    const torn = HistoryStore.open(root, { markInterrupted: false });
    assert.equal(torn.hasTornTail, true);
    torn.startRun({ id: "r3", selection: "b", plan: null });
    assert.equal(torn.run("r3")!.status, "running");
    assert.equal(torn.run("r9"), undefined);
    assert.equal(torn.corruptLines, 1);
  });

  test("run ids sort by start time", () => {
    const a = newRunId(new Date("2026-11-24T09:08:07Z"));
    assert.match(a, /^20261124-090807-[0-9a-f]{4}$/);
    assert.ok(newRunId(new Date("2026-11-24T10:00:00Z")) > a);
  });

  test("a torn last line and a corrupt middle line are skipped; the next append parses", (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    store.startRun({ id: "r1", selection: "a", plan: null });
    store.endRun("r1", "success");
    const file = eventsFile(root);
    const good = readFileSync(file, "utf8").split("\n").filter(Boolean);
    writeFileSync(file, `${good[0]}\n{"v":1,"type":"run_end" this is not json\n${good[1]}\n{"v":1,"type":"run_start","run":{"id":"r2","sel`);

    const reopened = HistoryStore.open(root);
    assert.equal(reopened.corruptLines, 1);
    assert.equal(reopened.hasTornTail, true);
    assert.equal(reopened.run("r1")!.status, "success");
    assert.equal(reopened.run("r2"), undefined);

    reopened.startRun({ id: "r3", selection: "b", plan: null });
    assert.equal(reopened.run("r3")!.status, "running", "the append after a torn line is read back");
    assert.equal(reopened.hasTornTail, false);
    assert.equal(reopened.corruptLines, 2, "the torn fragment, now terminated, is skipped too");

    const third = HistoryStore.open(root, { markInterrupted: false });
    assert.deepEqual(third.runs().map((r) => r.id), ["r3", "r1"]);
    assert.equal(third.corruptLines, 2);
    const lastLine = readFileSync(file, "utf8").split("\n").filter(Boolean).pop()!;
    assert.equal((JSON.parse(lastLine) as { run: { id: string } }).run.id, "r3", "the new event has a line of its own");
  });

  test("a line with the wrong shape counts as corrupt; unknown event types are ignored", (t) => {
    const root = tempRoot(t);
    mkdirp(root);
    writeFileSync(
      eventsFile(root),
      [
        JSON.stringify({ v: 1, type: "run_start", run: { id: "r1", startedAt: "2026-11-24T10:00:00Z", status: "bogus" } }),
        JSON.stringify({ v: 2, type: "future_event", x: 1 }),
        JSON.stringify({ v: 1, type: "run_start", run: { id: "r2", selection: "", plan: null, startedAt: "2026-11-24T10:00:00Z", status: "running", pid: 1 } }),
        "",
      ].join("\n"),
    );
    const store = HistoryStore.open(root, { markInterrupted: false });
    assert.equal(store.corruptLines, 1);
    assert.equal(store.events, 1);
    assert.deepEqual(store.runs().map((r) => r.id), ["r2"]);
  });

  test("kill -9 at random points loses no event the child reported written", async (t) => {
    const root = tempRoot(t);
    const points = [0, 1 + Math.floor(Math.random() * 5), 5 + Math.floor(Math.random() * 30), 20 + Math.floor(Math.random() * 60)];
    const reported: number[] = [];
    for (const [round, n] of points.entries()) {
      const runId = `kill-${round}`;
      const child = new Child(["writer", root, runId, "inf"]);
      await child.waitFor((l) => (n === 0 ? l === "started" : l === `wrote ${n}`));
      child.proc.kill("SIGKILL");
      const exit = await child.exited;
      assert.equal(exit.signal, "SIGKILL");
      const wrote = child.lines.filter((l) => l.startsWith("wrote ")).map((l) => Number(l.slice(6)));
      const max = wrote.length ? Math.max(...wrote) : 0;
      assert.ok(max >= n);
      reported.push(max);

      const store = HistoryStore.open(root, { markInterrupted: false });
      assert.equal(store.corruptLines, 0, "the log stays readable");
      assert.equal(store.run(runId)!.status, "running", "the killed run is still recorded as running");
      const got = new Set(store.materializations("a", Infinity).filter((m) => m.runId === runId).map((m) => m.stepId));
      for (let i = 1; i <= max; i++) assert.ok(got.has(`s${i}`), `round ${round}: event ${i} of ${max} reported written is in the log`);
      assert.ok(got.size >= max && got.size <= max + 1, `at most the one in flight is extra (${got.size} vs ${max})`);

      // The interrupted run is marked as such on the next open.
      assert.deepEqual(store.markInterrupted(), [runId]);
      assert.equal(store.run(runId)!.status, "interrupted");
      assert.match(store.run(runId)!.error!, /interrupted/);
      assert.equal(store.steps(runId)[0].status, "cancelled");
      const again = HistoryStore.open(root);
      assert.equal(again.run(runId)!.status, "interrupted", "the mark is durable");
      assert.equal(again.steps(runId)[0].status, "cancelled");
      assert.deepEqual(again.markInterrupted(), [], "marked once");
    }
    assert.ok(reported.every((r, i) => r >= points[i]));
  });

  test("a running run of a live process is not marked interrupted; one with a dead pid is", async (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    store.startRun({ id: "mine", selection: "a", plan: null });
    const dead = new Child(["writer", root, "dead", "0"]);
    await dead.exited;
    const reader = HistoryStore.open(root);
    assert.equal(reader.run("mine")!.status, "running");
    assert.equal(reader.run("dead")!.status, "interrupted");
    // Our own pid from an earlier process (a run id this process never started) is dead too.
    store.startRun({ id: "previous-incarnation", selection: "a", plan: null, pid: process.pid });
    assert.equal(HistoryStore.open(root).run("previous-incarnation")!.status, "running");
    mkdirp(root);
    appendFileSync(
      eventsFile(root),
      JSON.stringify({ v: 1, type: "run_start", run: { id: "reused-pid", selection: "", plan: null, startedAt: new Date().toISOString(), status: "running", pid: process.pid } }) + "\n",
    );
    assert.deepEqual(HistoryStore.open(root, { markInterrupted: false }).markInterrupted(), ["reused-pid"]);
  });

  test("retryTargets returns exactly the failed and skipped steps of the last finished run", (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    const plan = {
      steps: [
        { id: "step-1", kind: "dbt", assets: ["a", "b"] },
        { id: "step-2", kind: "ts", assets: ["c"] },
        { id: "step-3", kind: "dbt", assets: ["d", "e"] },
        { id: "step-4", kind: "ts", assets: ["f"] },
        { id: "step-5", kind: "ts", assets: ["g"] },
      ],
    };
    store.startRun({ id: "r1", selection: "+g", plan });
    store.startStep({ runId: "r1", stepId: "step-1", kind: "dbt", assets: ["a", "b"] });
    store.endStep("r1", "step-1", "success");
    store.startStep({ runId: "r1", stepId: "step-2", kind: "ts", assets: ["c"] });
    store.endStep("r1", "step-2", "failed", { error: "boom" });
    store.startStep({ runId: "r1", stepId: "step-3", kind: "dbt", assets: ["d", "e"], status: "skipped" });
    store.startStep({ runId: "r1", stepId: "step-4", kind: "ts", assets: ["f"] });
    store.endStep("r1", "step-4", "success");
    store.startStep({ runId: "r1", stepId: "step-5", kind: "ts", assets: ["g"], status: "skipped" });
    store.endRun("r1", "failed");

    const expected = {
      runId: "r1",
      selection: "+g",
      runStatus: "failed",
      assets: ["c", "d", "e", "g"],
      steps: [
        { stepId: "step-2", kind: "ts", status: "failed", assets: ["c"] },
        { stepId: "step-3", kind: "dbt", status: "skipped", assets: ["d", "e"] },
        { stepId: "step-5", kind: "ts", status: "skipped", assets: ["g"] },
      ],
    };
    assert.deepEqual(store.retryTargets(), expected);

    // A newer run still running (ours, alive) is ignored.
    store.startRun({ id: "r2", selection: "x", plan: null });
    store.startStep({ runId: "r2", stepId: "step-1", kind: "ts", assets: ["x"] });
    assert.deepEqual(HistoryStore.open(root).retryTargets(), expected);
    store.endStep("r2", "step-1", "success");
    store.endRun("r2", "success");
    assert.deepEqual(store.retryTargets()!.assets, [], "a successful last run leaves nothing to retry");

    // A cancelled run: by default only failed+skipped; with includeUnfinished also cancelled and never-started steps.
    store.startRun({ id: "r3", selection: "+g", plan });
    store.startStep({ runId: "r3", stepId: "step-1", kind: "dbt", assets: ["a", "b"] });
    store.endStep("r3", "step-1", "failed");
    store.startStep({ runId: "r3", stepId: "step-2", kind: "ts", assets: ["c"] });
    store.endRun("r3", "cancelled");
    assert.deepEqual(store.retryTargets()!.assets, ["a", "b"]);
    const all = store.retryTargets({ includeUnfinished: true })!;
    assert.deepEqual(all.assets, ["a", "b", "c", "d", "e", "f", "g"]);
    assert.deepEqual(all.steps.map((s) => `${s.stepId}:${s.status}`), ["step-1:failed", "step-2:cancelled", "step-3:not started", "step-4:not started", "step-5:not started"]);
  });

  test("old runs leave memory but stay readable", (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    const n = HOT_RUNS + 5;
    for (let i = 0; i < n; i++) {
      const id = `r${String(i).padStart(3, "0")}`;
      store.startRun({ id, selection: `sel ${i}`, plan: { steps: [{ id: "step-1", kind: "ts", assets: ["a"] }], i } });
      store.startStep({ runId: id, stepId: "step-1", kind: "ts", assets: ["a"] });
      store.recordMaterialization(mat({ assetId: "a", runId: id, durationMs: i }));
      store.endStep(id, "step-1", "success", { log: `log ${i}` });
      store.endRun(id, "success");
    }
    for (const s of [store, HistoryStore.open(root)]) {
      assert.equal(s.runs().length, n);
      assert.equal(s.runs()[n - 1].id, "r000");
      assert.equal(s.runs()[n - 1].plan, undefined, "a cold run's plan is not kept in memory");
      assert.deepEqual(s.run("r000")!.plan, { steps: [{ id: "step-1", kind: "ts", assets: ["a"] }], i: 0 });
      assert.equal(s.run("r000")!.status, "success");
      assert.deepEqual(s.steps("r000").map((x) => [x.status, x.log]), [["success", "log 0"]]);
      const ms = s.materializations("a", Infinity);
      assert.equal(ms.length, n);
      assert.ok(n > RECENT_PER_ASSET);
      assert.deepEqual(ms.map((m) => m.durationMs), Array.from({ length: n }, (_, i) => n - 1 - i), "newest first, old ones read back");
      assert.equal(s.materializations("a").length, 20);
    }
  });

  test("reload() picks up appends from another process, incrementally", async (t) => {
    const root = tempRoot(t);
    const store = HistoryStore.open(root);
    assert.equal(store.reload(), false);
    const child = new Child(["writer", root, "other", "3"]);
    await child.waitFor((l) => l === "done");
    await child.exited;
    assert.equal(store.lastRun(), undefined, "nothing is read before reload()");
    assert.equal(store.reload(), true);
    assert.equal(store.lastRun()!.id, "other");
    assert.equal(store.materializations("a").length, 3);
    const events = store.events;
    assert.equal(store.reload(), false, "nothing new");
    assert.equal(store.events, events, "nothing read twice");
    assert.equal(store.materializations("a").length, 3);
    // A replaced (shorter) file is read again from the start.
    writeFileSync(eventsFile(root), "");
    assert.equal(store.reload(), true);
    assert.equal(store.lastRun(), undefined);
  });

  test("appends from two processes never interleave within a line", async (t) => {
    const root = tempRoot(t);
    const count = 200;
    const bytes = 20000; // well above PIPE_BUF and a page
    const a = new Child(["append", root, "p", String(count), String(bytes)]);
    const b = new Child(["append", root, "q", String(count), String(bytes)]);
    await Promise.all([a.waitFor((l) => l === "ready"), b.waitFor((l) => l === "ready")]);
    a.send("go");
    b.send("go");
    await Promise.all([a.waitFor((l) => l === "done"), b.waitFor((l) => l === "done")]);
    await Promise.all([a.exited, b.exited]);
    const text = readFileSync(eventsFile(root), "utf8");
    assert.ok(text.endsWith("\n"));
    // A writer that looks at the last byte while the other's write is in flight starts its line on a
    // fresh one: an empty line, which readers skip. Every other line is one whole event.
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith('{"v":1,"type":"run_start"'));
    assert.equal(lines.length, 2 * count);
    const order: string[] = [];
    for (const line of lines) {
      const e = JSON.parse(line) as { m: { assetId: string; metadata: { tag: string; pad: string } } };
      assert.equal(e.m.metadata.tag, e.m.assetId);
      assert.equal(e.m.metadata.pad.length, bytes);
      order.push(e.m.assetId);
    }
    const store = HistoryStore.open(root);
    assert.equal(store.corruptLines, 0);
    assert.equal(store.materializations("p", Infinity).length, count);
    assert.equal(store.materializations("q", Infinity).length, count);
    // The two writers really overlapped (otherwise this test proves nothing).
    const switches = order.filter((id, i) => i > 0 && id !== order[i - 1]).length;
    assert.ok(switches > 1, `the writers overlapped (${switches} switches)`);
  });
});

function mkdirp(root: string): void {
  mkdirSync(join(root, ".tributary", "history"), { recursive: true });
}

describe("warehouse lock", { timeout: 60_000 }, () => {
  test("a second acquire refuses naming the holder's pid and run; waits and succeeds after release", async (t) => {
    const root = tempRoot(t);
    const holder = new Child(["lock", root, "20261124-101010-abcd"]);
    t.after(() => holder.proc.kill("SIGKILL"));
    await holder.waitFor((l) => l === "locked");
    const lockText = JSON.parse(readFileSync(join(root, ".tributary", "run.lock"), "utf8")) as { pid: number; runId: string; startedAt: string };
    assert.equal(lockText.pid, holder.proc.pid);
    assert.equal(lockText.runId, "20261124-101010-abcd");
    assert.ok(!Number.isNaN(Date.parse(lockText.startedAt)));

    await assert.rejects(acquireWarehouseLock(root, { runId: "mine", wait: false }), (err: unknown) => {
      assert.ok(err instanceof WarehouseLockedError);
      assert.equal(
        err.message,
        `Another Tributary run (run 20261124-101010-abcd, pid ${holder.proc.pid}) is writing this warehouse; wait for it (--wait) or cancel it.`,
      );
      assert.equal(err.holder.pid, holder.proc.pid);
      return true;
    });
    await assert.rejects(acquireWarehouseLock(root, { runId: "mine", wait: true, timeoutMs: 150 }), /Timed out after .* \(run 20261124-101010-abcd, pid \d+\)/);
    const ac = new AbortController();
    const aborted = acquireWarehouseLock(root, { runId: "mine", wait: true, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(aborted, /^RunError: Cancelled while waiting for the warehouse lock \(held by run 20261124-101010-abcd, pid \d+\); nothing was run\.$/);

    let waitedFor: number | undefined;
    let acquired = false;
    const waiting = acquireWarehouseLock(root, { runId: "mine", wait: true, onWait: (h) => (waitedFor = h.pid) }).then((l) => {
      acquired = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(acquired, false, "still waiting while the holder lives");
    assert.equal(waitedFor, holder.proc.pid);
    holder.send("release");
    await holder.waitFor((l) => l === "released");
    const lock = await waiting;
    assert.equal(lock.info.runId, "mine");
    assert.equal((JSON.parse(readFileSync(lock.file, "utf8")) as { pid: number }).pid, process.pid);

    // Held by this process: another acquire here refuses too.
    await assert.rejects(acquireWarehouseLock(root, { runId: "second", wait: false }), /run mine, pid/);
    lock.release();
    lock.release();
    assert.equal(existsSync(lock.file), false);
    const again = await acquireWarehouseLock(root, { runId: "third", wait: false });
    again.release();
  });

  test("a lock left by a dead process is taken over", async (t) => {
    const root = tempRoot(t);
    const holder = new Child(["lock", root, "crashed-run"]);
    await holder.waitFor((l) => l === "locked");
    holder.proc.kill("SIGKILL");
    await holder.exited;
    assert.equal(existsSync(join(root, ".tributary", "run.lock")), true, "kill -9 leaves the lock file");
    const lock = await acquireWarehouseLock(root, { runId: "next", wait: false });
    const text = JSON.parse(readFileSync(lock.file, "utf8")) as { pid: number; runId: string };
    assert.deepEqual([text.pid, text.runId], [process.pid, "next"]);
    // Releasing does not remove someone else's lock.
    writeFileSync(lock.file, JSON.stringify({ pid: 999999999, runId: "other", startedAt: "", token: "t" }));
    lock.release();
    assert.equal(existsSync(lock.file), true);
    // ...and that one (pid cannot exist) is stale as well.
    const next = await acquireWarehouseLock(root, { runId: "after", wait: false });
    next.release();
  });
});
