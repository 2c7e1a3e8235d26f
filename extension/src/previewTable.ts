/**
 * The query preview's webview page: a table of the rows (click a header to sort, "Copy as CSV").
 * Pure functions, no `vscode` import: the page is a string with a strict Content-Security-Policy,
 * its one script allowed by nonce; the data travels as JSON inside it.
 */
import type { PreviewResult } from "../../server/src/protocol/sql";

export type PreviewOk = Extract<PreviewResult, { ok: true }>;

/** Orders two cells: nulls last, numbers numerically, everything else as text. */
export function compareCells(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = typeof a === "object" ? JSON.stringify(a) : String(a);
  const sb = typeof b === "object" ? JSON.stringify(b) : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** RFC 4180 CSV of the rows (header line first). */
export function toCsv(columns: string[], rows: unknown[][]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function previewHtml(result: PreviewOk, nonce: string, cspSource: string): string {
  const data = { columns: result.columns.map((c) => c.name), types: result.columns.map((c) => c.type), rows: result.rows };
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<title>${escapeHtml(result.title)}</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 8px; }
header { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
table { border-collapse: collapse; font-family: var(--vscode-editor-font-family); }
th, td { border: 1px solid var(--vscode-panel-border); padding: 2px 6px; text-align: left; white-space: nowrap; }
th { cursor: pointer; position: sticky; top: 0; background: var(--vscode-editor-background); }
th small { opacity: 0.6; font-weight: normal; }
td.null { opacity: 0.5; font-style: italic; }
button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: none; padding: 3px 10px; cursor: pointer; }
</style></head>
<body>
<header><strong>${escapeHtml(result.title)}</strong><span id="count"></span><button id="copy">Copy as CSV</button></header>
<table><thead><tr id="head"></tr></thead><tbody id="body"></tbody></table>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const data = ${scriptJson(data)};
const compareCells = ${compareCells.toString()};
let order = data.rows.map((_, i) => i);
let sortBy = -1, descending = false;
const text = (v) => v === null || v === undefined ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v);
function render() {
  const head = document.getElementById("head");
  head.replaceChildren(...data.columns.map((name, i) => {
    const th = document.createElement("th");
    th.textContent = name + (i === sortBy ? (descending ? " ▼" : " ▲") : "") + " ";
    const type = document.createElement("small");
    type.textContent = data.types[i];
    th.append(type);
    th.addEventListener("click", () => { descending = sortBy === i ? !descending : false; sortBy = i; sort(); render(); });
    return th;
  }));
  document.getElementById("body").replaceChildren(...order.map((r) => {
    const tr = document.createElement("tr");
    for (const v of data.rows[r]) {
      const td = document.createElement("td");
      td.textContent = text(v);
      if (v === null || v === undefined) td.className = "null";
      tr.append(td);
    }
    return tr;
  }));
  document.getElementById("count").textContent = data.rows.length + " rows (limit ${result.limit}) · ${Math.round(result.ms)} ms";
}
function sort() {
  order.sort((a, b) => { const c = compareCells(data.rows[a][sortBy], data.rows[b][sortBy]); return descending ? -c : c; });
}
document.getElementById("copy").addEventListener("click", () => vscode.postMessage({ type: "copyCsv", order }));
render();
</script>
</body></html>`;
}
