/**
 * `tributary jobs`, `jobs run` and `daemon` end to end: the built CLI on fresh copies of the
 * example, a real DuckDB file, the history and ticks under `.tributary/`.
 * (Build first: `node scripts/build.mjs`; `npm test` does.)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import { DAEMON_LOCK_FILE } from "../../server/src/jobs/lock";
import { TICKS_FILE, TickStore } from "../../server/src/jobs/ticks";
import { Warehouse } from "../../server/src/run/warehouse";
import { HISTORY_DIR, HistoryStore } from "../../server/src/run/history";
import { CLI, runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";


/** The CLI with a fixed time zone (next-run times are compared as text). */
function tributary(root: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(root, args, { TZ: "UTC", ...env });
}

async function rows(root: string, sql: string): Promise<Record<string, unknown>[]> {
  const warehouse = await Warehouse.open(path.join(root, ".tributary/warehouse.duckdb"), { readOnly: true });
  try {
    return await warehouse.query(sql);
  } finally {
    warehouse.close();
  }
}

interface JobEntry {
  name: string;
  assets: string[];
  steps: number;
  dbtInvocations: number;
  schedule: string;
  cron: string;
  timezone: string;
  timezoneDefault?: boolean;
  nextRun: string;
  nextRunLocal: string;
  lastRun?: { id: string; status: string; trigger: string };
  lastTick?: { status: string; runStatus?: string };
  errors: string[];
}

/** Starts `tributary daemon --json` and reads its events line by line. */
function startDaemon(root: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, "daemon", "--json", "-C", root], { cwd: root, env: { ...process.env, TZ: "UTC", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const events: { type: string; [k: string]: unknown }[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as { type: string });
    } catch {
      events.push({ type: "text", line });
    }
    for (const w of waiters.splice(0)) w();
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pred: (e: { type: string; [k: string]: unknown }) => boolean, ms = 30_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`timed out; events: ${JSON.stringify(events)}; stderr: ${stderr}`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200)), exit]);
    }
  };
  return { child, events, exit, waitFor, stderr: () => stderr };
}

