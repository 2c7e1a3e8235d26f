/** Hovers and code lenses show what the run history knows, and follow runs made by other processes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { serveCopy, uri } from "../helpers/lspClient";
import { CLI } from "../helpers/cli";
import { positionOf } from "../helpers/workspace";

describe("status in the language server", () => {
  const served = serveCopy();

  const hoverText = async (file: string, position: { line: number; character: number }) =>
    (await served.client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri: uri(file) }, position }))?.contents.value ?? "";

  test("not materialized, then fresh after a CLI run, then stale after an upstream edit", async () => {
    const fct = path.join(served.root, "models/marts/fct_orders.sql");
    const ts = path.join(served.root, "assets/forecast.ts");
    const tsText = readFileSync(ts, "utf8");
    const modelAt = positionOf(tsText, "orderForecastModel = asset", 3);
    assert.match(await hoverText(fct, { line: 0, character: 1 }), /Status: not materialized yet/);

    const run = spawnSync(process.execPath, [CLI, "materialize", "+order_forecast_model"], { cwd: served.root, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    await waitFor(async () => /Status: \*\*fresh\*\* — materialized .* 180 rows/.test(await hoverText(fct, { line: 0, character: 1 })), "fresh status in hover");
    await waitFor(async () => /Status: \*\*fresh\*\*/.test(await hoverText(ts, modelAt)), "fresh status of the TS asset once the run ended");
    const lenses = await served.client.request<{ command: { title: string } }[]>("textDocument/codeLens", { textDocument: { uri: uri(fct) } });
    assert.ok(lenses.some((l) => /^fresh · materialized/.test(l.command.title)), JSON.stringify(lenses.map((l) => l.command.title)));

    const stg = path.join(served.root, "models/staging/stg_orders.sql");
    writeFileSync(stg, readFileSync(stg, "utf8").replace("status\nfrom source", "status,\n    1 as edited\nfrom source"));
    await served.client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: [{ uri: uri(stg), type: 2 }] });
    await waitFor(async () => /Status: \*\*stale\*\* — upstream/.test(await hoverText(ts, modelAt)), "stale status downstream in TS");
    assert.match(await hoverText(stg, { line: 0, character: 1 }), /Status: \*\*stale\*\* — code changed/);
  });

  test("saving an open model (no file-watcher event, as in an editor) makes it stale", async () => {
    const model = path.join(served.root, "models/marts/customers.sql");
    const text = readFileSync(model, "utf8");
    const run = spawnSync(process.execPath, [CLI, "materialize", "+customers"], { cwd: served.root, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    await served.client.open(model, text);
    await waitFor(async () => /Status: \*\*fresh\*\*/.test(await hoverText(model, { line: 0, character: 1 })), "fresh before the edit");
    const edited = text.replace("customers.last_name,", "customers.last_name,\n    customers.first_name || ' ' || customers.last_name as full_name,");
    const before = served.client.graphChanges;
    await served.client.change(model, 2, edited);
    // The edit is indexed (unsaved: the disk still has the materialized code, so still fresh)...
    await served.client.waitFor(() => served.client.graphChanges > before, 10_000, "the edit indexed");
    assert.match(await hoverText(model, { line: 0, character: 1 }), /Status: \*\*fresh\*\*/);
    // ...then the editor saves: no file-watcher event comes for an open document, only didSave.
    writeFileSync(model, edited);
    await served.client.connection.sendNotification("textDocument/didSave", { textDocument: { uri: uri(model) } });
    await waitFor(async () => /Status: \*\*stale\*\* — code changed/.test(await hoverText(model, { line: 0, character: 1 })), "stale after save");
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
