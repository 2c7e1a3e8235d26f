/**
 * How the server answers requests, over the real LSP on stdio: the capabilities it announces (the
 * features register themselves; this is the list the client sees), a request whose cancel comes
 * with it answers RequestCancelled (-32800) without its work (that the yield lets a cancel arriving
 * just after the request count too is test/unit/safe.test.ts), and a handler that throws is
 * logged and answered while the server keeps serving.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DiagnosticsRequest, GraphRequest, PlanRequest, RefreshRequest, type PlanParams } from "../../server/src/protocol/requests";
import { serveCopy } from "../helpers/lspClient";

describe("request handling", () => {
  const served = serveCopy();

  test("the initialize result announces exactly the features' capabilities", () => {
    assert.deepEqual(served.client.initializeResult, {
      capabilities: {
        textDocumentSync: { openClose: true, change: 2, save: { includeText: false } },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        completionProvider: { triggerCharacters: ["'", '"', "/", ","] },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: "tributary", version: "0.1.0" },
    });
  });

  test("a refresh answers with the index's figures and tells the client the graph changed", async () => {
    const before = served.client.graphChanges;
    const stats = await served.client.connection.sendRequest(RefreshRequest);
    assert.ok(stats.assets >= 11, JSON.stringify(stats));
    assert.equal(served.client.graphChanges, before + 1);
  });

  test("a refresh whose cancel comes with it answers -32800 and does not re-index", async () => {
    const before = served.client.graphChanges;
    served.client.sendRaw([
      { id: "raw-refresh", method: RefreshRequest.method },
      { method: "$/cancelRequest", params: { id: "raw-refresh" } },
    ]);
    const answer = await served.client.waitFor(() => served.client.rawAnswers.get("raw-refresh"), 10_000, "the refresh's answer");
    assert.equal(answer.error?.code, -32800, JSON.stringify(answer));
    assert.equal(answer.result, undefined);
    // The server answers in order: had the refresh run, its graphChanged notification would have come before this answer.
    await served.client.connection.sendRequest(DiagnosticsRequest);
    assert.equal(served.client.graphChanges, before, "the cancelled refresh did not re-index");
  });

  test("a handler that throws is logged and answered with its failure, and the server keeps serving", async () => {
    const logged = served.client.logs.length;
    const bad = { ids: 42 } as unknown as PlanParams;
    const result = await served.client.connection.sendRequest(PlanRequest, bad);
    assert.deepEqual(result, { error: { column: 1, message: "the server failed to plan" } });
    const failure = await served.client.waitFor(() => served.client.logs.slice(logged).find((m) => m.startsWith("plan failed: TypeError")), 5_000, "the failure in the log");
    assert.match(failure, /\n\s+at /, "the log carries the stack");
    const graph = await served.client.connection.sendRequest(GraphRequest);
    assert.ok(graph.nodes.length >= 11);
    const plan = await served.client.connection.sendRequest(PlanRequest, { selection: "fct_orders" });
    assert.ok("plan" in plan, JSON.stringify(plan));
    assert.ok(served.client.alive);
  });
});
