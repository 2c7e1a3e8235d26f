/**
 * Lock files holding JSON about their holder (the warehouse run lock, the schedule daemon lock).
 * A lock is created atomically with its complete content (written to a temporary file, then
 * hard-linked into place, so nobody sees half a lock; exclusive create where there are no hard
 * links). A lock whose holder is gone is stale: it is removed under a short-lived takeover guard,
 * only if it is still the one judged stale. A lock is released (also when the process exits
 * normally) only if it is still ours.
 *
 * Whether a holder is gone (`processLiveness`): a lock names its holder's host, PID namespace, pid
 * and process start time. On the same host and in the same PID namespace the process is looked
 * up: gone, or a pid now used by a process that started at another time, means dead. A holder on
 * another host or in another PID namespace (a container, a dev container sharing the folder)
 * cannot be looked up: it is alive while it keeps its lock file's modification time fresh (the
 * holder touches it every `HEARTBEAT_MS`) and stale once that is older than `FOREIGN_STALE_MS`.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, readlinkSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";

/** Who a process is: enough to look it up, and to tell it from a later process with the same pid. */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** Linux: the PID namespace (`pid:[4026531836]`): pids of another namespace cannot be looked up here. */
  pidNamespace?: string;
  /** When the process started (Linux: boot id and /proc starttime; macOS/BSD: `ps` lstart); absent where unknown. */
  startTime?: string;
}

/** What every lock file names: enough to tell whether its holder lives, and this acquisition from another. */
export interface LockHolder extends ProcessIdentity {
  /** Random: tells this acquisition from a later one by the same process. */
  token: string;
}

/** A lock file as read: its holder (undefined when the content is unreadable) and its identity on disk. */
export interface LockFileState<T> {
  info?: T;
  ino: number;
  mtimeMs: number;
  size: number;
}

/** A lock taken by this process. */
export interface HeldLock<T> {
  readonly info: T;
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
  /** Whether the lock file still names this acquisition (nobody removed or took it over). */
  held(): boolean;
}

/** A lock file whose content could not be read for this long is taken for the leftover of a crash during its creation. */
export const UNREADABLE_STALE_MS = 5000;
/** A takeover guard older than this was left by a process that died while taking over. */
export const TAKEOVER_STALE_MS = 10000;
/** A holder refreshes its lock file's modification time this often. */
export const HEARTBEAT_MS = 5000;
/** A lock whose holder cannot be looked up (another host or PID namespace) and was not refreshed for this long is stale. */
export const FOREIGN_STALE_MS = 60000;

/** `alive` / `dead` when the process could be looked up; `unknown` for another host or PID namespace. */
export type Liveness = "alive" | "dead" | "unknown";

let self: ProcessIdentity | undefined;

/** This process's identity (what locks and runs record). */
export function selfIdentity(): ProcessIdentity {
  self ??= dropUndefined({ pid: process.pid, host: hostname(), pidNamespace: pidNamespace("self"), startTime: processStartTime(process.pid) });
  return { ...self };
}

/** Whether a recorded process still runs, as far as this machine can tell. */
export function processLiveness(id: ProcessIdentity): Liveness {
  const me = selfIdentity();
  if (id.host !== me.host) return "unknown";
  if (id.pidNamespace !== undefined && me.pidNamespace !== undefined && id.pidNamespace !== me.pidNamespace) return "unknown";
  if (!processAlive(id.pid)) return "dead";
  if (id.startTime !== undefined) {
    const now = processStartTime(id.pid);
    if (now !== undefined && now !== id.startTime) return "dead"; // the pid was reused by another process
  }
  return "alive";
}

/** The start time of a process, as a string to compare; undefined where it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces and parentheses); starttime is field 22.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return `${bootId()}:${fields[19]}`;
    } catch {
      return undefined;
    }
  }
  if (process.platform === "darwin" || process.platform.endsWith("bsd")) {
    const ps = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", timeout: 2000 });
    const text = ps.status === 0 ? ps.stdout.trim() : "";
    return text || undefined;
  }
  return undefined; // Windows: the pid alone (best effort)
}

let boot: string | undefined;
function bootId(): string {
  try {
    boot ??= readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    boot = "";
  }
  return boot;
}

function pidNamespace(pid: "self" | number): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

export function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Whether a process is alive on this machine (`EPERM` means it is, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface LockKind<T extends LockHolder> {
  /** The holder named by the file's parsed JSON, or undefined when it names none (may throw: the same). */
  parse(json: unknown): T | undefined;
  /** Whether the lock file as read `now` is still the one read earlier (`stale`). */
  same(now: LockFileState<T>, stale: LockFileState<T>): boolean;
}

