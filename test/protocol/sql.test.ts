/**
 * The SQL features over the real language server (stdio): compiled SQL of the unsaved text, the
 * rendering error at its Jinja position, column lineage and hover on a column name, and a
 * read-only preview (whole model, the CTE under the cursor, the selected text, cancellation).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { CancellationTokenSource } from "vscode-jsonrpc/node";
import { runCli } from "../helpers/cli";
import { LspClient, uri } from "../helpers/lspClient";
import { copyExample, positionOf } from "../helpers/workspace";
import { ColumnLineageRequest, CompileRequest, PreviewRequest, type ColumnLineageMap, type CompileResult, type PreviewResult } from "../../server/src/protocol/sql";

interface Hover {
  contents: { kind: string; value: string };
}

describe("SQL features over the language server", () => {
  let client: LspClient;
  let ws: { root: string; dispose: () => void };
  const file = (rel: string) => path.join(ws.root, rel);

  before(async () => {
    ws = copyExample();
    const run = runCli(ws.root, ["materialize", "+customers"]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    client = await LspClient.ready(ws.root, 60_000, { trusted: true });
  });
  after(async () => {
    await client.stop();
    ws.dispose();
  });

  test("compile answers the compiled SQL of the editor's unsaved text", async () => {
    const stg = file("models/staging/stg_orders.sql");
    const text = readFileSync(stg, "utf8");
    await client.open(stg, text);
    const first = await client.connection.sendRequest(CompileRequest, { uri: uri(stg) });
    assert.ok(first.ok, JSON.stringify(first));
    assert.equal(first.id, "stg_orders");
    assert.match(first.sql, /from "main"\."raw_orders"/);
    await client.change(stg, 2, text.replace("status\n", "status,\n    {{ cents_to_dollars('id') }} as id_dollars\n"));
    const second = await client.connection.sendRequest(CompileRequest, { uri: uri(stg) });
    assert.ok(second.ok);
    assert.match(second.sql, /round\(1\.0 \* id \/ 100, 2\) as id_dollars/);
    const lenses = await client.request<{ command: { title: string; command: string } }[]>("textDocument/codeLens", { textDocument: { uri: uri(stg) } });
    assert.ok(lenses.some((l) => l.command.title === "Compiled SQL" && l.command.command === "tributary.showCompiledSql"));
    assert.ok(lenses.some((l) => l.command.command === "tributary.previewResults"));
  });

  test("a rendering error comes back with its file and Jinja position", async () => {
    const stg = file("models/staging/stg_customers.sql");
    await client.open(stg, "select 1 as a,\n  {{ no_such_macro(1) }} as b\n");
    const result: CompileResult = await client.connection.sendRequest(CompileRequest, { uri: uri(stg) });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.file, stg);
    assert.deepEqual(result.span?.start, { line: 1, character: 18 });
    assert.match(result.message, /no_such_macro/);

    // An unclosed {{: the renderer notices it on a later line; the error points at the tag that opened.
    await client.change(stg, 2, "select 1 as a,\n  {{ ref('stg_orders')\nfrom x\n");
    const unclosed: CompileResult = await client.connection.sendRequest(CompileRequest, { uri: uri(stg) });
    assert.equal(unclosed.ok, false);
    if (unclosed.ok) return;
    assert.equal(unclosed.file, stg);
    assert.deepEqual(unclosed.span?.start, { line: 1, character: 2 });
    const notModel = await client.connection.sendRequest(CompileRequest, { uri: uri(file("models/staging/schema.yml")) });
    assert.equal(notModel.ok, false);
  });

  test("column lineage request and hover on a column name", async () => {
    const map: ColumnLineageMap = await client.connection.sendRequest(ColumnLineageRequest, { ids: ["customers"] });
    assert.deepEqual(map.customers.columns.find((c) => c.name === "lifetime_value")?.upstream, [{ asset: "fct_orders", column: "amount" }]);
    const customers = file("models/marts/customers.sql");
    const text = readFileSync(customers, "utf8");
    await client.open(customers, text);
    const own = await client.request<Hover>("textDocument/hover", { textDocument: { uri: uri(customers) }, position: positionOf(text, "lifetime_value\nfrom", 3) });
    assert.match(own.contents.value, /\*\*lifetime_value\*\* · column of .*customers/);
    assert.match(own.contents.value, /Computed from: .*fct_orders.*`amount`/);
    // `order_date` is not a column of customers: the hover describes the upstream column it names.
    const upstream = await client.request<Hover>("textDocument/hover", { textDocument: { uri: uri(customers) }, position: positionOf(text, "min(order_date)", 6) });
    assert.match(upstream.contents.value, /\*\*order_date\*\* · column of .*fct_orders.* \(upstream\)/);
    assert.match(upstream.contents.value, /Copied from: .*stg_orders.*`order_date`/);
    assert.match(upstream.contents.value, /Used by: .*customers.*`first_order`/);
  });

  test("preview runs the model, the CTE under the cursor, or the selection, read-only with a limit", async () => {
    const fct = file("models/marts/fct_orders.sql");
    const text = readFileSync(fct, "utf8");
    const whole: PreviewResult = await client.connection.sendRequest(PreviewRequest, { uri: uri(fct), limit: 5 });
    assert.ok(whole.ok, JSON.stringify(whole));
    assert.equal(whole.rows.length, 5);
    assert.deepEqual(whole.columns.map((c) => c.name).slice(0, 4), ["order_id", "customer_id", "order_date", "status"]);
    const cte: PreviewResult = await client.connection.sendRequest(PreviewRequest, { uri: uri(fct), position: positionOf(text, "sum(amount) as total_amount"), limit: 3 });
    assert.ok(cte.ok, JSON.stringify(cte));
    assert.equal(cte.title, "fct_orders · order_payments");
    assert.deepEqual(cte.columns.map((c) => c.name), ["order_id", "credit_card_amount", "coupon_amount", "bank_transfer_amount", "gift_card_amount", "total_amount"]);
    const selected: PreviewResult = await client.connection.sendRequest(PreviewRequest, { uri: uri(fct), sql: "select count(*) as n from main.stg_orders;" });
    assert.ok(selected.ok);
    const seedRows = readFileSync(file("seeds/raw_orders.csv"), "utf8").trim().split("\n").length - 1;
    assert.equal(selected.rows[0][0], seedRows);
    const write: PreviewResult = await client.connection.sendRequest(PreviewRequest, { uri: uri(fct), sql: "select * from main.stg_orders) as x; drop table main.fct_orders; select * from (select 1" });
    assert.equal(write.ok, false, "the warehouse is opened read-only");
    const still: PreviewResult = await client.connection.sendRequest(PreviewRequest, { uri: uri(fct), sql: "select count(*) from main.fct_orders" });
    assert.ok(still.ok, "fct_orders was not dropped");
    // Between uses the server holds nothing: a run can write the warehouse.
    const run = runCli(ws.root, ["materialize", "stg_orders"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  test("a preview is cancellable", async () => {
    const fct = file("models/marts/fct_orders.sql");
    const source = new CancellationTokenSource();
    const pending = client.connection.sendRequest(PreviewRequest, { uri: uri(fct), sql: "select count(*) as n from range(1000000000000) a" }, source.token);
    setTimeout(() => source.cancel(), 300);
    const outcome = await pending.then((r) => r, (e: unknown) => ({ ok: false as const, message: String(e) }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok ? "" : outcome.message, /cancel|interrupt/i);
  });
});

describe("SQL features in Restricted Mode", () => {
  test("the server renders no Jinja when the workspace is not trusted", async () => {
    const ws = copyExample();
    const client = await LspClient.ready(ws.root);
    try {
      const result = await client.connection.sendRequest(CompileRequest, { uri: uri(path.join(ws.root, "models/marts/fct_orders.sql")) });
      assert.equal(result.ok, false);
      assert.match(result.ok ? "" : result.message, /trusted workspace/);
      const preview = await client.connection.sendRequest(PreviewRequest, { uri: uri(path.join(ws.root, "models/marts/fct_orders.sql")), sql: "select 1" });
      assert.equal(preview.ok, false);
    } finally {
      await client.stop();
      ws.dispose();
    }
  });
});
