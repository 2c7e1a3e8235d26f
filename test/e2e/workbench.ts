/**
 * Driving VS Code's workbench (code-server in Chromium) the way a user does: the explorer, the
 * editor, hovers, context menus, notifications, the Problems view, the lineage webview. Every
 * helper waits on a condition in the page, never on a fixed delay.
 */
import type { FrameLocator, Locator, Page } from "playwright-core";
import { until } from "./codeServer";

const cssString = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const isMac = process.platform === "darwin";
const mod = isMac ? "Meta" : "Control";

export class Workbench {
  constructor(readonly page: Page) {}

  // ------------------------------------------------------------------------------ explorer, editor

  /**
   * The explorer row of a workspace-relative path. The item's label is its path (`~/jaffle-forecast/assets`),
   * followed by decorations when there are some (problems, "Contains emphasized items").
   */
  private explorerRow(rel: string, expanded?: boolean): Locator {
    const label = new RegExp(`/${rel.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w./-])`);
    const rows = this.page.locator(`.explorer-folders-view .monaco-list-row${expanded ? '[aria-expanded="true"]' : ""}`);
    return rows.filter({ has: this.page.locator(".explorer-item").and(this.page.getByLabel(label)) });
  }

  /** Makes the first editor group (the text editors; the lineage panel is the second) the active one. */
  async focusFirstEditorGroup(): Promise<void> {
    await this.page.keyboard.press(`${mod}+Digit1`);
    await this.page.locator(".part.editor .editor-group-container").first().and(this.page.locator(".editor-group-container.active")).waitFor();
  }

