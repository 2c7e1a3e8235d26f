/**
 * The TS transpile cache is keyed on the file's content: an edit that keeps the size and the
 * modification time still runs the new code.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { compiled } from "../../server/src/run/ts/transpile";
import { runCli } from "../helpers/cli";
import { workspace } from "./helpers";

const source = (value: string) => `import { asset } from "tributary-assets";\nexport const answer = asset({ key: "answer" }, async () => "${value}");\n`;

test("an edit keeping size and mtime runs the new code (CLI, real child process)", (t) => {
  const w = workspace({ "assets/answer.ts": source("old") });
  t.after(w.dispose);
  const file = path.join(w.root, "assets/answer.ts");
  const stored = () => JSON.parse(readFileSync(path.join(w.root, ".tributary/storage/answer.json"), "utf8")) as string;

  const stamp = 1_700_000_000; // whole seconds: every file system keeps them exactly
  utimesSync(file, stamp, stamp);
  const first = runCli(w.root, ["materialize", "answer"]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal(stored(), "old");

  const before = statSync(file);
  writeFileSync(file, source("new"));
  utimesSync(file, stamp, stamp);
  const after = statSync(file);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);

  const second = runCli(w.root, ["materialize", "answer"]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.equal(stored(), "new");
});

test("compiled(): same path, size and mtime, other content -> other output", (t) => {
  const w = workspace({ "m.ts": "export const x: number = 1;\n" });
  t.after(w.dispose);
  const file = path.join(w.root, "m.ts");
  const cache = path.join(w.root, "cache");
  utimesSync(file, 1_700_000_000, 1_700_000_000);
  assert.match(compiled(cache, file), /exports\.x = 1;/);
  const before = statSync(file);
  writeFileSync(file, "export const x: number = 2;\n");
  utimesSync(file, 1_700_000_000, 1_700_000_000);
  assert.equal(statSync(file).mtimeMs, before.mtimeMs);
  assert.equal(statSync(file).size, before.size);
  assert.match(compiled(cache, file), /exports\.x = 2;/);
});
