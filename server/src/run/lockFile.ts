/**
 * Lock files holding JSON about their holder (the warehouse run lock, the schedule daemon lock).
 * A lock is created atomically with its complete content (written to a temporary file, then
 * hard-linked into place, so nobody sees half a lock; exclusive create where there are no hard
 * links). A lock whose holder is gone is stale: it is removed under a short-lived takeover guard,
 * only if it is still the one judged stale. A lock is released (also when the process exits
 * normally) only if it is still ours.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

/** What every lock file names: enough to tell whether its holder lives, and this acquisition from another. */
export interface LockHolder {
  pid: number;
  host: string;
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
}

/** A lock file whose content could not be read for this long is taken for the leftover of a crash during its creation. */
export const UNREADABLE_STALE_MS = 5000;
/** A takeover guard older than this was left by a process that died while taking over. */
export const TAKEOVER_STALE_MS = 10000;

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

  /** Whether the holder of a lock lives (another machine's holder is assumed to). */
  holderAlive(info: T): boolean {
    if (info.host !== hostname()) return true; // cannot tell for another machine: assume it runs
    if (info.pid === process.pid) return this.heldTokens.has(info.token);
    return processAlive(info.pid);
  }

  /** Whether a lock is stale: its holder is gone, or its content has been unreadable for too long. */
  isStale(state: LockFileState<T>): boolean {
    return state.info ? !this.holderAlive(state.info) : Date.now() - state.mtimeMs > UNREADABLE_STALE_MS;
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

  /** Records a lock just created as held; it is released on `release()` or when the process exits normally. */
  hold(file: string, info: T): HeldLock<T> {
    this.heldTokens.add(info.token);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.heldTokens.delete(info.token);
      process.removeListener("exit", release);
      try {
        if (this.read(file)?.info?.token === info.token) unlinkSync(file);
      } catch {
        // gone already
      }
    };
    process.on("exit", release);
    return { info, file, release };
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