  /** Opens a file by clicking through the explorer (folders expanded as needed); waits for its editor. */
  async openFile(rel: string, timeout = 20_000): Promise<void> {
    // The explorer opens files in the active editor group: make it the first one (the lineage panel lives beside it).
    await this.focusFirstEditorGroup();
    await this.page.locator(".explorer-folders-view").waitFor();
    const parts = rel.split("/");
    const row = this.explorerRow(rel);
    const deadline = Date.now() + timeout;
    // Expand the folders down to the file; a folder the tree collapses again meanwhile (it re-renders on
    // file events) is simply expanded again.
    while (!(await row.isVisible())) {
      if (Date.now() > deadline) {
        const labels = await this.page.locator(".explorer-folders-view .explorer-item").evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")));
        throw new Error(`${rel} never showed in the explorer; rows: ${JSON.stringify(labels)}`);
      }
      for (let i = 1; i < parts.length; i++) {
        const folder = parts.slice(0, i).join("/");
        const folderRow = this.explorerRow(folder);
        await folderRow.waitFor({ timeout: Math.max(1, deadline - Date.now()) });
        if ((await folderRow.getAttribute("aria-expanded")) === "true") continue;
        await folderRow.click();
        await this.explorerRow(folder, true).waitFor({ timeout: 2_000 }).catch(() => undefined);
        break;
      }
      await row.waitFor({ timeout: 1_000 }).catch(() => undefined);
    }
    // The tree can re-render between finding the row and the click landing (a run adds .tributary/,
    // a file event), so the click may open a neighbour: click again until the wanted file is active.
    for (let attempt = 1; ; attempt++) {
      await row.click();
      try {
        await this.waitForActiveEditor(parts[parts.length - 1], attempt < 3 ? 5_000 : 15_000);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** Waits until the active editor tab shows `name` and its text is drawn. */
  async waitForActiveEditor(name: string, timeout = 15_000): Promise<void> {
    await this.page.locator(`.editor-group-container.active .tab.active[data-resource-name=${cssString(name)}]`).waitFor({ timeout });
    await this.activeEditor().locator(".view-line").first().waitFor({ timeout });
  }

  /** The editor of the active group. */
  activeEditor(): Locator {
    return this.page.locator(".editor-group-container.active .monaco-editor.focused, .editor-group-container.active .editor-instance .monaco-editor").first();
  }

  /** The innermost token span of the active editor whose text contains `text` (the nth such). */
  token(text: string, nth = 0): Locator {
    return this.activeEditor().locator('.view-line span[class^="mtk"], .view-line span[class*=" mtk"]').filter({ hasText: text }).nth(nth);
  }

  /** Clicks in the middle of a token (puts the cursor there). */
  async clickToken(text: string, nth = 0): Promise<void> {
    const token = this.token(text, nth);
    await token.waitFor();
    await token.click();
  }

  /** Moves the cursor with Go to Line (Ctrl+G, `line:column`, both 1-based) and waits for the status bar to say so. */
  async goto(line: number, column: number): Promise<void> {
    await this.escape();
    await this.page.keyboard.press("Control+KeyG");
    const input = this.page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor();
    // Go to Line opens Quick Open with the ":" prefix; keep it.
    await input.fill(`:${line}:${column}`);
    await input.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
    await this.page.locator(".statusbar-item", { hasText: `Ln ${line}, Col ${column}` }).waitFor({ timeout: 5_000 });
  }

  /** Puts the cursor inside the nth occurrence of `needle` in `text` (the active editor's text), `offset` characters in. */
  async gotoText(text: string, needle: string, options: { nth?: number; offset?: number } = {}): Promise<{ line: number; column: number }> {
    let at = -1;
    for (let i = 0; i <= (options.nth ?? 0); i++) {
      at = text.indexOf(needle, at + 1);
      if (at < 0) throw new Error(`'${needle}' (occurrence ${options.nth ?? 0}) is not in the text`);
    }
    const before = text.slice(0, at + (options.offset ?? Math.floor(needle.length / 2)));
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    await this.goto(line, column);
    return { line, column };
  }

  /**
   * Shows the hover at the cursor (Ctrl+K Ctrl+I, as a keyboard user does; a mouse hover alone is
   * not reliable headless) and returns its text once some hover contains every `expect`. Asks again
   * until `timeout`: the server may still be indexing or recomputing a status.
   */
  async hoverAtCursor(expect: (string | RegExp)[], timeout = 20_000): Promise<string> {
    const deadline = Date.now() + timeout;
    let last = "";
    for (;;) {
      await this.page.keyboard.press(`${mod}+KeyK`);
      await this.page.keyboard.press(`${mod}+KeyI`);
      try {
        // The hover widget fills asynchronously (the language server answers): wait until it says what we want.
        const handle = await this.page.waitForFunction(
          (wanted: { s: string[]; r: string[] }) => {
            const texts = [...document.querySelectorAll(".monaco-hover-content")].map((e) => (e as HTMLElement).innerText);
            return texts.find((t) => wanted.s.every((w) => t.includes(w)) && wanted.r.every((r) => new RegExp(r).test(t))) ?? false;
          },
          { s: expect.filter((e): e is string => typeof e === "string"), r: expect.filter((e): e is RegExp => e instanceof RegExp).map((r) => r.source) },
          { timeout: Math.min(5_000, Math.max(500, deadline - Date.now())), polling: 100 },
        );
        return (await handle.jsonValue()) as string;
      } catch (error) {
        last = (await this.page.locator(".monaco-hover-content").allInnerTexts().catch(() => [])).join("\n---\n");
        // The server may still be indexing or recomputing a status: ask again until the deadline.
        await this.escape();
        if (Date.now() > deadline) throw new Error(`the hover never showed ${expect.join(", ")}; last hover:\n${last}\n(${String(error)})`);
      }
    }
  }

  async escape(): Promise<void> {
    await this.page.keyboard.press("Escape");
  }

  /** Replaces the whole text of the active editor through the keyboard (select all, type) and optionally saves. */
  async replaceText(text: string, save = true): Promise<void> {
    await this.goto(1, 1); // focuses the editor without clicking where a panel or toast may be
    await this.page.keyboard.press(`${mod}+KeyA`);
    await this.page.keyboard.press("Delete");
    // insertText types it as one edit, without the editor's auto-closing brackets and indentation.
    await this.page.keyboard.insertText(text);
    if (save) await this.save();
  }

  /** Replaces the first occurrence of `from` in the active editor with `to` (Find/Replace widget free: via select all + retype). */
  async editText(current: string, from: string, to: string, save = true): Promise<string> {
    if (!current.includes(from)) throw new Error(`'${from}' is not in the editor text`);
    const next = current.replace(from, to);
    await this.replaceText(next, save);
    return next;
  }

  async save(): Promise<void> {
    await this.page.keyboard.press(`${mod}+KeyS`);
    await this.page.locator(".editor-group-container.active .tab.active.dirty").waitFor({ state: "detached", timeout: 10_000 });
  }

  /** An action button in the active editor group's title bar (e.g. "Show Compiled SQL"), by its label. */
  editorTitleAction(label: string): Locator {
    return this.page.locator(`.editor-group-container.active .editor-actions .action-label[aria-label^=${cssString(label)}]`).first();
  }

  /**
   * The drawn text of the editor whose tab `name` is active in some group (any group, focused or not),
   * lines joined with \n; Monaco draws only the visible lines and uses non-breaking spaces.
   */
  async editorTextOf(name: string): Promise<string> {
    const group = this.page.locator(".editor-group-container").filter({ has: this.page.locator(`.tab.active[data-resource-name=${cssString(name)}]`) }).first();
    const lines = await group.locator(".view-lines .view-line").evaluateAll((els) =>
      els.map((e) => ({ top: parseFloat((e as HTMLElement).style.top) || 0, text: (e.textContent ?? "").replace(/\u00a0/g, " ") })),
    );
    return lines.sort((a, b) => a.top - b.top).map((l) => l.text).join("\n");
  }

  /**
   * The page of the webview whose content has `selector` (each webview is an iframe holding another
   * iframe with the content; the outer ones carry no usable title), once one does.
   */
  async webviewWith(selector: string, timeout = 30_000): Promise<FrameLocator> {
    return until(`a webview showing ${selector}`, async () => {
      const outer = this.page.locator("iframe.webview.ready");
      for (let i = 0; i < (await outer.count()); i++) {
        const frame = outer.nth(i).contentFrame().locator("#active-frame").contentFrame();
        if ((await frame.locator(selector).count()) > 0) return this.page.frameLocator("iframe.webview.ready").nth(i).frameLocator("#active-frame");
      }
      return undefined;
    }, timeout, 200);
  }

  // ------------------------------------------------------------------------------ menus, commands

  /** Right-clicks a token and returns the context menu. */
  async contextMenuOn(text: string, nth = 0): Promise<Locator> {
    await this.escape();
    const token = this.token(text, nth);
    await token.waitFor();
    await token.click({ button: "right" });
    const menu = this.page.locator(".context-view .monaco-menu").last();
    await menu.waitFor();
    return menu;
  }

  /**
   * Clicks a context menu item (hovered first, as a mouse does) and waits for the menu to close. A click
   * the menu swallowed (it can, right after opening) leaves it open: then the hovered item gets Enter.
   */
  async clickMenuItem(item: Locator): Promise<void> {
    const menu = this.page.locator(".context-view .monaco-menu");
    await item.hover();
    await item.click();
    if (await menu.first().waitFor({ state: "detached", timeout: 2_000 }).then(() => true, () => false)) return;
    await item.hover();
    await this.page.locator(".context-view .monaco-menu .action-item.focused").waitFor();
    await this.page.keyboard.press("Enter");
    await menu.first().waitFor({ state: "detached", timeout: 5_000 });
  }

  menuItem(menu: Locator, title: string): Locator {
    return menu.locator(`.action-item:not(.disabled) .action-label`).filter({ hasText: new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) });
  }

  /** Runs a command from the command palette by its title (F1, type, Enter on the exact match). */
  async runCommand(title: string, timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    const input = this.page.locator(".quick-input-widget .quick-input-box input");
    const row = this.page.locator(".quick-input-widget .quick-input-list .monaco-list-row").filter({ hasText: title }).first();
    // Right after start-up the palette may not know the extensions' commands yet: ask again.
    for (;;) {
      await this.escape();
      await this.page.keyboard.press("F1");
      await input.waitFor();
      await input.fill(`>${title}`);
      if (await row.waitFor({ timeout: 3_000 }).then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error(`the command palette never offered "${title}"`);
    }
    await this.page.waitForFunction((t) => {
      const focused = document.querySelector(".quick-input-widget .quick-input-list .monaco-list-row.focused");
      return !!focused && (focused as HTMLElement).innerText.includes(t);
    }, title);
    await input.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  // ------------------------------------------------------------------------------ notifications, status

  /** A notification toast whose message matches. */
  notification(message: string | RegExp): Locator {
    return this.page.locator(".notifications-toasts .notification-toast").filter({ hasText: message });
  }

  async clearNotifications(): Promise<void> {
    const toasts = this.page.locator(".notifications-toasts .notification-toast");
    const n = await toasts.count();
    for (let i = 0; i < n; i++) {
      const close = toasts.nth(0).locator(".codicon-notifications-clear").first();
      if (await close.isVisible().catch(() => false)) await close.click().catch(() => undefined);
    }
    await this.runCommand("Notifications: Clear All Notifications").catch(() => undefined);
  }

  /** The status bar item of the extension's runs (`Tributary: ...`). */
  statusItem(text: string | RegExp): Locator {
    return this.page.locator(".statusbar-item").filter({ hasText: text });
  }

  // ------------------------------------------------------------------------------ problems

  /** Opens the Problems view and returns its rows' texts once `predicate` holds for them. */
  async problems(predicate: (rows: string[]) => boolean, timeout = 20_000): Promise<string[]> {
    const view = this.page.locator(".markers-panel");
    if (!(await view.isVisible().catch(() => false))) {
      await this.page.keyboard.press(`${mod}+Shift+KeyM`);
      await view.waitFor();
    }
    const deadline = Date.now() + timeout;
    for (;;) {
      const rows = await view.locator(".monaco-list-row").allInnerTexts();
      const empty = await view.locator(".monaco-list-row").count() === 0;
      const texts = empty ? [] : rows.map((r) => r.replace(/\s+/g, " ").trim());
      if (predicate(texts)) return texts;
      if (Date.now() > deadline) throw new Error(`Problems never matched; rows: ${JSON.stringify(texts)}`);
      await this.page.waitForTimeout(100);
    }
  }

  // ------------------------------------------------------------------------------ layout

  /** Drags the sash between the two editor groups so that the first one is `fraction` of the editor area wide. */
  async resizeFirstEditorGroup(fraction: number): Promise<void> {
    const area = await this.page.locator(".part.editor").boundingBox();
    const sash = await this.page.locator(".part.editor .monaco-sash.vertical").first().boundingBox();
    if (!area || !sash) throw new Error("no editor groups side by side");
    const y = sash.y + sash.height / 2;
    await this.page.mouse.move(sash.x + sash.width / 2, y);
    await this.page.mouse.down();
    await this.page.mouse.move(area.x + area.width * fraction, y, { steps: 8 });
    await this.page.mouse.up();
    const first = this.page.locator(".part.editor .editor-group-container").first();
    await this.page.waitForFunction(
      ({ want }) => {
        const el = document.querySelector(".part.editor .editor-group-container");
        const editor = document.querySelector(".part.editor");
        return !!el && !!editor && Math.abs(el.getBoundingClientRect().width / editor.getBoundingClientRect().width - want) < 0.05;
      },
      { want: fraction },
    );
    void first;
  }

  // ------------------------------------------------------------------------------ lineage webview

  /** The lineage panel's page: a webview is an iframe holding another iframe with the content. */
  lineageFrame(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready[title="Lineage"], .webview.ready').first().frameLocator("#active-frame");
  }

  /** The ids and labels of the assets the panel draws (SVG text: textContent). */
  async lineageNodes(): Promise<{ id: string; label: string; state: string; centre: boolean }[]> {
    return this.lineageFrame().locator("g.node").evaluateAll((els) =>
      els.map((e) => ({
        id: e.getAttribute("data-id") ?? "",
        label: e.querySelector("text.label")?.textContent ?? "",
        state: e.querySelector("text.state")?.textContent ?? "",
        centre: e.classList.contains("centre"),
      })),
    );
  }

  /** Edges drawn in the panel, as `from -> to`. */
  async lineageEdges(): Promise<string[]> {
    return this.lineageFrame().locator("g.layer-edges path").evaluateAll((els) => els.map((e) => `${(e as SVGElement).dataset.from} -> ${(e as SVGElement).dataset.to}`));
  }

  lineageNode(id: string): Locator {
    return this.lineageFrame().locator(`g.node[data-id=${cssString(id)}]`);
  }

  /** The error the lineage panel shows (with Retry), or undefined when it shows none. */
  async lineageError(): Promise<string | undefined> {
    return (await this.lineageFrame().locator("body").getAttribute("data-error", { timeout: 2_000 })) ?? undefined;
  }

  /** Closes the lineage panel's tab and waits until it is gone. */
  async closeLineage(): Promise<void> {
    const tab = this.page.locator(".editor-group-container .tab", { hasText: "Lineage" });
    await tab.hover();
    await tab.locator(".codicon-close").click();
    await tab.waitFor({ state: "detached" });
  }

  /** Waits until the panel drew a graph for which `predicate` holds and it is not laying out. */
  async waitForLineage(what: string, predicate: (nodes: { id: string; label: string; state: string; centre: boolean }[]) => boolean, timeout = 30_000): Promise<{ id: string; label: string; state: string; centre: boolean }[]> {
    const deadline = Date.now() + timeout;
    let nodes: { id: string; label: string; state: string; centre: boolean }[] = [];
    let failed: string | undefined;
    for (;;) {
      try {
        const body = this.lineageFrame().locator("body");
        const busy = await body.getAttribute("data-busy", { timeout: 1_000 });
        nodes = await this.lineageNodes();
        if (busy !== "true" && predicate(nodes)) return nodes;
        const error = await body.getAttribute("data-error", { timeout: 1_000 });
        if (error) failed = error;
      } catch {
        // the webview is (re)loading
      }
      if (failed) throw new Error(`the lineage panel shows an error instead of ${what}: ${failed}`);
      if (Date.now() > deadline) throw new Error(`the lineage panel never showed ${what}; drawn: ${JSON.stringify(nodes)}`);
      await this.page.waitForTimeout(100);
    }
  }
}
