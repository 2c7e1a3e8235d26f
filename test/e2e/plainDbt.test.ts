/**
 * A plain dbt project in a real VS Code: code-server with the packaged .vsix on a fresh
 * copy of test/fixtures/plain-jaffle — no TS assets, no tributary.json, no node_modules, the
 * warehouse at the project root, a folder-open `dbt build` task — driven through Chromium like a
 * user. The lineage panel must draw the expected nodes and edges when opened first thing (before
 * any file, while the server may still be starting), after hovers and lenses, while a run goes and
 * right after it ends; when it cannot (its layout worker missing, the language server silent), it
 * says why, with Retry, and the reason is in the "Tributary" output.
 *
 * Run by `npm run test:e2e` (TRIBUTARY_E2E=1). On a failure: a screenshot and the logs under
 * test-results/e2e/plain-<scenario>/.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunRecord } from "../../server/src/protocol/history";
import type { HistoryStore } from "../../server/src/run/history";
import { Warehouse } from "../../server/src/run/warehouse";
import { copyProject, ensureProvisioned, packagedVsix, ROOT, startSession, tempHome, until, workspaceHistory, finishedRunAfter as finishedRun, type Session } from "./codeServer";
import { Workbench } from "./workbench";

const E2E_SKIP = process.env.TRIBUTARY_E2E === "1" ? false : "end-to-end: run it with `npm run test:e2e`";
const FIXTURE = path.join(ROOT, "test/fixtures/plain-jaffle");
const ORDERS = "models/orders.sql";
const CUSTOMERS = "models/customers.sql";
/** Two layers around orders: what the panel must draw, node for node and edge for edge. */
const AROUND_ORDERS = ["orders", "raw_orders", "raw_payments", "stg_orders", "stg_payments"];
const ORDERS_EDGES = ["raw_orders -> stg_orders", "raw_payments -> stg_payments", "stg_orders -> orders", "stg_payments -> orders"];
const AROUND_CUSTOMERS = ["customers", "raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_orders", "stg_payments"];
const CUSTOMERS_EDGES = ["raw_customers -> stg_customers", "raw_orders -> stg_orders", "raw_payments -> stg_payments", "stg_customers -> customers", "stg_orders -> customers", "stg_payments -> customers"];

const log = (message: string): void => void process.stderr.write(`e2e: ${message}\n`);

let session: Session;
let wb: Workbench;
let home: ReturnType<typeof tempHome>;
const timings: Record<string, number> = {};
const suiteStarted = Date.now();

async function scenario(name: string, body: () => Promise<void>): Promise<void> {
  const started = Date.now();
  try {
    await body();
  } catch (error) {
    if (session) await session.saveArtifacts(`plain-${name}`);
    throw error;
  } finally {
    timings[name] = Date.now() - started;
    log(`plain ${name}: ${timings[name]} ms`);
  }
}

const file = (rel: string): string => readFileSync(path.join(session.workspace, rel), "utf8");
const sorted = (xs: string[]): string[] => [...xs].sort();

const history = (): HistoryStore => workspaceHistory(session.workspace);
const finishedRunAfter = (afterId: string | undefined, timeout?: number): Promise<RunRecord> => finishedRun(session.workspace, afterId, timeout);

/** Waits until the panel draws exactly `ids` (and these edges), centred on `centre`, each node in a state `state` accepts. */
async function expectLineage(what: string, ids: string[], edges: string[], centre: string, state: (s: string) => boolean = () => true): Promise<void> {
  const nodes = await wb.waitForLineage(what, (ns) => sorted(ns.map((n) => n.id)).join(",") === sorted(ids).join(",") && ns.every((n) => state(n.state)), 60_000);
  assert.deepEqual(nodes.filter((n) => n.centre).map((n) => n.id), [centre]);
  for (const n of nodes) assert.equal(n.label, n.id, `the label of ${n.id}`);
  assert.deepEqual(sorted(await wb.lineageEdges()), sorted(edges));
  assert.equal(await wb.lineageError(), undefined);
}

/** The pid of this session's Tributary language server (its command line names the session's extensions folder). */
function serverPid(): number {
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cmdline = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      return cmdline.some((arg) => arg.startsWith(session.extensions) && arg.endsWith(path.join("dist", "server.js")));
    } catch {
      return false;
    }
  });
  assert.equal(pids.length, 1, `one language server of this session: ${JSON.stringify(pids)}`);
  return Number(pids[0]);
}

/** The "Tributary" output channel's lines about the panel. */
const panelLog = (): string[] => session.tributaryLog().split("\n").filter((l) => l.includes("lineage panel:"));

