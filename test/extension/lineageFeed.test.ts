/**
 * What the lineage panel is sent (extension/src/lineageFeed.ts), against the real language server
 * over stdio on a plain dbt project (test/fixtures/plain-jaffle): the panel is always answered —
 * a graph, `waiting` while the server starts, or an error with its reason, also logged — and a
 * late answer never overwrites a newer one. Needs dist/server.js (`node scripts/build.mjs`).
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
    await r.feed.onMessage({ method: "ready" });
    assert.deepEqual(r.posted, [{ method: "waiting", message: "Waiting for the Tributary language server to start\u2026" }]);
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
        await r.feed.onMessage({ method: "ready" });
      } finally {
        process.kill(client.child.pid!, "SIGCONT");
      }
      assert.deepEqual(r.posted, [{ method: "hostError", message: "cannot get the lineage graph: tributary/neighbourhood did not answer in 2 s" }]);
      assert.deepEqual(r.errors, ["lineage panel: cannot get the lineage graph: tributary/neighbourhood did not answer in 2 s"]);

      await r.feed.onMessage({ method: "retry" });
      const [graph] = graphs(r);
      assert.ok(graph, JSON.stringify(r.posted));
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
      await r.feed.onMessage({ method: "ready" });
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
    await stopped.feed.onMessage({ method: "ready" });
    assert.deepEqual(stopped.posted, [{ method: "hostError", message: "cannot show the lineage graph: the Tributary language server is not running (see the Tributary output)" }]);
    assert.equal(stopped.errors.length, 1);

    const never = feedFor(live(() => undefined), orders, { serverWaitMs: 300 });
    await never.feed.onMessage({ method: "ready" });
    assert.deepEqual(never.posted.map((m) => m.method), ["waiting"]);
    const error = await until("the error", () => never.posted.find((m) => m.method === "hostError"));
    assert.match((error as { message: string }).message, /the Tributary language server did not start in \d+ s/);
    assert.match(never.errors[0], /^lineage panel: cannot show the lineage graph: the Tributary language server did not start/);
    never.feed.dispose();
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
