/**
 * The warehouse run lock: `<workspace>/.tributary/run.lock` lets one run at a time write the
 * workspace's warehouse. Taking it (waiting or refusing), telling a live holder from a gone one
 * (run/lockFile.ts), and removing a lock no run holds any more (`tributary unlock`). The run
 * history (history.ts) reads it to tell whether a run on another host is still going on.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunError } from "./errors";
import { dropUndefined, FOREIGN_STALE_MS, LockFiles, selfIdentity, TAKEOVER_STALE_MS, type LockFileState } from "./lockFile";

export const LOCK_FILE = join(".tributary", "run.lock");

const isStr = (v: unknown): v is string => typeof v === "string";

export interface LockInfo {
  pid: number;
  runId: string;
  startedAt: string;
  host: string;
  pidNamespace?: string;
  startTime?: string;
  /** Random: tells this acquisition from a later one of the same run or pid. */
  token: string;
}

export interface WarehouseLock {
  readonly info: LockInfo;
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
  /** Whether the lock file still names this acquisition (nobody removed or took it over). */
  held(): boolean;
}

export interface LockOptions {
  /** The run taking the lock (named in the message others see). */
  runId?: string;
  /** Wait for the holder (polling with backoff) instead of refusing. */
  wait: boolean;
  /** With `wait`: give up after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** With `wait`: called when waiting starts and whenever the holder changes. */
  onWait?: (holder: LockInfo) => void;
}

/** Thrown when another live process holds the warehouse lock (and we do not, or no longer, wait). */
export class WarehouseLockedError extends RunError {
  constructor(
    readonly holder: LockInfo,
    waitedMs?: number,
  ) {
    const foreign = warehouseLocks.holderLiveness(holder) === "unknown";
    super(
      (waitedMs !== undefined ? `Timed out after ${(waitedMs / 1000).toFixed(1)} s: ` : "") +
        `Another Tributary run (${describeHolder(holder)}) is writing this warehouse; wait for it (--wait) or cancel it.` +
        (foreign ? ` This machine cannot check that process; if it no longer runs, 'tributary unlock --force' removes its lock.` : ""),
      2,
    );
    this.name = "WarehouseLockedError";
  }
}

function describeHolder(holder: LockInfo): string {
  const me = selfIdentity();
  const where = holder.host !== me.host ? ` on ${holder.host}` : holder.pidNamespace !== undefined && me.pidNamespace !== undefined && holder.pidNamespace !== me.pidNamespace ? " in another PID namespace (a container?)" : "";
  return `run ${holder.runId}, pid ${holder.pid}${where}`;
}

/** Warehouse lock files, and the tokens of those this process holds now. */
const warehouseLocks = new LockFiles<LockInfo>({
  parse(json) {
    const parsed = json as Partial<LockInfo>;
    if (typeof parsed.pid === "number" && isStr(parsed.runId)) {
      const info: LockInfo = { pid: parsed.pid, runId: parsed.runId, startedAt: parsed.startedAt ?? "", host: parsed.host ?? hostname(), token: parsed.token ?? "" };
      if (isStr(parsed.pidNamespace)) info.pidNamespace = parsed.pidNamespace;
      if (isStr(parsed.startTime)) info.startTime = parsed.startTime;
      return info;
    }
    return undefined;
  },
  same(a, b) {
    if (a.info && b.info) return a.info.token === b.info.token && a.info.pid === b.info.pid && a.info.runId === b.info.runId && a.ino === b.ino;
    return !a.info && !b.info && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
  },
});

/** Whether the workspace's lock names the run `runId` and its holder keeps it fresh. */
export function lockNamesLiveRun(workspaceRoot: string, runId: string): boolean {
  const lock = warehouseLocks.read(join(workspaceRoot, LOCK_FILE));
  return lock?.info?.runId === runId && !warehouseLocks.isStale(lock);
}

