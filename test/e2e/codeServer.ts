/**
 * The real VS Code of the end-to-end suite: code-server (VS Code 1.100 in a browser, provisioned
 * by scripts/provision-e2e.sh into .cache/code-server) with the packaged .vsix installed into a
 * fresh extensions folder, on a fresh copy of examples/jaffle-forecast, on a free 127.0.0.1 port;
 * and Debian's Chromium driven by playwright-core. See /work/shared/notes/real-vscode-e2e.md.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { RunRecord } from "../../server/src/protocol/history";
import { HistoryStore } from "../../server/src/run/history";

export const ROOT = path.resolve(__dirname, "../..");
export const EXAMPLE = path.join(ROOT, "examples/jaffle-forecast");
export const CACHE = process.env.TRIBUTARY_E2E_CACHE ?? path.join(ROOT, ".cache");
export const CODE_SERVER = path.join(CACHE, "code-server");
export const RESULTS = path.join(ROOT, "test-results", "e2e");

const log = (message: string): void => void process.stderr.write(`e2e: ${message}\n`);

/** Runs scripts/provision-e2e.sh unless code-server is already there (the script itself is idempotent). */
export function ensureProvisioned(): void {
  const marker = path.join(CODE_SERVER, ".provisioned");
  if (existsSync(marker) && existsSync(chromiumPath() ?? "/nonexistent")) return;
  log("provisioning code-server and Chromium (scripts/provision-e2e.sh)");
  const result = spawnSync("bash", [path.join(ROOT, "scripts/provision-e2e.sh")], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, TRIBUTARY_E2E_CACHE: CACHE } });
  if (result.status !== 0) throw new Error(`scripts/provision-e2e.sh failed with ${result.status}`);
}