/** Lock files of one kind, and the tokens of those this process holds now. */
export class LockFiles<T extends LockHolder> {
  /** Tokens of locks of this kind this process holds now (a lock with our pid but another token is a dead predecessor's). */
  private readonly heldTokens = new Set<string>();

  constructor(private readonly kind: LockKind<T>) {}

  /** Whether the lock file as read `now` is still the one read earlier. */
  same(now: LockFileState<T>, earlier: LockFileState<T>): boolean {
    return this.kind.same(now, earlier);
  }

  /** The lock file's state, or undefined when there is none. */
  read(file: string): LockFileState<T> | undefined {
    try {
      const st = statSync(file);
      let info: T | undefined;
      try {
        info = this.kind.parse(JSON.parse(readFileSync(file, "utf8")));
      } catch {
        info = undefined;
      }
      return { info, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Whether the holder of a lock lives: looked up, or `unknown` (another host or PID namespace; see `isStale`). */
  holderLiveness(info: T): Liveness {
    const liveness = processLiveness(info);
    if (liveness === "alive" && info.pid === process.pid) return this.heldTokens.has(info.token) ? "alive" : "dead";
    return liveness;
  }

  /** Whether the holder of a lock lives (one that cannot be looked up is assumed to; `isStale` bounds that). */
  holderAlive(info: T): boolean {
    return this.holderLiveness(info) !== "dead";
  }

  /**
   * Whether a lock is stale: its holder is gone; or it cannot be looked up and has not refreshed
   * the lock for `FOREIGN_STALE_MS`; or the content has been unreadable for `UNREADABLE_STALE_MS`.
   */
  isStale(state: LockFileState<T>): boolean {
    if (!state.info) return Date.now() - state.mtimeMs > UNREADABLE_STALE_MS;
    const liveness = this.holderLiveness(state.info);
    return liveness === "dead" || (liveness === "unknown" && Date.now() - state.mtimeMs > FOREIGN_STALE_MS);
  }

  /** One attempt at creating the lock file with complete content; false when it exists. */
  tryCreate(file: string, info: T): boolean {
    const text = JSON.stringify(info) + "\n";
    const tmp = `${file}.${info.pid}.${info.token}.tmp`;
    writeDurably(tmp, text, "w");
    try {
      linkSync(tmp, file); // atomic, and fails if the lock exists: nobody ever sees a half-written lock
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      // File systems without hard links: exclusive create (readers treat a briefly empty file as held).
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
        // already gone
      }
    }
  }

  /** Removes a stale lock, if it is still the one judged stale, under a short-lived takeover guard. */
  takeOver(file: string, stale: LockFileState<T>): void {
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
      const now = this.read(file);
      if (now && this.kind.same(now, stale)) unlinkSync(file);
    } finally {
      try {
        unlinkSync(guard);
      } catch {
        // ignore
      }
    }
  }

  /**
   * Records a lock just created as held; it is released on `release()` or when the process exits
   * normally. While held, its modification time is refreshed every `HEARTBEAT_MS` (what tells
   * processes that cannot look this one up that it still runs).
   */
  hold(file: string, info: T): HeldLock<T> {
    this.heldTokens.add(info.token);
    let released = false;
    const stillOurs = () => {
      try {
        return this.read(file)?.info?.token === info.token;
      } catch {
        return false;
      }
    };
    const heartbeat = setInterval(() => {
      if (!stillOurs()) return;
      try {
        const now = new Date();
        utimesSync(file, now, now);
      } catch {
        // removed meanwhile
      }
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const release = () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      this.heldTokens.delete(info.token);
      process.removeListener("exit", release);
      try {
        if (this.read(file)?.info?.token === info.token) unlinkSync(file);
      } catch {
        // gone already
      }
    };
    process.on("exit", release);
    return { info, file, release, held: () => !released && stillOurs() };
  }
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
