/** The Pipes protocol pieces of tributary-assets, against Python's own zlib/base64/json where it matters. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  DagsterPipesError,
  decodePipesParam,
  encodePipesParam,
  fromPipesAssetKey,
  openDagsterPipes,
  pipesMetadata,
  toPipesAssetKey,
} from "../../packages/tributary-assets/src/pipes";
import { PYTHON } from "../helpers/python";

function python(code: string, input: string): string {
  const r = spawnSync(PYTHON, ["-c", code], { input, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("Pipes params: base64 of zlib-compressed JSON", () => {
  const value = { path: "/tmp/ctx.json", extras: { "naïve": ["ü", 1.5, null, true] } };

  test("what Node encodes, Python's base64 + zlib + json decode", () => {
    const decoded = python("import base64,json,sys,zlib; print(json.dumps(json.loads(zlib.decompress(base64.b64decode(sys.stdin.read())).decode('utf-8'))))", encodePipesParam(value));
    assert.deepEqual(JSON.parse(decoded), value);
  });

  test("what Python encodes (dagster's encode_param), Node decodes", () => {
    const encoded = python("import base64,json,sys,zlib; print(base64.b64encode(zlib.compress(json.dumps(json.loads(sys.stdin.read())).encode('utf-8'))).decode('utf-8'))", JSON.stringify(value)).trim();
    assert.deepEqual(decodePipesParam(encoded), value);
  });

  test("text that is not a param is an error naming the variable", () => {
    assert.throws(() => decodePipesParam("%%%", "DAGSTER_PIPES_CONTEXT"), (e: unknown) => e instanceof DagsterPipesError && /DAGSTER_PIPES_CONTEXT is not base64 of zlib-compressed JSON/.test(e.message));
  });
});

describe("Pipes asset keys and metadata", () => {
  test("keys are Dagster user strings; a slash inside a segment is escaped and comes back", () => {
    assert.equal(toPipesAssetKey(["forecasting", "predicted_orders"]), "forecasting/predicted_orders");
    assert.equal(toPipesAssetKey(["a/b", "c\\d"]), "a\\/b/c\\\\d");
    assert.deepEqual(fromPipesAssetKey(toPipesAssetKey(["a/b", "c\\d"])), ["a/b", "c\\d"]);
  });

  test("raw values are inferred, typed values pass through, undefined is dropped", () => {
    assert.deepEqual(pipesMetadata({ n: 3, s: "x", t: { type: "md", raw_value: "# hi" }, u: undefined, o: { type: "json" } }), {
      n: { type: "__infer__", raw_value: 3 },
      s: { type: "__infer__", raw_value: "x" },
      t: { type: "md", raw_value: "# hi" },
      o: { type: "__infer__", raw_value: { type: "json" } },
    });
  });
});

describe("openDagsterPipes", () => {
  test("not launched by Dagster: no session", () => {
    assert.equal(openDagsterPipes({}), undefined);
  });

  test("file context and file messages: opened first, closed last, one JSON message a line", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pipes-"));
    try {
      const messages = path.join(dir, "messages");
      writeFileSync(path.join(dir, "context.json"), JSON.stringify({ asset_keys: ["a/b"], run_id: "r1", partition_key: "p", job_name: null, retry_number: 0, extras: { k: 1 } }));
      const session = openDagsterPipes({
        DAGSTER_PIPES_CONTEXT: encodePipesParam({ path: path.join(dir, "context.json") }),
        DAGSTER_PIPES_MESSAGES: encodePipesParam({ path: messages }),
      })!;
      assert.deepEqual([session.context.asset_keys, session.context.run_id, session.context.partition_key, session.context.extras], [["a/b"], "r1", "p", { k: 1 }]);
      session.log("INFO", "hello");
      session.reportAssetMaterialization({ metadata: { rows: 2 }, dataVersion: "v1" });
      assert.throws(() => session.reportAssetMaterialization({}), /already reported/);
      assert.throws(() => session.reportAssetCheck({ assetKey: "other", checkName: "c", passed: true }), /expected one of \["a\/b"\], got 'other'/);
      session.reportCustomMessage({ big: 2n ** 70n });
      session.close();
      session.close();
      const lines = readFileSync(messages, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { method: string; params: unknown; __dagster_pipes_version: string });
      assert.deepEqual(lines.map((l) => l.method), ["opened", "log", "report_asset_materialization", "report_custom_message", "closed"]);
      assert.deepEqual(lines[2].params, { asset_key: "a/b", data_version: "v1", metadata: { rows: { type: "__infer__", raw_value: 2 } } });
      assert.deepEqual(lines[3].params, { payload: { big: "1180591620717411303424" } });
      assert.deepEqual(lines[4].params, {});
      assert.throws(() => session.log("INFO", "late"), /after the Pipes session is closed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unknown params shapes are errors that say what was expected", () => {
    assert.throws(() => openDagsterPipes({ DAGSTER_PIPES_CONTEXT: encodePipesParam({ s3: "x" }), DAGSTER_PIPES_MESSAGES: encodePipesParam({ path: "/dev/null" }) }), /expected a "path" or "data" key/);
    assert.throws(
      () => openDagsterPipes({ DAGSTER_PIPES_CONTEXT: encodePipesParam({ data: { run_id: "r" } }), DAGSTER_PIPES_MESSAGES: encodePipesParam({ stdio: "tty" }) }),
      /"stdio" must be "stdout" or "stderr", got "tty"/,
    );
    assert.throws(() => openDagsterPipes({ DAGSTER_PIPES_CONTEXT: encodePipesParam({ data: { run_id: "r" } }) }), /DAGSTER_PIPES_MESSAGES is not/);
    assert.throws(() => openDagsterPipes({ DAGSTER_PIPES_CONTEXT: encodePipesParam([1]), DAGSTER_PIPES_MESSAGES: encodePipesParam({}) }), /must decode to a JSON object, got an array/);
  });
});
