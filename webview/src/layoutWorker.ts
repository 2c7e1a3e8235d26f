/**
 * The layout worker: runs ELK's layered algorithm off the panel's main thread. Receives a compact
 * graph (`LayoutInput`), answers with absolute boxes and edge routes packed in typed arrays
 * (`PackedLayout`, transferred).
 */
import ELK from "elkjs/lib/elk.bundled.js";
import { fromElk, pack, toElk } from "./elkGraph";
import type { WorkerRequest, WorkerResponse } from "./layoutTypes";

/** The worker's global scope (the root tsconfig has DOM types, not WebWorker ones). */
declare const self: {
  onmessage: unknown;
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerRequest>) => void): void;
};

const elk = new ELK();
// Constructing the bundled ELK installs its own `onmessage` when it finds itself in a worker;
// this worker speaks its own protocol, so take the handler back.
self.onmessage = null;

self.addEventListener("message", (event) => {
  const request = event.data;
  if (request?.type !== "layout") return;
  const started = performance.now();
  elk
    .layout(toElk(request.input))
    .then((laid) => {
      const packed = pack(request.input, fromElk(laid, performance.now() - started));
      const response: WorkerResponse = { type: "layout", id: request.id, packed };
      self.postMessage(response, [packed.boxes.buffer, packed.points.buffer, packed.offsets.buffer]);
    })
    .catch((err: unknown) => {
      const response: WorkerResponse = { type: "error", id: request.id, message: err instanceof Error ? err.message : String(err) };
      self.postMessage(response);
    });
});

// The panel tells a worker that started from one whose script never ran.
self.postMessage({ type: "ready" });
