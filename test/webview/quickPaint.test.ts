/**
 * The panel's first paint while the layout worker is still loading: a main-thread layout
 * (quickLayout.ts) is drawn at once, ELK's replaces it. Real headless Chromium, the worker's
 * script held back with a route.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { canQuickLayout, quickLayout } from "../../webview/src/quickLayout";
import { exampleGraph } from "./fixtures";
import { startHarness, type Harness } from "./harness";

let harness: Harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.close();
});

test("quickLayout: layers left to right by longest path, no two boxes overlap, edges run from source to target", () => {
  const nodes = ["a", "b", "c", "d", "e"].map((id) => ({ id, w: 200, h: 50 }));
  const edges = [["a", "b"], ["b", "c"], ["a", "c"], ["d", "c"], ["c", "e"]].map(([from, to], i) => ({ id: `e${i}`, from, to }));
  const input = { nodes, edges };
  assert.ok(canQuickLayout(input));
  assert.equal(canQuickLayout({ nodes: [{ id: "g", w: 1, h: 1 }, { id: "x", w: 1, h: 1, parent: "g" }], edges: [] }), false, "group boxes wait for ELK");
  const out = quickLayout(input);
  const x = (id: string) => out.nodes[id].x;
  assert.ok(x("a") < x("b") && x("b") < x("c") && x("c") < x("e"));
  assert.equal(x("d"), x("a"), "roots share the first layer");
  const boxes = Object.values(out.nodes);
  for (const [i, p] of boxes.entries()) for (const q of boxes.slice(i + 1)) assert.ok(p.x + p.w <= q.x || q.x + q.w <= p.x || p.y + p.h <= q.y || q.y + q.h <= p.y, "overlap");
  const route = Array.from(out.edges.e0);
  assert.deepEqual([route[0], route.at(-2)], [out.nodes.a.x + out.nodes.a.w, out.nodes.b.x]);
  for (const b of boxes) assert.ok(b.x + b.w <= out.width && b.y + b.h <= out.height);
});

test("cold start: while the layout worker is still loading, the graph is painted from a main-thread layout, then ELK's", async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const p = await harness.open({
    beforeLoad: async (page) => {
      await page.route("**/layout-worker.js", async (route) => {
        await held;
        await route.continue();
      });
    },
  });
  const graph = exampleGraph();
  const seq = await p.renderSeq();
  await p.send(graph);
  await p.page.waitForFunction(() => document.body.dataset.quickPaintMs !== undefined, null, { timeout: 30_000 });
  assert.equal(await p.renderSeq(), seq, "ELK's draw has not happened: the worker is held back");
  const quickIds = (await p.drawnIds()).sort();
  const quickEdges = await p.page.locator("path.edge").count();
  assert.ok(quickIds.includes("fct_orders") && quickEdges > 0);
  // Left to right: an asset is drawn right of its upstreams.
  const x = async (id: string) => Number(/translate\(([-\d.e]+)/.exec((await p.node(id).getAttribute("transform")) ?? "")![1]);
  assert.ok((await x("stg_orders")) > (await x("raw_orders")) && (await x("fct_orders")) > (await x("stg_orders")));
  release();
  await p.waitForDraw(seq, 60_000);
  assert.deepEqual((await p.drawnIds()).sort(), quickIds, "the same assets as ELK's drawing");
  assert.equal(await p.page.locator("path.edge").count(), quickEdges);
  assert.deepEqual(await p.cspViolations(), []);
  await p.page.close();
});
