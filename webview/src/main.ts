/**
 * Boot of the lineage panel (the webview's script): wire VS Code's API, restore the saved state,
 * post `ready`, then act on the extension's messages. The page provides `<div id="app">` and the
 * layout worker's URL in `<body data-layout-worker="...">` (see extension/src/panelHtml.ts).
 */
import { isHostMessage } from "../../server/src/protocol/webview";
import { Panel } from "./app";
import { Host } from "./host";
import { restoreState, type PanelState } from "./state";

const host = new Host();
const root = document.getElementById("app") ?? document.body.appendChild(document.createElement("div"));
root.classList.add("panel");
const workerUrl = document.body.dataset.layoutWorker ?? "layout-worker.js";

const panel = new Panel({
  root,
  post: (message) => host.post(message),
  save: (state) => host.setState<PanelState>(state),
  state: restoreState(host.getState()),
  workerUrl,
});

window.addEventListener("message", (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) panel.onMessage(event.data);
});
panel.start();
