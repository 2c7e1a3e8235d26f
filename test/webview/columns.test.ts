/**
 * Column lineage in the lineage panel (real headless Chromium): "Show columns" on an asset asks
 * for the column lineage, the drawer lists the columns, clicking one marks the assets on its path.
 * The lineage sent is the real one of the example (compiled and analyzed with DuckDB's parser).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { columnLineage } from "../../server/src/columns/lineage";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import type { ColumnLineageMap } from "../../server/src/protocol/sql";
import { RunContext } from "../../server/src/run/context";
import { columnPath } from "../../webview/src/columnsView";
import { EXAMPLE } from "../helpers/workspace";
import { exampleGraph } from "./fixtures";
import { startHarness, type Harness } from "./harness";

let harness: Harness;
let lineage: ColumnLineageMap;

before(async () => {
  const index = new WorkspaceIndex({ roots: [EXAMPLE] });
  index.load();
  lineage = await columnLineage(new RunContext(index, EXAMPLE), undefined);
  harness = await startHarness();
});

after(async () => {
  await harness?.close();
});

test("columnPath follows a column up to the seeds and down to its readers", () => {
  const path = columnPath(lineage, "fct_orders", "amount");
  assert.deepEqual(path.upstream, [{ asset: "stg_payments", column: "amount" }, { asset: "raw_payments", column: "amount" }]);
  assert.deepEqual(path.downstream, [{ asset: "customers", column: "lifetime_value" }]);
  assert.deepEqual([...path.assets].sort(), ["customers", "fct_orders", "raw_payments", "stg_payments"]);
});

test("Show columns opens the drawer; clicking a column marks the assets on its path", async () => {
  const p = await harness.open({ theme: "dark" });
  await p.sendAndDraw(exampleGraph());
  await p.clearPosted();
  await p.node("fct_orders").click({ button: "right" });
  await p.page.click('.menu button[data-item="columns"]');
  const request = await p.waitForPosted("requestColumns");
  assert.ok(request.ids.includes("fct_orders") && request.ids.includes("customers"), request.ids.join(", "));
  assert.match((await p.page.textContent(".columns-drawer"))!, /Loading columns/);
  await p.send({ method: "columns", lineage });
  await p.page.waitForSelector('.columns-drawer button[data-column="amount"]');
  const names = await p.page.$$eval(".columns-drawer .column-name", (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ["order_id", "customer_id", "order_date", "status", "credit_card_amount", "coupon_amount", "bank_transfer_amount", "gift_card_amount", "amount"]);
  await p.page.click('.columns-drawer button[data-column="amount"]');
  const marked = async () => (await p.page.$$eval("g[data-column-path]", (els) => els.map((e) => `${e.getAttribute("data-id")}:${e.getAttribute("data-column-path")}`))).sort();
  assert.deepEqual(await marked(), ["customers:path", "fct_orders:origin", "raw_payments:path", "stg_payments:path"]);
  assert.match((await p.page.textContent(".column-path"))!, /Upstream: stg_payments\.amount, raw_payments\.amount.*Downstream: customers\.lifetime_value/s);
  // The marks survive a redraw (a new graph of the same assets).
  await p.sendAndDraw(exampleGraph({ upstream: 9, downstream: 9 }));
  assert.deepEqual(await marked(), ["customers:path", "fct_orders:origin", "raw_payments:path", "stg_payments:path"]);
  await p.page.click(".columns-close");
  assert.deepEqual(await marked(), []);
  assert.equal(await p.page.isHidden(".columns-drawer"), true);
  assert.deepEqual(await p.cspViolations(), []);
  await p.page.close();
});

test("a model with table-level lineage only says why", async () => {
  const p = await harness.open({ theme: "light" });
  await p.sendAndDraw(exampleGraph());
  await p.node("order_forecast_model").click({ button: "right" });
  await p.page.click('.menu button[data-item="columns"]');
  await p.send({ method: "columns", lineage });
  await p.page.waitForFunction(() => /Table-level lineage only/.test(document.querySelector(".columns-drawer")?.textContent ?? ""));
  assert.match((await p.page.textContent(".columns-drawer"))!, /not stored as a table/);
  await p.page.close();
});
