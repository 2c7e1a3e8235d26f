/**
 * What the lineage panel is sent (extension/src/lineageFeed.ts), against the real language server
 * over stdio on a plain dbt project (test/fixtures/plain-jaffle): every request of the panel is
 * answered by its id — after a graph or `waiting` while the server starts, or with an error with
 * its reason, also logged — also when answers come out of order, and a late graph never
 * overwrites a newer one. Needs dist/server.js (`node scripts/build.mjs`).
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { LineageFeed, type FeedOptions, type FeedServer, type RequestSender, type ServerPhase } from "../../extension/src/lineageFeed";
import type { GraphMessage, HostMessage } from "../../server/src/protocol/webview";
import { LspClient, uri } from "../helpers/lspClient";

const FIXTURE = path.resolve(__dirname, "../fixtures/plain-jaffle");

interface Recorder {
  feed: LineageFeed;
  posted: HostMessage[];
  errors: string[];
  infos: string[];
}

function feedFor(server: FeedServer, activeFile: string | undefined, options: FeedOptions = {}): Recorder {
  const posted: HostMessage[] = [];
  const errors: string[] = [];
  const infos: string[] = [];
  const feed = new LineageFeed(server, {
    post: (m) => posted.push(m),
    log: { info: (m) => infos.push(m), error: (m) => errors.push(m) },
    activeUri: () => (activeFile ? uri(activeFile) : undefined),
    materialize: () => undefined,
    openAsset: () => undefined,
  }, options);
  return { feed, posted, errors, infos };
}

/** The feed's view of a real server: starting until there is one, indexing until its first graphChanged. */
function live(get: () => LspClient | undefined, stopped = false): FeedServer {
  return {
    connection: () => get()?.connection as RequestSender | undefined,
    phase: (): ServerPhase => {
      const client = get();
      if (!client) return stopped ? "stopped" : "starting";
      return client.graphChanges > 0 ? "ready" : "indexing";
    },
  };
}

