/**
 * One schedule daemon per workspace: `<workspace>/.tributary/daemon.lock` holds
 * `{pid, host, startedAt, token, owner}` of the daemon running the workspace's schedules (the CLI's
 * `tributary daemon` or VS Code's). It is created atomically (written to a temporary file, then
 * hard-linked into place, so nobody sees half a lock). A lock whose process is gone (kill -9, a
 * crash, a reboot) is stale and taken over; a live holder makes `acquireDaemonLock` throw
 * `DaemonLockedError`. The lock is removed on `release()` and when the process exits normally.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { processAlive } from "../run/history";

export const DAEMON_LOCK_FILE = join(".tributary", "daemon.lock");

export interface DaemonLockInfo {
  pid: number;
  host: string;
  /** ISO time the daemon took the lock. */
  startedAt: string;
  /** Random: tells this acquisition from a later one by the same process. */
  token: string;
  /** Who runs it: `cli`, `vscode`, ... */
  owner?: string;
}

export interface DaemonLock {
  readonly info: DaemonLockInfo;
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

export class DaemonLockedError extends Error {
  constructor(readonly holder: DaemonLockInfo) {
    super(
      `Another schedule daemon runs this workspace (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ""}${holder.owner ? `, ${holder.owner}` : ""}, since ${holder.startedAt}); stop it first.`,
    );
    this.name = "DaemonLockedError";
  }
}

/** Tokens of daemon locks this process holds now (a lock with our pid but another token is a dead predecessor's). */
const heldTokens = new Set<string>();

/** A lock file that cannot be read for this long is the leftover of a crash during its creation. */
const UNREADABLE_STALE_MS = 5000;
const TAKEOVER_STALE_MS = 10000;

interface LockState {
  info?: DaemonLockInfo;
  ino: number;
  mtimeMs: number;
}

function readState(file: string): LockState | undefined {
  try {
    const st = statSync(file);
    let info: DaemonLockInfo | undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<DaemonLockInfo>;
      if (typeof parsed.pid === "number" && typeof parsed.token === "string") {
        info = { pid: parsed.pid, host: parsed.host ?? hostname(), startedAt: parsed.startedAt ?? "", token: parsed.token, owner: parsed.owner };
      }
    } catch {
      info = undefined;
    }
    return { info, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Whether the holder of a lock is a live daemon (another machine's holder is assumed alive). */
export function lockHolderAlive(info: DaemonLockInfo): boolean {
  if (info.host !== hostname()) return true;
  if (info.pid === process.pid) return heldTokens.has(info.token);
  return processAlive(info.pid);
}

/** The daemon running this workspace's schedules, if one is alive. */
export function runningDaemon(workspaceRoot: string): DaemonLockInfo | undefined {
  const state = readState(join(workspaceRoot, DAEMON_LOCK_FILE));
  return state?.info && lockHolderAlive(state.info) ? state.info : undefined;
}

function writeDurably(file: string, text: string, flag: "w" | "wx"): void {
  const fd = openSync(file, flag);
  try {
    const buf = Buffer.from(text, "utf8");
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tryCreate(file: string, info: DaemonLockInfo): boolean {
  const text = JSON.stringify(info) + "\n";
  const tmp = `${file}.${info.pid}.${info.token}.tmp`;
  writeDurably(tmp, text, "w");
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    // File systems without hard links: exclusive create.
    try {
      writeDurably(file, text, "wx");
      return true;
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err2;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already
    }
  }
}

/** Removes a stale lock if it is still the one judged stale, under a short-lived takeover guard. */
function takeOver(file: string, stale: LockState): void {
  const guard = `${file}.takeover`;
  try {
    closeSync(openSync(guard, "wx"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    try {
      if (Date.now() - statSync(guard).mtimeMs > TAKEOVER_STALE_MS) unlinkSync(guard); // its owner died in there
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const now = readState(file);
    if (now && now.ino === stale.ino && now.info?.token === stale.info?.token) unlinkSync(file);
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      // ignore
    }
  }
}

/**
 * Takes the workspace's daemon lock, taking over a stale one. Throws `DaemonLockedError` when a
 * live daemon holds it.
 */
export function acquireDaemonLock(workspaceRoot: string, owner?: string): DaemonLock {
  const file = join(workspaceRoot, DAEMON_LOCK_FILE);
  mkdirSync(join(workspaceRoot, ".tributary"), { recursive: true });
  for (let attempt = 0; attempt < 50; attempt++) {
    const info: DaemonLockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString("hex") };
    if (owner) info.owner = owner;
    if (tryCreate(file, info)) return held(file, info);
    const state = readState(file);
    if (!state) continue; // released meanwhile
    if (state.info ? lockHolderAlive(state.info) : Date.now() - state.mtimeMs <= UNREADABLE_STALE_MS) {
      throw new DaemonLockedError(state.info ?? { pid: 0, host: hostname(), startedAt: "unknown", token: "" });
    }
    takeOver(file, state);
  }
  throw new Error(`Could not take ${file}: it keeps changing.`);
}

function held(file: string, info: DaemonLockInfo): DaemonLock {
  heldTokens.add(info.token);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldTokens.delete(info.token);
    process.removeListener("exit", release);
    try {
      if (readState(file)?.info?.token === info.token) unlinkSync(file);
    } catch {
      // gone already
    }
  };
  process.on("exit", release);
  return { info, file, release };
}