describe("a plain dbt project (no TS assets, no tributary.json) in a real VS Code", { timeout: 420_000, skip: E2E_SKIP }, () => {
  before(async () => {
    const started = Date.now();
    ensureProvisioned();
    home = tempHome();
    const vsix = packagedVsix(home.dir);
    const workspace = copyProject(FIXTURE, home.dir);
    session = await startSession({ vsix, workspace, home: home.dir, viewport: { width: 1600, height: 1000 } });
    wb = new Workbench(session.page);
    timings.startup = Date.now() - started;
  });

  after(async () => {
    await session?.stop();
    home?.dispose();
    log(`plain timings (ms): ${JSON.stringify({ ...timings, total: Date.now() - suiteStarted })}`);
  });

  it("1. Show Lineage first thing (no file open, the server maybe still indexing): the panel waits or asks for a file, then draws orders.sql's lineage", async () => {
    await scenario("1-panel-first", async () => {
      // As soon as the workbench is up: the command activates the extension if it is not yet.
      await wb.runCommand("Tributary: Show Lineage");
      await session.page.locator(".editor-group-container .tab", { hasText: "Lineage" }).waitFor();
      const first = await until("the panel to say what it waits for", async () => {
        const body = wb.lineageFrame().locator("body");
        const empty = wb.lineageFrame().locator(".empty:not([hidden])");
        if ((await body.getAttribute("data-busy", { timeout: 1_000 })) === "true") return undefined;
        if (await body.getAttribute("data-error", { timeout: 1_000 })) throw new Error(`panel error: ${await body.getAttribute("data-error")}`);
        return (await empty.count()) ? (await empty.textContent()) ?? undefined : undefined;
      }, 60_000, 200);
      // What it showed first depends on how far the server got: starting, reading the workspace, or ready.
      log(`plain: the panel opened first thing said "${first}"`);
      assert.match(first, /^(Waiting for the Tributary language server to start|Reading the workspace|Open a dbt model)/);
      await until("the panel to ask for a file once the server is up", async () => ((await wb.lineageFrame().locator(".empty:not([hidden])").textContent({ timeout: 1_000 })) ?? "").startsWith("Open a dbt model") || undefined, 60_000, 200);
      assert.equal(await wb.lineageError(), undefined);

      await wb.openFile(ORDERS);
      await until("the extension to activate", () => (/ExtensionService#_doActivateExtension tributary\.tributary/.test(session.exthostLog()) ? true : undefined), 30_000);
      await expectLineage("orders and its two layers up", AROUND_ORDERS, ORDERS_EDGES, "orders", (s) => s === "missing");
    });
  });

  it("2. hover on ref('stg_orders') shows upstream and downstream; the code lens says ↑2 ↓0", async () => {
    await scenario("2-hover", async () => {
      await wb.openFile(ORDERS);
      await wb.activeEditor().locator(".codelens-decoration", { hasText: "Materialize" }).first().waitFor({ timeout: 30_000 });
      await wb.activeEditor().locator(".codelens-decoration", { hasText: "↑2 ↓0" }).first().waitFor({ timeout: 30_000 });
      await wb.gotoText(file(ORDERS), "stg_orders");
      const hover = await wb.hoverAtCursor(["stg_orders", "dbt model", "Upstream (1):", "raw_orders", "Downstream (2):"]);
      assert.match(hover, /Downstream \(2\):\s*customers,\s*orders/);
      assert.match(hover, /Defined in\s+models\/staging\/stg_orders\.sql/);
      await wb.escape();
    });
  });

  it("3. Materialize with Upstream with the panel open, then Show Lineage again right after the run ends: both draw the five assets fresh", async () => {
    await scenario("3-materialize", async () => {
      await wb.openFile(ORDERS);
      const before = history().lastRun()?.id;
      const menu = await wb.contextMenuOn("order_payments", 0);
      await wb.clickMenuItem(wb.menuItem(menu, "Materialize with Upstream"));
      const done = wb.notification(/Tributary: materialized \d+ assets/).first();
      await done.waitFor({ timeout: 90_000 });
      assert.match((await done.innerText()).replace(/\s+/g, " "), /materialized 5 assets/);
      // The panel that stayed open through the run: right after it, all five are fresh.
      await expectLineage("the five assets fresh after the run", AROUND_ORDERS, ORDERS_EDGES, "orders", (s) => s === "fresh");

      const run = await finishedRunAfter(before);
      assert.equal(run.status, "success");
      assert.equal(run.trigger, "vscode");
      const store = history();
      for (const id of AROUND_ORDERS) assert.equal(store.lastSuccess(id)?.runId, run.id, `${id} materialized by the run`);
      assert.equal(store.lastSuccess("customers"), undefined);
      // The warehouse is where profiles.yml puts it: plain_jaffle.duckdb at the project root.
      const db = await Warehouse.open(path.join(session.workspace, "plain_jaffle.duckdb"), { readOnly: true });
      try {
        assert.equal(Number(await db.scalar(`select count(*) from "main"."orders"`)), 80);
        assert.equal(Number(await db.scalar(`select count(*) from "main"."stg_payments"`)), 93);
      } finally {
        await db.close();
      }

      // As in the issue: the panel closed, a run, and Show Lineage as soon as it ends.
      await wb.closeLineage();
      await wb.openFile(ORDERS);
      const again = history().lastRun()?.id;
      const menu2 = await wb.contextMenuOn("order_payments", 0);
      await wb.clickMenuItem(wb.menuItem(menu2, "Materialize with Upstream"));
      assert.equal((await finishedRunAfter(again)).status, "success");
      await wb.runCommand("Tributary: Show Lineage");
      await expectLineage("the five assets fresh, opened right after the run", AROUND_ORDERS, ORDERS_EDGES, "orders", (s) => s === "fresh");
      assert.deepEqual(panelLog(), [], "nothing went wrong in the panel");
    });
  });

  it("4. the panel follows the editor to customers.sql: seven assets, six edges", async () => {
    await scenario("4-follow", async () => {
      await wb.openFile(CUSTOMERS);
      await expectLineage("customers and its two layers up", AROUND_CUSTOMERS, CUSTOMERS_EDGES, "customers");
      // customers is not materialized; the staging models and seeds are.
      const nodes = await wb.lineageNodes();
      const state = new Map(nodes.map((n) => [n.id, n.state]));
      assert.equal(state.get("customers"), "missing");
      assert.equal(state.get("stg_customers"), "missing");
      assert.equal(state.get("stg_orders"), "fresh");
    });
  });

  it("5. a layout that cannot run (its worker script missing) shows the reason with Retry and logs it; Retry once it is back draws", async () => {
    await scenario("5-error-retry", async () => {
      const installed = path.join(session.extensions, `tributary.tributary-${(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version}`, "dist", "layout-worker.js");
      assert.ok(existsSync(installed), installed);
      await wb.closeLineage();
      renameSync(installed, `${installed}.away`);
      try {
        await wb.runCommand("Tributary: Show Lineage");
        const error = await until("the panel's error", () => wb.lineageError().catch(() => undefined), 60_000, 200);
        assert.match(error, /^cannot lay out the graph: cannot load the layout worker/);
        await wb.lineageFrame().locator('.panel-error button[data-action="retry"]').waitFor({ state: "visible" });
        assert.equal(await wb.lineageFrame().locator("body").getAttribute("data-busy"), "false", "no 'Laying out…' left");
        await until("the reason in the Tributary output", () => panelLog().find((l) => l.includes(`lineage panel: layout failed: ${error}`)), 20_000, 200);
      } finally {
        renameSync(`${installed}.away`, installed);
      }
      await wb.lineageFrame().locator('.panel-error button[data-action="retry"]').click();
      await expectLineage("customers' lineage after Retry", AROUND_CUSTOMERS, CUSTOMERS_EDGES, "customers");
      assert.ok(panelLog().some((l) => l.includes("lineage panel: retry")));
    });
  });

  it("6. a language server that does not answer (paused): the panel says which request, with Retry, and logs it; Retry once it answers draws", async () => {
    await scenario("6-server-silent", async () => {
      await wb.closeLineage();
      const pid = serverPid();
      process.kill(pid, "SIGSTOP");
      let error: string;
      try {
        await wb.runCommand("Tributary: Show Lineage");
        error = await until("the panel's error", () => wb.lineageError().catch(() => undefined), 60_000, 200);
        assert.match(error, /^cannot get the lineage graph: tributary\/(assetsAt|neighbourhood|statuses) did not answer in 8 s$/);
        await wb.lineageFrame().locator('.panel-error button[data-action="retry"]').waitFor({ state: "visible" });
        await until("the reason in the Tributary output", () => panelLog().find((l) => l.includes(`lineage panel: ${error}`)), 20_000, 200);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      await wb.lineageFrame().locator('.panel-error button[data-action="retry"]').click();
      await expectLineage("customers' lineage after Retry", AROUND_CUSTOMERS, CUSTOMERS_EDGES, "customers");
    });
  });
});
