// `npm run test:e2e`: the end-to-end suite in a real VS Code (code-server + Chromium, test/e2e).
// 1. provisions what it needs (scripts/provision-e2e.sh: apt packages when missing, code-server
//    into .cache/code-server, reused), 2. packages the extension (`npm run package`) and keeps a
//    copy of the .vsix, 3. runs test/e2e/*.test.ts with node:test.
// `--screenshots` also rewrites docs/*.png from the run. Provisioning that fails (not root and
// packages missing) fails the suite: it is never silently skipped.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const args = process.argv.slice(2);
const env = { ...process.env, TRIBUTARY_E2E: "1" };
if (args.includes("--screenshots")) env.TRIBUTARY_E2E_SCREENSHOTS = "1";
const started = Date.now();

const provision = spawnSync("bash", ["scripts/provision-e2e.sh"], { stdio: ["ignore", "ignore", "inherit"] });
if (provision.status !== 0) {
  console.error("e2e: FAILED to provision code-server or Chromium (see above); run scripts/provision-e2e.sh as root.");
  process.exit(provision.status ?? 1);
}

if (!env.TRIBUTARY_E2E_VSIX) {
  const pack = spawnSync(process.execPath, ["scripts/package.mjs"], { stdio: ["ignore", "ignore", "inherit"] });
  if (pack.status !== 0) process.exit(pack.status ?? 1);
  const { name, version } = JSON.parse(readFileSync("package.json", "utf8"));
  mkdirSync("test-results/e2e", { recursive: true });
  env.TRIBUTARY_E2E_VSIX = path.resolve("test-results/e2e", `${name}-${version}.vsix`);
  copyFileSync(`${name}-${version}.vsix`, env.TRIBUTARY_E2E_VSIX);
  console.error(`e2e: packaged ${name}-${version}.vsix in ${Date.now() - started} ms`);
}

const files = readdirSync("test/e2e").filter((f) => f.endsWith(".test.ts")).map((f) => path.join("test/e2e", f));
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], { stdio: "inherit", env });
console.error(`e2e: ${Date.now() - started} ms in all`);
process.exit(result.status ?? 1);
