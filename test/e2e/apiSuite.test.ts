/**
 * The desktop suite (test/electron, mocha, the VS Code extension API) run here, in code-server's
 * real extension host: VS Code's web workbench takes the same development options as
 * `code --extensionDevelopmentPath --extensionTestsPath` in its `payload` URL parameter, runs the
 * suite in the (Node) remote extension host with this folder as the extension under development,
 * and reports the exit code through `window.codeAutomationExit`. So the API scenarios are checked
 * on every CI run, not only where @vscode/test-electron can download VS Code.
 *
 * Needs the built extension (dist/) and the bundled suite (`node scripts/e2e-electron.mjs --bundle-only`,
 * done here).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { copyExample, ensureProvisioned, RESULTS, ROOT, startSession, tempHome, until, type Session } from "./codeServer";

test("the desktop suite (test/electron) passes in code-server's extension host", { timeout: 300_000, skip: process.env.TRIBUTARY_E2E === "1" ? false : "end-to-end: run it with `npm run test:e2e`" }, async () => {
  ensureProvisioned();
  assert.ok(existsSync(path.join(ROOT, "dist", "extension.js")), "dist/ is built (npm run build or npm run package)");
  const bundle = spawnSync(process.execPath, ["scripts/e2e-electron.mjs", "--bundle-only"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(bundle.status, 0, bundle.stderr);
  const home = tempHome();
  const log: string[] = [];
  const mocha: string[] = [];
  let exitCode: number | undefined;
  let session: Session | undefined;
  const started = Date.now();
  try {
    session = await startSession({
      workspace: copyExample(home.dir),
      home: home.dir,
      payload: [
        ["extensionDevelopmentPath", ROOT],
        ["extensionTestsPath", path.join(ROOT, ".cache", "electron-tests", "suite.js")],
      ],
      beforeOpen: async (page) => {
        await page.exposeFunction("codeAutomationExit", (code: number) => void (exitCode = code));
        // The extension host's console (mocha's reporter) arrives here, one call per line.
        await page.exposeFunction("codeAutomationLog", (type: string, args: unknown[]) => {
          const [format, ...rest] = args.map(String);
          let i = 0;
          const line = format.replace(/%[sdo]/g, () => rest[i++] ?? "").replace(/\u001b\[[0-9;]*m/g, "") + (i < rest.length ? ` ${rest.slice(i).join(" ")}` : "");
          log.push(line);
          // Mocha's spec reporter writes with console.log; the workbench's own messages come before it starts.
          if (type !== "error" && (mocha.length > 0 || /a user's day/.test(line))) mocha.push(line);
        });
      },
    });
    const code = await until("the suite to finish", () => exitCode, 240_000, 200);
    const report = mocha.join("\n");
    process.stderr.write(`e2e: desktop suite in code-server, exit ${code}, ${Date.now() - started} ms\n${report}\n`);
    if (code !== 0) {
      mkdirSync(path.join(RESULTS, "desktop-suite"), { recursive: true });
      writeFileSync(path.join(RESULTS, "desktop-suite", "extension-host-console.log"), log.join("\n"));
      await session.saveArtifacts("desktop-suite");
    }
    assert.equal(code, 0, `the mocha suite failed:\n${report}`);
    assert.ok(mocha.some((l) => /\b7 passing/.test(l)), `seven scenarios passed:\n${report}`);
  } finally {
    await session?.stop();
    home.dispose();
  }
});
