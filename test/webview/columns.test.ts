/**
 * Column lineage in the lineage panel (real headless Chromium): an asset expands in place into its
 * columns (its box grows, the layout gives it room), clicking a column highlights its rows upstream
 * and downstream with column-to-column edges and dims the rest, the same action collapses it, and
 * a workspace without column lineage (Restricted Mode: an empty map) says so in the box. The
 * lineage sent is the real one of the example (compiled and analyzed with DuckDB's parser).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { columnLineage } from "../../server/src/columns/lineage";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import type { ColumnLineageMap } from "../../server/src/protocol/sql";
import { RunContext } from "../../server/src/run/context";
import { columnPath } from "../../webview/src/columnsView";
import { COLUMN_ROW_H, NODE_H } from "../../webview/src/overview";
import { EXAMPLE } from "../helpers/workspace";
import { exampleGraph } from "./fixtures";
import { startHarness, type Harness, type PanelPage } from "./harness";

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

const FCT_ORDERS_COLUMNS = ["order_id", "customer_id", "order_date", "status", "credit_card_amount", "coupon_amount", "bank_transfer_amount", "gift_card_amount", "amount"];

test("columnPath follows a column up to the seeds and down to its readers, with the edges between them", () => {
  const path = columnPath(lineage, "fct_orders", "amount");
  assert.deepEqual(path.upstream, [{ asset: "stg_payments", column: "amount" }, { asset: "raw_payments", column: "amount" }]);
  assert.deepEqual(path.downstream, [{ asset: "customers", column: "lifetime_value" }]);
  assert.deepEqual([...path.assets].sort(), ["customers", "fct_orders", "raw_payments", "stg_payments"]);
  assert.deepEqual(path.edges.map((e) => `${e.from.asset}.${e.from.column}->${e.to.asset}.${e.to.column}`).sort(), [
    "fct_orders.amount->customers.lifetime_value",
    "raw_payments.amount->stg_payments.amount",
    "stg_payments.amount->fct_orders.amount",
  ]);
});

/** The column rows drawn in an asset's box. */
const rowsOf = (p: PanelPage, id: string) => p.page.$$eval(`g[data-id="${id}"] g.column-row`, (els) => els.map((e) => e.getAttribute("data-column")));
/** Every marked row, as `asset.column:mark`. */
const markedRows = async (p: PanelPage) =>
  (await p.page.$$eval("g.column-row[data-column-path]", (els) => els.map((e) => `${e.closest("[data-id]")!.getAttribute("data-id")}.${e.getAttribute("data-column")}:${e.getAttribute("data-column-path")}`))).sort();
const columnEdges = async (p: PanelPage) => (await p.page.$$eval("path.column-edge", (els) => els.map((e) => `${e.getAttribute("data-from")}->${e.getAttribute("data-to")}`))).sort();
const bodyHeight = async (p: PanelPage, id: string) => Number(await p.page.getAttribute(`g[data-id="${id}"] rect.body`, "height"));
/** Pairs of asset boxes that overlap on screen (none when the layout made room). */
const overlaps = (p: PanelPage) =>
  p.page.$$eval("g[data-kind='node']", (els) => {
    const boxes = els.map((e) => ({ id: e.getAttribute("data-id"), r: e.querySelector("rect.body")!.getBoundingClientRect() }));
    const out: string[] = [];
    for (const a of boxes) for (const b of boxes) if (a.id! < b.id! && a.r.left < b.r.right && b.r.left < a.r.right && a.r.top < b.r.bottom && b.r.top < a.r.bottom) out.push(`${a.id}/${b.id}`);
    return out;
  });
/** Waits for the panel to settle after a relayout (nothing busy, the last draw painted). */
async function settled(p: PanelPage, since: number): Promise<void> {
  await p.waitForDraw(since);
}

