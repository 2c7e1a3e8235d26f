/**
 * The lineage panel's pure modules in Node: the protocol guard, what is drawn (visible set, grouped
 * overview), and the ELK graph conversion with real elkjs (the same code the layout worker runs).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import ELK from "elkjs/lib/elk.bundled.js";
import { isHostMessage, isPanelMessage, isPanelRequest } from "../../server/src/protocol/webview";
import { fromElk, pack, toElk, unpack } from "../../webview/src/elkGraph";
import { contentSecurityPolicy, panelHtml } from "../../extension/src/panelHtml";
import { shapeHash } from "../../webview/src/layout";
import { GraphModel } from "../../webview/src/model";
import { buildView, groupAssets, toLayoutInput } from "../../webview/src/overview";
import { exampleGraph, generatedGraph } from "./fixtures";

test("isPanelMessage accepts the panel's messages and rejects malformed ones", () => {
  assert.ok(isPanelMessage({ method: "ready", requestId: 1 }));
  assert.ok(isPanelMessage({ method: "materialize", ids: ["a", "b"], mode: "upstream" }));
  assert.ok(isPanelMessage({ method: "requestNeighbourhood", requestId: 2, ids: ["a"], upstream: 2, downstream: 0 }));
  assert.ok(isPanelMessage({ method: "setPin", requestId: 3, id: null }));
  assert.ok(!isPanelMessage({ method: "materialize", ids: ["a"], mode: "everything" }));
  assert.ok(!isPanelMessage({ method: "materialize", ids: "a", mode: "only" }));
  assert.ok(!isPanelMessage({ method: "requestNeighbourhood", requestId: 2, ids: ["a"], upstream: -1, downstream: 0 }));
  assert.ok(!isPanelMessage({ method: "openAsset" }));
  assert.ok(!isPanelMessage({ method: "toString" }));
  assert.ok(!isPanelMessage(null));
  assert.ok(!isPanelMessage("ready"));
  // A request without its id (or with one that is not a count) cannot be answered: rejected.
  assert.ok(!isPanelMessage({ method: "ready" }));
  assert.ok(!isPanelMessage({ method: "search", selection: "x" }));
  assert.ok(!isPanelMessage({ method: "search", requestId: "1", selection: "x" }));
  assert.ok(!isPanelMessage({ method: "expand", requestId: -1, id: "a" }));
  assert.ok(isPanelRequest({ method: "search", requestId: 4, selection: "x" }));
  assert.ok(!isPanelRequest({ method: "openAsset", id: "a" }));
  assert.ok(isHostMessage(exampleGraph()));
  assert.ok(!isHostMessage({ method: "ready", requestId: 1 }));
  assert.ok(isHostMessage({ method: "response", requestId: 4, result: null }));
  assert.ok(isHostMessage({ method: "response", requestId: 4, error: { message: "x" } }));
  assert.ok(!isHostMessage({ method: "response", result: null }));
  // Errors and Retry: the panel's failures carry a known phase and a reason.
  assert.ok(isPanelMessage({ method: "panelError", phase: "layout", message: "the layout did not finish" }));
  assert.ok(isPanelMessage({ method: "retry", requestId: 5 }));
  assert.ok(!isPanelMessage({ method: "panelError", phase: "everything", message: "x" }));
  assert.ok(!isPanelMessage({ method: "panelError", phase: "draw" }));
  assert.ok(isHostMessage({ method: "waiting", message: "Reading the workspace\u2026" }));
  assert.ok(isHostMessage({ method: "hostError", message: "tributary/neighbourhood did not answer in 15 s" }));
});

test("the neighbourhood follows the depth up and down from the centre", () => {
  const model = GraphModel.from(exampleGraph());
  assert.deepEqual([...model.neighbourhood(["fct_orders"], 0, 0)], ["fct_orders"]);
  assert.deepEqual(new Set(model.neighbourhood(["fct_orders"], 1, 0)), new Set(["fct_orders", "stg_orders", "stg_payments"]));
  assert.deepEqual(new Set(model.neighbourhood(["fct_orders"], 0, 1)), new Set(["fct_orders", "customers", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"]));
  assert.equal(model.neighbourhood(["fct_orders"], 9, 9).size, 11);
});

test("a grouped view has one box per group, lone assets as themselves, edges counted and marked cross-technology", () => {
  const model = GraphModel.from(exampleGraph());
  const view = buildView(model, new Set(model.nodes.keys()), { grouped: true, expanded: new Set() });
  const groups = view.items.filter((i) => i.type === "group");
  // Declared groups (finance, forecasting), else folders; the lone snapshot stays itself.
  assert.deepEqual(groups.map((g) => g.id).sort(), ["group:finance", "group:forecasting", "group:jaffle-forecast/seeds", "group:models/forecasting", "group:models/staging"]);
  assert.ok(view.items.some((i) => i.type === "node" && i.id === "orders_snapshot"));
  const cross = view.edges.filter((e) => e.cross).map((e) => e.id).sort();
  assert.deepEqual(cross, ["group:finance\u2192group:forecasting", "group:forecasting\u2192group:models/forecasting"]);
  assert.equal(view.edges.find((e) => e.id === "group:finance\u2192group:forecasting")?.count, 2);

  const open = buildView(model, new Set(model.nodes.keys()), { grouped: true, expanded: new Set(["forecasting"]) });
  const members = open.items.filter((i) => i.type === "node" && i.parent === "group:forecasting").map((i) => i.id);
  assert.deepEqual(members.sort(), ["forecasting/predicted_orders", "order_forecast_model"]);
  assert.ok(open.edges.some((e) => e.from === "order_forecast_model" && e.to === "forecasting/predicted_orders"));
});

test("5,000 generated assets gather into a few dozen groups", () => {
  const model = GraphModel.from(generatedGraph(5000));
  const groups = groupAssets(model, model.nodes.keys());
  assert.ok(groups.size >= 20 && groups.size <= 120, `${groups.size} groups`);
  assert.equal([...groups.values()].reduce((n, g) => n + g.length, 0), 5000);
});

test("the layout hash changes with the shape and only with it", () => {
  const model = GraphModel.from(exampleGraph());
  const input = toLayoutInput(buildView(model, new Set(model.nodes.keys()), { grouped: false, expanded: new Set() }));
  assert.equal(shapeHash(input), shapeHash(structuredClone(input)));
  const fewer = { ...input, edges: input.edges.slice(1) };
  assert.notEqual(shapeHash(input), shapeHash(fewer));
});

test("ELK's answer becomes absolute boxes and routes from border to border, groups around their assets", async () => {
  const model = GraphModel.from(exampleGraph());
  const view = buildView(model, new Set(model.nodes.keys()), { grouped: true, expanded: new Set(["finance"]) });
  const input = toLayoutInput(view);
  const result = fromElk(await new ELK().layout(toElk(input)), 0);
  const frame = result.nodes["group:finance"];
  for (const id of ["fct_orders", "customers"]) {
    const b = result.nodes[id];
    assert.ok(b.x >= frame.x && b.y >= frame.y && b.x + b.w <= frame.x + frame.w && b.y + b.h <= frame.y + frame.h, `${id} inside its group`);
  }
  for (const e of input.edges) {
    const pts = result.edges[e.id];
    assert.ok(pts && pts.length >= 4, `route of ${e.id}`);
    const from = result.nodes[e.from];
    const to = result.nodes[e.to];
    assert.ok(Math.abs(pts[0] - (from.x + from.w)) < 1, `${e.id} leaves its source's right side`);
    assert.ok(Math.abs(pts[pts.length - 2] - to.x) < 1, `${e.id} enters its target's left side`);
  }
  const boxes = view.items.filter((i) => i.type === "node" || !i.expanded).map((i) => result.nodes[i.id]);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, "boxes do not overlap");
    }
  }
});

test("packing a layout for transfer out of the worker keeps every box and route", async () => {
  const model = GraphModel.from(exampleGraph());
  const input = toLayoutInput(buildView(model, new Set(model.nodes.keys()), { grouped: false, expanded: new Set() }));
  const result = fromElk(await new ELK().layout(toElk(input)), 0);
  const back = unpack(input, pack(input, result));
  assert.deepEqual(back.nodes, result.nodes);
  for (const [id, route] of Object.entries(result.edges)) assert.deepEqual(Array.from(back.edges[id]), route);
});

test("the panel's HTML has a strict CSP: scripts by nonce only, worker from blob:, resources from the webview", () => {
  const csp = contentSecurityPolicy("https://res.example", "abc123");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
  assert.match(csp, /worker-src blob:/);
  assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
  const html = panelHtml({ cspSource: "https://res.example", nonce: "abc123", scriptUri: "https://res.example/webview.js", styleUri: "https://res.example/panel.css", workerUri: "https://res.example/layout-worker.js" });
  assert.match(html, /<script nonce="abc123" src="https:\/\/res.example\/webview.js"><\/script>/);
  assert.match(html, /data-layout-worker="https:\/\/res.example\/layout-worker.js"/);
  assert.doesNotMatch(html, /\son[a-z]+=/i, "no inline event handlers");
});