function cancelledWaiting(holder: LockInfo | undefined): RunError {
  return new RunError(`Cancelled while waiting for the warehouse lock${holder ? ` (held by ${describeHolder(holder)})` : ""}; nothing was run.`, 130);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Takes the lock that lets one run at a time write the workspace's warehouse:
 * `<workspace>/.tributary/run.lock` holding `{pid, runId, startedAt, host, token}`, created
 * atomically. A lock whose process is gone is taken over. When a live process holds it, either
 * waits (polling with backoff, up to `timeoutMs`, abortable) or throws `WarehouseLockedError`.
 * The lock is also removed if this process exits normally without releasing it.
 */
export async function acquireWarehouseLock(workspaceRoot: string, options: LockOptions): Promise<WarehouseLock> {
  const lockFile = join(workspaceRoot, LOCK_FILE);
  mkdirSync(join(workspaceRoot, ".tributary"), { recursive: true });
  const began = Date.now();
  let delay = 25;
  let lastHolder: LockInfo | undefined;
  for (;;) {
    if (options.signal?.aborted) throw cancelledWaiting(lastHolder);
    const me = selfIdentity();
    const info: LockInfo = dropUndefined({
      pid: me.pid,
      runId: options.runId ?? `adhoc-${process.pid}`,
      startedAt: new Date().toISOString(),
      host: me.host,
      pidNamespace: me.pidNamespace,
      startTime: me.startTime,
      token: randomBytes(8).toString("hex"),
    });
    if (warehouseLocks.tryCreate(lockFile, info)) return warehouseLocks.hold(lockFile, info);
    const state = warehouseLocks.read(lockFile);
    if (!state) continue; // released meanwhile: try again at once
    let holder = state.info;
    if (warehouseLocks.isStale(state)) {
      if (Date.now() - began > TAKEOVER_STALE_MS + 2000 && !options.wait) {
        throw new RunError(`Could not take over the stale warehouse lock ${lockFile}${holder ? ` (run ${holder.runId}, pid ${holder.pid}, no longer running)` : ""}; delete it if no Tributary run is going on.`);
      }
      warehouseLocks.takeOver(lockFile, state);
      await sleep(5, options.signal).catch(() => undefined);
      continue;
    }
    holder ??= { pid: 0, runId: "unknown", startedAt: "", host: hostname(), token: "" };
    if (!options.wait) throw new WarehouseLockedError(holder);
    const waited = Date.now() - began;
    if (options.timeoutMs !== undefined && waited >= options.timeoutMs) throw new WarehouseLockedError(holder, waited);
    if (lastHolder?.token !== holder.token) {
      lastHolder = holder;
      options.onWait?.(holder);
    }
    let pause = delay;
    if (options.timeoutMs !== undefined) pause = Math.max(1, Math.min(pause, options.timeoutMs - waited));
    try {
      await sleep(pause, options.signal);
    } catch {
      throw cancelledWaiting(holder);
    }
    delay = Math.min(1000, Math.round(delay * 1.5));
  }
}

export type UnlockResult =
  | { outcome: "none" }
  | { outcome: "removed" | "refused"; holder?: LockInfo; reason: string };

/**
 * `tributary unlock`: removes the warehouse lock when no run holds it any more. Never removes the
 * lock of a run this machine sees running. A holder it cannot look up (another host or PID
 * namespace) that refreshed the lock within `FOREIGN_STALE_MS` may still run: removed only with
 * `force`. (`unlockWarehouse` in history.ts also records the run it named as interrupted.)
 */
export function removeWarehouseLock(workspaceRoot: string, options: { force?: boolean; now?: number } = {}): UnlockResult {
  const file = join(workspaceRoot, LOCK_FILE);
  const state = warehouseLocks.read(file);
  if (!state) return { outcome: "none" };
  const now = options.now ?? Date.now();
  const age = Math.max(0, Math.round((now - state.mtimeMs) / 1000));
  const holder = state.info;
  let reason: string;
  if (!holder) {
    if (!warehouseLocks.isStale(state) && !options.force) return { outcome: "refused", reason: `${file} is being written (unreadable for ${age} s); try again, or use --force.` };
    reason = "its content was unreadable";
  } else {
    const liveness = warehouseLocks.holderLiveness(holder);
    if (liveness === "alive") {
      return { outcome: "refused", holder, reason: `${describeHolder(holder)} is running on this machine: cancel it (Ctrl-C in its terminal, or kill -INT ${holder.pid}) instead of removing its lock.` };
    }
    if (liveness === "dead") reason = "its process is gone";
    else if (now - state.mtimeMs > FOREIGN_STALE_MS) reason = `this machine cannot check that process and it has not refreshed the lock for ${age} s`;
    else if (options.force) reason = `--force (this machine cannot check that process; it refreshed the lock ${age} s ago)`;
    else {
      return {
        outcome: "refused",
        holder,
        reason: `${describeHolder(holder)} holds the lock and refreshed it ${age} s ago; this machine cannot check that process, so it may still run. If you are sure it does not, run 'tributary unlock --force'.`,
      };
    }
  }
  if (!removeLockFile(file, state)) return { outcome: "refused", holder, reason: `${file} changed meanwhile (another run took it?); look again.` };
  return { outcome: "removed", holder, reason };
}

/** Removes the lock judged removable, under the takeover guard; false when it changed meanwhile or another process is taking it over. */
function removeLockFile(file: string, judged: LockFileState<LockInfo>): boolean {
  warehouseLocks.takeOver(file, judged);
  const now = warehouseLocks.read(file);
  return !now || !warehouseLocks.same(now, judged);
}
