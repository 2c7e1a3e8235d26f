/**
 * Runs the lineage panel in real headless Chromium: a static server on 127.0.0.1 (random port)
 * serving webview/test-harness.html and the built bundles from dist/, plus JSON fixtures
 * registered by the test; Debian's chromium driven by playwright-core. Build first
 * (`node scripts/build.mjs`).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { HostMessage, PanelMessage, PanelRequest, PanelResults } from "../../server/src/protocol/webview";

/** Debian's chromium (CI installs it); TRIBUTARY_CHROMIUM points elsewhere on a developer's machine. */
export const CHROMIUM = process.env.TRIBUTARY_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = path.resolve(__dirname, "../..");
const FILES: Record<string, { file: string; type: string }> = {
  "/harness.html": { file: "webview/test-harness.html", type: "text/html; charset=utf-8" },
  "/dist/webview.js": { file: "dist/webview.js", type: "text/javascript" },
  "/dist/layout-worker.js": { file: "dist/layout-worker.js", type: "text/javascript" },
  "/dist/panel.css": { file: "dist/panel.css", type: "text/css" },
};

export type Theme = "dark" | "light" | "hc";

export interface Harness {
  url: string;
  browser: Browser;
  /** Serve `body` as JSON at `/fixtures/<name>.json`. */
  addFixture(name: string, body: unknown): string;
  /** Serve a script at `/scripts/<name>.js` (or a 404 for null); call again to change what is served. */
  setScript(name: string, body: string | null): string;
  /**
   * `beforeLoad`: runs on the new page before the panel loads (e.g. to hold back a resource with `page.route`).
   * The panel's `ready` is answered (as the extension does) unless `answerReady` is false.
   */
  open(options?: { theme?: Theme; width?: number; height?: number; workerUrl?: string; beforeLoad?: (page: Page) => Promise<void>; answerReady?: boolean }): Promise<PanelPage>;
  close(): Promise<void>;
}

