/**
 * The real language server over stdio on a copy of the example: hover, definition, references,
 * completion, symbols, lenses, custom requests, diagnostics, incremental updates.
 */
import assert from "node:assert/strict";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { serveCopy, uri } from "../helpers/lspClient";
import { positionOf } from "../helpers/workspace";
import { GraphRequest, NeighbourhoodRequest } from "../../server/src/protocol/requests";

interface Hover {
  contents: { kind: string; value: string };
}
interface Location {
  uri: string;
  range: { start: { line: number; character: number } };
}

describe("language server on the example", () => {
  const served = serveCopy();
  const file = (rel: string) => path.join(served.root, rel);

  test("hover on ref('stg_orders') in fct_orders shows its upstream and downstream", async () => {
    const fct = file("models/marts/fct_orders.sql");
    const text = readFileSync(fct, "utf8");
    await served.client.open(fct, text);
    const hover = await served.client.request<Hover>("textDocument/hover", { textDocument: { uri: uri(fct) }, position: positionOf(text, "stg_orders", 2) });
    const value = hover.contents.value;
    assert.match(value, /\*\*stg_orders\*\* · dbt model/);
    assert.match(value, /Upstream \(1\):.*raw_orders/);
    assert.match(value, /Downstream \(1\):.*fct_orders/);
  });

  test("hover on the model itself lists stg_orders upstream and order_forecast_model downstream", async () => {
    const fct = file("models/marts/fct_orders.sql");
    const hover = await served.client.request<Hover>("textDocument/hover", { textDocument: { uri: uri(fct) }, position: { line: 0, character: 3 } });
    const value = hover.contents.value;
    assert.match(value, /\*\*fct_orders\*\*/);
    const [, up] = /Upstream \(\d+\):(.*)/.exec(value)!;
    const [, down] = /Downstream \(\d+\):(.*)/.exec(value)!;
    assert.match(up, /stg_orders/);
    assert.match(up, /stg_payments/);
    assert.match(down, /order_forecast_model/);
    assert.match(down, /forecasting\/predicted_orders/);
    assert.match(down, /customers/);
  });

  test("hover on a TS asset shows fct_orders upstream and predicted_orders downstream", async () => {
    const ts = file("assets/forecast.ts");
    const text = readFileSync(ts, "utf8");
    await served.client.open(ts, text);
    const hover = await served.client.request<Hover>("textDocument/hover", { textDocument: { uri: uri(ts) }, position: positionOf(text, "orderForecastModel = asset", 3) });
    assert.match(hover.contents.value, /\*\*order_forecast_model\*\* · TypeScript asset/);
    assert.match(hover.contents.value, /Daily order forecast/);
    assert.match(hover.contents.value, /Upstream \(1\):.*fct_orders/);
    assert.match(hover.contents.value, /Downstream \(1\):.*forecasting\/predicted_orders/);
  });

  test("definition of the dep \"fct_orders\" in TS opens the SQL model", async () => {
    const ts = file("assets/forecast.ts");
    const text = readFileSync(ts, "utf8");
    const locations = await served.client.request<Location[]>("textDocument/definition", { textDocument: { uri: uri(ts) }, position: positionOf(text, '"fct_orders"', 3) });
    assert.equal(locations.length, 1);
    assert.equal(locations[0].uri, uri(file("models/marts/fct_orders.sql")));
  });

  test("definition of source('forecasting', 'predicted_orders') goes to the TS producer and the YAML entry", async () => {
    const model = file("models/forecasting/forecast_vs_actual.sql");
    const text = readFileSync(model, "utf8");
    const locations = await served.client.request<Location[]>("textDocument/definition", { textDocument: { uri: uri(model) }, position: positionOf(text, "'predicted_orders'", 2) });
    const uris = locations.map((l) => l.uri).sort();
    assert.deepEqual(uris, [uri(file("assets/forecast.ts")), uri(file("models/forecasting/sources.yml"))].sort());
  });

  test("references of stg_orders are the reads in fct_orders", async () => {
    const stg = file("models/staging/stg_orders.sql");
    const fct = file("models/marts/fct_orders.sql");
    const text = readFileSync(fct, "utf8");
    const refs = await served.client.request<Location[]>("textDocument/references", { textDocument: { uri: uri(fct) }, position: positionOf(text, "stg_orders", 1), context: { includeDeclaration: false } });
    assert.ok(refs.some((r) => r.uri === uri(fct)));
    assert.ok(!refs.some((r) => r.uri === uri(stg)), "declaration excluded");
  });

  test("completion inside ref(' offers models and seeds; inside source(' sources; in TS deps keys", async () => {
    const scratch = file("models/marts/scratch.sql");
    const text = "select * from {{ ref('";
    await served.client.open(scratch, text);
    const items = await served.client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: uri(scratch) }, position: { line: 0, character: text.length } });
    const labels = items.map((i) => i.label);
    for (const name of ["stg_orders", "fct_orders", "raw_orders"]) assert.ok(labels.includes(name), `${name} offered`);
    const sourceText = "select * from {{ source('forecasting', '";
    await served.client.change(scratch, 2, sourceText);
    const tables = await served.client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: uri(scratch) }, position: { line: 0, character: sourceText.length } });
    assert.deepEqual(tables.map((i) => i.label), ["predicted_orders"]);
    const ts = file("assets/forecast.ts");
    const tsText = readFileSync(ts, "utf8");
    const at = positionOf(tsText, '"fct_orders"', 1);
    const keys = await served.client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: uri(ts) }, position: at });
    assert.ok(keys.some((k) => k.label === "stg_orders"));
  });

  test("document symbols, workspace symbols and code lenses", async () => {
    const ts = file("assets/forecast.ts");
    const symbols = await served.client.request<{ name: string }[]>("textDocument/documentSymbol", { textDocument: { uri: uri(ts) } });
    assert.deepEqual(symbols.map((s) => s.name).sort(), ["forecasting/predicted_orders", "order_forecast_model"]);
    const catalog = await served.client.request<{ name: string }[]>("workspace/symbol", { query: "fctord" });
    assert.ok(catalog.some((s) => s.name === "fct_orders"));
    const lenses = await served.client.request<{ command: { title: string } }[]>("textDocument/codeLens", { textDocument: { uri: uri(file("models/marts/fct_orders.sql")) } });
    assert.ok(lenses.some((l) => l.command.title === "↑2 ↓4"), JSON.stringify(lenses.map((l) => l.command.title)));
  });

  test("custom requests return the graph and a neighbourhood", async () => {
    const graph = await served.client.connection.sendRequest(GraphRequest);
    const ids = graph.nodes.map((n) => n.id);
    for (const id of ["raw_orders", "stg_orders", "fct_orders", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual", "customers"]) assert.ok(ids.includes(id), id);
    assert.equal(graph.nodes.find((n) => n.id === "forecasting/predicted_orders")!.kind, "ts_asset");
    const near = await served.client.connection.sendRequest(NeighbourhoodRequest, { ids: ["order_forecast_model"], upstream: 1, downstream: 1 });
    assert.deepEqual(near.nodes.map((n) => n.id).sort(), ["fct_orders", "forecasting/predicted_orders", "order_forecast_model"]);
  });

  test("an unknown ref gets a diagnostic with a suggestion; fixing it clears it", async () => {
    const model = file("models/marts/customers.sql");
    const original = readFileSync(model, "utf8");
    const broken = original.replace("ref('fct_orders')", "ref('fct_order')");
    await served.client.open(model, broken);
    await served.client.change(model, 2, broken);
    const diagnostic = await served.client.waitFor(() => served.client.diagnostics.get(model)?.find((d) => /Unknown model 'fct_order'/.test(d.message)), 10_000, "unknown ref diagnostic");
    assert.match(diagnostic.message, /Did you mean 'fct_orders'/);
    assert.equal(diagnostic.range.start.line, positionOf(broken, "'fct_order'").line);
    await served.client.change(model, 3, original);
    await served.client.waitFor(() => !served.client.diagnostics.get(model)?.some((d) => /Unknown model/.test(d.message)) || undefined, 10_000, "diagnostic cleared");
  });

  test("a cycle across dbt and TypeScript is reported naming the cycle", async () => {
    const stg = file("models/staging/stg_orders.sql");
    const original = readFileSync(stg, "utf8");
    const cyclic = original.replace("{{ ref('raw_orders') }}", "{{ ref('raw_orders') }} -- depends_on: {{ source('forecasting', 'predicted_orders') }}");
    await served.client.open(stg, cyclic);
    await served.client.change(stg, 2, cyclic);
    const diagnostic = await served.client.waitFor(() => served.client.diagnostics.get(stg)?.find((d) => d.code === "cycle"), 10_000, "cycle diagnostic");
    assert.match(diagnostic.message, /Dependency cycle: .*fct_orders.*order_forecast_model.*forecasting\/predicted_orders.*stg_orders/);
    await served.client.change(stg, 3, original);
    await served.client.waitFor(() => !served.client.diagnostics.get(stg)?.some((d) => d.code === "cycle") || undefined, 10_000, "cycle cleared");
  });

  test("files created, deleted and renamed on disk are picked up", async () => {
    const created = file("models/marts/orders_per_day.sql");
    writeFileSync(created, "select order_date, count(*) as n from {{ ref('fct_orders') }} group by 1\n");
    await served.client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: [{ uri: uri(created), type: 1 }] });
    const hasNode = async (id: string) => (await served.client.connection.sendRequest(GraphRequest)).nodes.some((n) => n.id === id);
    await waitAsync(() => hasNode("orders_per_day"), "created model indexed");
    const renamed = file("models/marts/orders_by_day.sql");
    renameSync(created, renamed);
    await served.client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: [{ uri: uri(created), type: 3 }, { uri: uri(renamed), type: 1 }] });
    await waitAsync(async () => (await hasNode("orders_by_day")) && !(await hasNode("orders_per_day")), "rename picked up");
    rmSync(renamed);
    await served.client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: [{ uri: uri(renamed), type: 3 }] });
    await waitAsync(async () => !(await hasNode("orders_by_day")), "deletion picked up");
  });

  test("the server is still alive after everything", () => {
    assert.ok(served.client.alive);
  });
});

async function waitAsync(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