const graphs = (r: Recorder): GraphMessage[] => r.posted.filter((m): m is GraphMessage => m.method === "graph");
const edgesOf = (g: GraphMessage): string[] => g.data.edges.map((e) => `${e.from} -> ${e.to}`).sort();

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("the lineage panel's feed, with the real language server on a plain dbt project", () => {
  let root: string;
  let orders: string;
  before(() => {
    root = path.join(mkdtempSync(path.join(tmpdir(), "tributary-feed-")), "plain-jaffle");
    cpSync(FIXTURE, root, { recursive: true });
    orders = path.join(root, "models/orders.sql");
  });
  after(() => rmSync(path.dirname(root), { recursive: true, force: true }));

  test("opened before the server is up and while it reads the workspace: 'waiting' saying which, then the graph centred on the active editor's model", async () => {
    let client: LspClient | undefined;
    const r = feedFor(live(() => client), orders);
    await r.feed.onMessage({ method: "ready", requestId: 1 });
    assert.deepEqual(r.posted, [{ method: "waiting", message: "Waiting for the Tributary language server to start\u2026" }, { method: "response", requestId: 1, result: null }]);
    try {
      // Running (initialize answered) but frozen before it reads the workspace: the first index is not done.
      client = await LspClient.start(root, undefined, (c) => process.kill(c.child.pid!, "SIGSTOP"));
      try {
        await r.feed.refresh();
        assert.deepEqual(r.posted.at(-1), { method: "waiting", message: "Reading the workspace\u2026" });
      } finally {
        process.kill(client.child.pid!, "SIGCONT");
      }
      const indexed = client;
      await indexed.waitFor(() => indexed.graphChanges > 0, 30_000, "first index");
      // What the extension does when the server says the graph changed (the end of the first index).
      await r.feed.refresh();
      const [graph] = graphs(r);
      assert.ok(graph, JSON.stringify(r.posted));
      assert.deepEqual(graph.centre, ["orders"]);
      assert.deepEqual(graph.data.nodes.map((n) => n.id).sort(), ["orders", "raw_orders", "raw_payments", "stg_orders", "stg_payments"]);
      assert.deepEqual(edgesOf(graph), ["raw_orders -> stg_orders", "raw_payments -> stg_payments", "stg_orders -> orders", "stg_payments -> orders"]);
      // The staging models also feed customers, which is not shown: the panel may expand them.
      assert.deepEqual([...graph.truncated].sort(), ["stg_orders", "stg_payments"]);
      assert.deepEqual(r.errors, []);
    } finally {
      await client?.stop();
    }
  });

  test("a server that does not answer: an error naming the request, logged; Retry once it answers again draws the graph", async () => {
    const client = await LspClient.ready(root);
    try {
      const r = feedFor(live(() => client), orders, { requestTimeoutMs: 1_500 });
      r.feed.setCentre(["customers"]);
      process.kill(client.child.pid!, "SIGSTOP");
      try {
        await r.feed.onMessage({ method: "ready", requestId: 1 });
      } finally {
        process.kill(client.child.pid!, "SIGCONT");
      }
      assert.deepEqual(r.posted, [{ method: "response", requestId: 1, error: { message: "cannot get the lineage graph: tributary/neighbourhood did not answer in 2 s" } }]);
      assert.deepEqual(r.errors, ["lineage panel: cannot get the lineage graph: tributary/neighbourhood did not answer in 2 s"]);

      await r.feed.onMessage({ method: "retry", requestId: 2 });
      const [graph] = graphs(r);
      assert.ok(graph, JSON.stringify(r.posted));
      assert.deepEqual(r.posted.at(-1), { method: "response", requestId: 2, result: null });
      assert.deepEqual(graph.centre, ["customers"]);
      assert.deepEqual(graph.data.nodes.map((n) => n.id).sort(), ["customers", "raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_orders", "stg_payments"]);
      assert.deepEqual(r.infos, ["lineage panel: retry"]);
    } finally {
      await client.stop();
    }
  });

  test("two refreshes in flight: the older one's late answer is dropped, the newer one is posted", async () => {
    const client = await LspClient.ready(root);
    try {
      const r = feedFor(live(() => client), orders);
      r.feed.setCentre(["orders"]);
      await r.feed.onMessage({ method: "ready", requestId: 1 });
      r.posted.length = 0;
      // Both asked while the server is paused: they are answered in order once it resumes.
      process.kill(client.child.pid!, "SIGSTOP");
      let older: Promise<void>;
      let newer: Promise<void>;
      try {
        older = r.feed.refresh();
        r.feed.setCentre(["customers"]);
        newer = r.feed.refresh();
      } finally {
        process.kill(client.child.pid!, "SIGCONT");
      }
      await Promise.all([older, newer]);
      assert.deepEqual(graphs(r).map((g) => g.centre), [["customers"]]);
      assert.equal(r.posted.length, 1);
    } finally {
      await client.stop();
    }
  });

  test("a server that stopped for good is said at once; one that never comes up is said after a while", async () => {
    const stopped = feedFor(live(() => undefined, true), orders);
    await stopped.feed.onMessage({ method: "ready", requestId: 1 });
    assert.deepEqual(stopped.posted, [{ method: "response", requestId: 1, error: { message: "cannot show the lineage graph: the Tributary language server is not running (see the Tributary output)" } }]);
    assert.equal(stopped.errors.length, 1);

    const never = feedFor(live(() => undefined), orders, { serverWaitMs: 300 });
    await never.feed.onMessage({ method: "ready", requestId: 1 });
    assert.deepEqual(never.posted.map((m) => m.method), ["waiting", "response"]);
    const error = await until("the error", () => never.posted.find((m) => m.method === "hostError"));
    assert.match((error as { message: string }).message, /the Tributary language server did not start in \d+ s/);
    assert.match(never.errors[0], /^lineage panel: cannot show the lineage graph: the Tributary language server did not start/);
    never.feed.dispose();
  });

  test("every request made while the server is down is answered with an error, by its id", async () => {
    for (const server of [live(() => undefined, true), live(() => undefined)]) {
      const r = feedFor(server, orders, { serverWaitMs: 60_000 });
      await r.feed.onMessage({ method: "ready", requestId: 1 });
      r.posted.length = 0;
      r.errors.length = 0;
      await Promise.all([
        r.feed.onMessage({ method: "expand", requestId: 7, id: "orders" }),
        r.feed.onMessage({ method: "search", requestId: 8, selection: "+orders" }),
        r.feed.onMessage({ method: "requestPlan", requestId: 9, ids: ["orders"] }),
        r.feed.onMessage({ method: "requestColumns", requestId: 10, ids: ["orders"] }),
        r.feed.onMessage({ method: "requestFullGraph", requestId: 11 }),
      ]);
      const answers = new Map<number, HostMessage>();
      for (const m of r.posted) answers.set(m.method === "response" ? m.requestId : -1, m);
      assert.deepEqual([...answers.keys()].sort((a, b) => a - b), [7, 8, 9, 10, 11], JSON.stringify(r.posted));
      const methods: Record<number, string> = { 7: "expand", 8: "search", 9: "requestPlan", 10: "requestColumns", 11: "requestFullGraph" };
      for (const [id, method] of Object.entries(methods)) {
        assert.deepEqual(answers.get(Number(id)), { method: "response", requestId: Number(id), error: { message: `cannot answer the panel's ${method}: the Tributary language server is not running` } });
      }
      assert.equal(r.errors.length, 5, "each error is logged");
      r.feed.dispose();
    }
  });

  test("two requests in flight whose server answers come in reverse order: each answer carries its request's id and its own result", async () => {
    const client = await LspClient.ready(root);
    try {
      // The real server's connection, except that answers to tributary/neighbourhood are held back until released.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const real = client.connection as RequestSender;
      const holding: RequestSender = {
        sendRequest: (async (type: { method: string }, ...rest: unknown[]) => {
          const answer = await (real.sendRequest as (...args: unknown[]) => Promise<unknown>)(type, ...rest);
          if (type.method === "tributary/neighbourhood") await released;
          return answer;
        }) as RequestSender["sendRequest"],
      };
      const r = feedFor({ connection: () => holding, phase: () => "ready" }, orders);
      r.feed.setCentre(["orders"]);
      const ready = r.feed.onMessage({ method: "ready", requestId: 1 });
      const expand = r.feed.onMessage({ method: "expand", requestId: 2, id: "stg_orders" });
      const search = r.feed.onMessage({ method: "search", requestId: 3, selection: "+stg_payments" });
      // The search does not wait for the neighbourhoods: it is answered first.
      const first = await until("the search's answer", () => r.posted.find((m) => m.method === "response"));
      assert.ok(first.method === "response" && "result" in first, JSON.stringify(first));
      assert.equal(first.requestId, 3);
      assert.deepEqual([...(first.result as { ids: string[] }).ids].sort(), ["raw_payments", "stg_payments"]);
      assert.equal(r.posted.filter((m) => m.method === "response").length, 1, "the other two wait for their neighbourhoods");
      release();
      await Promise.all([ready, expand, search]);
      const responses = r.posted.filter((m) => m.method === "response");
      assert.deepEqual(responses.map((m) => m.requestId).sort(), [1, 2, 3]);
      const answerTo = (id: number) => responses.find((m) => m.requestId === id);
      assert.deepEqual(answerTo(1), { method: "response", requestId: 1, result: null });
      const expanded = answerTo(2);
      assert.ok(expanded && "result" in expanded && expanded.result && "data" in expanded.result, JSON.stringify(expanded));
      const result = expanded.result as { data: { nodes: { id: string }[] }; truncated: string[] };
      assert.deepEqual(result.data.nodes.map((n) => n.id).sort(), ["customers", "orders", "raw_orders", "stg_orders"]);
      // The graph the ready asked for was posted before its answer.
      const [graph] = graphs(r);
      assert.deepEqual(graph.centre, ["orders"]);
      assert.ok(r.posted.indexOf(graph) < r.posted.indexOf(answerTo(1)!));
      assert.deepEqual(r.errors, []);
    } finally {
      await client.stop();
    }
  });

  test("the panel's own failures are logged with their phase and reason; nothing is posted before `ready`", async () => {
    const r = feedFor(live(() => undefined), orders);
    await r.feed.refresh();
    assert.deepEqual(r.posted, []);
    await r.feed.onMessage({ method: "panelError", phase: "layout", message: "cannot lay out the graph: the layout of 5 boxes did not finish in 6 s (ELK, in the layout worker)" });
    assert.deepEqual(r.errors, ["lineage panel: layout failed: cannot lay out the graph: the layout of 5 boxes did not finish in 6 s (ELK, in the layout worker)"]);
    r.feed.dispose();
  });
});
