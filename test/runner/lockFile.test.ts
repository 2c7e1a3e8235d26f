import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { FOREIGN_STALE_MS, LockFiles, processAlive, processLiveness, processStartTime, selfIdentity, TAKEOVER_STALE_MS, UNREADABLE_STALE_MS, type LockHolder } from "../../server/src/run/lockFile";

interface Info extends LockHolder {
  name: string;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-lock-file-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function kind(): LockFiles<Info> {
  return new LockFiles<Info>({
    parse(json) {
      const p = json as Partial<Info>;
      return typeof p.pid === "number" && typeof p.token === "string" ? { pid: p.pid, host: p.host ?? hostname(), token: p.token, name: p.name ?? "" } : undefined;
    },
    same: (now, stale) => now.ino === stale.ino && now.info?.token === stale.info?.token,
  });
}

let tokens = 0;
function info(over: Partial<Info> = {}): Info {
  return { pid: process.pid, host: hostname(), token: `token-${++tokens}`, name: "test", ...over };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

function age(file: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  utimesSync(file, t, t);
}

describe("lock file: processAlive", () => {
  test("this process lives, an exited one and nonsense pids do not", () => {
    assert.equal(processAlive(process.pid), true);
    assert.equal(processAlive(deadPid()), false);
    for (const pid of [0, -1, 1.5, NaN]) assert.equal(processAlive(pid), false);
  });
});

describe("lock file: processLiveness (host, PID namespace, pid, start time)", () => {
  const me = selfIdentity();
  test("this process is alive with its own start time; a reused pid (other start time) is dead", () => {
    assert.equal(me.pid, process.pid);
    if (process.platform === "linux") assert.match(me.startTime ?? "", /^[0-9a-f-]+:\d+$/);
    assert.equal(processStartTime(process.pid), me.startTime, "stable");
    assert.equal(processLiveness(me), "alive");
    if (me.startTime !== undefined) assert.equal(processLiveness({ ...me, startTime: "another-boot:1" }), "dead");
    assert.equal(processLiveness({ ...me, pid: deadPid() }), "dead");
    assert.equal(processLiveness({ pid: process.pid, host: me.host }), "alive", "older records without a start time: the pid alone");
  });

  test("another host or PID namespace cannot be looked up", () => {
    assert.equal(processLiveness({ ...me, host: `${me.host}-elsewhere` }), "unknown");
    if (me.pidNamespace !== undefined) assert.equal(processLiveness({ ...me, pidNamespace: "pid:[1]" }), "unknown");
  });

  test("a lock that cannot be looked up is stale once not refreshed for FOREIGN_STALE_MS", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const locks = kind();
    locks.tryCreate(file, info({ host: `${hostname()}-elsewhere`, pid: deadPid() }));
    assert.equal(locks.isStale(locks.read(file)!), false, "refreshed just now");
    age(file, FOREIGN_STALE_MS + 1000);
    assert.equal(locks.isStale(locks.read(file)!), true);
  });
});

describe("lock file: LockFiles", () => {
  test("creates the lock atomically with its JSON, once", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const locks = kind();
    const a = info();
    assert.equal(locks.tryCreate(file, a), true);
    assert.equal(readFileSync(file, "utf8"), JSON.stringify(a) + "\n");
    assert.equal(locks.tryCreate(file, info()), false, "it exists");
    assert.deepEqual(readdirSync(dir), ["x.lock"], "no temporary file is left");
    const state = locks.read(file)!;
    assert.deepEqual(state.info, a);
    assert.equal(state.size, Buffer.byteLength(JSON.stringify(a) + "\n"));
  });

  test("reads a missing lock as undefined, unreadable content as no holder", (t) => {
    const dir = tempDir(t);
    const locks = kind();
    assert.equal(locks.read(join(dir, "none.lock")), undefined);
    for (const text of ["", "{not json", "null", '{"pid":"1","token":"t"}']) {
      writeFileSync(join(dir, "x.lock"), text);
      const state = locks.read(join(dir, "x.lock"));
      assert.ok(state, text);
      assert.equal(state.info, undefined, text);
    }
  });

  test("holder liveness: held tokens of this process, other processes, other machines", () => {
    const locks = kind();
    const other = kind();
    assert.equal(locks.holderAlive(info({ host: `${hostname()}-elsewhere`, pid: deadPid() })), true, "another machine's holder is assumed alive");
    assert.equal(locks.holderAlive(info({ pid: deadPid() })), false);
    const mine = info();
    assert.equal(locks.holderAlive(mine), false, "our pid, but not a token we hold: a dead predecessor's");
    const dir = mkdtempSync(join(tmpdir(), "tributary-lock-file-"));
    try {
      const file = join(dir, "x.lock");
      assert.equal(locks.tryCreate(file, mine), true);
      const lock = locks.hold(file, mine);
      assert.equal(locks.holderAlive(mine), true);
      assert.equal(other.holderAlive(mine), false, "held tokens are per kind");
      lock.release();
      assert.equal(locks.holderAlive(mine), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("staleness: a dead holder, or content unreadable for too long", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const locks = kind();
    locks.tryCreate(file, info({ pid: deadPid() }));
    assert.equal(locks.isStale(locks.read(file)!), true);
    writeFileSync(file, "");
    assert.equal(locks.isStale(locks.read(file)!), false, "maybe being written");
    age(file, UNREADABLE_STALE_MS + 1000);
    assert.equal(locks.isStale(locks.read(file)!), true);
  });

  test("takes over a stale lock only if it is still the one judged stale", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const locks = kind();
    locks.tryCreate(file, info({ pid: deadPid() }));
    const stale = locks.read(file)!;
    locks.takeOver(file, stale);
    assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(dir), [], "the guard is gone");

    locks.tryCreate(file, info({ pid: deadPid() }));
    const judged = locks.read(file)!;
    rmSync(file);
    const fresh = info();
    locks.tryCreate(file, fresh);
    locks.takeOver(file, judged);
    assert.deepEqual(locks.read(file)?.info, fresh, "someone else's new lock stays");
  });

  test("a takeover guard held by another process stops a takeover; an old one is cleared", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const guard = `${file}.takeover`;
    const locks = kind();
    locks.tryCreate(file, info({ pid: deadPid() }));
    const stale = locks.read(file)!;
    writeFileSync(guard, "");
    locks.takeOver(file, stale);
    assert.equal(existsSync(file), true);
    assert.equal(existsSync(guard), true);
    age(guard, TAKEOVER_STALE_MS + 1000);
    locks.takeOver(file, stale);
    assert.equal(existsSync(guard), false, "its owner died in there");
    assert.equal(existsSync(file), true, "not in the same attempt");
    locks.takeOver(file, stale);
    assert.equal(existsSync(file), false);
  });

  test("release removes the lock only if it is still ours, once, and drops the exit hook", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "x.lock");
    const locks = kind();
    const exitHooks = process.listenerCount("exit");
    const a = info();
    assert.equal(locks.tryCreate(file, a), true);
    const lock = locks.hold(file, a);
    assert.equal(lock.file, file);
    assert.deepEqual(lock.info, a);
    assert.equal(process.listenerCount("exit"), exitHooks + 1);
    lock.release();
    lock.release();
    assert.equal(existsSync(file), false);
    assert.equal(process.listenerCount("exit"), exitHooks);

    const b = info();
    locks.tryCreate(file, b);
    const lockB = locks.hold(file, b);
    writeFileSync(file, JSON.stringify(info({ token: "someone-else" })));
    lockB.release();
    assert.equal(existsSync(file), true, "someone else's lock stays");
    assert.equal(process.listenerCount("exit"), exitHooks);
  });
});
