/**
 * The end-to-end scenarios of test/e2e, in VS Code desktop through the extension API:
 * hovers and definitions through `vscode.executeHoverProvider` / `vscode.executeDefinitionProvider`,
 * runs through the extension's own commands, Problems through `vscode.languages.getDiagnostics`, and
 * the run history and DuckDB file read back from disk. What only a screen shows (the webview's
 * drawing, menus, notifications) is covered by the code-server suite in test/e2e.
 *
 * Runs inside the extension host (see index.ts); the workspace is a fresh copy of
 * examples/jaffle-forecast made by runTest.ts (TRIBUTARY_E2E_WORKSPACE).
 */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "mocha";
import * as vscode from "vscode";
import type { RunRecord } from "../../../server/src/protocol/history";
import { Warehouse } from "../../../server/src/run/warehouse";
import { HistoryStore } from "../../../server/src/run/history";

const FCT_ORDERS = "models/marts/fct_orders.sql";
const FORECAST_VS_ACTUAL = "models/forecasting/forecast_vs_actual.sql";
const CUSTOMERS = "models/marts/customers.sql";
const FORECAST_TS = "assets/forecast.ts";
const UPSTREAM_OF_FORECAST_VS_ACTUAL: Record<string, string | undefined> = {
  raw_orders: "main.raw_orders",
  raw_payments: "main.raw_payments",
  stg_orders: "main.stg_orders",
  stg_payments: "main.stg_payments",
  fct_orders: "main.fct_orders",
  order_forecast_model: undefined, // JSON IO manager: .tributary/storage/
  "forecasting/predicted_orders": "forecasting.predicted_orders",
  forecast_vs_actual: "main.forecast_vs_actual",
};

function workspaceRoot(): string {
  const root = process.env.TRIBUTARY_E2E_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) throw new Error("no workspace folder");
  return root;
}
const uriOf = (rel: string): vscode.Uri => vscode.Uri.file(path.join(workspaceRoot(), rel));
const history = (): HistoryStore => HistoryStore.open(workspaceRoot(), { markInterrupted: false });

/** Polls `check` until it returns a value (not undefined) or `timeout` passes. */
async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function open(rel: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(uriOf(rel));
  return vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preview: false });
}

/** The position inside the nth occurrence of `needle`, `offset` characters in (default: its middle). */
function positionOf(document: vscode.TextDocument, needle: string, nth = 0, offset?: number): vscode.Position {
  const text = document.getText();
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' (occurrence ${nth}) not in ${document.uri.fsPath}`);
  }
  return document.positionAt(at + (offset ?? Math.floor(needle.length / 2)));
}

function hoverText(hovers: vscode.Hover[] | undefined): string {
  return (hovers ?? []).flatMap((h) => h.contents.map((c) => (typeof c === "string" ? c : "value" in c ? c.value : ""))).join("\n---\n");
}

/** Asks for the hover until every `expect` is in it (the server may be indexing or recomputing statuses). */
async function hoverUntil(uri: vscode.Uri, position: vscode.Position, expect: (string | RegExp)[], timeout = 30_000): Promise<string> {
  let last = "";
  try {
    return await until(`a hover with ${expect.join(", ")}`, async () => {
      last = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", uri, position));
      return expect.every((e) => (typeof e === "string" ? last.includes(e) : e.test(last))) ? last : undefined;
    }, timeout);
  } catch (error) {
    throw new Error(`${String(error)}; last hover:\n${last}`);
  }
}

/** Replaces `from` with `to` in the document (an editor edit, as typing), and saves unless told not to. */
async function replaceIn(rel: string, from: string, to: string, save = true): Promise<string> {
  const editor = await open(rel);
  const document = editor.document;
  const text = document.getText();
  const at = text.indexOf(from);
  assert.ok(at >= 0, `'${from}' in ${rel}`);
  const ok = await editor.edit((b) => b.replace(new vscode.Range(document.positionAt(at), document.positionAt(at + from.length)), to));
  assert.ok(ok, "the edit applied");
  if (save) assert.ok(await document.save(), `${rel} saved`);
  return document.getText();
}