test("an asset expands into exactly its columns; a column highlights its path across expanded assets; the same action collapses", async () => {
  const p = await harness.open({ theme: "dark" });
  await p.sendAndDraw(exampleGraph());
  await p.clearPosted();
  assert.deepEqual(await p.page.$$eval("g.column-row", (els) => els.length), 0);
  let seq = await p.renderSeq();
  await p.node("fct_orders").click({ button: "right" });
  assert.equal(await p.page.textContent('.menu button[data-item="columns"]'), "Expand columns");
  await p.page.click('.menu button[data-item="columns"]');
  const request = await p.waitForPosted("requestColumns");
  assert.ok(request.ids.includes("fct_orders") && request.ids.includes("customers"), request.ids.join(", "));
  await settled(p, seq);
  assert.match((await p.page.textContent('g[data-id="fct_orders"] .columns-note'))!, /Loading columns/);

  seq = await p.renderSeq();
  await p.answer(request, lineage);
  await settled(p, seq);
  await p.page.waitForSelector('g[data-id="fct_orders"] g.column-row[data-column="amount"]');
  assert.deepEqual(await rowsOf(p, "fct_orders"), FCT_ORDERS_COLUMNS);
  // The box grew a row per column and the layout gave it room; the other assets stay collapsed.
  assert.equal(await bodyHeight(p, "fct_orders"), NODE_H + FCT_ORDERS_COLUMNS.length * COLUMN_ROW_H + 6);
  assert.equal(await bodyHeight(p, "customers"), NODE_H);
  assert.deepEqual(await rowsOf(p, "customers"), []);
  assert.deepEqual(await overlaps(p), []);

  // Clicking a column expands the drawn assets on its path and marks exactly its rows.
  seq = await p.renderSeq();
  await p.page.click('g[data-id="fct_orders"] g.column-row[data-column="amount"]');
  await settled(p, seq);
  await p.page.waitForSelector("path.column-edge");
  assert.deepEqual(await markedRows(p), ["customers.lifetime_value:downstream", "fct_orders.amount:origin", "raw_payments.amount:upstream", "stg_payments.amount:upstream"]);
  assert.deepEqual(await columnEdges(p), ["fct_orders.amount->customers.lifetime_value", "raw_payments.amount->stg_payments.amount", "stg_payments.amount->fct_orders.amount"]);
  for (const id of ["customers", "raw_payments", "stg_payments"]) assert.ok((await rowsOf(p, id)).length > 1, `${id} expanded`);
  assert.deepEqual(await rowsOf(p, "customers"), lineage.customers.columns.map((c) => c.name));
  assert.deepEqual(await overlaps(p), []);
  // Each column edge runs from its source row's right side to its target row's left side.
  const geometry = await p.page.$$eval("path.column-edge", (els) => els.map((e) => {
    const [from, to] = [e.getAttribute("data-from")!, e.getAttribute("data-to")!].map((ref) => {
      const dot = ref.indexOf(".");
      return document.querySelector(`g[data-id="${ref.slice(0, dot)}"] g.column-row[data-column="${ref.slice(dot + 1)}"] rect`)!.getBoundingClientRect();
    });
    const r = e.getBoundingClientRect();
    return { from: e.getAttribute("data-from"), ok: Math.abs(r.left - from.right) < 6 && Math.abs(r.right - to.left) < 12 && r.top >= Math.min(from.top, to.top) - 2 && r.bottom <= Math.max(from.bottom, to.bottom) + 2 };
  }));
  assert.ok(geometry.every((g) => g.ok), JSON.stringify(geometry));
  // The rest is dimmed: the graph is in column focus, and assets off the path are not marked.
  assert.equal(await p.page.$eval("svg.graph", (e) => e.classList.contains("column-focus")), true);
  const offPath = await p.page.$$eval("g[data-kind='node']:not([data-column-path])", (els) => els.map((e) => getComputedStyle(e).opacity));
  assert.ok(offPath.length > 0 && offPath.every((o) => Number(o) < 1), offPath.join(","));
  assert.equal(await p.page.$eval('g[data-id="fct_orders"]', (e) => getComputedStyle(e).opacity), "1");

  // A column row has its own tooltip (where it comes from), not the asset's.
  assert.match((await p.page.textContent('g[data-id="fct_orders"] g.column-row[data-column="amount"] title'))!, /^ƒ stg_payments\.amount$/);
  await p.page.hover('g[data-id="fct_orders"] g.column-row[data-column="amount"]');
  await p.page.waitForTimeout(600); // past the asset tooltip's delay
  assert.equal(await p.page.isHidden(".tooltip"), true);
  await p.page.hover('g[data-id="fct_orders"] text.label');
  await p.page.waitForSelector(".tooltip:not([hidden])");
  await p.page.mouse.move(1, 400);

  // Keyboard: Enter on a focused row selects another column (its path replaces the first one)...
  await p.page.focus('g[data-id="fct_orders"] g.column-row[data-column="customer_id"]');
  seq = await p.renderSeq();
  await p.page.keyboard.press("Enter");
  // Its path reaches assets not expanded yet (the orders branch): they expand, and their rows are marked.
  await settled(p, seq);
  const customerPath = columnPath(lineage, "fct_orders", "customer_id");
  assert.ok(customerPath.upstream.some((r) => r.asset === "stg_orders"), JSON.stringify(customerPath.upstream));
  assert.deepEqual(await markedRows(p), [
    "fct_orders.customer_id:origin",
    ...customerPath.upstream.map((r) => `${r.asset}.${r.column}:upstream`),
    ...customerPath.downstream.map((r) => `${r.asset}.${r.column}:downstream`),
  ].sort());
  assert.equal((await columnEdges(p)).length, new Set(customerPath.edges.map((e) => `${e.from.asset}.${e.from.column}->${e.to.asset}.${e.to.column}`)).size);
  assert.equal(await p.page.getAttribute('g[data-id="fct_orders"] g.column-row[data-column="customer_id"]', "data-column-path"), "origin");
  assert.equal(await p.page.getAttribute('g[data-id="fct_orders"] g.column-row[data-column="customer_id"]', "aria-pressed"), "true");
  assert.ok(!(await markedRows(p)).includes("fct_orders.amount:origin"));
  // ...and Enter again on it clears the highlight; so does Escape.
  await p.page.keyboard.press("Enter");
  assert.deepEqual(await markedRows(p), []);
  assert.deepEqual(await columnEdges(p), []);
  assert.equal(await p.page.$eval("svg.graph", (e) => e.classList.contains("column-focus")), false);
  await p.page.keyboard.press("Enter");
  assert.equal((await markedRows(p)).length > 0, true);
  await p.page.keyboard.press("Escape");
  assert.deepEqual(await markedRows(p), []);
  assert.deepEqual(await columnEdges(p), []);

  // The same action collapses: the context-menu key on the asset, then its last item.
  await p.node("fct_orders").focus();
  await p.page.keyboard.press("Shift+F10");
  assert.equal(await p.page.textContent('.menu button[data-item="columns"]'), "Collapse columns");
  seq = await p.renderSeq();
  await p.page.keyboard.press("ArrowUp");
  assert.equal(await p.page.evaluate(() => (document.activeElement as HTMLElement).dataset.item), "columns");
  await p.page.keyboard.press("Enter");
  await settled(p, seq);
  assert.deepEqual(await rowsOf(p, "fct_orders"), []);
  assert.equal(await bodyHeight(p, "fct_orders"), NODE_H);
  assert.ok((await rowsOf(p, "customers")).length > 1, "the other expanded assets stay expanded");
  assert.deepEqual(await p.cspViolations(), []);
  await p.page.close();
});