describe("jobs from the command line", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const fresh = () => {
    const ws = copyExample();
    cleanup.push(ws.dispose);
    return ws.root;
  };

  test("jobs --json: selection size, planned steps, next run", () => {
    const root = fresh();
    const { code, stdout, stderr } = tributary(root, ["jobs", "--json"], { TZ: "Europe/Berlin" });
    assert.equal(code, 0, stderr);
    const jobs = JSON.parse(stdout) as JobEntry[];
    assert.equal(jobs.length, 1);
    const [job] = jobs;
    assert.equal(job.name, "forecast_job");
    assert.deepEqual(job.assets, ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model"]);
    assert.equal(job.steps, 2);
    assert.equal(job.dbtInvocations, 1);
    assert.equal(job.cron, "0 0 * * *");
    assert.equal(job.timezone, "Europe/Berlin", "the machine's zone when the job gives none");
    assert.equal(job.timezoneDefault, true);
    assert.match(job.nextRunLocal, /T00:00:00\+0[12]:00$/);
    assert.ok(Date.parse(job.nextRun) > Date.now() && Date.parse(job.nextRun) <= Date.now() + 24 * 3600_000);
    assert.deepEqual(job.errors, []);
    assert.equal(job.lastRun, undefined);

    const human = tributary(root, ["jobs"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /forecast_job\s+@daily\s+UTC \(local\)\s+\*order_forecast_model\s+6\s+2\s+\w{3} \d{4}-\d\d-\d\d 00:00 UTC/);
    assert.match(human.stdout, /schedule daemon: not running/);
  });

  test("jobs run NAME materializes the job's selection through the planner and runner", async () => {
    const root = fresh();
    const run = tributary(root, ["jobs", "run", "forecast_job", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    const start = events.find((e) => e.type === "run_start")!;
    assert.equal(start.selection, "*order_forecast_model");
    assert.deepEqual((start.plan as { steps: { kind: string }[] }).steps.map((s) => s.kind), ["dbt", "ts"]);
    const materialized = events.filter((e) => e.type === "asset_materialized").map((e) => e.assetId);
    assert.deepEqual(materialized, ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model"]);
    assert.equal(events.at(-1)!.type, "run_end");
    assert.equal(events.at(-1)!.status, "success");

    // The warehouse holds the selected tables, and nothing downstream of the selection.
    const [orders] = await rows(root, "select count(*)::int as n from main.fct_orders");
    assert.equal(orders.n, readFileSync(path.join(root, "seeds/raw_orders.csv"), "utf8").trim().split("\n").length - 1);
    const tables = await rows(root, "select table_schema || '.' || table_name as t from information_schema.tables order by 1");
    assert.ok(!tables.some((t) => t.t === "forecasting.predicted_orders"), "predicted_orders is not part of the job");
    assert.ok(!tables.some((t) => t.t === "main.forecast_vs_actual"));
    const model = JSON.parse(readFileSync(path.join(root, ".tributary/storage/order_forecast_model.json"), "utf8")) as { trainedOn: number };
    assert.equal(model.trainedOn, orders.n);

    // History: one run, triggered by the job.
    const history = HistoryStore.open(root);
    const last = history.lastRun()!;
    assert.equal(last.status, "success");
    assert.equal(last.trigger, "job:forecast_job");
    assert.equal(last.selection, "*order_forecast_model");
    assert.equal(history.lastSuccess("order_forecast_model")!.runId, last.id);

    const listed = JSON.parse(tributary(root, ["jobs", "--json"]).stdout) as JobEntry[];
    assert.deepEqual(listed[0].lastRun && [listed[0].lastRun.id, listed[0].lastRun.status, listed[0].lastRun.trigger], [last.id, "success", "job:forecast_job"]);

    // Human output, options before the subcommand, and a second run.
    const again = tributary(root, ["jobs", "-C", root, "run", "forecast_job"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /2 steps, 6 assets/);
    assert.match(again.stdout, /✓ order_forecast_model/);
    assert.match(again.stdout, /run \S+ success in/);
    const newest = HistoryStore.open(root).lastRun()!;
    assert.notEqual(newest.id, last.id);
    const relisted = JSON.parse(tributary(root, ["jobs", "--json"]).stdout) as JobEntry[];
    assert.equal(relisted[0].lastRun!.id, newest.id, "the latest run of the job");
  });

  test("jobs run: unknown job, invalid selection, empty selection are refused before anything runs", () => {
    const root = fresh();
    writeFileSync(
      path.join(root, "assets", "more_jobs.ts"),
      ['import { job } from "tributary-assets";', 'export const broken = job({ name: "broken", selection: "fct_orders and (" });', 'export const nothing = job({ name: "nothing", selection: "tag:none" });', ""].join("\n"),
    );
    let r = tributary(root, ["jobs", "run", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No job named 'nope'\. Jobs: broken, forecast_job, nothing\./);
    r = tributary(root, ["jobs", "run", "broken"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid selection 'fct_orders and \(': column 17/);
    r = tributary(root, ["jobs", "run", "nothing"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /matches no asset/);
    assert.ok(!existsSync(path.join(root, ".tributary", "history", "events.jsonl")));
    const listed = JSON.parse(tributary(root, ["jobs", "--json"]).stdout) as JobEntry[];
    assert.deepEqual(listed.find((j) => j.name === "broken")!.errors, ["invalid selection: unclosed '(' opened at column 16 (column 17)"]);
  });

  test("daemon: catches up the missed tick with a real run, refuses a second daemon, stops cleanly on SIGTERM", async () => {
    const root = fresh();
    // The daemon has watched forecast_job (@daily, UTC) for two days: one missed midnight is caught up at start.
    mkdirSync(path.join(root, HISTORY_DIR), { recursive: true });
    const watched = new Date(Date.now() - 2 * 24 * 3600_000).toISOString();
    writeFileSync(path.join(root, HISTORY_DIR, TICKS_FILE), JSON.stringify({ v: 1, type: "watch", job: "forecast_job", schedule: "0 0 * * *|UTC", at: watched }) + "\n");
    const daemon = startDaemon(root);
    try {
      const started = await daemon.waitFor((e) => e.type === "started");
      assert.equal(started.pid, daemon.child.pid);
      const tick = await daemon.waitFor((e) => e.type === "tick");
      const t = tick.tick as { job: string; status: string; scheduledFor: string; missed?: number };
      assert.equal(t.job, "forecast_job");
      assert.equal(t.status, "started");
      const midnight = new Date();
      midnight.setUTCHours(0, 0, 0, 0);
      assert.equal(t.scheduledFor, midnight.toISOString());
      assert.equal(t.missed, 1);
      const end = await daemon.waitFor((e) => e.type === "run_end", 60_000);
      assert.equal((end.tick as { runStatus: string }).runStatus, "success", JSON.stringify(end));

      // A second daemon on the same workspace is refused.
      const second = tributary(root, ["daemon"]);
      assert.equal(second.code, 2);
      assert.match(second.stderr, /Another schedule daemon runs this workspace \(pid \d+, cli/);

      daemon.child.kill("SIGTERM");
      assert.equal(await daemon.exit, 0, daemon.stderr());
      assert.equal(daemon.events.at(-1)!.type, "stopped");
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill("SIGKILL");
    }
    assert.ok(!existsSync(path.join(root, DAEMON_LOCK_FILE)), "the lock is released");
    const history = HistoryStore.open(root);
    const run = history.lastRun()!;
    assert.equal(run.trigger, "schedule:forecast_job");
    assert.equal(run.status, "success");
    const last = TickStore.open(root).lastTick("forecast_job")!;
    assert.deepEqual([last.status, last.runId, last.runStatus], ["started", run.id, "success"]);
    const [orders] = await rows(root, "select count(*)::int as n from main.fct_orders");
    assert.ok((orders.n as number) > 0);
    // The listing shows the tick and the run.
    const listed = JSON.parse(tributary(root, ["jobs", "--json"]).stdout) as JobEntry[];
    assert.equal(listed[0].lastRun!.trigger, "schedule:forecast_job");
    assert.equal(listed[0].lastTick!.runStatus, "success");
  });

  test("daemon: SIGINT while idle exits 0 at once", async () => {
    const root = fresh();
    const daemon = startDaemon(root);
    try {
      await daemon.waitFor((e) => e.type === "started");
      daemon.child.kill("SIGINT");
      assert.equal(await daemon.exit, 0, daemon.stderr());
    } finally {
      if (daemon.child.exitCode === null) daemon.child.kill("SIGKILL");
    }
    // Nothing was due: only the watch record.
    assert.deepEqual(TickStore.open(root).ticks(), []);
    assert.ok(!existsSync(path.join(root, DAEMON_LOCK_FILE)));
  });
});
