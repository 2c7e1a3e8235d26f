/** Client logic that needs no VS Code: the command table against the manifest, menus, run progress, input validation. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { COMMANDS, selectionFor } from "../../extension/src/commandTable";
import { applyRunEvent, EventLineParser, initialRunState, progressMessage, summaryMessage } from "../../extension/src/runProgress";
import { parseSelection } from "../../server/src/graph/selection";
import type { Plan } from "../../server/src/protocol/plan";
import type { RunEvent } from "../../server/src/protocol/runEvents";

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as {
  main: string;
  activationEvents: string[];
  contributes: { commands: { command: string; title: string; enablement?: string }[]; menus: Record<string, { command: string; when?: string }[]>; views: Record<string, { id: string }[]>; configuration: { properties: Record<string, unknown> } };
  capabilities: { untrustedWorkspaces: { supported: string } };
};

describe("command table and manifest", () => {
  test("every command of the table is contributed with its title, and nothing else is", () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    assert.deepEqual([...contributed.keys()].sort(), COMMANDS.map((c) => c.id).sort());
    for (const spec of COMMANDS) assert.equal(contributed.get(spec.id)!.title, spec.title, spec.id);
  });

  test("commands that execute are disabled in untrusted workspaces; the manifest declares limited support", () => {
    for (const spec of COMMANDS.filter((c) => c.executes)) {
      assert.equal(manifest.contributes.commands.find((c) => c.command === spec.id)!.enablement, "isWorkspaceTrusted", spec.id);
    }
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
  });

  test("menus: editor context on SQL/TS/YAML, explorer, editor title, tree items; every menu entry is a known command", () => {
    const known = new Set(COMMANDS.map((c) => c.id));
    for (const [menu, entries] of Object.entries(manifest.contributes.menus)) for (const e of entries) assert.ok(known.has(e.command as never), `${menu}: ${e.command}`);
    const editor = manifest.contributes.menus["editor/context"];
    for (const id of ["tributary.materialize", "tributary.materializeUpstream", "tributary.materializeDownstream", "tributary.showLineage"]) {
      const entry = editor.find((e) => e.command === id)!;
      const when = new RegExp(/=~ \/(.*)\/$/.exec(entry.when!)![1]);
      for (const ext of [".sql", ".ts", ".yml", ".yaml"]) assert.ok(when.test(ext), `${id} on ${ext}`);
      assert.ok(!when.test(".md"), `${id} not on markdown`);
    }
    assert.ok(manifest.contributes.menus["explorer/context"].some((e) => e.command === "tributary.materializeUpstream"));
    assert.ok(manifest.contributes.menus["editor/title"].some((e) => e.command === "tributary.showLineage"));
    assert.ok(manifest.contributes.menus["view/item/context"].some((e) => e.command === "tributary.materialize" && /tributary\.assets/.test(e.when!)));
    assert.deepEqual(manifest.contributes.views.tributary.map((v) => v.id), ["tributary.assets", "tributary.runs", "tributary.jobs"]);
    assert.ok(manifest.contributes.menus["view/item/context"].some((e) => e.command === "tributary.runJob" && /tributary\.jobs/.test(e.when!)));
  });

  test("activation on dbt projects and on workspaces using tributary-assets; settings exist", () => {
    assert.ok(manifest.activationEvents.includes("workspaceContains:**/dbt_project.yml"));
    assert.ok(manifest.activationEvents.some((e) => e.includes("tributary-assets")));
    for (const key of ["engine", "dbtExecutable", "nodePath", "lineageDepth.upstream", "lineageDepth.downstream", "include", "exclude", "concurrency", "runSchedules"]) {
      assert.ok(`tributary.${key}` in manifest.contributes.configuration.properties, key);
    }
  });

  test("selectionFor builds selections the grammar parses, with the right layers", () => {
    assert.equal(selectionFor(["fct_orders"], "upstream"), '+key:"fct_orders"');
    assert.equal(selectionFor(["forecasting/predicted_orders"], "downstream"), 'key:"forecasting/predicted_orders"+');
    assert.equal(selectionFor(["a", "b"], "only"), 'key:"a" key:"b"');
    for (const text of [selectionFor(["and"], "upstream"), selectionFor(['we"ird'], "only")]) assert.ok(parseSelection(text).ok, text);
  });
});

