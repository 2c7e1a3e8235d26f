// One build for every bundle: the extension, the language server, the CLI + runtime package,
// and (when present) the lineage panel. `--watch` rebuilds on change.
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, copyFileSync, chmodSync } from "node:fs";
import { spawnSync } from "node:child_process";

const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");

const node = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
  // Native and VS Code modules are loaded at run time, never bundled.
  external: ["vscode", "@duckdb/node-api", "@duckdb/node-bindings", "playwright-core"],
};

const builds = [
  { ...node, entryPoints: { extension: "extension/src/extension.ts" }, outdir: "dist" },
  { ...node, entryPoints: { server: "server/src/server.ts" }, outdir: "dist" },
  // The runner the extension spawns: the CLI with its TS step process and runtime beside it.
  { ...node, sourcemap: false, entryPoints: { cli: "server/src/cli.ts", index: "packages/tributary-assets/src/index.ts" }, outdir: "dist/runner" },
  { ...node, sourcemap: false, external: [...node.external, "typescript"], entryPoints: { "ts-step": "server/src/run/ts/child.ts" }, outdir: "dist/runner" },
  { ...node, entryPoints: { cli: "server/src/cli.ts" }, outdir: "packages/tributary-assets/dist"},
  { ...node, entryPoints: { index: "packages/tributary-assets/src/index.ts" }, outdir: "packages/tributary-assets/dist" },
  // The TS step process runs with --enable-source-maps for the user's code: no map of its own to load.
  // TypeScript stays external: the runner fills a transpile cache, so the step process rarely needs it.
  { ...node, sourcemap: false, external: [...node.external, "typescript"], entryPoints: { "ts-step": "server/src/run/ts/child.ts" }, outdir: "packages/tributary-assets/dist" },
  // The panel's bundles are always minified: the webview loads them on every open (elkjs is 3.5 MB unminified).
  { bundle: true, platform: "browser", format: "iife", target: "es2022", sourcemap: !production, minify: true, logLevel: "warning", entryPoints: { webview: "webview/src/main.ts" }, outdir: "dist" },
  { bundle: true, platform: "browser", format: "iife", target: "es2022", sourcemap: !production, minify: true, logLevel: "warning", entryPoints: { "layout-worker": "webview/src/layoutWorker.ts" }, outdir: "dist" },
].filter((b) => Object.values(b.entryPoints).every((entry) => existsSync(entry)));

mkdirSync("dist", { recursive: true });
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log("watching…");
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync("packages/tributary-assets/dist/cli.js", 0o755);
  // The runtime package ships its declarations, emitted by the TypeScript compiler.
  const tsc = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "packages/tributary-assets/tsconfig.json"], { stdio: "inherit" });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  if (existsSync("webview/src/panel.css")) copyFileSync("webview/src/panel.css", "dist/panel.css");
  console.log(`built ${builds.length} bundles`);
}
