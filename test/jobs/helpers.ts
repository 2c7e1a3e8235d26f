/** A controllable clock and a scriptable runner for the schedule daemon tests. */
import type { Clock } from "../../server/src/jobs/daemon";
import type { RunSummary } from "../../server/src/run/runner";

interface Sleeper {
  until: number;
  wake: () => void;
}

/**
 * Time moves only when the test says so. `runUntil(t)` lets time pass continuously: the daemon
 * wakes at each moment it asked to, up to `t`. `jumpTo(t)` moves time at once (a suspended
 * machine, a daemon that was down) and wakes the daemon once.
 */
export class FakeClock implements Clock {
  private readonly sleepers = new Set<Sleeper>();
  private waiters: (() => void)[] = [];

  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const sleeper: Sleeper = {
        until: this.t + ms,
        wake: () => {
          this.sleepers.delete(sleeper);
          signal.removeEventListener("abort", sleeper.wake);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal.addEventListener("abort", sleeper.wake, { once: true });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves when the daemon's loop sleeps (everything due so far was handled). */
  async idle(): Promise<void> {
    while (this.sleepers.size === 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Lets time pass until `t`, waking the daemon at each moment it asked for. */
  async runUntil(t: number): Promise<void> {
    for (;;) {
      await this.idle();
      const next = Math.min(...[...this.sleepers].map((s) => s.until));
      if (next > t) {
        this.t = Math.max(this.t, t);
        return;
      }
      this.t = Math.max(this.t, next);
      for (const s of [...this.sleepers]) if (s.until <= this.t) s.wake();
    }
  }

  /** Moves time to `t` at once and wakes the daemon; resolves when it sleeps again. */
  async jumpTo(t: number): Promise<void> {
    await this.idle();
    this.t = t;
    for (const s of [...this.sleepers]) s.wake();
    await this.idle();
  }
}

export function summary(runId: string, status: RunSummary["status"] = "success", extra: Partial<RunSummary> = {}): RunSummary {
  return { runId, status, ms: 5, failed: [], skipped: [], materialized: [], ...extra };
}

/** A promise with its resolve function. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
