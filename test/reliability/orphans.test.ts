/**
 * Step processes die with their runner, and never write for a run that no longer holds the
 * warehouse lock: kill -9 and SIGHUP of `tributary materialize` with the real runner, real DuckDB,
 * real TS step processes, and the fake dbt for the dbt engine.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { Warehouse } from "../../server/src/run/warehouse";
import { HistoryStore } from "../../server/src/run/history";
import { CLI } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";
import { alive, until, workspace } from "./helpers";

const FAKE_DBT_DIR = path.resolve(__dirname, "../fixtures/fake-dbt");

// Each asset notes its pid in `<name>-<runner pid>.pid` and waits for `go-<runner pid>`: `polled`
// waiting asynchronously (the event loop turns), `spun` in a busy loop (it never turns).
const ASSETS = `import { asset } from "tributary-assets";
import { existsSync, writeFileSync } from "node:fs";
import * as path from "node:path";
const root = path.resolve(process.cwd(), "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const polled = asset({ key: "polled", io: "table" }, async (_inputs, ctx) => {
  const runner = process.ppid;
  writeFileSync(path.join(root, \`polled-\${runner}.pid\`), String(process.pid));
  while (!existsSync(path.join(root, \`go-\${runner}\`))) await sleep(25);
  return [{ run: ctx.runId }];
});
export const spun = asset({ key: "spun", io: "table" }, async (_inputs, ctx) => {
  const runner = process.ppid;
  writeFileSync(path.join(root, \`spun-\${runner}.pid\`), String(process.pid));
  while (!existsSync(path.join(root, \`go-\${runner}\`))) {
    // busy: the step cannot notice anything until this returns
  }
  return [{ run: ctx.runId }];
});
`;

function start(root: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: { ...process.env, ...env } });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, exited, output: () => output };
}

async function pidFrom(file: string): Promise<number> {
  await until(`${path.basename(file)} is written`, () => existsSync(file) && readFileSync(file, "utf8").length > 0);
  return Number(readFileSync(file, "utf8"));
}

async function tableRuns(root: string, table: string): Promise<string[]> {
  const warehouse = await Warehouse.open(path.join(root, ".tributary/warehouse.duckdb"), { readOnly: true });
  try {
    return (await warehouse.query(`select run from main.${table}`)).map((r) => String(r.run));
  } finally {
    warehouse.close();
  }
}

/** Rewrites run.lock as if another process had taken it over (e.g. `tributary unlock --force` and a new run). */
function stealLock(root: string): void {
  const file = path.join(root, ".tributary/run.lock");
  const info = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...info, runId: "thief", token: "stolen" }) + "\n");
}

describe("TS step processes die with the runner", () => {
  test("kill -9 of the runner: the TS step process exits (IPC closed)", async (t) => {
    const w = workspace({ "assets/slow.ts": ASSETS });
    t.after(w.dispose);
    const run = start(w.root, ["materialize", "polled"]);
    const step = await pidFrom(path.join(w.root, `polled-${run.child.pid}.pid`));
    t.after(() => alive(step) && process.kill(step, "SIGKILL"));
    run.child.kill("SIGKILL");
    await run.exited;
    await until("the TS step process exits", () => !alive(step), 15000);
  });

  test("kill -9 while the asset blocks its event loop: the orphan never writes after the next run", async (t) => {
    const w = workspace({ "assets/slow.ts": ASSETS });
    t.after(w.dispose);
    const first = start(w.root, ["materialize", "spun"]);
    const orphan = await pidFrom(path.join(w.root, `spun-${first.child.pid}.pid`));
    t.after(() => alive(orphan) && process.kill(orphan, "SIGKILL"));
    first.child.kill("SIGKILL");
    await first.exited;

    const second = start(w.root, ["materialize", "spun"]);
    writeFileSync(path.join(w.root, `go-${second.child.pid}`), "");
    const done = await second.exited;
    assert.equal(done.code, 0, second.output());
    const secondRun = HistoryStore.open(w.root).lastRun()!;
    assert.equal(secondRun.status, "success");
    assert.deepEqual(await tableRuns(w.root, "spun"), [secondRun.id]);

    // Now the orphan's function returns: it must not store its value over the second run's.
    writeFileSync(path.join(w.root, `go-${first.child.pid}`), "");
    await until("the orphan exits", () => !alive(orphan), 15000);
    assert.deepEqual(await tableRuns(w.root, "spun"), [secondRun.id], "the killed run's step overwrote the next run's table");
  });

  test("SIGHUP (the terminal closed): the run is cancelled, its step stopped, the lock released", async (t) => {
    const w = workspace({ "assets/slow.ts": ASSETS });
    t.after(w.dispose);
    const run = start(w.root, ["materialize", "polled"]);
    const step = await pidFrom(path.join(w.root, `polled-${run.child.pid}.pid`));
    t.after(() => alive(step) && process.kill(step, "SIGKILL"));
    run.child.kill("SIGHUP");
    const done = await run.exited;
    assert.equal(done.code, 130, `${JSON.stringify(done)} ${run.output()}`);
    await until("the TS step process exits", () => !alive(step), 15000);
    assert.equal(existsSync(path.join(w.root, ".tributary/run.lock")), false);
    assert.equal(HistoryStore.open(w.root).lastRun()?.status, "cancelled");
  });

  test("the lock taken over during the step: nothing is written, the step fails saying why", async (t) => {
    const w = workspace({ "assets/slow.ts": ASSETS });
    t.after(w.dispose);
    const run = start(w.root, ["materialize", "polled"]);
    await pidFrom(path.join(w.root, `polled-${run.child.pid}.pid`));
    stealLock(w.root);
    writeFileSync(path.join(w.root, `go-${run.child.pid}`), "");
    const done = await run.exited;
    assert.equal(done.code, 1, run.output());
    assert.match(run.output(), /no longer holds the warehouse lock/);
    assert.equal(existsSync(path.join(w.root, ".tributary/warehouse.duckdb")), false, "nothing was written to the warehouse");
    const history = HistoryStore.open(w.root);
    assert.equal(history.lastRun()?.status, "failed");
    assert.equal(history.lastSuccess("polled"), undefined);
  });
});

