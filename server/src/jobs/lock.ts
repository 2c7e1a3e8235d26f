/**
 * One schedule daemon per workspace: `<workspace>/.tributary/daemon.lock` holds
 * `{pid, host, pidNamespace, startTime, startedAt, token, owner}` of the daemon running the workspace's schedules (the CLI's
 * `tributary daemon` or VS Code's). It is created atomically (written to a temporary file, then
 * hard-linked into place, so nobody sees half a lock). A lock whose process is gone (kill -9, a
 * crash, a reboot) is stale and taken over; a live holder makes `acquireDaemonLock` throw
 * `DaemonLockedError`. The lock is removed on `release()` and when the process exits normally.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { LockFiles, selfIdentity } from "../run/lockFile";

export const DAEMON_LOCK_FILE = join(".tributary", "daemon.lock");

export interface DaemonLockInfo {
  pid: number;
  host: string;
  pidNamespace?: string;
  startTime?: string;
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

/** Daemon lock files, and the tokens of those this process holds now (a lock with our pid but another token is a dead predecessor's). */
const daemonLocks = new LockFiles<DaemonLockInfo>({
  parse(json) {
    const parsed = json as Partial<DaemonLockInfo>;
    if (typeof parsed.pid === "number" && typeof parsed.token === "string") {
      const info: DaemonLockInfo = { pid: parsed.pid, host: parsed.host ?? hostname(), startedAt: parsed.startedAt ?? "", token: parsed.token, owner: parsed.owner };
      if (typeof parsed.pidNamespace === "string") info.pidNamespace = parsed.pidNamespace;
      if (typeof parsed.startTime === "string") info.startTime = parsed.startTime;
      return info;
    }
    return undefined;
  },
  same: (now, stale) => now.ino === stale.ino && now.info?.token === stale.info?.token,
});

/** Whether the holder of a lock is a live daemon (another host's or PID namespace's holder is assumed alive; see `runningDaemon`). */
export function lockHolderAlive(info: DaemonLockInfo): boolean {
  return daemonLocks.holderAlive(info);
}

/** The daemon running this workspace's schedules, if one is alive. */
export function runningDaemon(workspaceRoot: string): DaemonLockInfo | undefined {
  const state = daemonLocks.read(join(workspaceRoot, DAEMON_LOCK_FILE));
  return state?.info && !daemonLocks.isStale(state) ? state.info : undefined;
}

/**
 * Takes the workspace's daemon lock, taking over a stale one. Throws `DaemonLockedError` when a
 * live daemon holds it.
 */
export function acquireDaemonLock(workspaceRoot: string, owner?: string): DaemonLock {
  const file = join(workspaceRoot, DAEMON_LOCK_FILE);
  mkdirSync(join(workspaceRoot, ".tributary"), { recursive: true });
  for (let attempt = 0; attempt < 50; attempt++) {
    const info: DaemonLockInfo = { ...selfIdentity(), startedAt: new Date().toISOString(), token: randomBytes(8).toString("hex") };
    if (owner) info.owner = owner;
    if (daemonLocks.tryCreate(file, info)) return daemonLocks.hold(file, info);
    const state = daemonLocks.read(file);
    if (!state) continue; // released meanwhile
    if (!daemonLocks.isStale(state)) {
      throw new DaemonLockedError(state.info ?? { pid: 0, host: hostname(), startedAt: "unknown", token: "" });
    }
    daemonLocks.takeOver(file, state);
  }
  throw new Error(`Could not take ${file}: it keeps changing.`);
}