test("a new graph asks for the lineage again and keeps the path; expanded assets survive the panel being hidden", async () => {
  const p = await harness.open({ theme: "light" });
  await p.sendAndDraw(exampleGraph());
  await p.node("stg_payments").click({ button: "right" });
  await p.page.click('.menu button[data-item="columns"]');
  await p.answer(await p.waitForPosted("requestColumns"), lineage);
  await p.page.waitForSelector('g[data-id="stg_payments"] g.column-row[data-column="amount"]');
  const seq = await p.renderSeq();
  await p.page.click('g[data-id="stg_payments"] g.column-row[data-column="amount"]');
  await settled(p, seq);
  await p.page.waitForSelector("path.column-edge");
  const before = await markedRows(p);
  assert.ok(before.includes("stg_payments.amount:origin") && before.includes("fct_orders.amount:downstream"), before.join(", "));
  // A new graph (the workspace changed) asks for the lineage again, and the marks stay.
  await p.clearPosted();
  await p.sendAndDraw(exampleGraph({ upstream: 9, downstream: 9 }));
  const again = await p.waitForPosted("requestColumns");
  assert.ok(again.ids.includes("stg_payments") && again.ids.includes("customers"), again.ids.join(", "));
  assert.deepEqual(await markedRows(p), before);
  assert.ok((await columnEdges(p)).includes("stg_payments.amount->fct_orders.amount"));
  // The panel hidden and shown again (page reloaded): the expanded assets come back expanded.
  const expanded = (await p.page.$$eval("g[data-kind='node']", (els) => els.filter((e) => e.querySelector("g.columns")).map((e) => e.getAttribute("data-id") ?? ""))).sort();
  assert.ok(expanded.includes("stg_payments") && expanded.includes("customers"), expanded.join(", "));
  await p.page.waitForTimeout(400); // the state is saved a moment after the last change
  await p.page.reload();
  await p.answer(await p.waitForPosted("ready"), null);
  const asked = await p.waitForPosted("requestColumns");
  assert.ok(expanded.every((id) => asked.ids.includes(id)), asked.ids.join(", "));
  await p.answer(asked, lineage);
  await p.page.waitForSelector('g[data-id="stg_payments"] g.column-row[data-column="amount"]');
  await p.page.waitForFunction(() => document.body.dataset.busy !== "true");
  await p.page.waitForFunction((n) => document.querySelectorAll("g[data-kind='node'] g.columns").length === n, expanded.length);
  assert.deepEqual((await p.page.$$eval("g[data-kind='node']", (els) => els.filter((e) => e.querySelector("g.columns")).map((e) => e.getAttribute("data-id")))).sort(), expanded);
  assert.deepEqual(await rowsOf(p, "stg_payments"), lineage.stg_payments.columns.map((c) => c.name));
  await p.page.close();
});

