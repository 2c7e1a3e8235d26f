/**
 * safe(), the wrapper of every request handler: it yields before working, so a cancellation that
 * comes right after the request (before the next turn of the event loop) answers RequestCancelled
 * without the work; an exception, thrown or rejected, is logged and answered with the fallback.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from "vscode-languageserver";
import { safe } from "../../server/src/features/safe";

describe("safe()", () => {
  test("a request cancelled after the call but before the yield answers -32800 and does no work", async () => {
    const source = new CancellationTokenSource();
    let ran = false;
    const logs: string[] = [];
    const answer = safe((m) => logs.push(m), "graph", source.token, "fallback", () => {
      ran = true;
      return "done";
    });
    source.cancel();
    const result = await answer;
    assert.ok(result instanceof ResponseError);
    assert.equal(result.code, LSPErrorCodes.RequestCancelled);
    assert.equal(ran, false);
    assert.deepEqual(logs, []);
  });

  test("the work runs on a later turn of the event loop, not within the call", async () => {
    let ran = false;
    const answer = safe(() => undefined, "graph", new CancellationTokenSource().token, 0, () => {
      ran = true;
      return 1;
    });
    assert.equal(ran, false);
    assert.equal(await answer, 1);
    assert.equal(ran, true);
  });

  test("a thrown error is logged with the request's name and answered with the fallback", async () => {
    const logs: string[] = [];
    const result = await safe((m) => logs.push(m), "plan", undefined, { error: "fallback" }, () => {
      throw new TypeError("params.ids.filter is not a function");
    });
    assert.deepEqual(result, { error: "fallback" });
    assert.equal(logs.length, 1);
    assert.match(logs[0], /^plan failed: TypeError: params\.ids\.filter is not a function\n\s+at /);
  });

  test("a rejected promise is logged and answered with the fallback", async () => {
    const logs: string[] = [];
    const result = await safe((m) => logs.push(m), "compile", undefined, "fallback", () => Promise.reject(new Error("renderer broke")));
    assert.equal(result, "fallback");
    assert.match(logs[0], /^compile failed: Error: renderer broke/);
  });

  test("a cancellation after the work started does not replace its answer (the feature decides)", async () => {
    const source = new CancellationTokenSource();
    const result = await safe(() => undefined, "preview", source.token, "fallback", async () => {
      source.cancel();
      await new Promise((r) => setTimeout(r, 1));
      return "cancelled by the feature";
    });
    assert.equal(result, "cancelled by the feature");
  });
});
