/**
 * The main thread's side of layout: hands graphs to the layout worker (ELK never runs on the
 * panel's main thread) and caches the answers by the shape of the graph.
 *
 * The worker's script is fetched and started from a `blob:` URL: a webview may not start a
 * worker from its resource origin directly (CSP `worker-src blob:`, `connect-src` the resources).
 */
import { unpack } from "./elkGraph";
import type { LayoutInput, LayoutResult, WorkerRequest, WorkerResponse } from "./layoutTypes";

/** Thrown by `layout()` when a newer request replaced this one before it finished. */
export class Superseded extends Error {
  constructor() {
    super("layout superseded by a newer one");
  }
}

/** A 53-bit string hash (cyrb53): layouts are cached by the hash of their input's shape. */
export function hashString(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** The shape of a layout input: ids, sizes, nesting and edges, in order (ELK is order-sensitive). */
export function shapeHash(input: LayoutInput): string {
  const parts: string[] = [];
  for (const n of input.nodes) parts.push(`${n.id}\u0001${n.w}x${n.h}\u0001${n.parent ?? ""}`);
  parts.push("\u0002");
  for (const e of input.edges) parts.push(`${e.id}\u0001${e.from}\u0001${e.to}`);
  return `${input.nodes.length}-${input.edges.length}-${hashString(parts.join("\u0003"))}`;
}

interface Pending {
  id: number;
  input: LayoutInput;
  hash: string;
  /** A throw-away layout of `warm()`: never reported. */
  warm: boolean;
  /** Set when the job is handed to the worker. */
  sent: boolean;
  /** Its time budget, running from when it leaves the queue. */
  timer?: ReturnType<typeof setTimeout>;
  resolve: (result: LayoutResult) => void;
  reject: (error: Error) => void;
}

/** Thrown by `layout()` when the layout did not finish within its budget (`layoutBudgetMs`). */
export class LayoutTimeout extends Error {
  constructor(nodes: number, ms: number, waitingFor: string) {
    super(`the layout of ${nodes} boxes did not finish in ${Math.round(ms / 1000)} s (${waitingFor})`);
  }
}

/**
 * How long a layout may take, worker start included, before it counts as failed: a few seconds
 * for the graphs of a project, more for big ones (ELK is superlinear; 1,000 boxes take 5-6 s).
 */
export function layoutBudgetMs(boxes: number): number {
  return 6_000 + 20 * boxes;
}

const CACHE_SIZE = 24;
/** A running layout of more nodes than this is abandoned (worker restarted) when a newer one is asked for. */
const RESTART_ABOVE = 250;

/** How long a real layout waits for a warm-up still running before that is abandoned. */
const WARM_UP_GRACE_MS = 1_500;

/** Sizes of the throw-away layouts at boot (and a variant number, so none hits the cache). */
const WARM_UP: [number, number][] = [[12, 0], [60, 1], [60, 2], [100, 3], [100, 4], [150, 5], [150, 6]];

/** A graph laid out at boot: starts ELK and warms its code up (JIT) before the first real graph. */
function warmUpInput(size: number, variant: number): LayoutInput {
  const nodes = Array.from({ length: size }, (_, i) => ({ id: `warm${variant}-${i}`, w: 240, h: 52 }));
  const edges = nodes.slice(1).flatMap((n, i) => {
    const a = { id: `we${variant}-${i}`, from: nodes[Math.floor(i / 2)].id, to: n.id };
    return i % 3 === 0 && i > 4 ? [a, { id: `wf${variant}-${i}`, from: nodes[i - 4].id, to: n.id }] : [a];
  });
  return { nodes, edges };
}

export class LayoutClient {
  private worker: Worker | undefined;
  /** The worker's script ran (it said `ready`): a worker that never says so has a broken script. */
  private workerStarted = false;
  private workerSource: Promise<string> | undefined;
  /** Bumped by every restart: a worker start begun before it is dropped. */
  private epoch = 0;
  private nextId = 1;
  private running: Pending | undefined;
  private queued: Pending | undefined;
  private readonly cache = new Map<string, LayoutResult>();

  constructor(private readonly workerUrl: string) {}

  /**
   * Start the worker now (at boot), so its start-up overlaps waiting for the graph, and lay out
   * a few throw-away graphs to warm ELK up. Resolves when warm (or when a real layout took over).
   */
  async warm(): Promise<void> {
    try {
      // ELK is Java compiled to JavaScript: cold, its first big layout is several times slower
      // than later ones. A few small layouts while the panel waits for its graph get the hot code
      // optimized; each is short, and a real layout asked for in between goes first.
      for (const [size, variant] of WARM_UP) {
        if (this.queued || this.running) return;
        const input = warmUpInput(size, variant);
        const hash = shapeHash(input);
        await this.layout(input, hash, true);
        this.cache.delete(hash);
      }
    } catch {
      // Superseded by a real layout, or the worker failed (the real layout reports that).
    }
  }

  cached(hash: string): LayoutResult | undefined {
    return this.cache.get(hash);
  }

  remember(hash: string, result: LayoutResult): void {
    this.cache.delete(hash);
    this.cache.set(hash, result);
    while (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }

  /**
   * Lay out `input` (or answer from the cache). The newest request wins: an older one still
   * waiting is rejected with `Superseded`, and a worker still busy with a big one (or a slow
   * warm-up) is restarted. A layout that does not finish within its budget (from when it leaves
   * the queue) is rejected with `LayoutTimeout` and the worker is restarted (its script fetched
   * again), so the next request starts afresh.
   */
  layout(input: LayoutInput, hash = shapeHash(input), warm = false): Promise<LayoutResult> {
    const hit = this.cache.get(hash);
    if (hit) {
      this.remember(hash, hit);
      this.queued?.reject(new Superseded());
      this.queued = undefined;
      return Promise.resolve(hit);
    }
    return new Promise<LayoutResult>((resolve, reject) => {
      const job: Pending = {
        id: this.nextId++,
        input,
        hash,
        warm,
        sent: false,
        resolve: (result) => {
          clearTimeout(job.timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(job.timer);
          reject(error);
        },
      };
      this.queued?.reject(new Superseded());
      this.queued = job;
      const running = this.running;
      if (running && running.input.nodes.length > RESTART_ABOVE) {
        // The worker is busy with a big layout nobody wants any more: stop it rather than wait.
        // (A small one finishes sooner than a new worker would start; its answer is cached.)
        this.abandonRunning();
      } else if (running?.warm && !warm) {
        // A warm-up goes before a real layout only if it is quick (a loaded machine can make it slow).
        setTimeout(() => {
          if (this.running === running && this.queued === job) this.abandonRunning();
        }, WARM_UP_GRACE_MS);
      }
      void this.pump();
    });
  }

  /** Drops the layout the worker is busy with (stopping the worker) and starts the queued one. */
  private abandonRunning(): void {
    this.running?.reject(new Superseded());
    this.running = undefined;
    this.stopWorker();
    void this.pump();
  }

  /** Stop the worker and drop every pending layout (Retry starts from scratch: a new worker, its script fetched again). */
  restart(): void {
    const running = this.running;
    const queued = this.queued;
    this.running = undefined;
    this.queued = undefined;
    this.stopWorker();
    this.workerSource = undefined;
    running?.reject(new Superseded());
    queued?.reject(new Superseded());
  }

  private stopWorker(): void {
    this.epoch++;
    this.worker?.terminate();
    this.worker = undefined;
    this.workerStarted = false;
  }

  /** The running job ran out of time: fail it, and start afresh (a new worker, its script fetched again). */
  private expire(job: Pending, ms: number): void {
    if (this.running !== job) return;
    const waitingFor = !job.sent
      ? "starting the layout worker: fetching its script"
      : !this.workerStarted ? "the layout worker never started: its script did not run" : "ELK, in the layout worker";
    this.running = undefined;
    this.stopWorker();
    this.workerSource = undefined;
    job.reject(new LayoutTimeout(job.input.nodes.length, ms, waitingFor));
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running || !this.queued) return;
    const job = this.queued;
    this.queued = undefined;
    // Laid out meanwhile (the same graph sent twice in a row): no second layout.
    const done = this.cache.get(job.hash);
    if (done) {
      job.resolve(done);
      return;
    }
    this.running = job;
    // The budget counts from here: the worker's start and the layout, not the wait in the queue.
    const ms = layoutBudgetMs(job.input.nodes.length);
    job.timer = setTimeout(() => this.expire(job, ms), ms);
    try {
      const worker = await this.ensureWorker();
      if (this.running !== job) return;
      const request: WorkerRequest = { type: "layout", id: job.id, input: job.input };
      worker.postMessage(request);
      job.sent = true;
    } catch (err) {
      if (this.running !== job) return;
      this.running = undefined;
      job.reject(err instanceof Error ? err : new Error(String(err)));
      void this.pump();
    }
  }

  private onMessage(response: WorkerResponse): void {
    if (response.type === "ready") {
      this.workerStarted = true;
      return;
    }
    const job = this.running;
    if (!job || job.id !== response.id) return;
    this.running = undefined;
    if (response.type === "layout") {
      const result = unpack(job.input, response.packed);
      this.remember(job.hash, result);
      job.resolve(result);
    } else {
      job.reject(new Error(`layout failed: ${response.message}`));
    }
    void this.pump();
  }

  private async ensureWorker(): Promise<Worker> {
    if (this.worker) return this.worker;
    const epoch = this.epoch;
    // As a blob, never as text: the script (megabytes) is not decoded on the main thread.
    const source = (this.workerSource ??= fetch(this.workerUrl).then((r) => {
      if (!r.ok) throw new Error(`cannot load the layout worker (HTTP ${r.status})`);
      return r.blob();
    }).then((code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" }))));
    let url: string;
    try {
      url = await source;
    } catch (err) {
      // Fetched again next time (a Retry), not failed for ever.
      if (this.workerSource === source) this.workerSource = undefined;
      throw new Error(err instanceof Error && err.message.startsWith("cannot load") ? err.message : `cannot load the layout worker: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (epoch !== this.epoch) throw new Superseded();
    if (this.worker) return this.worker;
    const worker = new Worker(url, { name: "tributary-layout" });
    worker.addEventListener("message", (event: MessageEvent<WorkerResponse>) => {
      if (this.worker === worker) this.onMessage(event.data);
    });
    worker.addEventListener("error", (event) => {
      if (this.worker !== worker) return;
      this.stopWorker();
      this.workerSource = undefined;
      const job = this.running;
      this.running = undefined;
      job?.reject(new Error(`the layout worker failed: ${event.message || "its script could not run"}`));
      void this.pump();
    });
    this.worker = worker;
    return worker;
  }
}
