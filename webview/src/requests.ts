/**
 * The panel's requests to the extension in flight: each is sent with a fresh `requestId` and
 * settled once, by the extension's `response` with that id (in whatever order they come) or by
 * its time running out. A late answer (after its time ran out) is ignored.
 */
import type { PanelRequest, PanelRequestMethod, PanelResults, ResponseMessage, UnsentRequest } from "../../server/src/protocol/webview";

export interface RequestHandlers<M extends PanelRequestMethod> {
  result(result: PanelResults[M]): void;
  /** The extension's error answer (`timedOut` false), or no answer in time (`timedOut` true). */
  error(message: string, timedOut: boolean): void;
}

interface Pending {
  handlers: RequestHandlers<PanelRequestMethod>;
  timer: ReturnType<typeof setTimeout>;
}

export class HostRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly post: (message: PanelRequest) => void,
    private readonly timeoutMs: number,
  ) {}

  /** Sends `message` with a new id; exactly one of the handlers will be called. Returns the id. */
  send<M extends PanelRequestMethod>(message: UnsentRequest<M> & { method: M }, handlers: RequestHandlers<M>): number {
    const requestId = this.nextId++;
    const timer = setTimeout(() => {
      if (!this.pending.delete(requestId)) return;
      handlers.error(`the Tributary extension did not answer in ${Math.round(this.timeoutMs / 1000)} s (${message.method})`, true);
    }, this.timeoutMs);
    this.pending.set(requestId, { handlers: handlers as unknown as RequestHandlers<PanelRequestMethod>, timer });
    this.post({ ...message, requestId } as PanelRequest);
    return requestId;
  }

  /** Hands a response to the request it answers; false when none waits for it (unknown, or already timed out). */
  settle(response: ResponseMessage): boolean {
    const pending = this.pending.get(response.requestId);
    if (!pending) return false;
    this.pending.delete(response.requestId);
    clearTimeout(pending.timer);
    if ("error" in response) pending.handlers.error(response.error.message, false);
    else pending.handlers.result(response.result);
    return true;
  }
}
