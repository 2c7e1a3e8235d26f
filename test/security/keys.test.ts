/**
 * Asset keys become file paths: a key with an empty, `.` / `..` or
 * path-separator segment is rejected with a diagnostic at the key, and the json IO manager
 * resolves every stored value under its storage folder.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { keyProblem } from "../../server/src/graph/keys";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { readTsAssets } from "../../server/src/index/ts/assets";
import { jsonPath, storeJson } from "../../server/src/run/ts/io";
import { toAssetKey } from "../../packages/tributary-assets/src/index";
import { runCli } from "../helpers/cli";
import { copyExample, positionOf } from "../helpers/workspace";

describe("asset keys", () => {
  test("keyProblem names each kind of bad segment", () => {
    assert.equal(keyProblem(["forecasting", "predicted_orders"]), undefined);
    assert.match(keyProblem([])!, /at least one segment/);
    assert.match(keyProblem(["a", ""])!, /empty segments/);
    assert.match(keyProblem(["..", "x"])!, /may not be '\.\.'/);
    assert.match(keyProblem([".", "x"])!, /may not be '\.'/);
    assert.match(keyProblem(["a/b"])!, /path separator/);
    assert.match(keyProblem(["a\\b"])!, /path separator/);
    assert.match(keyProblem(["a\0b"])!, /NUL/);
  });

  test("a TS asset key with '..' or a separator inside a segment is an error at the key", () => {
    for (const key of ['["..", "..", "..", "x"]', '"a/../b"', '["a/b"]', '["a\\\\b"]', '"./x"']) {
      const text = `import { asset } from "tributary-assets";\nexport const bad = asset({ key: ${key} }, async () => 1);\n`;
      const facts = readTsAssets("/w/bad.ts", text, () => undefined);
      const diag = facts.diagnostics.find((d) => d.code === "ts-invalid-key");
      assert.ok(diag, `${key}: ${JSON.stringify(facts.diagnostics)}`);
      assert.equal(diag.severity, "error");
      assert.deepEqual(diag.span.start, positionOf(text, key));
      assert.equal(facts.assets[0]?.key, undefined, key);
    }
  });

  test("the runtime's asset() refuses such keys too", () => {
    assert.throws(() => toAssetKey(["..", "x"]), /'\.', '\.\.' or contain a path separator/);
    assert.throws(() => toAssetKey(["a/b"]), /path separator/);
    assert.deepEqual(toAssetKey("a/b"), ["a", "b"]);
  });

  test("a dbt key override with '..' is an error at the node and the node is left out", () => {
    const ws = copyExample();
    try {
      const yml = path.join(ws.root, "models", "escape.yml");
      const text = "version: 2\nsources:\n  - name: outside\n    tables:\n      - name: escape\n        meta:\n          tributary:\n            key: ['..', '..', 'x']\n";
      writeFileSync(yml, text);
      const index = new WorkspaceIndex({ roots: [ws.root] });
      index.load();
      const diag = (index.diagnostics().get(yml) ?? []).find((d) => d.code === "invalid-key");
      assert.ok(diag, JSON.stringify(index.diagnostics().get(yml)));
      assert.deepEqual(diag.span.start, positionOf(text, "escape"));
      assert.match(diag.message, /'\.\.\/\.\.\/x' is not valid/);
      assert.ok(![...index.graph.nodes.keys()].some((id) => id.includes("..")));
    } finally {
      ws.dispose();
    }
  });

  test("the json IO manager stores only under its folder", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tributary-storage-"));
    try {
      const storage = path.join(dir, "storage");
      assert.equal(jsonPath(storage, ["forecasting", "model"]), path.join(storage, "forecasting", "model.json"));
      assert.throws(() => storeJson(storage, ["..", "..", "escaped"], { a: 1 }), /cannot name a stored value: a key segment may not be '\.\.'/);
      assert.throws(() => jsonPath(storage, ["a/../../b"]), /path separator/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("materializing a TS asset whose key climbs out of .tributary/storage writes nothing outside", () => {
    const ws = copyExample();
    const name = `escaped-${path.basename(ws.root)}`;
    const outside = path.resolve(ws.root, ".tributary", "storage", "..", "..", "..", `${name}.json`);
    try {
      const file = path.join(ws.root, "assets", "escape.ts");
      const text = `import { asset } from "tributary-assets";\nexport const escape = asset({ key: ["..", "..", "..", "${name}"] }, async () => ({ pwned: true }));\n`;
      writeFileSync(file, text);
      const check = runCli(ws.root, ["check", "--json"]);
      const diags = JSON.parse(check.stdout) as { file: string; line: number; severity: string; message: string }[];
      const diag = diags.find((d) => d.file === "assets/escape.ts");
      assert.ok(diag, check.stdout);
      assert.equal(diag.severity, "error");
      assert.equal(diag.line, 2);
      const run = runCli(ws.root, ["materialize", `key:"../../../${name}"`]);
      assert.notEqual(run.code, 0, run.stdout);
      assert.equal(existsSync(outside), false, `a value was written to ${outside}`);
      assert.equal(readFileSync(file, "utf8"), text);
    } finally {
      rmSync(outside, { force: true });
      ws.dispose();
    }
  });
});