test("without column lineage (Restricted Mode: an empty map) an expanded asset says so; table-level assets say why", async () => {
  const p = await harness.open({ theme: "hc" });
  await p.sendAndDraw(exampleGraph());
  let seq = await p.renderSeq();
  await p.node("fct_orders").click({ button: "right" });
  await p.page.click('.menu button[data-item="columns"]');
  const first = await p.waitForPosted("requestColumns");
  await settled(p, seq);
  seq = await p.renderSeq();
  await p.answer(first, {});
  await settled(p, seq);
  await p.page.waitForFunction(() => /No column lineage/.test(document.querySelector('g[data-id="fct_orders"] .columns-note')?.textContent ?? ""));
  assert.deepEqual(await rowsOf(p, "fct_orders"), []);
  assert.equal(await bodyHeight(p, "fct_orders"), NODE_H + COLUMN_ROW_H + 6);
  assert.deepEqual(await columnEdges(p), []);
  assert.equal(await p.page.evaluate(() => document.body.dataset.error ?? null), null);

  // With the lineage, an asset with table-level lineage only says why in its box.
  await p.clearPosted();
  await p.node("order_forecast_model").click({ button: "right" });
  await p.page.click('.menu button[data-item="columns"]');
  await p.answer(await p.waitForPosted("requestColumns"), lineage);
  await p.page.waitForFunction(() => /Table-level only/.test(document.querySelector('g[data-id="order_forecast_model"] .columns-note')?.textContent ?? ""));
  assert.match((await p.page.textContent('g[data-id="order_forecast_model"] .columns-note title'))!, /not stored as a table/);
  assert.deepEqual(await rowsOf(p, "order_forecast_model"), []);
  assert.deepEqual(await p.cspViolations(), []);
  await p.page.close();
});
