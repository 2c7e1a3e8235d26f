// `npm run test:electron`: the end-to-end scenarios in VS Code desktop, through @vscode/test-electron
// (test/electron). It downloads VS Code, so it runs on a laptop or a public CI, not on machines
// without the internet (there, `npm run test:e2e` runs the same day in code-server).
// Builds the extension, bundles the mocha suite for the extension host, then launches VS Code.
// `--bundle-only` only bundles the suite (test/e2e/apiSuite.test.ts runs that bundle in code-server).
import { spawnSync } from "node:child_process";
import * as esbuild from "esbuild";

const bundleOnly = process.argv.includes("--bundle-only");
const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
if (!bundleOnly) run(process.execPath, ["scripts/build.mjs"]);
await esbuild.build({
  entryPoints: { suite: "test/electron/suite/index.ts" },
  outdir: ".cache/electron-tests",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  // Loaded at run time: VS Code's API, mocha, DuckDB's native binding (from this repo's node_modules).
  external: ["vscode", "mocha", "@duckdb/node-api", "@duckdb/node-bindings"],
});
if (!bundleOnly) run(process.execPath, ["--import", "tsx", "test/electron/runTest.ts"]);
