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
  resolve: (result: LayoutResult) => void;
  reject: (error: Error) => void;
}

const CACHE_SIZE = 24;
/** A running layout of more nodes than this is abandoned (worker restarted) when a newer one is asked for. */
const RESTART_ABOVE = 250;

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
  private workerSource: Promise<string> | undefined;
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
        await this.layout(input, hash);
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
   * waiting is rejected with `Superseded`, and a worker still busy with one is restarted.
   */
  layout(input: LayoutInput, hash = shapeHash(input)): Promise<LayoutResult> {
    const hit = this.cache.get(hash);
    if (hit) {
      this.remember(hash, hit);
      this.queued?.reject(new Superseded());
      this.queued = undefined;
      return Promise.resolve(hit);
    }
    return new Promise<LayoutResult>((resolve, reject) => {
      this.queued?.reject(new Superseded());
      this.queued = { id: this.nextId++, input, hash, resolve, reject };
      if (this.running && this.running.input.nodes.length > RESTART_ABOVE) {
        // The worker is busy with a big layout nobody wants any more: stop it rather than wait.
        // (A small one finishes sooner than a new worker would start; its answer is cached.)
        this.running.reject(new Superseded());
        this.running = undefined;
        this.worker?.terminate();
        this.worker = undefined;
      }
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running || !this.queued) return;
    const job = this.queued;
    this.queued = undefined;
    this.running = job;
    try {
      const worker = await this.ensureWorker();
      if (this.running !== job) return;
      const request: WorkerRequest = { type: "layout", id: job.id, input: job.input };
      worker.postMessage(request);
    } catch (err) {
      if (this.running === job) this.running = undefined;
      job.reject(err instanceof Error ? err : new Error(String(err)));
      void this.pump();
    }
  }

  private onMessage(response: WorkerResponse): void {
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
    // As a blob, never as text: the script (megabytes) is not decoded on the main thread.
    this.workerSource ??= fetch(this.workerUrl).then((r) => {
      if (!r.ok) throw new Error(`cannot load the layout worker (${r.status})`);
      return r.blob();
    }).then((code) => URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
    const url = await this.workerSource;
    if (this.worker) return this.worker;
    const worker = new Worker(url, { name: "tributary-layout" });
    worker.addEventListener("message", (event: MessageEvent<WorkerResponse>) => {
      if (this.worker === worker) this.onMessage(event.data);
    });
    worker.addEventListener("error", (event) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const job = this.running;
      this.running = undefined;
      job?.reject(new Error(`layout worker failed: ${event.message}`));
      void this.pump();
    });
    this.worker = worker;
    return worker;
  }
}
