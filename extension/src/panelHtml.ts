/**
 * The panel's HTML, for the extension's webview host (not part of the webview bundle): a strict
 * Content-Security-Policy (scripts only by nonce, no inline handlers or styles, the layout worker
 * from a blob: URL), the stylesheet, and the URLs the script needs.
 *
 * The host creates the panel with `{ enableScripts: true, localResourceRoots: [<extension>/dist] }`
 * (nothing else is readable), sets `webview.html = panelHtml(...)`, waits for the `ready`
 * message, then posts a `graph` (protocol/webview.ts). No `retainContextWhenHidden`: the panel
 * keeps its state with setState and repaints from it when shown again.
 */
export interface PanelHtmlOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh random nonce per page. */
  nonce: string;
  /** `webview.asWebviewUri(...)` of dist/webview.js, dist/panel.css and dist/layout-worker.js. */
  scriptUri: string;
  styleUri: string;
  workerUri: string;
}

const escapeAttr = (s: string): string => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    // The worker's script is fetched from the extension's resources and started from a blob: URL.
    `connect-src ${cspSource}`,
    "worker-src blob:",
  ].join("; ");
}

export function panelHtml(o: PanelHtmlOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">
<title>Lineage</title>
</head>
<body data-layout-worker="${escapeAttr(o.workerUri)}">
<div id="app"></div>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>`;
}
