/**
 * The schedule daemon with a controllable clock and a fake runner: due jobs run exactly once each,
 * overlaps are skipped, ticks are recorded, failing runs do not stop it, a restart catches up at
 * most one missed tick, a kill -9 is recovered from, and only one daemon runs per workspace.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { ScheduleDaemon, type DaemonEvent, type DaemonJob, type JobRunner } from "../../server/src/jobs/daemon";
import { DAEMON_LOCK_FILE, DaemonLockedError, runningDaemon } from "../../server/src/jobs/lock";
import { parseSchedule } from "../../server/src/jobs/schedule";
import { TICKS_FILE, TickStore } from "../../server/src/jobs/ticks";
import { HISTORY_DIR } from "../../server/src/run/history";
import { deferred, FakeClock, flush, summary } from "./helpers";

const CHILD = path.join(__dirname, "fixtures", "daemon-child.ts");

function job(name: string, cron: string, tz = "UTC"): DaemonJob {
  const r = parseSchedule(cron, tz);
  assert.ok(r.ok);
  return { name, schedule: r.schedule, selection: name };
}

const T = (iso: string) => Date.parse(iso);

describe("schedule daemon", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const workspace = () => {
    const d = mkdtempSync(path.join(tmpdir(), "tributary-daemon-"));
    dirs.push(d);
    return d;
  };

  /** A daemon whose runner records the calls and answers with `answer` (default: success). */
  function setup(root: string, jobs: DaemonJob[], start: number, answer?: JobRunner, extra: Partial<ConstructorParameters<typeof ScheduleDaemon>[0]> = {}) {
    const clock = new FakeClock(start);
    const calls: { job: string; scheduledFor: string; at: number }[] = [];
    const events: DaemonEvent[] = [];
    let n = 0;
    const daemon = new ScheduleDaemon({
      root,
      clock,
      jobs: () => jobs,
      run: async (j, ctx) => {
        calls.push({ job: j.name, scheduledFor: ctx.tick.scheduledFor, at: clock.now() });
        if (answer) return answer(j, ctx);
        const runId = `run-${++n}`;
        ctx.onRunStart(runId);
        return summary(runId);
      },
      onEvent: (e) => events.push(e),
      ...extra,
    });
    return { clock, calls, events, daemon };
  }

  test("due jobs run exactly once each, at their due times, across a DST change", async () => {
    const root = workspace();
    const jobs = [job("hourly", "0 * * * *"), job("berlin", "0 3 * * *", "Europe/Berlin"), job("third", "*/20 * * * *"), job("springgap", "30 2 * * *", "Europe/Berlin")];
    const start = T("2026-03-28T10:10:00Z");
    const end = T("2026-03-30T10:10:00Z");
    const { clock, calls, daemon } = setup(root, jobs, start, undefined, { maxSleepMs: 7 * 60_000 });
    await daemon.start();
    await clock.runUntil(end);
    await daemon.settled();
    await daemon.stop();
    for (const j of jobs) {
      const expected = j.schedule.between(start, end).map((d) => d.toISOString());
      const got = calls.filter((c) => c.job === j.name).map((c) => c.scheduledFor);
      assert.deepEqual(got, expected, j.name);
      // Each started exactly when due (the clock wakes the daemon at the due time).
      for (const c of calls.filter((x) => x.job === j.name)) assert.equal(c.at, Date.parse(c.scheduledFor));
    }
    assert.equal(calls.filter((c) => c.job === "hourly").length, 48);
    assert.deepEqual(
      calls.filter((c) => c.job === "berlin").map((c) => c.scheduledFor),
      ["2026-03-29T01:00:00.000Z", "2026-03-30T01:00:00.000Z"],
      "03:00 CEST on both days",
    );
    assert.deepEqual(
      calls.filter((c) => c.job === "springgap").map((c) => c.scheduledFor),
      ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"],
      "the skipped 02:30 runs once, at 03:00 CEST",
    );
    const ticks = TickStore.open(root).ticks();
    assert.equal(ticks.length, calls.length);
    assert.ok(ticks.every((t) => t.status === "started" && t.runStatus === "success" && t.runId?.startsWith("run-") && t.pid === process.pid));
  });

  test("a new job is not run for due times before the daemon first saw it", async () => {
    const root = workspace();
    const { clock, calls, daemon } = setup(root, [job("daily", "0 3 * * *")], T("2026-05-01T12:00:00Z"));
    await daemon.start();
    await clock.runUntil(T("2026-05-02T02:59:00Z"));
    assert.equal(calls.length, 0);
    await clock.runUntil(T("2026-05-02T03:00:00Z"));
    await daemon.settled();
    assert.deepEqual(calls.map((c) => c.scheduledFor), ["2026-05-02T03:00:00.000Z"]);
    await daemon.stop();
  });

  test("overlap: a due time while the previous run of the job still goes is skipped and recorded", async () => {
    const root = workspace();
    const pending = [deferred<void>(), deferred<void>()];
    let n = 0;
    const { clock, calls, daemon, events } = setup(root, [job("every10", "*/10 * * * *"), job("other", "*/10 * * * *")], T("2026-06-01T10:05:00Z"), async (j, ctx) => {
      if (j.name === "other") return summary(`other-${ctx.tick.scheduledFor}`);
      const i = n++;
      ctx.onRunStart(`run-${i}`);
      await pending[i].promise;
      return summary(`run-${i}`);
    });
    await daemon.start();
    await clock.runUntil(T("2026-06-01T10:10:00Z"));
    await flush();
    assert.deepEqual(daemon.running, ["every10"]);
    await clock.runUntil(T("2026-06-01T10:20:00Z"));
    await flush();
    const store = TickStore.open(root);
    const mine = store.ticks("every10").reverse();
    assert.deepEqual(mine.map((t) => [t.scheduledFor, t.status]), [["2026-06-01T10:10:00.000Z", "started"], ["2026-06-01T10:20:00.000Z", "skipped"]]);
    assert.match(mine[1].reason!, /previous run of every10 \(run run-0\).*still going/);
    assert.equal(store.ticks("other").length, 2, "another job is not held up");
    pending[0].resolve();
    await daemon.settled();
    await clock.runUntil(T("2026-06-01T10:30:00Z"));
    await flush();
    pending[1].resolve();
    await daemon.settled();
    await daemon.stop();
    assert.equal(calls.filter((c) => c.job === "every10").length, 2);
    const final = TickStore.open(root).ticks("every10").reverse();
    assert.deepEqual(final.map((t) => [t.status, t.runStatus]), [["started", "success"], ["skipped", undefined], ["started", "success"]]);
    assert.ok(events.some((e) => e.type === "tick" && e.tick.status === "skipped"));
  });

  test("overlap with a run in another process (isRunningElsewhere) is skipped too", async () => {
    const root = workspace();
    const { clock, calls, daemon } = setup(root, [job("j", "0 * * * *")], T("2026-06-01T10:30:00Z"), undefined, {
      isRunningElsewhere: (name) => (name === "j" ? "run 20260601-100000-abcd, pid 4242" : undefined),
    });
    await daemon.start();
    await clock.runUntil(T("2026-06-01T11:00:00Z"));
    await daemon.stop();
    assert.equal(calls.length, 0);
    const [tick] = TickStore.open(root).ticks("j");
    assert.equal(tick.status, "skipped");
    assert.match(tick.reason!, /another process/);
  });

  test("failing runs are recorded and the daemon goes on", async () => {
    const root = workspace();
    let n = 0;
    const { clock, daemon, events } = setup(root, [job("flaky", "0 * * * *")], T("2026-06-01T09:30:00Z"), async (_j, ctx) => {
      n++;
      if (n === 1) throw new Error("the warehouse is locked by someone else"); // before any run exists
      if (n === 2) {
        ctx.onRunStart("run-2");
        throw new Error("runner crashed mid-run");
      }
      ctx.onRunStart(`run-${n}`);
      if (n === 3) return summary("run-3", "failed", { failed: [{ assetId: "fct_orders", error: "Binder Error: column x\nmore" }] });
      return summary(`run-${n}`);
    });
    await daemon.start();
    for (const h of ["10", "11", "12", "13"]) {
      await clock.runUntil(T(`2026-06-01T${h}:00:00Z`));
      await daemon.settled();
    }
    await daemon.stop();
    const ticks = TickStore.open(root).ticks("flaky").reverse();
    assert.deepEqual(
      ticks.map((t) => [t.status, t.runId, t.runStatus]),
      [
        ["failed", undefined, undefined],
        ["started", "run-2", "failed"],
        ["started", "run-3", "failed"],
        ["started", "run-4", "success"],
      ],
    );
    assert.match(ticks[0].error!, /warehouse is locked/);
    assert.match(ticks[1].error!, /crashed mid-run/);
    assert.equal(ticks[2].error, "fct_orders: Binder Error: column x");
    assert.ok(events.some((e) => e.type === "run_end" && e.error?.includes("locked")));
  });

  test("restart after downtime: the ticks file is the state; at most one missed tick is caught up", async () => {
    const root = workspace();
    const jobs = [job("hourly", "0 * * * *"), job("daily", "0 3 * * *")];
    const first = setup(root, jobs, T("2026-06-01T00:30:00Z"));
    await first.daemon.start();
    await first.clock.runUntil(T("2026-06-01T03:30:00Z"));
    await first.daemon.settled();
    await first.daemon.stop();
    assert.deepEqual(first.calls.map((c) => `${c.job} ${c.scheduledFor.slice(11, 16)}`), ["hourly 01:00", "hourly 02:00", "hourly 03:00", "daily 03:00"]);

    // Down from 03:30 to 08:20 the next day: hourly missed 29 due times, daily one.
    const second = setup(root, jobs, T("2026-06-02T08:20:00Z"));
    await second.daemon.start();
    await second.clock.idle();
    await second.daemon.settled();
    assert.deepEqual(second.calls.map((c) => `${c.job} ${c.scheduledFor}`), ["hourly 2026-06-02T08:00:00.000Z", "daily 2026-06-02T03:00:00.000Z"]);
    const started = second.events.find((e) => e.type === "started");
    assert.ok(started?.type === "started");
    assert.deepEqual(started.jobs.map((j) => [j.name, j.next?.toISOString()]), [["hourly", "2026-06-02T09:00:00.000Z"], ["daily", "2026-06-03T03:00:00.000Z"]], "next runs from now on");
    const states = second.daemon.jobStates();
    assert.deepEqual(states.map((s) => [s.name, s.schedule, s.timezone, s.next?.toISOString(), s.lastTick?.scheduledFor, s.running]), [
      ["hourly", "0 * * * *", "UTC", "2026-06-02T09:00:00.000Z", "2026-06-02T08:00:00.000Z", false],
      ["daily", "0 3 * * *", "UTC", "2026-06-03T03:00:00.000Z", "2026-06-02T03:00:00.000Z", false],
    ]);
    const store = TickStore.open(root);
    assert.equal(store.lastTick("hourly")!.missed, 28);
    assert.equal(store.lastTick("daily")!.missed, undefined);
    await second.clock.runUntil(T("2026-06-02T10:00:00Z"));
    await second.daemon.settled();
    await second.daemon.stop();
    assert.deepEqual(second.calls.filter((c) => c.job === "hourly").map((c) => c.scheduledFor.slice(11, 16)), ["08:00", "09:00", "10:00"]);
  });

  test("a suspended machine (clock jump) also catches up one tick, not all", async () => {
    const root = workspace();
    const { clock, calls, daemon } = setup(root, [job("q", "*/15 * * * *")], T("2026-06-01T10:01:00Z"));
    await daemon.start();
    await clock.jumpTo(T("2026-06-01T13:07:00Z"));
    await daemon.settled();
    await daemon.stop();
    assert.deepEqual(calls.map((c) => c.scheduledFor), ["2026-06-01T13:00:00.000Z"]);
    assert.equal(TickStore.open(root).lastTick("q")!.missed, 11);
  });

  test("a changed schedule starts from when it was seen; an unchanged one keeps its cursor", async () => {
    const root = workspace();
    let jobs = [job("j", "0 3 * * *")];
    const clock = new FakeClock(T("2026-06-01T04:00:00Z"));
    const calls: string[] = [];
    const daemon = new ScheduleDaemon({ root, clock, jobs: () => jobs, run: async (j, ctx) => (calls.push(`${j.schedule.cron} ${ctx.tick.scheduledFor}`), summary("r")) });
    await daemon.start();
    await clock.runUntil(T("2026-06-01T10:30:00Z"));
    jobs = [job("j", "0 * * * *")]; // 10:00 is past for the new schedule: not run
    daemon.wake();
    await clock.runUntil(T("2026-06-01T11:00:00Z"));
    await daemon.settled();
    await daemon.stop();
    assert.deepEqual(calls, ["0 * * * * 2026-06-01T11:00:00.000Z"]);
  });

  test("stop cancels running runs (or lets them finish) and releases the lock", async () => {
    const root = workspace();
    const aborted: boolean[] = [];
    const { clock, daemon, events } = setup(root, [job("long", "0 * * * *")], T("2026-06-01T09:59:00Z"), (_j, ctx) => {
      ctx.onRunStart("run-long");
      return new Promise((resolve) => ctx.signal.addEventListener("abort", () => (aborted.push(true), resolve(summary("run-long", "cancelled")))));
    });
    await daemon.start();
    assert.ok(existsSync(path.join(root, DAEMON_LOCK_FILE)));
    assert.equal(runningDaemon(root)?.pid, process.pid);
    await clock.runUntil(T("2026-06-01T10:00:00Z"));
    await flush();
    await daemon.stop();
    assert.deepEqual(aborted, [true]);
    assert.equal(TickStore.open(root).lastTick("long")!.runStatus, "cancelled");
    assert.ok(!existsSync(path.join(root, DAEMON_LOCK_FILE)));
    assert.equal(runningDaemon(root), undefined);
    assert.deepEqual(events.slice(-3).map((e) => e.type), ["stopping", "run_end", "stopped"]);

    // --drain: the run finishes on its own.
    const finish = deferred<void>();
    const second = setup(root, [job("long", "0 * * * *")], T("2026-06-01T10:59:00Z"), async (_j, ctx) => {
      ctx.onRunStart("run-drained");
      await finish.promise;
      return summary("run-drained");
    });
    await second.daemon.start();
    await second.clock.runUntil(T("2026-06-01T11:00:00Z"));
    await flush();
    let stopped = false;
    const stopping = second.daemon.stop({ cancelRuns: false }).then(() => (stopped = true));
    await flush();
    assert.equal(stopped, false, "waits for the run");
    finish.resolve();
    await stopping;
    assert.equal(TickStore.open(root).lastTick("long")!.runStatus, "success");
  });

  test("one daemon per workspace", async () => {
    const root = workspace();
    const a = setup(root, [job("j", "@daily")], T("2026-06-01T10:00:00Z"));
    const b = setup(root, [job("j", "@daily")], T("2026-06-01T10:00:00Z"));
    await a.daemon.start();
    await assert.rejects(b.daemon.start(), (e: unknown) => e instanceof DaemonLockedError && e.holder.pid === process.pid);
    await a.daemon.stop();
    await b.daemon.start(); // the same instance, once the other is gone
    assert.equal(runningDaemon(root)?.pid, process.pid);
    await b.daemon.stop();

    // stop() while start() is still reading the jobs: it never begins.
    let release!: () => void;
    const slow = new ScheduleDaemon({ root, jobs: () => new Promise<DaemonJob[]>((r) => (release = () => r([job("j", "@daily")]))), run: async () => summary("x"), clock: new FakeClock(T("2026-06-01T10:00:00Z")) });
    const starting = slow.start();
    await flush();
    await slow.stop();
    release();
    await starting;
    assert.equal(slow.isRunning, false);
    assert.equal(runningDaemon(root), undefined, "the lock is released");
  });

  test("kill -9 of a daemon in the middle of a run: the lock is taken over, the tick closed as interrupted, not re-run, one missed tick caught up", async () => {
    const root = workspace();
    const hourly = job("hourly", "0 * * * *");
    // The job was watched since 07:45, so the child (whose clock says 10:15) catches up 10:00.
    mkdirSync(path.join(root, HISTORY_DIR), { recursive: true });
    writeFileSync(path.join(root, HISTORY_DIR, TICKS_FILE), JSON.stringify({ v: 1, type: "watch", job: "hourly", schedule: hourly.schedule.key, at: "2026-06-01T07:45:00.000Z" }) + "\n");
    const marker = path.join(root, "child-running");
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, root, "2026-06-01T10:15:00.000Z", marker], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal === "SIGKILL" ? -9 : _code)));
    const started = Date.now();
    while (!existsSync(marker)) {
      assert.ok(Date.now() - started < 20_000, `the child never started its run: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(readFileSync(marker, "utf8"), "2026-06-01T10:00:00.000Z");
    const lock = JSON.parse(readFileSync(path.join(root, DAEMON_LOCK_FILE), "utf8")) as { pid: number };
    assert.equal(lock.pid, child.pid);
    child.kill("SIGKILL");
    assert.equal(await exited, -9);
    assert.ok(existsSync(path.join(root, DAEMON_LOCK_FILE)), "a killed daemon leaves its lock behind");
    const left = TickStore.open(root).lastTick("hourly")!;
    assert.deepEqual([left.status, left.runId, left.runStatus, left.missed], ["started", "run-child", undefined, 2]);

    // Restart at 13:20: 11:00, 12:00 and 13:00 were missed; 10:00 was already started.
    const restarted = setup(root, [hourly], T("2026-06-01T13:20:00Z"));
    await restarted.daemon.start();
    await restarted.clock.idle();
    await restarted.daemon.settled();
    assert.deepEqual(restarted.calls.map((c) => c.scheduledFor), ["2026-06-01T13:00:00.000Z"]);
    const recovered = restarted.events.find((e) => e.type === "recovered");
    assert.ok(recovered && recovered.type === "recovered" && recovered.ticks[0].id === left.id);
    const store = TickStore.open(root);
    assert.equal(store.tick(left.id)!.runStatus, "interrupted");
    assert.equal(store.lastTick("hourly")!.missed, 2);
    assert.equal(JSON.parse(readFileSync(path.join(root, DAEMON_LOCK_FILE), "utf8")).pid, process.pid);
    await restarted.clock.runUntil(T("2026-06-01T14:00:00Z"));
    await restarted.daemon.settled();
    await restarted.daemon.stop();
    assert.deepEqual(restarted.calls.map((c) => c.scheduledFor.slice(11, 16)), ["13:00", "14:00"]);
  });

  test("the ticks file survives a torn last line and garbage", () => {
    const root = workspace();
    const store = TickStore.open(root);
    const tick = store.recordTick({ job: "j", scheduledFor: "2026-06-01T10:00:00.000Z", recordedAt: "2026-06-01T10:00:00.100Z", status: "started", schedule: "0 * * * *|UTC" });
    const file = path.join(root, HISTORY_DIR, TICKS_FILE);
    writeFileSync(file, readFileSync(file, "utf8") + "not json\n" + '{"v":1,"type":"tick_end","id":"' + tick.id + '","endedAt":"2026-06-01T10:05:00Z","runStatus":"succ');
    const reread = TickStore.open(root);
    assert.equal(reread.corruptLines, 1);
    assert.equal(reread.tick(tick.id)!.runStatus, undefined, "the torn line is not read");
    reread.endTick(tick.id, { runId: "r1", runStatus: "success" });
    const again = TickStore.open(root);
    assert.equal(again.tick(tick.id)!.runStatus, "success");
    assert.equal(again.ticks().length, 1);
  });
});