export function chromiumPath(): string | undefined {
  const found = spawnSync("bash", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim();
  return found || undefined;
}

/**
 * The packaged extension. `TRIBUTARY_E2E_VSIX` names a ready one; otherwise `npm run package` builds
 * tributary-<version>.vsix, which is copied away at once (the packaging test deletes its own).
 */
export function packagedVsix(into: string): string {
  const given = process.env.TRIBUTARY_E2E_VSIX;
  if (given) return path.resolve(given);
  const { name, version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
  const started = Date.now();
  const result = spawnSync(process.execPath, ["scripts/package.mjs"], { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`npm run package failed:\n${result.stdout}\n${result.stderr}`);
  const target = path.join(into, `${name}-${version}.vsix`);
  copyFileSync(path.join(ROOT, `${name}-${version}.vsix`), target);
  log(`packaged the extension in ${Date.now() - started} ms`);
  return target;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released just before code-server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh copy of the example project, without run state, build output or dependencies. */
export function copyExample(into: string): string {
  const workspace = copyProject(EXAMPLE, into);
  // What `npm install` gives the example (its package.json depends on file:../../packages/tributary-assets):
  // the runtime's types, so VS Code's TypeScript sees no missing module.
  mkdirSync(path.join(workspace, "node_modules"));
  symlinkSync(path.join(ROOT, "packages", "tributary-assets"), path.join(workspace, "node_modules", "tributary-assets"), "dir");
  return workspace;
}

/** A fresh copy of a project folder (same name, under `into`), without run state, build output, warehouses or dependencies. */
export function copyProject(source: string, into: string): string {
  const workspace = path.join(into, path.basename(source));
  cpSync(source, workspace, { recursive: true, filter: (src) => !/(^|[/\\])(node_modules|\.tributary|target|logs)([/\\]|$)|\.duckdb(\.wal)?$/.test(path.relative(source, src)) });
  return workspace;
}

export const USER_SETTINGS = {
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "task.allowAutomaticTasks": "off",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "telemetry.telemetryLevel": "off",
  "extensions.ignoreRecommendations": true,
  "update.mode": "none",
  "git.enabled": false,
  "chat.commandCenter.enabled": false,
  "workbench.colorTheme": "Default Dark Modern",
  "editor.minimap.enabled": false,
  "editor.stickyScroll.enabled": false,
  "editor.hover.sticky": true,
  "window.restoreWindows": "none",
  "files.hotExit": "off",
  // Typed text lands as typed: the suite replaces editor text through the keyboard.
  "editor.autoIndent": "none",
  "editor.autoClosingBrackets": "never",
  "editor.autoClosingQuotes": "never",
  "editor.autoSurround": "never",
  "editor.formatOnType": false,
  "editor.formatOnPaste": false,
  "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
  "editor.suggestOnTriggerCharacters": false,
  "editor.acceptSuggestionOnEnter": "off",
};

export interface Session {
  port: number;
  url: string;
  workspace: string;
  userData: string;
  extensions: string;
  server: ChildProcess;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Output of code-server (stdout + stderr), for the failure artifacts. */
  serverOutput: string[];
  stop(): Promise<void>;
  /** The extension host log (activation, the extension's errors). */
  exthostLog(): string;
  /** The "Tributary" output channel's log file, when VS Code wrote one. */
  tributaryLog(): string;
  saveArtifacts(name: string): Promise<void>;
}

function findFiles(dir: string, test: (file: string) => boolean, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) findFiles(file, test, out);
    else if (test(file)) out.push(file);
  }
  return out;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Poll `check` every `every` ms until it returns a value (not undefined) or `timeout` passes. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeout = 30_000, every = 100): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Installs the .vsix into a fresh extensions folder, starts code-server on the workspace and opens
 * it in Chromium. Everything lives under one temp folder, removed by `stop()`.
 */
/** The run history of a workspace, as the tests read it (never marking runs interrupted). */
export function workspaceHistory(workspace: string): HistoryStore {
  return HistoryStore.open(workspace, { markInterrupted: false });
}

/** Waits until the workspace's history has a finished run other than `afterId` (run ids sort by start time). */
export async function finishedRunAfter(workspace: string, afterId: string | undefined, timeout = 90_000): Promise<RunRecord> {
  return until("a finished run in the history", () => {
    const run = workspaceHistory(workspace).lastRun();
    return run && run.id !== afterId && run.status !== "running" ? run : undefined;
  }, timeout, 200);
}

export interface SessionOptions {
  /** The packaged extension to install; without it, nothing is installed (see `payload`). */
  vsix?: string;
  workspace: string;
  /** The suite's temp folder (HOME, user data, extensions). */
  home: string;
  viewport?: { width: number; height: number };
  /**
   * The web workbench's development options, as `[name, value]` pairs in the `payload` URL parameter:
   * `extensionDevelopmentPath` and `extensionTestsPath` (paths on the server) run an extension under
   * development and its tests in the remote extension host, as `code --extensionTestsPath` does.
   */
  payload?: [string, string][];
  /** Called with the page before the workbench is loaded (e.g. to expose `codeAutomationExit`). */
  beforeOpen?: (page: Page) => Promise<void>;
}

export async function startSession(options: SessionOptions): Promise<Session> {
  const { vsix, workspace, home } = options;
  const userData = path.join(home, "user-data");
  const extensions = path.join(home, "extensions");
  mkdirSync(path.join(userData, "User"), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  writeFileSync(path.join(userData, "User", "settings.json"), JSON.stringify(USER_SETTINGS, null, 2));
  const entry = path.join(CODE_SERVER, "out", "node", "entry.js");
  const common = ["--user-data-dir", userData, "--extensions-dir", extensions];
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, ".local/share"), XDG_CONFIG_HOME: path.join(home, ".config") };
  delete env.VSCODE_IPC_HOOK_CLI;

  const started = Date.now();
  if (vsix) {
    const install = spawnSync(process.execPath, [entry, ...common, "--install-extension", vsix], { encoding: "utf8", env });
    if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
      throw new Error(`code-server --install-extension failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
    }
    log(`installed ${path.basename(vsix)} in ${Date.now() - started} ms`);
  }

  const port = await freePort();
  const serverOutput: string[] = [];
  const server = spawn(process.execPath, [entry, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", ...common, workspace], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that stopping it also reaches the extension host and language server it started.
    detached: true,
  });
  server.stdout!.on("data", (d: Buffer) => serverOutput.push(d.toString()));
  server.stderr!.on("data", (d: Buffer) => serverOutput.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await until("code-server to answer", async () => {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}: ${serverOutput.join("")}`);
    const response = await fetch(`${url}/healthz`).catch(() => undefined);
    return response?.ok ? true : undefined;
  }, 60_000, 100);
  log(`code-server ${port} up in ${Date.now() - started} ms (pid ${server.pid})`);

  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("chromium is not installed: run scripts/provision-e2e.sh");
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await options.beforeOpen?.(page);
  const payload = options.payload?.map(([name, value]): [string, string] => [name, /^(extensionDevelopmentPath|extensionTestsPath)$/.test(name) ? `vscode-remote://127.0.0.1:${port}${value}` : value]);
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ""}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });

  const session: Session = {
    port,
    url,
    workspace,
    userData,
    extensions,
    server,
    browser,
    context,
    page,
    serverOutput,
    async stop() {
      await browser.close().catch(() => undefined);
      if (server.pid !== undefined && server.exitCode === null) {
        server.kill("SIGTERM");
        if (!(await waitForExit(server, 10_000))) server.kill("SIGKILL");
        // Whatever it started and left behind (extension host, language server, runner) goes with its group.
        try {
          process.kill(-server.pid, "SIGKILL");
        } catch {
          // the group is already gone
        }
      }
    },
    exthostLog() {
      return findFiles(path.join(userData, "logs"), (f) => /exthost\d*[/\\]remoteexthost\.log$/.test(f)).map((f) => readFileSync(f, "utf8")).join("\n");
    },
    tributaryLog() {
      return findFiles(path.join(userData, "logs"), (f) => /Tributary\.log$/.test(f)).map((f) => readFileSync(f, "utf8")).join("\n");
    },
    async saveArtifacts(name) {
      const dir = path.join(RESULTS, name.replace(/[^\w.-]+/g, "_"));
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, "screenshot.png") }).catch((e: unknown) => log(`no screenshot: ${String(e)}`));
      writeFileSync(path.join(dir, "remoteexthost.log"), session.exthostLog());
      writeFileSync(path.join(dir, "tributary.log"), session.tributaryLog());
      writeFileSync(path.join(dir, "code-server.log"), serverOutput.join(""));
      log(`artifacts in ${path.relative(ROOT, dir)}`);
    },
  };
  return session;
}

/** A temp folder for one suite (code-server's user data, extensions, the workspace copy). */
export function tempHome(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "tributary-e2e-"));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
