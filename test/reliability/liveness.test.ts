/**
 * Run liveness from host + PID namespace + pid + process start time: a reused pid does not keep a
 * run alive; a run or lock of another host or PID namespace is alive while its lock is refreshed
 * and stale after FOREIGN_STALE_MS (so `--wait` ends); `tributary unlock` with its safety checks;
 * Ctrl-C while `--wait`ing.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { HistoryStore } from "../../server/src/run/history";
import { FOREIGN_STALE_MS, processStartTime, selfIdentity } from "../../server/src/run/lockFile";
import { CLI, runCli } from "../helpers/cli";
import { stackLines, until, workspace } from "./helpers";

const ASSET = { "assets/a.ts": `import { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, async () => 1);\n` };

/** A live process that is not a Tributary run: its pid stands for a reused one. */
function bystander(t: { after: (fn: () => void) => void }): ChildProcess {
  const child = spawn("sleep", ["120"], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  return child;
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

function writeLock(root: string, holder: Record<string, unknown>, ageMs = 0): void {
  mkdirSync(path.join(root, ".tributary"), { recursive: true });
  const file = path.join(root, ".tributary/run.lock");
  writeFileSync(file, JSON.stringify({ startedAt: new Date().toISOString(), token: "t0", ...holder }) + "\n");
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
}

/** A run_start line as another process (another host, a container) writes it. */
function appendRunStart(root: string, run: Record<string, unknown>): void {
  mkdirSync(path.join(root, ".tributary/history"), { recursive: true });
  const line = { v: 1, type: "run_start", run: { selection: "a", plan: null, startedAt: new Date().toISOString(), status: "running", ...run } };
  appendFileSync(path.join(root, ".tributary/history/events.jsonl"), JSON.stringify(line) + "\n");
}

function appendLines(root: string, events: unknown[]): void {
  appendFileSync(path.join(root, ".tributary/history/events.jsonl"), events.map((e) => JSON.stringify(e) + "\n").join(""));
}

function runStatus(root: string, id: string): string | undefined {
  const r = runCli(root, ["history", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string; status: string }[]).find((x) => x.id === id)?.status;
}

const me = selfIdentity();

describe("a reused pid", () => {
  test("a running run whose pid now belongs to a process that started later is interrupted", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const other = bystander(t);
    appendRunStart(w.root, { id: "r-reused", pid: other.pid, host: me.host, pidNamespace: me.pidNamespace, pidStart: "an-earlier-boot:12345" });
    assert.equal(runStatus(w.root, "r-reused"), "interrupted");
  });

  test("the same record with the process's real start time is still running", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const other = bystander(t);
    appendRunStart(w.root, { id: "r-live", pid: other.pid, host: me.host, pidNamespace: me.pidNamespace, pidStart: processStartTime(other.pid!) });
    assert.equal(runStatus(w.root, "r-live"), "running");
  });

  test("a lock whose pid was reused is stale: the next run takes it over", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const other = bystander(t);
    writeLock(w.root, { pid: other.pid, runId: "r-old", host: me.host, pidNamespace: me.pidNamespace, startTime: "an-earlier-boot:12345" });
    const r = runCli(w.root, ["materialize", "a"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

for (const [where, identity] of [
  ["another host", { host: "devcontainer-4f2a", pidNamespace: me.pidNamespace }],
  ["another PID namespace of this host", { host: me.host, pidNamespace: "pid:[4026530001]" }],
] as const) {
  describe(`a run in ${where}`, () => {
    test("runs while the lock naming it is refreshed; its success then counts; interrupted once the lock is stale", (t) => {
      const w = workspace(ASSET);
      t.after(w.dispose);
      const pid = deadPid(); // a pid that means nothing here
      appendRunStart(w.root, { id: "r-far", pid, ...identity, pidStart: "x:1" });
      appendLines(w.root, [{ v: 1, type: "step_start", step: { runId: "r-far", stepId: "s1", kind: "ts", assets: ["a"], status: "running", startedAt: new Date().toISOString() } }]);
      writeLock(w.root, { pid, runId: "r-far", ...identity, startTime: "x:1" });
      assert.equal(runStatus(w.root, "r-far"), "running");

      const at = new Date().toISOString();
      appendLines(w.root, [
        { v: 1, type: "materialization", m: { assetId: "a", key: ["a"], runId: "r-far", stepId: "s1", startedAt: at, endedAt: at, status: "success", durationMs: 1, codeVersion: "c", upstreamVersions: {} } },
        { v: 1, type: "step_end", runId: "r-far", stepId: "s1", status: "success", endedAt: at },
        { v: 1, type: "run_end", id: "r-far", status: "success", endedAt: at },
      ]);
      assert.equal(runStatus(w.root, "r-far"), "success");
      assert.equal(HistoryStore.open(w.root).lastSuccess("a")?.runId, "r-far");

      appendRunStart(w.root, { id: "r-gone", pid, ...identity, pidStart: "x:1" });
      writeLock(w.root, { pid, runId: "r-gone", ...identity, startTime: "x:1" }, FOREIGN_STALE_MS + 5000);
      assert.equal(runStatus(w.root, "r-gone"), "interrupted");
    });

    test("a fresh lock refuses with a way out, --wait-timeout ends the wait; a stale one is taken over", (t) => {
      const w = workspace(ASSET);
      t.after(w.dispose);
      writeLock(w.root, { pid: deadPid(), runId: "r-far", ...identity });
      const refused = runCli(w.root, ["materialize", "a"]);
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /Another Tributary run \(run r-far, pid \d+ (on devcontainer-4f2a|in another PID namespace)/);
      assert.match(refused.stderr, /tributary unlock --force/);
      assert.deepEqual(stackLines(refused.stderr), []);

      const waited = runCli(w.root, ["materialize", "a", "--wait", "--wait-timeout", "1"]);
      assert.equal(waited.code, 2, waited.stdout + waited.stderr);
      assert.match(waited.stderr, /waiting for the warehouse lock: run r-far/);
      assert.match(waited.stderr, /Timed out after/);

      writeLock(w.root, { pid: deadPid(), runId: "r-far", ...identity }, FOREIGN_STALE_MS + 5000);
      const taken = runCli(w.root, ["materialize", "a", "--wait"]);
      assert.equal(taken.code, 0, taken.stdout + taken.stderr);
    });
  });
}

describe("tributary unlock", () => {
  test("nothing to unlock", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const r = runCli(w.root, ["unlock"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /nothing to do/);
  });

  test("refuses the lock of a run alive on this machine, even with --force", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const other = bystander(t);
    writeLock(w.root, { pid: other.pid, runId: "r-live", host: me.host, pidNamespace: me.pidNamespace, startTime: processStartTime(other.pid!) });
    for (const args of [["unlock"], ["unlock", "--force"]]) {
      const r = runCli(w.root, args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, new RegExp(`run r-live, pid ${other.pid} is running on this machine: cancel it`));
      assert.ok(existsSync(path.join(w.root, ".tributary/run.lock")));
    }
  });

  test("removes the lock of a dead run, which then shows as interrupted", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const pid = deadPid();
    appendRunStart(w.root, { id: "r-dead", pid, host: me.host, pidNamespace: me.pidNamespace });
    writeLock(w.root, { pid, runId: "r-dead", host: me.host, pidNamespace: me.pidNamespace });
    const r = runCli(w.root, ["unlock"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed the warehouse lock of run r-dead .*its process is gone/);
    assert.equal(existsSync(path.join(w.root, ".tributary/run.lock")), false);
    assert.equal(HistoryStore.open(w.root, { markInterrupted: false }).run("r-dead")?.status, "interrupted");
  });

  test("another host's fresh lock: refused without --force, removed with it; its run is then interrupted", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    appendRunStart(w.root, { id: "r-far", pid: 4242, host: "ci-runner-7" });
    writeLock(w.root, { pid: 4242, runId: "r-far", host: "ci-runner-7" });
    const refused = runCli(w.root, ["unlock"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /run r-far, pid 4242 on ci-runner-7 holds the lock and refreshed it \d+ s ago; .*tributary unlock --force/);
    assert.ok(existsSync(path.join(w.root, ".tributary/run.lock")));
    assert.equal(runStatus(w.root, "r-far"), "running");

    const forced = runCli(w.root, ["unlock", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /Removed the warehouse lock of run r-far \(pid 4242 on ci-runner-7\): --force/);
    assert.equal(existsSync(path.join(w.root, ".tributary/run.lock")), false);
    assert.equal(runStatus(w.root, "r-far"), "interrupted");
  });

  test("another host's lock not refreshed for long is removed without --force", (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    writeLock(w.root, { pid: 4242, runId: "r-far", host: "ci-runner-7" }, FOREIGN_STALE_MS + 5000);
    const r = runCli(w.root, ["unlock"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /has not refreshed the lock for \d+ s/);
  });
});

describe("a running lock holder refreshes its lock", () => {
  test("the lock file's modification time moves while a run holds it", async (t) => {
    const w = workspace({
      "assets/slow.ts": `import { asset } from "tributary-assets";\nexport const slow = asset({ key: "slow" }, async () => { await new Promise((r) => setTimeout(r, 7000)); return 1; });\n`,
    });
    t.after(w.dispose);
    const lock = path.join(w.root, ".tributary/run.lock");
    const child = spawn(process.execPath, [CLI, "materialize", "slow"], { cwd: w.root, stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    await until("the run took the lock", () => existsSync(lock));
    const first = JSON.parse(readFileSync(lock, "utf8")) as { startTime?: string; pidNamespace?: string; host: string };
    assert.equal(first.host, hostname());
    assert.equal(first.startTime, processStartTime(child.pid!), "the lock records the holder's start time");
    utimesSync(lock, 1_600_000_000, 1_600_000_000);
    await until("the holder refreshed the lock", () => !existsSync(lock) || Date.now() - 60000 < statMtime(lock));
    assert.ok(existsSync(lock), "refreshed while the run still held it");
    await exited;
  });
});

function statMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

describe("Ctrl-C while --wait", () => {
  test("ends the wait with one line and exit code 130; nothing runs", async (t) => {
    const w = workspace(ASSET);
    t.after(w.dispose);
    const other = bystander(t);
    writeLock(w.root, { pid: other.pid, runId: "r-live", host: me.host, pidNamespace: me.pidNamespace, startTime: processStartTime(other.pid!) });
    const child = spawn(process.execPath, [CLI, "materialize", "a", "--wait"], { cwd: w.root });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until("the CLI waits", () => stderr.includes("waiting for the warehouse lock"));
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.deepEqual(stackLines(stderr), [], stderr);
    assert.match(stderr, /Cancelled while waiting for the warehouse lock \(held by run r-live, pid \d+\); nothing was run\./);
    assert.equal(HistoryStore.open(w.root).runs().length, 0);
  });
});