/** Launch Chromium and the static server. Fails (never skips) when Chromium or the build is missing. */
export async function startHarness(): Promise<Harness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the lineage panel is tested in real Chromium. Install it with \`apt-get update && apt-get install -y chromium\` (or set TRIBUTARY_CHROMIUM).`);
  }
  for (const { file } of Object.values(FILES)) {
    if (!existsSync(path.join(ROOT, file))) throw new Error(`${file} is missing: run \`node scripts/build.mjs\` first.`);
  }
  const fixtures = new Map<string, string>();
  const scripts = new Map<string, string | null>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const fixture = fixtures.get(url.pathname);
    const script = scripts.get(url.pathname);
    const entry = FILES[url.pathname];
    if (script !== undefined) {
      if (script === null) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" }).end(script);
    } else if (fixture !== undefined) {
      res.writeHead(200, { "content-type": "application/json" }).end(fixture);
    } else if (entry) {
      res.writeHead(200, { "content-type": entry.type, "cache-control": "no-store" }).end(readFileSync(path.join(ROOT, entry.file)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  return {
    url,
    browser,
    addFixture(name, body) {
      const p = `/fixtures/${name}.json`;
      fixtures.set(p, JSON.stringify(body));
      return p;
    },
    setScript(name, body) {
      const p = `/scripts/${name}.js`;
      scripts.set(p, body);
      return p;
    },
    async open(options = {}) {
      const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await options.beforeLoad?.(page);
      await page.goto(`${url}/harness.html?theme=${options.theme ?? "dark"}${options.workerUrl ? `&worker=${encodeURIComponent(options.workerUrl)}` : ""}`);
      const panel = new PanelPage(page, errors);
      const ready = await panel.waitForPosted("ready", 30_000).catch((e: Error) => {
        throw new Error(`the panel did not post ready: ${e.message}; page errors: ${errors.join("; ")}`);
      });
      if (options.answerReady !== false) await panel.answer(ready, null);
      return panel;
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One panel page: play the extension, read what the panel posted, wait for drawing. */
export class PanelPage {
  constructor(readonly page: Page, readonly errors: string[]) {}

  async send(message: HostMessage): Promise<void> {
    await this.page.evaluate((m) => (window as unknown as { __toPanel(m: unknown): void }).__toPanel(m), message);
  }

  /** Answer one of the panel's requests (by its id) with a result. */
  async answer<R extends PanelRequest>(request: R, result: PanelResults[R["method"]]): Promise<void> {
    await this.send({ method: "response", requestId: request.requestId, result });
  }

  /** Answer one of the panel's requests (by its id) with an error. */
  async answerError(request: PanelRequest, message: string): Promise<void> {
    await this.send({ method: "response", requestId: request.requestId, error: { message } });
  }

  /** Fetch a fixture into the page (see `addFixture`); `postLoaded` sends it. */
  async load(url: string): Promise<void> {
    await this.page.evaluate((u) => (window as unknown as { __load(u: string): Promise<void> }).__load(u), url);
  }

  /** Post the loaded fixture; returns the page's clock just before posting. */
  async postLoaded(): Promise<number> {
    return this.page.evaluate(() => {
      const t = performance.now();
      (window as unknown as { __postLoaded(): void }).__postLoaded();
      return t;
    });
  }

  /** Send a message and wait until the panel finished drawing what it caused. */
  async sendAndDraw(message: HostMessage): Promise<void> {
    const seq = await this.renderSeq();
    await this.send(message);
    await this.waitForDraw(seq);
  }

  /** The error the panel shows (with its Retry button), once it shows one. */
  async waitForError(timeout = 60_000): Promise<string> {
    await this.page.waitForFunction(() => document.body.dataset.error !== undefined, undefined, { timeout, polling: 50 });
    return this.page.evaluate(() => document.body.dataset.error ?? "");
  }

  async renderSeq(): Promise<number> {
    return Number(await this.page.evaluate(() => document.body.dataset.renderSeq ?? "0"));
  }

  /** Wait until a draw later than `after` finished and nothing is being laid out. */
  async waitForDraw(after: number, timeout = 30_000): Promise<void> {
    await this.page.waitForFunction((n) => Number(document.body.dataset.renderSeq ?? "0") > n && document.body.dataset.busy !== "true", after, { timeout, polling: 20 });
  }

  async posted(): Promise<PanelMessage[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: PanelMessage[] }).__posted);
  }

  async clearPosted(): Promise<void> {
    await this.page.evaluate(() => ((window as unknown as { __posted: unknown[] }).__posted.length = 0));
  }

  /** What the panel posted, without the requests' ids (for comparing with expected messages). */
  async postedWithoutIds(): Promise<unknown[]> {
    return (await this.posted()).map(withoutId);
  }

  async waitForPosted<M extends PanelMessage["method"]>(method: M, timeout = 10_000): Promise<Extract<PanelMessage, { method: M }>> {
    await this.page.waitForFunction((m) => (window as unknown as { __posted: PanelMessage[] }).__posted.some((p) => p.method === m), method, { timeout, polling: 20 });
    const all = await this.posted();
    return all.filter((p) => p.method === method).pop() as Extract<PanelMessage, { method: M }>;
  }

  async longTasks(since = 0): Promise<{ start: number; duration: number }[]> {
    return this.page.evaluate((s) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((t) => t.start >= s), since);
  }

  async cspViolations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
  }

  /** Ids of the assets and groups drawn. */
  async drawnIds(selector = "g.node"): Promise<string[]> {
    return this.page.$$eval(selector, (els) => els.map((e) => e.getAttribute("data-id")!));
  }

  node(id: string): ReturnType<Page["locator"]> {
    return this.page.locator(`g[data-id="${id.replace(/"/g, '\\"')}"]`);
  }
}

/** A message without its `requestId` (the panel numbers its requests; tests compare the rest). */
export function withoutId(message: PanelMessage): unknown {
  if (!("requestId" in message)) return message;
  const { requestId: _id, ...rest } = message;
  return rest;
}
