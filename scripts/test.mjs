// Runs the test suite with Node's test runner. `npm test` runs every tier;
// `npm test -- unit protocol` runs only the named tiers (folders under test/).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const tiers = process.argv.slice(2);
// The real-VS Code suite (test/e2e) has its own runner: it provisions code-server, packages the
// extension and rebuilds dist/, so it runs last and alone. test/electron needs a VS Code download.
const SEPARATE = new Set(["e2e", "electron"]);
const wantE2E = tiers.length === 0 || tiers.includes("e2e");

// The browser tests (test/webview, test/e2e) need Debian's Chromium and code-server: provision
// them first (apt packages only when missing, code-server into .cache/ once), so that
// `npm ci && npm test` is all the set-up a fresh machine needs.
if (tiers.length === 0 || tiers.includes("webview") || tiers.includes("e2e")) {
  const provision = spawnSync("bash", ["scripts/provision-e2e.sh"], { stdio: ["ignore", "ignore", "inherit"] });
  if (provision.status !== 0) {
    console.error("test: provisioning Chromium / code-server failed (see above)");
    process.exit(provision.status ?? 1);
  }
}

// Protocol and CLI tests run the built bundles, so build first.
const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const roots = (tiers.length ? tiers : readdirSync("test")).filter((t) => !SEPARATE.has(t)).map((t) => join("test", t));

function collect(dir, out) {
  if (!statSync(dir).isDirectory()) {
    if (dir.endsWith(".test.ts")) out.push(dir);
    return out;
  }
  for (const name of readdirSync(dir).sort()) {
    if (name === "fixtures" || name === "node_modules") continue;
    collect(join(dir, name), out);
  }
  return out;
}

const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0 && !wantE2E) {
  console.error("no test files found under", roots.join(", "));
  process.exit(1);
}
// Tests that rebuild dist/ (packaging) run after the others, which read the bundles.
const rebuildsDist = (file) => file.endsWith("package.test.ts");
const batches = [files.filter((f) => !rebuildsDist(f)), files.filter(rebuildsDist)].filter((b) => b.length > 0);
let status = 0;
for (const batch of batches) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...batch], { stdio: "inherit" });
  if (result.status !== 0) status = result.status ?? 1;
}
if (wantE2E) {
  const result = spawnSync(process.execPath, ["scripts/e2e.mjs"], { stdio: "inherit" });
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
