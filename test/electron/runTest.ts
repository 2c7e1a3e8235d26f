/**
 * The desktop suite's launcher (`npm run test:electron`): downloads VS Code with @vscode/test-electron
 * (so it needs the internet: a laptop or a public CI, not these machines), opens a fresh copy of
 * examples/jaffle-forecast with this folder as the extension under development, and runs the mocha
 * suite bundled by scripts/e2e-electron.mjs into .cache/electron-tests/suite.js.
 *
 * Environment: VSCODE_TEST_VERSION (default "stable", e.g. "1.100.3" or "insiders").
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runTests } from "@vscode/test-electron";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples/jaffle-forecast");

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), "tributary-electron-"));
  const workspace = path.join(home, "jaffle-forecast");
  cpSync(EXAMPLE, workspace, { recursive: true, filter: (src) => !/(^|[/\\])(node_modules|\.tributary|target|logs)([/\\]|$)/.test(path.relative(EXAMPLE, src)) });
  mkdirSync(path.join(workspace, "node_modules"));
  symlinkSync(path.join(ROOT, "packages", "tributary-assets"), path.join(workspace, "node_modules", "tributary-assets"), "dir");
  const userData = path.join(home, "user-data");
  mkdirSync(path.join(userData, "User"), { recursive: true });
  writeFileSync(
    path.join(userData, "User", "settings.json"),
    JSON.stringify({ "security.workspace.trust.enabled": false, "workbench.startupEditor": "none", "task.allowAutomaticTasks": "off", "extensions.ignoreRecommendations": true, "update.mode": "none" }, null, 2),
  );
  try {
    await runTests({
      version: process.env.VSCODE_TEST_VERSION ?? "stable",
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, ".cache", "electron-tests", "suite.js"),
      extensionTestsEnv: { TRIBUTARY_E2E_WORKSPACE: workspace },
      launchArgs: [workspace, "--disable-extensions", "--disable-workspace-trust", "--skip-welcome", "--skip-release-notes", `--user-data-dir=${userData}`, `--extensions-dir=${path.join(home, "extensions")}`],
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
