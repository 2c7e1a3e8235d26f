/**
 * tributary.json is untrusted input: validated against the shipped JSON
 * schema with diagnostics at their place, the server keeps serving with defaults, and no
 * executable is ever taken from it.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { Hover } from "vscode-languageserver-protocol";
import { parseTributaryConfig } from "../../server/src/index/config";
import { runCli } from "../helpers/cli";
import { serveCopy, uri } from "../helpers/lspClient";
import { copyExample, positionOf } from "../helpers/workspace";

const ROOT = path.resolve(__dirname, "../..");

describe("tributary.json against its schema", () => {
  test("valid settings are kept; a wrong type is an error at the value and falls back to the default", () => {
    const text = '{\n  "include": ["models/**"],\n  "exclude": 5,\n  "concurrency": "many",\n  "engine": "spark"\n}\n';
    const { config, diagnostics } = parseTributaryConfig("/w/tributary.json", text);
    assert.deepEqual(config, { include: ["models/**"] });
    const byMessage = (re: RegExp) => diagnostics.find((d) => re.test(d.message));
    const exclude = byMessage(/'exclude' must be array/);
    assert.ok(exclude, JSON.stringify(diagnostics));
    assert.equal(exclude.severity, "error");
    assert.deepEqual(exclude.span.start, positionOf(text, "5"));
    const concurrency = byMessage(/'concurrency' must be integer/);
    assert.deepEqual(concurrency?.span.start, positionOf(text, '"many"'));
    const engine = byMessage(/'engine' must be equal to one of the allowed values \("embedded", "dbt"\)/);
    assert.deepEqual(engine?.span.start, positionOf(text, '"spark"'));
  });

  test("an unknown key is a warning at the key; broken JSON is an error at the place it breaks", () => {
    const unknown = parseTributaryConfig("/w/tributary.json", '{ "exlude": ["x"] }');
    assert.deepEqual(unknown.config, {});
    assert.equal(unknown.diagnostics[0].severity, "warning");
    assert.match(unknown.diagnostics[0].message, /Unknown setting 'exlude'/);
    assert.equal(unknown.diagnostics[0].span.start.character, 2);
    const broken = parseTributaryConfig("/w/tributary.json", '{\n  "exclude": [}\n');
    assert.deepEqual(broken.config, {});
    assert.ok(broken.diagnostics.length > 0);
    assert.equal(broken.diagnostics[0].span.start.line, 1);
    assert.match(broken.diagnostics[0].message, /not valid JSON: value expected/);
  });

  test("an executable named in tributary.json is ignored with a warning at its key", () => {
    const text = '{ "engine": "dbt", "dbtExecutable": "./evil.sh", "nodePath": "/tmp/node", "runSchedules": true }';
    const { config, diagnostics } = parseTributaryConfig("/w/tributary.json", text);
    assert.deepEqual(config, { engine: "dbt" });
    for (const key of ["dbtExecutable", "nodePath", "runSchedules"]) {
      const d = diagnostics.find((x) => x.message.startsWith(`'${key}' in tributary.json is ignored`));
      assert.ok(d, `${key}: ${JSON.stringify(diagnostics)}`);
      assert.equal(d.severity, "warning");
      assert.equal(d.code, "config-ignored");
      assert.deepEqual(d.span.start, positionOf(text, `"${key}"`));
    }
  });

  test("the schema ships in the extension and is contributed for completion in VS Code", () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { contributes: { jsonValidation?: { fileMatch: string | string[]; url: string }[] } };
    const entry = manifest.contributes.jsonValidation?.find((j) => [j.fileMatch].flat().includes("tributary.json"));
    assert.ok(entry, "jsonValidation for tributary.json");
    const schema = JSON.parse(readFileSync(path.join(ROOT, entry.url), "utf8")) as { properties: Record<string, unknown> };
    for (const key of ["include", "exclude", "engine", "concurrency"]) assert.ok(key in schema.properties, key);
    assert.match(readFileSync(path.join(ROOT, ".vscodeignore"), "utf8"), new RegExp(`^!${entry.url.replace(/^\.\//, "").split("/")[0]}/`, "m"));
  });
});

describe("a broken tributary.json in the language server", () => {
  const served = serveCopy({
    prepare: (root) => {
      writeFileSync(path.join(root, "tributary.json"), '{\n  "exclude": 5\n}\n');
    },
  });

  test("is reported on tributary.json with its position, and hovers still answer", async () => {
    const config = path.join(served.root, "tributary.json");
    const diags = await served.client.waitFor(() => {
      const list = served.client.diagnostics.get(config);
      return list && list.length > 0 ? list : undefined;
    }, 10_000, "tributary.json diagnostics");
    assert.match(diags[0].message, /'exclude' must be array/);
    assert.deepEqual(diags[0].range.start, { line: 1, character: 13 });
    const fct = path.join(served.root, "models/marts/fct_orders.sql");
    const text = readFileSync(fct, "utf8");
    await served.client.open(fct, text);
    const hover = await served.client.request<Hover | null>("textDocument/hover", { textDocument: { uri: uri(fct) }, position: positionOf(text, "stg_orders", 2) });
    assert.ok(hover, "hover answers");
    assert.match((hover.contents as { value: string }).value, /\*\*stg_orders\*\*/);
  });

  test("editing tributary.json re-validates it", async () => {
    const config = path.join(served.root, "tributary.json");
    await served.client.open(config, '{\n  "exclude": 5\n}\n', "json");
    await served.client.change(config, 2, '{ "exclude": ["assets/**"], "dbtExecutable": "x" }');
    const diags = await served.client.waitFor(() => {
      const list = served.client.diagnostics.get(config);
      return list?.length === 1 && /ignored/.test(list[0].message) && list;
    }, 10_000, "re-validated diagnostics");
    assert.equal(diags[0].severity, 2);
  });
});

describe("executables come only from the user", () => {
  test("materialize --engine dbt never runs a dbtExecutable named in tributary.json", () => {
    const ws = copyExample();
    try {
      const marker = path.join(ws.root, "pwned");
      const evil = path.join(ws.root, "evil.sh");
      writeFileSync(evil, `#!/bin/sh\ntouch "${marker}"\nexit 1\n`);
      chmodSync(evil, 0o755);
      writeFileSync(path.join(ws.root, "tributary.json"), JSON.stringify({ dbtExecutable: "./evil.sh" }));
      // No dbt on PATH, no TRIBUTARY_DBT_EXECUTABLE: the dbt engine has no executable.
      const result = runCli(ws.root, ["materialize", "stg_orders", "--engine", "dbt"], { PATH: path.dirname(process.execPath), TRIBUTARY_DBT_EXECUTABLE: "" });
      assert.equal(existsSync(marker), false, "the repository's executable ran");
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /tributary\.json:1:2: warning: 'dbtExecutable' in tributary\.json is ignored/);
      assert.match(result.stderr, /The dbt engine needs the dbt executable: 'dbt' is not on PATH \(set tributary\.dbtExecutable in your user settings/);
      // The user's own choice is honoured.
      const mine = runCli(ws.root, ["materialize", "stg_orders", "--engine", "dbt", "--json"], { PATH: path.dirname(process.execPath), TRIBUTARY_DBT_EXECUTABLE: evil });
      assert.equal(existsSync(marker), true, `the user's executable runs: ${mine.stderr}`);
    } finally {
      ws.dispose();
    }
  });
});
