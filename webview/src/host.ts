/**
 * The panel's link to the extension: VS Code's webview API, typed with the protocol module.
 */
import type { PanelMessage } from "../../server/src/protocol/webview";

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export class Host {
  private readonly api: VsCodeApi;

  constructor() {
    // acquireVsCodeApi may be called once per page.
    this.api = acquireVsCodeApi();
  }

  post(message: PanelMessage): void {
    this.api.postMessage(message);
  }

  getState<T>(): T | undefined {
    return (this.api.getState() as T | null | undefined) ?? undefined;
  }

  setState<T>(state: T): void {
    this.api.setState(state);
  }
}
