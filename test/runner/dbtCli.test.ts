/**
 * dbt engine (server/src/run/dbtCli.ts) against the fake dbt in test/fixtures/fake-dbt (dbt itself
 * cannot be installed here): exact argv without a shell, live per-node events, run_results.json,
 * failures and skips, tests, exit code 2, cancel (SIGINT, then SIGKILL of the process group),
 * missing/stale run_results.json, and finding the executable on PATH.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { dbtSelectors, dbtUniqueId, findDbtExecutable, runDbtStep } from "../../server/src/run/dbtCli";
import type { DbtCliNode, DbtCliOptions, DbtNodeEvent, DbtStepResult } from "../../server/src/run/dbtCli";
import { copyExample } from "../helpers/workspace";

const FAKE_DIR = path.resolve(__dirname, "..", "fixtures", "fake-dbt");
const FAKE = path.join(FAKE_DIR, "dbt");
const PKG = "jaffle_forecast";
const posixOnly = { skip: process.platform === "win32" ? "the fake dbt is a #! script; process groups are POSIX" : false };

const node = (name: string, resourceType: DbtCliNode["resourceType"] = "model", extra: Partial<DbtCliNode> = {}): DbtCliNode => ({ id: name, name, resourceType, packageName: PKG, ...extra });
const SEEDS = ["raw_customers", "raw_orders", "raw_payments"].map((n) => node(n, "seed"));
const MODELS = ["stg_customers", "stg_orders", "stg_payments", "fct_orders", "customers"].map((n) => node(n));
const ALL = [...SEEDS, ...MODELS];

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function project(): string {
  const p = copyExample();
  cleanups.push(p.dispose);
  return p.root;
}

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tributary-dbtcli-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fakeEnv(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("FAKE_DBT_") || k.startsWith("DBT_")) delete env[k];
  return { ...env, ...vars };
}

async function run(nodes: DbtCliNode[], projectDir: string, vars: Record<string, string> = {}, extra: Partial<DbtCliOptions> = {}) {
  const events: (DbtNodeEvent & { alive: boolean })[] = [];
  const logs: string[] = [];
  let pid: number | undefined;
  const result = await runDbtStep(nodes, {
    executable: FAKE,
    projectDir,
    env: fakeEnv(vars),
    onSpawn: (p) => (pid = p),
    onNodeEvent: (e) => events.push({ ...e, alive: pid !== undefined && isAlive(pid) }),
    onLog: (l) => logs.push(l),
    ...extra,
  });
  return { result, events, logs, pid };
}

function byId(r: DbtStepResult) {
  return Object.fromEntries(r.results.map((x) => [x.id, x]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // an exited but unreaped process is not alive
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

async function eventuallyGone(pid: number, ms = 1000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !isAlive(pid);
}

function csvRows(root: string, name: string): number {
  return readFileSync(path.join(root, "seeds", `${name}.csv`), "utf8").split(/\r?\n/).filter((l) => l.trim()).length - 1;
}

before(() => chmodSync(FAKE, 0o755)); // in case a checkout lost the exec bit

describe("dbtSelectors", () => {
  test("package-pinned names, versions as name.vN, one argv element each, no duplicates", () => {
    assert.deepEqual(
      dbtSelectors([
        node("stg_orders"),
        node("raw_orders", "seed"),
        node("dim_customers", "model", { version: "2" }),
        node("dim_customers", "model", { id: "dim_customers_v3", version: "v3" }),
        node("stg_orders"),
        node("snap", "snapshot", { packageName: "other_pkg" }),
        node("x; touch pwned"),
      ]),
      [`package:${PKG},stg_orders`, `package:${PKG},raw_orders`, `package:${PKG},dim_customers.v2`, `package:${PKG},dim_customers.v3`, "package:other_pkg,snap", `package:${PKG},x; touch pwned`],
    );
    assert.equal(dbtUniqueId(node("dim_customers", "model", { version: "2" })), `model.${PKG}.dim_customers.v2`);
    assert.equal(dbtUniqueId(node("raw_orders", "seed")), `seed.${PKG}.raw_orders`);
  });
});

describe("runDbtStep against the fake dbt", posixOnly, () => {
  test("exact argv as an array; quotes, spaces and shell syntax stay single elements and reach no shell", async () => {
    const root = project();
    const dir = scratch();
    const argsFile = path.join(dir, "args.json");
    writeFileSync(path.join(root, "models", "staging", "my model.sql"), "select 1 as id\n");
    const nodes = [node("stg_orders"), node("x; touch pwned"), node("my model"), node(`it's "quoted" $(touch pwned2)`)];
    const vars = { day: "2024-01-01", note: `it's "fine"; touch pwned3`, n: 3 };
    const { result } = await run(nodes, root, { FAKE_DBT_ARGS_FILE: argsFile }, { profilesDir: root, target: "dev", vars });
    const argv = JSON.parse(readFileSync(argsFile, "utf8")) as string[];
    const expected = [
      "build",
      "--select",
      `package:${PKG},stg_orders`,
      `package:${PKG},x; touch pwned`,
      `package:${PKG},my model`,
      `package:${PKG},it's "quoted" $(touch pwned2)`,
      "--project-dir",
      root,
      "--log-format",
      "json",
      "--profiles-dir",
      root,
      "--target",
      "dev",
      "--vars",
      JSON.stringify(vars),
    ];
    assert.deepEqual(argv, expected);
    assert.deepEqual(result.args, expected);
    for (const f of ["pwned", "pwned2", "pwned3"]) {
      assert.equal(existsSync(path.join(root, f)), false, `${f} created in the project`);
      assert.equal(existsSync(path.join(process.cwd(), f)), false, `${f} created in the cwd`);
    }
    const r = byId(result);
    assert.equal(r.stg_orders.status, "success");
    // dbt cannot select these (it splits selectors on spaces; nothing is named like that): no result, so an error
    for (const id of ["x; touch pwned", "my model", `it's "quoted" $(touch pwned2)`]) {
      assert.equal(r[id].status, "error", id);
      assert.match(r[id].message ?? "", /no result/);
    }
    assert.ok(result.error);
  });

  test("live per-node events in order while dbt runs; results, timing and rows from run_results.json", async () => {
    const root = project();
    // The example's own data tests are left out here (`--exclude resource_type:test`): this is about the nodes.
    const { result, events, logs, pid } = await run(ALL, root, { FAKE_DBT_NODE_MS: "60", FAKE_DBT_ROWS: JSON.stringify({ fct_orders: 180 }) }, { tests: "exclude" });
    assert.equal(result.exitCode, 0);
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.cancelled, false);
    assert.ok(pid && result.pid === pid);

    const seq = events.map((e) => `${e.phase}:${e.id}`);
    assert.deepEqual(
      seq,
      ALL.flatMap((n) => [`start:${n.id}`, `success:${n.id}`]),
    );
    // every event but the very last arrived while dbt was still running (not replayed after exit)
    for (const e of events.slice(0, -1)) assert.equal(e.alive, true, `${e.phase}:${e.id} arrived after dbt exited`);
    const seedEvent = events.find((e) => e.id === "raw_orders" && e.phase === "success");
    assert.equal(seedEvent?.rows, 180); // from the live LogSeedResult ("INSERT 180")
    assert.ok((seedEvent?.ms ?? 0) >= 50);

    const r = byId(result);
    assert.deepEqual(Object.keys(r), ALL.map((n) => n.id));
    for (const n of ALL) {
      assert.equal(r[n.id].status, "success", n.id);
      assert.ok((r[n.id].ms ?? 0) >= 50 && (r[n.id].ms ?? 0) < 5000, `${n.id} ms=${r[n.id].ms}`);
    }
    for (const s of SEEDS) assert.equal(r[s.id].rows, csvRows(root, s.id), s.id);
    assert.equal(r.fct_orders.rows, 180);
    assert.equal(r.stg_orders.rows, 42); // only run_results.json has model rows (LogModelResult says "OK")

    const rr = JSON.parse(readFileSync(path.join(root, "target", "run_results.json"), "utf8"));
    assert.equal(result.invocationId, rr.metadata.invocation_id);
    assert.equal(result.runResultsPath, path.join(root, "target", "run_results.json"));
    assert.ok(logs.some((l) => /Running with dbt=/.test(l)));
    assert.ok(logs.some((l) => /^\d\d:\d\d:\d\d {2}4 of 8 START sql view model main\.stg_customers/.test(l)), logs.join("\n"));
    assert.ok(logs.some((l) => /Completed successfully/.test(l)));
    assert.equal(logs.some((l) => l.trim().startsWith("{")), false, "raw JSON leaked into the log");
    assert.match(result.log, /Done\. PASS=8/);
  });

  test("a failing node: error with dbt's message, its downstream skipped, independent branches built, exit 1", async () => {
    const root = project();
    const { result, events } = await run(ALL, root, { FAKE_DBT_FAIL: "stg_orders" });
    assert.equal(result.exitCode, 1);
    const r = byId(result);
    assert.equal(r.stg_orders.status, "error");
    assert.match(r.stg_orders.message ?? "", /Runtime Error in model stg_orders[\s\S]*Binder Error/);
    assert.equal(r.fct_orders.status, "skipped");
    assert.equal(r.customers.status, "skipped");
    for (const id of ["raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_payments"]) assert.equal(r[id].status, "success", id);
    assert.match(result.error ?? "", /1 node failed \(stg_orders\)/);
    const phases = (id: string) => events.filter((e) => e.id === id).map((e) => e.phase);
    assert.deepEqual(phases("stg_orders"), ["start", "error"]);
    assert.deepEqual(phases("fct_orders"), ["skipped"]);
    assert.deepEqual(phases("stg_payments"), ["start", "success"]);
  });

  test("tests run by dbt build: reported apart from node results, a failing test fails the step", async () => {
    const root = project();
    const { result, logs } = await run(ALL, root, { FAKE_DBT_TESTS: "stg_orders", FAKE_DBT_TEST_FAIL: "stg_payments" });
    assert.equal(result.exitCode, 1);
    const r = byId(result);
    assert.deepEqual(Object.keys(r), ALL.map((n) => n.id)); // no test ids among node results
    assert.equal(r.stg_payments.status, "success"); // the model itself was built
    assert.equal(r.fct_orders.status, "skipped"); // dbt build skips the downstream of a failed test
    const t = Object.fromEntries(result.tests.map((x) => [x.name, x]));
    assert.equal(t.not_null_stg_orders_id.status, "pass");
    assert.equal(t.not_null_stg_payments_id.status, "fail");
    assert.equal(t.not_null_stg_payments_id.failures, 3);
    assert.equal(t.not_null_stg_payments_id.attachedTo, "stg_payments");
    assert.match(t.not_null_stg_payments_id.uniqueId, /^test\.jaffle_forecast\.not_null_stg_payments_id\./);
    assert.match(result.error ?? "", /1 test failed \(not_null_stg_payments_id\)/);
    assert.ok(logs.some((l) => /FAIL 3 not_null_stg_payments_id/.test(l)));
  });

  test("dbt itself fails (exit 2, compile error): step error with dbt's message; a stale run_results.json is not used", async () => {
    const root = project();
    const ok = await run(ALL, root);
    assert.equal(ok.result.exitCode, 0); // leaves a successful target/run_results.json behind
    const { result } = await run(ALL, root, { FAKE_DBT_COMPILE_ERROR: "stg_orders" });
    assert.equal(result.exitCode, 2);
    assert.match(result.error ?? "", /^dbt failed \(exit code 2\): Compilation Error\n/);
    assert.match(result.error ?? "", /depends on a node named 'does_not_exist'/);
    for (const x of result.results) {
      assert.equal(x.status, "error", x.id);
      assert.match(x.message ?? "", /Compilation Error/);
    }
  });

  test("a bad target (exit 2) reports dbt's error", async () => {
    const root = project();
    const { result } = await run([node("stg_orders")], root, {}, { target: "prod" });
    assert.equal(result.exitCode, 2);
    assert.match(result.error ?? "", /does not have a target named 'prod'/);
    assert.equal(result.results[0].status, "error");
  });

  test("a dbt that fails before logging (usage error on stderr, exit 2) reports stderr", async () => {
    const root = project();
    const dir = scratch();
    const exe = path.join(dir, "old-dbt");
    writeFileSync(exe, "#!/bin/sh\necho 'Usage: dbt build [OPTIONS]' >&2\necho \"Error: No such option: --log-format\" >&2\nexit 2\n");
    chmodSync(exe, 0o755);
    const { result, logs } = await run([node("stg_orders")], root, {}, { executable: exe });
    assert.equal(result.exitCode, 2);
    assert.match(result.error ?? "", /dbt failed \(exit code 2\): Usage: dbt build \[OPTIONS\]\nError: No such option: --log-format/);
    assert.match(result.results[0].message ?? "", /No such option/);
    assert.ok(logs.includes("Error: No such option: --log-format"));
  });

  test("cancel: SIGINT stops dbt, partial results kept, the whole process group is gone", async () => {
    const root = project();
    const dir = scratch();
    const grandchildFile = path.join(dir, "grandchild.pid");
    const ac = new AbortController();
    let aborted = false;
    const runP = run(ALL, root, { FAKE_DBT_SLEEP_MS: "stg_orders=20000", FAKE_DBT_GRANDCHILD_PID_FILE: grandchildFile }, {
      signal: ac.signal,
      onNodeEvent: (e) => {
        if (e.id === "stg_orders" && e.phase === "start") {
          aborted = true;
          ac.abort();
        }
      },
    });
    const { result, logs, pid } = await runP;
    assert.ok(aborted, "never reached stg_orders");
    assert.equal(result.cancelled, true);
    assert.equal(result.exitCode, 2); // dbt turns KeyboardInterrupt into exit code 2
    assert.match(result.error ?? "", /cancelled/);
    const r = byId(result);
    assert.equal(r.raw_orders.status, "success"); // finished before the cancel: kept from the partial run_results.json
    assert.equal(r.stg_customers.status, "success");
    assert.equal(r.stg_orders.status, "skipped");
    assert.equal(r.stg_orders.message, "cancelled");
    assert.equal(r.customers.status, "skipped");
    assert.ok(logs.some((l) => /Exited because of keyboard interrupt/.test(l)), logs.join("\n"));
    assert.ok(pid);
    assert.equal(await eventuallyGone(pid!), true, "dbt still running");
    const grandchild = Number(readFileSync(grandchildFile, "utf8"));
    cleanups.push(() => {
      if (isAlive(grandchild)) process.kill(grandchild, "SIGKILL");
    });
    assert.equal(await eventuallyGone(grandchild), true, "dbt's subprocess (same process group) survived the cancel");
  });

  test("cancel: a dbt that ignores SIGINT is killed after 1 s", async () => {
    const root = project();
    const ac = new AbortController();
    let abortedAt = 0;
    const { result, pid } = await run(ALL, root, { FAKE_DBT_SLEEP_MS: "raw_orders=20000", FAKE_DBT_IGNORE_SIGINT: "1" }, {
      signal: ac.signal,
      onNodeEvent: (e) => {
        if (e.id === "raw_orders" && e.phase === "start") {
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    // It was given its second to stop by itself before the SIGKILL (a lower bound: no load makes it flaky).
    const elapsed = Date.now() - abortedAt;
    assert.ok(elapsed >= 900, `killed after ${elapsed} ms, before the grace period`);
    assert.equal(result.cancelled, true);
    assert.equal(result.exitCode, null); // killed by SIGKILL
    assert.equal(byId(result).raw_customers.status, "success"); // from the live log: no run_results.json was written
    assert.equal(byId(result).raw_orders.status, "skipped");
    assert.equal(await eventuallyGone(pid!), true);
  });

  test("an already-aborted signal or an empty step starts no dbt", async () => {
    const root = project();
    const dir = scratch();
    const argsFile = path.join(dir, "args.json");
    const ac = new AbortController();
    ac.abort();
    const a = await run(ALL, root, { FAKE_DBT_ARGS_FILE: argsFile }, { signal: ac.signal });
    assert.equal(a.result.cancelled, true);
    assert.equal(a.pid, undefined);
    assert.ok(a.result.results.every((x) => x.status === "skipped"));
    const b = await run([], root, { FAKE_DBT_ARGS_FILE: argsFile });
    assert.deepEqual(b.result.results, []);
    assert.equal(b.pid, undefined);
    assert.equal(existsSync(argsFile), false);
  });

  test("exit 0 without run_results.json, or with a malformed one, is an error naming the file", async () => {
    const root = project();
    const file = path.join(root, "target", "run_results.json");
    const missing = await run(MODELS, root, { FAKE_DBT_NO_RUN_RESULTS: "1" });
    assert.equal(missing.result.exitCode, 0);
    assert.ok(missing.result.error?.includes(file), missing.result.error);
    assert.match(missing.result.error ?? "", /missing/);
    // the live log said success, and that is what the nodes report
    assert.ok(missing.result.results.every((x) => x.status === "success"));

    const corrupt = await run(MODELS, root, { FAKE_DBT_CORRUPT_RUN_RESULTS: "1" });
    assert.equal(corrupt.result.exitCode, 0);
    assert.ok(corrupt.result.error?.includes(file), corrupt.result.error);
    assert.match(corrupt.result.error ?? "", /not valid JSON/);
  });

  test("run_results.json under --target-path / DBT_TARGET_PATH", async () => {
    const root = project();
    const viaOption = await run([node("stg_orders")], root, {}, { targetPath: "out/dbt" });
    assert.equal(viaOption.result.error, undefined, viaOption.result.error);
    assert.equal(viaOption.result.runResultsPath, path.join(root, "out", "dbt", "run_results.json"));
    const viaEnv = await run([node("stg_orders")], root, { DBT_TARGET_PATH: "elsewhere" });
    assert.equal(viaEnv.result.error, undefined, viaEnv.result.error);
    assert.equal(viaEnv.result.runResultsPath, path.join(root, "elsewhere", "run_results.json"));
    assert.equal(byId(viaEnv.result).stg_orders.status, "success");
  });

  test("run_results.json under dbt_project.yml's target-path: read from the file, or given by the parsed project; DBT_TARGET_PATH still wins", async () => {
    const root = project();
    const projectFile = path.join(root, "dbt_project.yml");
    writeFileSync(projectFile, `${readFileSync(projectFile, "utf8")}\ntarget-path: "build/dbt"  # moved\n`);
    const fromFile = await run([node("stg_orders")], root);
    assert.equal(fromFile.result.error, undefined, fromFile.result.error);
    assert.equal(fromFile.result.runResultsPath, path.join(root, "build", "dbt", "run_results.json"));
    const fromProject = await run([node("stg_orders")], root, {}, { projectTargetPath: path.join(root, "build", "dbt") });
    assert.equal(fromProject.result.runResultsPath, path.join(root, "build", "dbt", "run_results.json"));
    const envWins = await run([node("stg_orders")], root, { DBT_TARGET_PATH: "elsewhere" }, { projectTargetPath: path.join(root, "build", "dbt") });
    assert.equal(envWins.result.runResultsPath, path.join(root, "elsewhere", "run_results.json"));
  });

  test("versioned models map back from model.<pkg>.<name>.v<N>", async () => {
    const root = project();
    writeFileSync(path.join(root, "models", "marts", "dim_orders_v2.sql"), "select * from {{ ref('fct_orders') }}\n");
    const { result, events } = await run([node("dim_orders", "model", { id: "dim_orders@v2", version: "2" })], root);
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(result.results, [{ id: "dim_orders@v2", status: "success", ms: result.results[0].ms, rows: 42 }]);
    assert.deepEqual(events.map((e) => `${e.phase}:${e.id}`), ["start:dim_orders@v2", "success:dim_orders@v2"]);
  });

  test("an executable that does not exist fails the step without throwing", async () => {
    const root = project();
    const { result } = await run(ALL, root, {}, { executable: path.join(root, "no-such-dbt") });
    assert.equal(result.exitCode, null);
    assert.match(result.error ?? "", /dbt executable not found/);
    assert.ok(result.results.every((x) => x.status === "error"));
  });
});

describe("findDbtExecutable", posixOnly, () => {
  test("finds dbt on a PATH, skipping non-executable files and missing folders", () => {
    const dir = scratch();
    const decoy = path.join(dir, "decoy");
    mkdirSync(decoy);
    writeFileSync(path.join(decoy, "dbt"), "not executable");
    chmodSync(path.join(decoy, "dbt"), 0o644);
    const env = { PATH: [path.join(dir, "missing"), decoy, FAKE_DIR].join(path.delimiter) };
    assert.equal(findDbtExecutable(env), FAKE);
    assert.equal(findDbtExecutable({ PATH: decoy }), undefined);
    assert.equal(findDbtExecutable({}), undefined);
  });

  test("a configured path wins over PATH; relative paths resolve against baseDir; bare names search PATH", () => {
    const dir = scratch();
    assert.equal(findDbtExecutable({ PATH: "" }, FAKE), FAKE);
    assert.equal(findDbtExecutable({ PATH: "" }, path.join("fake-dbt", "dbt"), path.dirname(FAKE_DIR)), FAKE);
    assert.equal(findDbtExecutable({ PATH: FAKE_DIR }, path.join(dir, "nope")), undefined);
    assert.equal(findDbtExecutable({ PATH: FAKE_DIR }, "dbt"), FAKE);
    assert.equal(findDbtExecutable({ PATH: FAKE_DIR }, "dbt-other"), undefined);
  });

  test("the executable found on PATH is the one runDbtStep runs", async () => {
    const root = project();
    const exe = findDbtExecutable({ PATH: FAKE_DIR });
    assert.ok(exe);
    const { result } = await run([node("stg_orders")], root, {}, { executable: exe });
    assert.equal(result.exitCode, 0);
    assert.equal(byId(result).stg_orders.status, "success");
  });
});
