// Runs the test suite with Node's test runner, one tier (a folder under test/) at a time, and
// prints each tier's time. `npm test` runs every tier; `npm test -- unit protocol` the named ones.
// Everything is built once, up front, as it ships (the production bundles); the packaging test and
// the real-VS Code suite package those bundles without building again (TRIBUTARY_PREBUILT).
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const asked = process.argv.slice(2);
// The real-VS Code suite (test/e2e) has its own runner: it provisions code-server and packages the
// extension, so it runs last and alone. test/electron needs a VS Code download (laptops, public CI).
const SEPARATE = new Set(["e2e", "electron"]);
const everything = asked.length === 0;
const wantE2E = everything || asked.includes("e2e");

// The browser tests (test/webview, test/e2e) need Debian's Chromium and code-server: provision
// them first (apt packages only when missing, code-server into .cache/ once), so that
// `npm ci && npm test` is all the set-up a fresh machine needs.
if (everything || asked.includes("webview") || asked.includes("e2e")) {
  const provision = spawnSync("bash", ["scripts/provision-e2e.sh"], { stdio: ["ignore", "ignore", "inherit"] });
  if (provision.status !== 0) {
    console.error("test: provisioning Chromium / code-server failed (see above)");
    process.exit(provision.status ?? 1);
  }
}

const started = Date.now();
const build = spawnSync(process.execPath, ["scripts/build.mjs", "--production"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const env = { ...process.env, TRIBUTARY_PREBUILT: "1" };
console.error(`test: built in ${Date.now() - started} ms`);

function collect(path, out) {
  if (!statSync(path).isDirectory()) {
    if (path.endsWith(".test.ts")) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === "fixtures" || name === "node_modules") continue;
    collect(join(path, name), out);
  }
  return out;
}

/** Runs a command, echoing its output, and reads the test runner's closing counts from it. */
function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env });
    let tail = "";
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on("close", (code) => {
      const count = (name) => Number([...tail.matchAll(new RegExp(`^# ${name} (\\d+)$`, "gm"))].at(-1)?.[1] ?? 0);
      resolve({ status: code ?? 1, pass: count("pass"), fail: count("fail") });
    });
  });
}

const tiers = (everything ? readdirSync("test").filter((t) => statSync(join("test", t)).isDirectory()) : asked).filter((t) => !SEPARATE.has(t) && t !== "fixtures" && t !== "helpers");
const results = [];
for (const tier of tiers) {
  const files = collect(join("test", tier), []);
  if (files.length === 0) {
    console.error(`test: no test files under test/${tier}`);
    process.exit(1);
  }
  const t0 = Date.now();
  const result = await run(["--import", "tsx", "--test", "--test-concurrency=2", ...files]);
  results.push({ tier, ms: Date.now() - t0, ...result });
}
if (wantE2E) {
  const t0 = Date.now();
  const result = await run(["scripts/e2e.mjs"]);
  results.push({ tier: "e2e", ms: Date.now() - t0, ...result });
}

console.log("\ntier        time      passed  failed");
for (const r of results) console.log(`${r.tier.padEnd(10)} ${`${(r.ms / 1000).toFixed(1)} s`.padStart(8)} ${String(r.pass).padStart(9)} ${String(r.fail).padStart(7)}${r.status !== 0 ? "  (exit " + r.status + ")" : ""}`);
const passed = results.reduce((n, r) => n + r.pass, 0);
const failed = results.reduce((n, r) => n + r.fail, 0);
const broken = results.some((r) => r.status !== 0);
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(broken || failed > 0 ? 1 : 0);