describe("the dbt engine's subprocess dies with the runner", () => {
  const withFakeDbt = { PATH: `${FAKE_DBT_DIR}${path.delimiter}${process.env.PATH}` };

  test("kill -9 of the runner: dbt's process group (dbt and its worker) is stopped", async (t) => {
    const ws = copyExample();
    t.after(ws.dispose);
    const dbtPidFile = path.join(ws.root, "dbt.pid");
    const workerPidFile = path.join(ws.root, "worker.pid");
    const run = start(ws.root, ["materialize", "+fct_orders", "--engine", "dbt"], { ...withFakeDbt, FAKE_DBT_PID_FILE: dbtPidFile, FAKE_DBT_GRANDCHILD_PID_FILE: workerPidFile, FAKE_DBT_SLEEP_MS: "stg_orders=30000" });
    const dbt = await pidFrom(dbtPidFile);
    const worker = await pidFrom(workerPidFile);
    t.after(() => {
      for (const pid of [dbt, worker]) if (alive(pid)) process.kill(pid, "SIGKILL");
    });
    run.child.kill("SIGKILL");
    await run.exited;
    await until("dbt and its worker are stopped", () => !alive(dbt) && !alive(worker), 15000);
  });

  test("dbt output after the lock was taken over is not recorded as success", async (t) => {
    const ws = copyExample();
    t.after(ws.dispose);
    const dbtPidFile = path.join(ws.root, "dbt.pid");
    const run = start(ws.root, ["materialize", "+fct_orders", "--engine", "dbt"], { ...withFakeDbt, FAKE_DBT_PID_FILE: dbtPidFile, FAKE_DBT_SLEEP_MS: "stg_orders=3000" });
    await pidFrom(dbtPidFile);
    stealLock(ws.root);
    const done = await run.exited;
    assert.equal(done.code, 1, run.output());
    const history = HistoryStore.open(ws.root);
    const runId = history.lastRun()!.id;
    assert.equal(history.lastRun()!.status, "failed");
    for (const id of ["raw_orders", "stg_orders", "fct_orders"]) {
      const m = history.materializations(id, 5).find((x) => x.runId === runId);
      assert.equal(m?.status, "failed", id);
      assert.match(m?.error ?? "", /no longer holds the warehouse lock/);
      assert.equal(history.lastSuccess(id), undefined, id);
    }
  });
});

describe("the schedule daemon and SIGHUP", () => {
  test("closing its terminal stops the daemon cleanly: exit 0, its lock removed", async (t) => {
    const ws = copyExample();
    t.after(ws.dispose);
    const daemon = start(ws.root, ["daemon", "--json"]);
    t.after(() => daemon.child.exitCode === null && daemon.child.kill("SIGKILL"));
    await until("the daemon started", () => daemon.output().includes('"type":"started"'));
    daemon.child.kill("SIGHUP");
    const done = await daemon.exited;
    assert.deepEqual(done, { code: 0, signal: null }, daemon.output());
    assert.equal(existsSync(path.join(ws.root, ".tributary/daemon.lock")), false);
  });
});
