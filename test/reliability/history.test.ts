/**
 * The history cannot be written or read: a failed write mid-run keeps the run lock until every step
 * has stopped, prints one clear line and exits with a failure; a history that is a directory or
 * read-only is explained in one line; materializations naming runs the log never started are ignored.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { HistoryStore } from "../../server/src/run/history";
import { CLI } from "../helpers/cli";
import { alive, stackLines, workspace } from "./helpers";

/** Root bypasses file permissions: as root, the CLI runs as `nobody` so that chmod means something. */
const asRoot = process.getuid?.() === 0;
const asUser = asRoot ? { uid: 65534, gid: 65534 } : {};

/**
 * The built CLI where `nobody` can read it: the checkout may sit in a folder only root can enter
 * (a `mktemp -d` clone), so as root the CLI bundle and its native DuckDB modules are copied into a
 * folder anyone can read; otherwise the CLI runs from the checkout.
 */
const RUNNABLE_CLI = asRoot ? stagedCli() : CLI;

function stagedCli(): string {
  const stage = mkdtempSync(path.join(tmpdir(), "tributary-cli-"));
  const checkout = path.resolve(path.dirname(CLI), "../../..");
  cpSync(path.dirname(CLI), path.join(stage, "dist"), { recursive: true });
  for (const name of readdirSync(path.join(checkout, "node_modules/@duckdb"))) {
    cpSync(path.join(checkout, "node_modules/@duckdb", name), path.join(stage, "node_modules/@duckdb", name), { recursive: true, dereference: true });
  }
  spawnSync("chmod", ["-R", "a+rX", stage]);
  process.on("exit", () => rmSync(stage, { recursive: true, force: true }));
  return path.join(stage, "dist", path.basename(CLI));
}

function chownTree(root: string): void {
  if (process.getuid?.() === 0) spawnSync("chown", ["-R", "65534:65534", root]);
}

function cli(root: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNABLE_CLI, ...args], { cwd: root, ...asUser });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

// Two independent TS steps. `breaker` makes the history read-only once `sleeper` runs, then
// returns (its materialization cannot be recorded); `sleeper` notes whether run.lock ever
// disappears while it is still running.
const TWO_STEPS = `import { asset } from "tributary-assets";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import * as path from "node:path";
const root = path.resolve(process.cwd(), "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const breaker = asset({ key: "breaker" }, async () => {
  while (!existsSync(path.join(root, "sleeper.pid"))) await sleep(20);
  chmodSync(path.join(root, ".tributary/history/events.jsonl"), 0o444);
  return 1;
});
export const sleeper = asset({ key: "sleeper" }, async () => {
  writeFileSync(path.join(root, "sleeper.pid"), String(process.pid));
  for (let i = 0; i < 400; i++) {
    if (!existsSync(path.join(root, ".tributary/run.lock"))) writeFileSync(path.join(root, "lock-released-while-running"), String(i));
    await sleep(50);
  }
  return 2;
});
`;

describe("a history write fails mid-run", () => {
  test("the lock stays until every step stopped; one clear line; exit code 1", async (t) => {
    const w = workspace({ "assets/two.ts": TWO_STEPS });
    t.after(w.dispose);
    chownTree(w.root);
    const r = await cli(w.root, ["materialize", "breaker sleeper", "--concurrency", "2"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(stackLines(r.stderr), [], r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^Could not write the run history .*events\.jsonl: permission denied \(EACCES\); the run was stopped/);
    assert.equal(existsSync(path.join(w.root, "lock-released-while-running")), false, "run.lock was released while a step still ran");
    assert.equal(alive(Number(readFileSync(path.join(w.root, "sleeper.pid"), "utf8"))), false, "the other step was stopped");
    assert.equal(existsSync(path.join(w.root, ".tributary/run.lock")), false, "released at the end");
  });
});

describe("a history that cannot be read or written", () => {
  test("events.jsonl is a directory: materialize, status and history say so in one line", async (t) => {
    const w = workspace({ "assets/a.ts": `import { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, async () => 1);\n` });
    t.after(w.dispose);
    mkdirSync(path.join(w.root, ".tributary/history/events.jsonl"), { recursive: true });
    chownTree(w.root);
    for (const args of [["materialize", "a"], ["status"], ["history"]]) {
      const r = await cli(w.root, args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.deepEqual(stackLines(r.stderr), [], r.stderr);
      assert.match(r.stderr.trim(), /^Cannot read the run history .*events\.jsonl: it is a directory \(EISDIR\)\.$/, args.join(" "));
    }
  });

  test("the history folder is read-only: nothing runs, one line, exit 1, the lock is released", async (t) => {
    const w = workspace({ "assets/a.ts": `import { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, async () => 1);\n` });
    t.after(w.dispose);
    mkdirSync(path.join(w.root, ".tributary/history"), { recursive: true });
    chownTree(w.root);
    chmodSync(path.join(w.root, ".tributary/history"), 0o555);
    const r = await cli(w.root, ["materialize", "a"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(stackLines(r.stderr), [], r.stderr);
    assert.match(r.stderr.trim(), /^Could not write the run history .*events\.jsonl: permission denied \(EACCES\); nothing was run\.$/);
    assert.equal(existsSync(path.join(w.root, ".tributary/storage/a.json")), false);
    assert.equal(existsSync(path.join(w.root, ".tributary/run.lock")), false);
  });

  test("the history path is a file where a folder should be", async (t) => {
    const w = workspace({ "assets/a.ts": `import { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, async () => 1);\n` });
    t.after(w.dispose);
    mkdirSync(path.join(w.root, ".tributary"));
    writeFileSync(path.join(w.root, ".tributary/history"), "");
    chownTree(w.root);
    const r = await cli(w.root, ["materialize", "a"]);
    assert.notEqual(r.code, 0);
    assert.deepEqual(stackLines(r.stderr), [], r.stderr);
    assert.match(r.stderr.trim(), /^Cannot read the run history .*: a part of the path is not a directory \(ENOTDIR\)\.$/);
  });
});

describe("forged materializations", () => {
  test("a materialization naming a run the log never started does not count", (t) => {
    const w = workspace({});
    t.after(w.dispose);
    const store = HistoryStore.open(w.root);
    store.startRun({ id: "r1", selection: "a", plan: null });
    const m = { assetId: "a", key: ["a"], stepId: "s", startedAt: "2026-01-01T00:00:00.000Z", endedAt: "2026-01-01T00:00:01.000Z", status: "success" as const, durationMs: 1, codeVersion: "c", upstreamVersions: {} };
    store.recordMaterialization({ ...m, runId: "r1" });
    store.endRun("r1", "success");
    // Appended by hand, as anyone who can write the file could.
    appendFileSync(store.file, JSON.stringify({ v: 1, type: "materialization", m: { ...m, runId: "forged", codeVersion: "evil", endedAt: "2027-01-01T00:00:00.000Z" } }) + "\n");
    for (const s of [store, HistoryStore.open(w.root)]) {
      s.reload();
      assert.equal(s.lastSuccess("a")?.runId, "r1");
      assert.deepEqual(s.materializations("a").map((x) => x.runId), ["r1"]);
      assert.equal(s.materializationsOfUnknownRuns, 1);
    }
  });
});
