/**
 * The panel's requests are paired with the extension's answers by id (protocol/webview.ts), in
 * real headless Chromium: answers that come out of order each reach the request that asked; an
 * error answer is shown with Retry and leaves the other requests alone; an answer nobody waits
 * for is ignored. Build first: `node scripts/build.mjs`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { GraphMessage } from "../../server/src/protocol/webview";
import { exampleData, exampleGraph, examplePlan } from "./fixtures";
import { startHarness, type Harness, type PanelPage } from "./harness";

let harness: Harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.close();
});

/** Four assets around fct_orders; stg_orders has neighbours outside (the panel may ask for them). */
function smallGraph(): GraphMessage {
  const data = exampleData();
  const keep = new Set(["stg_orders", "stg_payments", "fct_orders", "customers"]);
  return exampleGraph({
    data: { nodes: data.nodes.filter((n) => keep.has(n.id)), edges: data.edges.filter((e) => keep.has(e.from) && keep.has(e.to)) },
    truncated: ["stg_orders"],
    upstream: 1,
    downstream: 1,
  });
}

/** What stg_orders' hidden neighbours are (the answer to its `expand`). */
function stgOrdersNeighbours(): { data: GraphMessage["data"]; truncated: string[]; statuses: GraphMessage["statuses"] } {
  const data = exampleData();
  return {
    data: { nodes: data.nodes.filter((n) => n.id === "raw_orders"), edges: data.edges.filter((e) => e.from === "raw_orders" && e.to === "stg_orders") },
    truncated: [],
    statuses: { raw_orders: { state: "fresh" } },
  };
}

const drawn = async (p: PanelPage, selector = "g.node"): Promise<string[]> => (await p.drawnIds(selector)).sort();

async function search(p: PanelPage, selection: string): Promise<void> {
  await p.page.fill('input[data-control="search"]', selection);
  await p.page.press('input[data-control="search"]', "Enter");
}

test("three requests in flight answered in reverse order: each answer reaches the request that asked", async () => {
  const p = await harness.open();
  await p.sendAndDraw(smallGraph());
  await p.clearPosted();
  await p.node("stg_orders").locator("g.expand").click();
  await search(p, "+fct_orders");
  await p.page.click('button[data-action="plan"]');
  const expand = await p.waitForPosted("expand");
  const searched = await p.waitForPosted("search");
  const plan = await p.waitForPosted("requestPlan");
  assert.equal(new Set([expand.requestId, searched.requestId, plan.requestId]).size, 3, "each request has its own id");

  // The plan first, then the search, then the expansion.
  await p.answer(plan, examplePlan());
  await p.page.waitForSelector("g.hull");
  assert.equal(await p.page.locator(".plan-list li").count(), 4);
  await p.answer(searched, { ids: ["stg_orders", "fct_orders"] });
  await p.page.waitForFunction(() => document.querySelectorAll("g.node.match").length === 2);
  assert.deepEqual(await drawn(p, "g.node.match"), ["fct_orders", "stg_orders"]);
  const seq = await p.renderSeq();
  await p.answer(expand, stgOrdersNeighbours());
  await p.waitForDraw(seq);
  assert.deepEqual(await drawn(p), ["customers", "fct_orders", "raw_orders", "stg_orders", "stg_payments"]);
  assert.match((await p.page.textContent(".search-status"))!, /2 matches/);
  assert.equal(await p.page.evaluate(() => document.body.dataset.error ?? null), null);
  await p.page.close();
});

test("an error answer to one request is shown with Retry; the request beside it still gets its answer; stray answers are ignored", async () => {
  const p = await harness.open();
  await p.sendAndDraw(smallGraph());
  await p.clearPosted();
  await search(p, "tag:finance");
  await p.page.click('button[data-action="plan"]');
  const searched = await p.waitForPosted("search");
  const plan = await p.waitForPosted("requestPlan");

  const reason = "cannot answer the panel's search: the Tributary language server is not running";
  await p.answerError(searched, reason);
  assert.equal(await p.waitForError(), reason);
  assert.equal(await p.page.locator('.panel-error button[data-action="retry"]').count(), 1);
  // The search no longer says it is searching; the extension logged the error, the panel does not report it back.
  assert.equal(await p.page.textContent(".search-status"), "");
  assert.deepEqual((await p.posted()).filter((m) => m.method === "panelError"), []);

  // The plan asked beside it is answered and shown.
  await p.answer(plan, examplePlan());
  await p.page.waitForSelector("g.hull");
  assert.equal(await p.page.locator(".plan-list li").count(), 4);

  // An answer to an id nobody waits for (a second answer, an unknown id) changes nothing.
  const nodes = await drawn(p);
  await p.answer(searched, { ids: ["customers"] });
  await p.send({ method: "response", requestId: 999_999, result: null });
  await p.send({ method: "response", requestId: 999_998, error: { message: "not for this panel" } });
  // Messages are handled in order: once a later one shows, the stray answers were handled.
  await p.send({ method: "statuses", statuses: { customers: { state: "failed" } } });
  await p.page.waitForSelector('g[data-id="customers"].status-failed');
  assert.equal(await p.page.locator("g.node.match").count(), 0);
  assert.equal(await p.page.evaluate(() => document.body.dataset.error), reason);
  assert.deepEqual(await drawn(p), nodes);
  assert.deepEqual(p.errors.filter((e) => !e.includes("404")), []);
  await p.page.close();
});