async function lastRunAfter(previous: string | undefined): Promise<RunRecord> {
  return until("a finished run", () => {
    const run = history().lastRun();
    return run && run.id !== previous && run.status !== "running" ? run : undefined;
  }, 120_000);
}

async function warehouseRows(): Promise<Map<string, number>> {
  const db = await Warehouse.open(path.join(workspaceRoot(), ".tributary", "warehouse.duckdb"), { readOnly: true });
  try {
    const rows = new Map<string, number>();
    for (const [relation] of await db.catalog()) {
      const [schema, name] = relation.split(".");
      rows.set(relation, Number(await db.scalar(`select count(*) from "${schema}"."${name}"`)));
    }
    return rows;
  } finally {
    await db.close();
  }
}

export function defineUserDaySuite(): void {
  describe("a user's day in VS Code desktop", () => {
    before(async () => {
      const extension = vscode.extensions.getExtension("tributary.tributary");
      assert.ok(extension, "the extension is installed");
      await extension.activate();
      assert.ok(extension.isActive);
    });

    it("1. fct_orders.sql: hover on ref('stg_orders') and on the model show upstream and downstream", async () => {
      const editor = await open(FCT_ORDERS);
      const uri = editor.document.uri;
      const ref = await hoverUntil(uri, positionOf(editor.document, "stg_orders"), ["stg_orders", "Upstream (1):", "raw_orders", "Downstream (1):", "fct_orders"]);
      assert.match(ref, /Defined in `models\/staging\/stg_orders\.sql`/);
      const model = await hoverUntil(uri, new vscode.Position(0, 5), ["**fct_orders**", "Downstream", "order_forecast_model", "forecasting/predicted_orders"]);
      assert.match(model, /Status: not materialized yet/);
    });

    it("2. the TS asset: hover shows fct_orders upstream and predicted_orders downstream; definition of the dep opens the model", async () => {
      const editor = await open(FORECAST_TS);
      const uri = editor.document.uri;
      await hoverUntil(uri, positionOf(editor.document, "const orderForecastModel", 0, 8), ["order_forecast_model", "Upstream (1):", "fct_orders", "forecasting/predicted_orders"]);
      const locations = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>("vscode.executeDefinitionProvider", uri, positionOf(editor.document, '"fct_orders"', 0, 3));
      const targets = locations.map((l) => ("targetUri" in l ? l.targetUri : l.uri).fsPath);
      assert.ok(targets.some((t) => t.endsWith(path.join("models", "marts", "fct_orders.sql"))), JSON.stringify(targets));
    });

    it("3. Materialize with Upstream in forecast_vs_actual.sql: the run, the DuckDB tables, the history, status fresh", async () => {
      const editor = await open(FORECAST_VS_ACTUAL);
      // The cursor on the model's own SQL, not inside a ref(): the command acts on the file's model.
      const at = positionOf(editor.document, "actual_orders");
      editor.selection = new vscode.Selection(at, at);
      const previous = history().lastRun()?.id;
      await vscode.commands.executeCommand("tributary.materializeUpstream"); // resolves when the run ends
      const run = await lastRunAfter(previous);
      assert.equal(run.status, "success");
      assert.equal(run.trigger, "vscode");
      const store = history();
      for (const id of Object.keys(UPSTREAM_OF_FORECAST_VS_ACTUAL)) assert.equal(store.lastSuccess(id)?.runId, run.id, `${id} materialized`);
      const rows = await warehouseRows();
      for (const relation of Object.values(UPSTREAM_OF_FORECAST_VS_ACTUAL)) if (relation) assert.ok((rows.get(relation) ?? 0) > 0, `${relation} has rows`);
      assert.ok(existsSync(path.join(workspaceRoot(), ".tributary", "storage", "order_forecast_model.json")));
      await hoverUntil(editor.document.uri, new vscode.Position(0, 5), ["forecast_vs_actual", "Status: **fresh**"]);
    });

    it("4. Show Lineage opens the panel beside the editor; the panel's materialize action runs", async () => {
      await open(FORECAST_VS_ACTUAL);
      await vscode.commands.executeCommand("tributary.showLineage");
      const tab = await until("the Lineage webview tab", () =>
        vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith("tributary.lineage")),
      );
      assert.notEqual(tab.group.viewColumn, vscode.ViewColumn.One, "beside the editor");
      assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, uriOf(FORECAST_VS_ACTUAL).fsPath, "the editor keeps the focus");
      // What the panel's "Materialize with downstream" on order_forecast_model sends (its message becomes this command).
      const previous = history().lastRun()?.id;
      await vscode.commands.executeCommand("tributary.materializeDownstream", ["order_forecast_model"]);
      const run = await lastRunAfter(previous);
      assert.equal(run.status, "success");
      assert.deepEqual(history().steps(run.id).flatMap((s) => s.assets).sort(), ["forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);
    });

    it("5. a ref to an unknown model is a diagnostic; fixing it removes it", async () => {
      const uri = uriOf(CUSTOMERS);
      await replaceIn(CUSTOMERS, "ref('stg_customers')", "ref('stg_customerz')", false);
      const diagnostic = await until("the unknown-ref diagnostic", () => vscode.languages.getDiagnostics(uri).find((d) => /stg_customerz/.test(d.message)));
      assert.match(diagnostic.message, /stg_customers/, "did you mean");
      await replaceIn(CUSTOMERS, "ref('stg_customerz')", "ref('stg_customers')", true);
      await until("the diagnostic to go", () => (vscode.languages.getDiagnostics(uri).some((d) => /stg_customerz/.test(d.message)) ? undefined : true));
    });

    it("6. editing fct_orders.sql and saving makes it and its downstream stale", async () => {
      await replaceIn(FCT_ORDERS, "    orders.status,", "    orders.status,\n    orders.order_date is not null as has_order_date,");
      await hoverUntil(uriOf(FCT_ORDERS), new vscode.Position(0, 5), ["**fct_orders**", "Status: **stale**"]);
      await hoverUntil(uriOf(FORECAST_VS_ACTUAL), new vscode.Position(0, 5), ["forecast_vs_actual", "Status: **stale**"]);
    });

    it("7. a failing model fails the run, downstream skipped; after the fix Re-execute Failed reruns exactly those", async () => {
      const good = readFileSync(uriOf(FCT_ORDERS).fsPath, "utf8");
      await replaceIn(FCT_ORDERS, "    orders.status,", "    orders.no_such_column,");
      const editor = await open(FORECAST_VS_ACTUAL);
      const at = positionOf(editor.document, "actual_orders");
      editor.selection = new vscode.Selection(at, at);
      const previous = history().lastRun()?.id;
      await vscode.commands.executeCommand("tributary.materializeUpstream");
      const failed = await lastRunAfter(previous);
      assert.equal(failed.status, "failed");
      const steps = history().steps(failed.id);
      assert.ok(steps.some((s) => s.status === "failed" && s.assets.includes("fct_orders")), JSON.stringify(steps));
      for (const id of ["order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"]) {
        assert.ok(steps.some((s) => s.status === "skipped" && s.assets.includes(id)), `${id} skipped`);
      }
      await replaceIn(FCT_ORDERS, "    orders.no_such_column,", "    orders.status,");
      assert.equal(readFileSync(uriOf(FCT_ORDERS).fsPath, "utf8"), good);
      await vscode.commands.executeCommand("tributary.retryFailed");
      const retry = await lastRunAfter(failed.id);
      assert.equal(retry.status, "success");
      assert.deepEqual(history().steps(retry.id).flatMap((s) => s.assets).sort(), ["fct_orders", "forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);
      await hoverUntil(uriOf(FCT_ORDERS), new vscode.Position(0, 5), ["**fct_orders**", "Status: **fresh**"]);
    });
  });
}
