/**
 * The lineage panel never waits silently: in real headless Chromium, a layout worker
 * that never starts, hangs, cannot be fetched or fails; an extension that reports an error or never
 * answers. Each ends in an error with a Retry button (never "Laying out…" for ever), reported to
 * the extension with `panelError`; Retry starts a fresh worker, asks for the graph again and draws.
 * Build first: `node scripts/build.mjs`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import type { PanelErrorMessage } from "../../server/src/protocol/webview";
import { exampleGraph } from "./fixtures";
import { startHarness, type Harness, type PanelPage } from "./harness";

const REAL_WORKER = readFileSync(path.resolve(__dirname, "../../dist/layout-worker.js"), "utf8");
/** Says it started (as the real worker does), then never answers a layout: ELK stuck. */
const STUCK_WORKER = `self.postMessage({ type: "ready" }); self.addEventListener("message", () => {});`;
/** Answers every layout with an error. */
const FAILING_WORKER = `self.postMessage({ type: "ready" }); self.addEventListener("message", (e) => self.postMessage({ type: "error", id: e.data.id, message: "ELK rejected the graph" }));`;

let harness: Harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.close();
});

const state = (p: PanelPage): Promise<{ busy: string | undefined; error: string | undefined; errorShown: boolean; retryShown: boolean; busyShown: boolean; nodes: number }> =>
  p.page.evaluate(() => {
    // (No named helper functions in here: the test's transpiler would wrap them in a helper the page lacks.)
    const [errorShown, retryShown, busyShown] = [".panel-error", '.panel-error button[data-action="retry"]', ".busy"].map((selector) => {
      const el = document.querySelector<HTMLElement>(selector);
      return !!el && !el.hidden && el.getClientRects().length > 0;
    });
    return { busy: document.body.dataset.busy, error: document.body.dataset.error, errorShown, retryShown, busyShown, nodes: document.querySelectorAll("g.node").length };
  });

async function panelErrors(p: PanelPage): Promise<PanelErrorMessage[]> {
  return (await p.posted()).filter((m): m is PanelErrorMessage => m.method === "panelError");
}

/** Clicks Retry, checks that the extension is asked again, and that the graph is then drawn. */
async function retryAndDraw(p: PanelPage): Promise<void> {
  await p.clearPosted();
  const seq = await p.renderSeq();
  await p.page.locator('.panel-error button[data-action="retry"]').click();
  const retry = await p.waitForPosted("retry");
  // The extension answers a retry with the graph again (here: the same one), then the request.
  await p.send(exampleGraph());
  await p.answer(retry, null);
  await p.waitForDraw(seq, 60_000);
  const after = await state(p);
  assert.equal(after.error, undefined);
  assert.equal(after.errorShown, false);
  assert.equal(after.busyShown, false);
  assert.equal(after.nodes, 11);
}

test("a layout worker whose script never runs: an error with Retry instead of 'Laying out…' for ever; Retry with a working script draws", async () => {
  const url = harness.setScript("never-starts", "");
  const p = await harness.open({ workerUrl: url });
  await p.send(exampleGraph());
  const error = await p.waitForError();
  assert.match(error, /cannot lay out the graph: the layout of \d+ boxes did not finish in \d+ s/);
  assert.match(error, /never started|fetching its script/);
  const shown = await state(p);
  assert.equal(shown.busy, "false");
  assert.equal(shown.busyShown, false, "no 'Laying out…' badge left");
  assert.ok(shown.errorShown && shown.retryShown, "the error and its Retry button are visible");
  assert.equal(await p.page.locator(".panel-error .error-text").textContent(), error);
  const reported = await panelErrors(p);
  assert.equal(reported.length, 1);
  assert.equal(reported[0].phase, "layout");
  assert.equal(reported[0].message, error);

  // Retry fetches the worker's script again: now a working one.
  harness.setScript("never-starts", REAL_WORKER);
  await retryAndDraw(p);
  await p.page.close();
});

test("a worker stuck in a layout: the error names ELK, and Retry starts a fresh worker", async () => {
  const url = harness.setScript("stuck", STUCK_WORKER);
  const p = await harness.open({ workerUrl: url });
  await p.send(exampleGraph());
  const error = await p.waitForError();
  assert.match(error, /did not finish in \d+ s \(ELK/);
  assert.equal((await state(p)).busyShown, false);
  assert.equal((await panelErrors(p))[0]?.phase, "layout");
  harness.setScript("stuck", REAL_WORKER);
  await retryAndDraw(p);
  await p.page.close();
});

test("a worker script that cannot be loaded (HTTP 404) and a layout that fails: errors with their reason, at once", async () => {
  const missing = harness.setScript("missing", null);
  const p = await harness.open({ workerUrl: missing });
  await p.send(exampleGraph());
  assert.equal(await p.waitForError(), "cannot lay out the graph: cannot load the layout worker (HTTP 404)");
  assert.equal((await state(p)).busyShown, false);
  await p.page.close();

  const failing = harness.setScript("failing", FAILING_WORKER);
  const q = await harness.open({ workerUrl: failing });
  await q.send(exampleGraph());
  assert.equal(await q.waitForError(), "cannot lay out the graph: layout failed: ELK rejected the graph");
  const reported = await panelErrors(q);
  assert.deepEqual(reported.map((m) => m.phase), ["layout"]);
  await q.page.close();
});

test("the extension's error is shown with Retry, which asks the extension again; 'waiting' says what the panel waits for", async () => {
  const p = await harness.open();
  await p.send({ method: "waiting", message: "Waiting for the Tributary language server to start\u2026" });
  await p.page.locator(".empty", { hasText: "Waiting for the Tributary language server" }).waitFor({ state: "visible" });
  await p.send({ method: "hostError", message: "cannot get the lineage graph: tributary/neighbourhood did not answer in 8 s" });
  assert.equal(await p.waitForError(), "cannot get the lineage graph: tributary/neighbourhood did not answer in 8 s");
  // The extension logged it already: the panel does not report it back.
  assert.deepEqual(await panelErrors(p), []);
  await retryAndDraw(p);
  await p.page.close();
});

test("an extension that never answers `ready`: after a while the panel says so, with Retry", async () => {
  const p = await harness.open({ answerReady: false });
  const error = await p.waitForError(60_000);
  assert.match(error, /^the Tributary extension did not answer in \d+ s \(ready\)$/);
  assert.deepEqual((await panelErrors(p)).map((m) => m.phase), ["answer"]);
  await retryAndDraw(p);
  await p.page.close();
});

test("the same graph sent many times in a row while the worker starts is laid out and drawn once settled", async () => {
  const p = await harness.open();
  const seq = await p.renderSeq();
  for (let i = 0; i < 12; i++) await p.send(exampleGraph());
  await p.waitForDraw(seq, 60_000);
  await p.page.waitForFunction(() => document.body.dataset.busy === "false");
  const s = await state(p);
  assert.equal(s.nodes, 11);
  assert.equal(s.error, undefined);
  await p.page.close();
});
