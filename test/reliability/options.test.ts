/**
 * Numeric options are validated (flags and tributary.json) with one clear line and a failure exit
 * code, and a run whose steps were all skipped is not reported as a success.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { HistoryStore } from "../../server/src/run/history";
import { RunContext } from "../../server/src/run/context";
import { runPlan } from "../../server/src/run/runner";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { planSelection } from "../../server/src/plan/planner";
import { runCli } from "../helpers/cli";
import { stackLines, workspace } from "./helpers";

const ASSETS = `import { asset } from "tributary-assets";
export const a = asset({ key: "a" }, async () => [1, 2, 3]);
export const b = asset({ key: "b", deps: [a] }, async ({ a }) => (a as number[]).length);
`;

describe("numeric options", () => {
  const cleanup: (() => void)[] = [];
  after(() => cleanup.forEach((c) => c()));
  const ws = () => {
    const w = workspace({ "assets/x.ts": ASSETS });
    cleanup.push(w.dispose);
    return w.root;
  };

  for (const [args, flag] of [
    [["materialize", "+b", "--concurrency", "abc"], "--concurrency"],
    [["materialize", "+b", "--concurrency", "0"], "--concurrency"],
    [["materialize", "+b", "--concurrency", "1.5"], "--concurrency"],
    [["jobs", "run", "nightly", "--concurrency", "-2"], "--concurrency"],
    [["show", "a", "--limit", "ten"], "--limit"],
  ] as const) {
    test(`${args.join(" ")}: refused in one line, nothing runs`, () => {
      const root = ws();
      const r = runCli(root, [...args]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`${flag}.*'${args[args.length - 1]}' is invalid.*whole number`));
      assert.deepEqual(stackLines(r.stderr), []);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(HistoryStore.open(root).runs().length, 0, "no run was started");
    });
  }

  test('"concurrency": "many" in tributary.json: refused naming the file, nothing runs', () => {
    const root = ws();
    writeFileSync(path.join(root, "tributary.json"), JSON.stringify({ concurrency: "many" }));
    const r = runCli(root, ["materialize", "+b"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^tributary\.json:1:\d+: error: .*'concurrency' must be integer/m);
    assert.match(r.stderr, /tributary\.json has an error \(above\): fix it to run; nothing was run\./);
    assert.deepEqual(stackLines(r.stderr), []);
    assert.equal(HistoryStore.open(root).runs().length, 0);
  });

  test("a valid --concurrency runs", () => {
    const root = ws();
    const r = runCli(root, ["materialize", "+b", "--concurrency", "1"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(HistoryStore.open(root).lastRun()?.status, "success");
  });

  test("--vars that is not YAML: one clear line", () => {
    const root = ws();
    const r = runCli(root, ["materialize", "+b", "--vars", "{a: [1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--vars is not valid JSON or YAML/);
    assert.deepEqual(stackLines(r.stderr), []);
  });

  test("the runner itself refuses a concurrency that is not a whole number (callers other than the CLI)", async () => {
    const root = ws();
    const index = new WorkspaceIndex({ roots: [root] });
    index.load();
    const plan = planSelection(index.graph, ["a", "b"]);
    for (const concurrency of [Number.NaN, 0, 2.5, "many" as unknown as number]) {
      await assert.rejects(runPlan(new RunContext(index, root), plan, { selection: "+b", concurrency }), /concurrency must be a whole number of at least 1/);
    }
    assert.equal(HistoryStore.open(root).runs().length, 0);
  });
});

describe("a run whose steps did not run is not a success", () => {
  test("steps that can never start: the run fails, exit code 1", (t) => {
    const w = workspace({ "assets/x.ts": ASSETS });
    t.after(w.dispose);
    const index = new WorkspaceIndex({ roots: [w.root] });
    index.load();
    const plan = planSelection(index.graph, ["a", "b"]);
    // A plan whose first step waits on a step that is not in it: nothing can ever start.
    plan.steps[0].dependsOn = ["no-such-step"];
    return runPlan(new RunContext(index, w.root), plan, { selection: "+b" }).then((summary) => {
      assert.equal(summary.status, "failed");
      const run = HistoryStore.open(w.root).lastRun()!;
      assert.equal(run.status, "failed");
      assert.match(run.error ?? "", /2 of 2 steps did not run/);
    });
  });
});
