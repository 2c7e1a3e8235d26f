/** `npm run package` builds a .vsix holding what the manifest needs and nothing from tests, benches or sources. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const ROOT = path.resolve(__dirname, "../..");

test("the packaged .vsix: bundles, runner, webview, DuckDB's native binding; no tests, benches or sources", () => {
  const { name, version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
  const vsix = path.join(ROOT, `${name}-${version}.vsix`);
  rmSync(vsix, { force: true });
  const result = spawnSync("npm", ["run", "package"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.ok(existsSync(vsix));
  // A .vsix is a zip; `unzip -Z1` lists its entries (unzip ships with the machine's image; python's zipfile as a fallback).
  const listing = spawnSync("python3", ["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", vsix], { encoding: "utf8" });
  assert.equal(listing.status, 0, listing.stderr);
  const files = listing.stdout.trim().split("\n");
  for (const needed of ["extension/package.json", "extension/dist/extension.js", "extension/dist/server.js", "extension/dist/runner/cli.js", "extension/dist/runner/ts-step.js", "extension/dist/runner/index.js", "extension/dist/webview.js", "extension/dist/layout-worker.js", "extension/dist/panel.css", "extension/node_modules/@duckdb/node-api/package.json", "extension/node_modules/typescript/lib/typescript.js", "extension/schemas/tributary.schema.json"]) {
    assert.ok(files.includes(needed), `${needed} is packaged`);
  }
  assert.ok(files.some((f) => /node_modules\/@duckdb\/node-bindings-linux-x64\/.*\.node$/.test(f)), "the native DuckDB binding for this platform");
  for (const forbidden of [/^extension\/test\//, /^extension\/bench\//, /^extension\/(server|extension|webview)\/src\//, /\.ts$/, /\.map$/, /^extension\/examples\//, /^extension\/\.tributary\//]) {
    const hit = files.find((f) => forbidden.test(f) && !f.endsWith(".d.ts"));
    assert.equal(hit, undefined, `${hit} must not be packaged`);
  }
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { main: string };
  assert.ok(files.includes(`extension/${manifest.main.replace(/^\.\//, "")}`), "the manifest's main is packaged");
  rmSync(vsix, { force: true });
});