describe("run progress", () => {
  const plan: Plan = {
    selection: ["a", "b", "c"],
    steps: [
      { id: "step-1", kind: "dbt", assets: ["a", "b"], dependsOn: [], parallelGroup: 0 },
      { id: "step-2", kind: "ts", assets: ["c"], dependsOn: ["step-1"], parallelGroup: 1 },
    ],
    inputs: [],
    external: [],
    skipped: [],
  };

  test("events from the runner drive counts, the current asset and the final message", () => {
    const parser = new EventLineParser();
    const lines: RunEvent[] = [
      { type: "run_start", runId: "r1", selection: "+c", engine: "embedded", plan },
      { type: "step_start", runId: "r1", stepId: "step-1", kind: "dbt", assets: ["a", "b"] },
      { type: "asset_start", runId: "r1", stepId: "step-1", assetId: "a" },
      { type: "asset_materialized", runId: "r1", stepId: "step-1", assetId: "a", rows: 3, ms: 2 },
    ];
    const text = lines.map((e) => JSON.stringify(e)).join("\n") + "\n";
    const state = initialRunState();
    // Split mid-line: the parser keeps the partial tail until the rest arrives.
    for (const event of [...parser.push(text.slice(0, 50)), ...parser.push(text.slice(50))]) applyRunEvent(state, event);
    assert.equal(state.runId, "r1");
    assert.equal(progressMessage(state), "step 1/2 · 1/3 assets · a");
    assert.equal(state.assetStates.get("a"), "fresh");
    applyRunEvent(state, { type: "asset_start", runId: "r1", stepId: "step-1", assetId: "b" });
    assert.equal(state.assetStates.get("b"), "running");
    applyRunEvent(state, { type: "asset_failed", runId: "r1", stepId: "step-1", assetId: "b", error: "boom" });
    applyRunEvent(state, { type: "step_failed", runId: "r1", stepId: "step-1", error: "b: boom", assets: ["b"] });
    applyRunEvent(state, { type: "step_end", runId: "r1", stepId: "step-1", status: "failed", ms: 5 });
    applyRunEvent(state, { type: "step_skipped", runId: "r1", stepId: "step-2", reason: "upstream failed" });
    applyRunEvent(state, { type: "run_end", runId: "r1", status: "failed", ms: 9, failed: [{ assetId: "b", error: "boom" }], skipped: ["c"] });
    assert.equal(state.status, "failed");
    assert.deepEqual(state.failed.map((f) => f.assetId), ["b"]);
    assert.equal(state.failed[0].stepId, "step-1", "the failure knows its step, to open that step's log");
    assert.match(state.logs.get("step-1")!.join("\n"), /b: FAILED\nboom/);
    assert.equal(summaryMessage(state, "+c"), "Tributary: run failed — b; 1 skipped.");
  });

  test("success and cancel messages", () => {
    const start: RunEvent = { type: "run_start", runId: "r2", selection: "+c", engine: "embedded", plan };
    const end = (status: "success" | "cancelled"): RunEvent => ({ type: "run_end", runId: "r2", status, ms: 1, failed: [], skipped: [] });
    const ok = applyRunEvent(applyRunEvent(initialRunState(), start), end("success"));
    ok.doneAssets = 3;
    assert.equal(summaryMessage(ok, "+c"), "Tributary: materialized 3 assets (+c).");
    const cancelled = applyRunEvent(applyRunEvent(initialRunState(), start), end("cancelled"));
    assert.equal(summaryMessage(cancelled, "+c"), "Tributary: run cancelled after 0 of 3 assets.");
  });
});
