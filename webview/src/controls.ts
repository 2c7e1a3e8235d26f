/**
 * The panel's HTML around the graph: toolbar (depth, search, pin, full graph, grouping, plan,
 * zoom), the selection bar, the status line with a legend, and the tooltip. Listeners are added
 * here with addEventListener (the CSP forbids inline handlers); the panel acts on `ControlEvents`.
 */
import type { AssetKind } from "../../server/src/protocol/types";
import type { MaterializeMode } from "../../server/src/protocol/webview";
import { KIND_ICON } from "./icons";
import { KIND_LABEL, OPEN_A_FILE, STATE_ORDER } from "./model";

export interface ControlEvents {
  depth(upstream: number, downstream: number): void;
  search(selection: string): void;
  clearSearch(): void;
  showMatches(): void;
  materializeMatches(): void;
  pin(): void;
  fullGraph(): void;
  grouping(): void;
  plan(): void;
  fit(): void;
  zoom(factor: number): void;
  materializeSelection(mode: MaterializeMode): void;
  planSelection(): void;
  clearSelection(): void;
  retry(): void;
}

export const MAX_DEPTH = 9;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
}

function button(action: string, label: string, title: string, pressed?: boolean): HTMLButtonElement {
  const b = el("button", { type: "button", title, textContent: label, dataset: { action } });
  b.setAttribute("aria-label", title);
  if (pressed !== undefined) b.setAttribute("aria-pressed", String(pressed));
  return b;
}

function setPressed(b: HTMLButtonElement, pressed: boolean): void {
  b.setAttribute("aria-pressed", String(pressed));
}

export class Controls {
  readonly canvas: HTMLElement;
  readonly planHost: HTMLElement;
  readonly menuHost: HTMLElement;
  private readonly up: HTMLInputElement;
  private readonly down: HTMLInputElement;
  private readonly searchBox: HTMLInputElement;
  private readonly searchStatus: HTMLElement;
  private readonly matchButtons: HTMLElement;
  private readonly buttons: Record<string, HTMLButtonElement> = {};
  private readonly selectionBar: HTMLElement;
  private readonly selectionCount: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly busy: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly error: HTMLElement;
  private readonly errorText: HTMLElement;
  private readonly tooltip: HTMLElement;
  private depthTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(root: HTMLElement, private readonly events: ControlEvents) {
    this.up = el("input", { type: "number", min: "0", max: String(MAX_DEPTH), value: "2", className: "depth-input", dataset: { control: "upstream" } });
    this.down = el("input", { type: "number", min: "0", max: String(MAX_DEPTH), value: "2", className: "depth-input", dataset: { control: "downstream" } });
    this.up.setAttribute("aria-label", "Upstream layers");
    this.down.setAttribute("aria-label", "Downstream layers");
    this.searchBox = el("input", { type: "search", className: "search-input", placeholder: "Select: +fct_orders, tag:daily, group:finance\u2026", spellcheck: false, dataset: { control: "search" } });
    this.searchBox.setAttribute("aria-label", "Search with the selection grammar (Enter to search, Escape to clear)");
    this.searchStatus = el("span", { className: "search-status" });
    this.searchStatus.setAttribute("aria-live", "polite");
    this.matchButtons = el("span", { className: "match-buttons", hidden: true },
      button("show-matches", "Show", "Show only the matches"),
      button("materialize-matches", "Materialize", "Materialize the matches"));

    for (const [action, label, title] of [
      ["pin", "Pin", "Pin the panel on this asset (stop following the editor)"],
      ["full", "Full graph", "Show the whole workspace graph"],
      ["group", "Group", "Collapse assets into one box per group"],
      ["plan", "Plan", "Preview the plan: steps and shared dbt invocations"],
    ] as const) this.buttons[action] = button(action, label, title, false);
    for (const [action, label, title] of [["fit", "Fit", "Fit the graph to the panel (0)"], ["zoom-in", "+", "Zoom in (Ctrl+scroll)"], ["zoom-out", "\u2212", "Zoom out (Ctrl+scroll)"]] as const) {
      this.buttons[action] = button(action, label, title);
    }

    const toolbar = el("header", { className: "toolbar" },
      el("span", { className: "depth" },
        el("label", { title: "Upstream layers" }, "\u2190 up ", this.up),
        el("label", { title: "Downstream layers" }, "down \u2192 ", this.down)),
      el("span", { className: "search" }, this.searchBox, this.searchStatus, this.matchButtons),
      el("span", { className: "buttons" }, ...["pin", "full", "group", "plan"].map((a) => this.buttons[a]),
        el("span", { className: "sep" }), ...["fit", "zoom-in", "zoom-out"].map((a) => this.buttons[a])));
    toolbar.setAttribute("role", "toolbar");

    this.selectionCount = el("span", { className: "selection-count" });
    this.selectionBar = el("div", { className: "selection-bar", hidden: true },
      this.selectionCount,
      button("materialize-selection", "Materialize", "Materialize the selected assets"),
      button("materialize-selection-upstream", "with upstream", "Materialize the selected assets and everything upstream"),
      button("materialize-selection-downstream", "with downstream", "Materialize the selected assets and everything downstream"),
      button("plan-selection", "Plan", "Preview the plan for the selected assets"),
      button("clear-selection", "Clear", "Clear the selection (Escape)"));

    this.canvas = el("main", { className: "canvas" });
    this.busy = el("div", { className: "busy", hidden: true, textContent: "Laying out\u2026" });
    this.empty = el("div", { className: "empty", textContent: OPEN_A_FILE });
    this.errorText = el("span", { className: "error-text" });
    this.error = el("div", { className: "panel-error", hidden: true }, this.errorText, button("retry", "Retry", "Try again: a fresh layout worker and the graph asked for again"));
    this.error.setAttribute("role", "alert");
    this.canvas.append(this.busy, this.empty, this.error);
    this.planHost = el("aside", { className: "plan-list", hidden: true });
    this.statusText = el("span", { className: "status-text" });
    const legend = el("details", { className: "legend" }, el("summary", { textContent: "Legend" }), legendBody());
    const statusLine = el("footer", { className: "status-line" }, this.statusText, legend);
    this.menuHost = el("div", { className: "menu", hidden: true });
    this.tooltip = el("div", { className: "tooltip", hidden: true });
    this.tooltip.setAttribute("role", "tooltip");
    const body = el("div", { className: "body" }, this.canvas, this.planHost);
    root.append(toolbar, this.selectionBar, body, statusLine, this.menuHost, this.tooltip);
    this.wire(root);
  }

  private wire(root: HTMLElement): void {
    const depthChanged = (): void => {
      clearTimeout(this.depthTimer);
      this.depthTimer = setTimeout(() => {
        const clamp = (input: HTMLInputElement): number => Math.max(0, Math.min(MAX_DEPTH, Math.round(Number(input.value) || 0)));
        this.events.depth(clamp(this.up), clamp(this.down));
      }, 200);
    };
    this.up.addEventListener("input", depthChanged);
    this.down.addEventListener("input", depthChanged);
    this.searchBox.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const text = this.searchBox.value.trim();
        if (text) this.events.search(text);
        else this.events.clearSearch();
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.searchBox.value = "";
        this.events.clearSearch();
      }
    });
    this.searchBox.addEventListener("input", () => {
      if (!this.searchBox.value) this.events.clearSearch();
    });
    root.addEventListener("click", (e) => {
      const action = (e.target as Element).closest?.("button[data-action]")?.getAttribute("data-action");
      if (!action) return;
      const handlers: Record<string, () => void> = {
        "show-matches": () => this.events.showMatches(),
        "materialize-matches": () => this.events.materializeMatches(),
        pin: () => this.events.pin(),
        full: () => this.events.fullGraph(),
        group: () => this.events.grouping(),
        plan: () => this.events.plan(),
        fit: () => this.events.fit(),
        "zoom-in": () => this.events.zoom(1.25),
        "zoom-out": () => this.events.zoom(0.8),
        "materialize-selection": () => this.events.materializeSelection("only"),
        "materialize-selection-upstream": () => this.events.materializeSelection("upstream"),
        "materialize-selection-downstream": () => this.events.materializeSelection("downstream"),
        "plan-selection": () => this.events.planSelection(),
        "clear-selection": () => this.events.clearSelection(),
        retry: () => this.events.retry(),
      };
      handlers[action]?.();
    });
  }

  setDepth(upstream: number, downstream: number): void {
    if (document.activeElement !== this.up) this.up.value = String(upstream);
    if (document.activeElement !== this.down) this.down.value = String(downstream);
  }

  setDepthEnabled(enabled: boolean): void {
    this.up.disabled = !enabled;
    this.down.disabled = !enabled;
  }

  setSearchText(text: string): void {
    this.searchBox.value = text;
  }

  setSearchResult(result: { count: number; shown: number } | { error: { column: number; message: string } } | null): void {
    this.searchBox.classList.toggle("error", !!result && "error" in result);
    this.matchButtons.hidden = !result || "error" in result || result.count === 0;
    if (!result) this.searchStatus.textContent = "";
    else if ("error" in result) this.searchStatus.textContent = `column ${result.error.column}: ${result.error.message}`;
    else this.searchStatus.textContent = result.count === result.shown ? `${result.count} match${result.count === 1 ? "" : "es"}` : `${result.count} matches, ${result.shown} shown`;
  }

  setSearching(): void {
    this.searchStatus.textContent = "\u2026";
    this.searchBox.classList.remove("error");
  }

  setToggles(state: { pinned: boolean; full: boolean; grouped: boolean; plan: boolean; canPin: boolean }): void {
    setPressed(this.buttons.pin, state.pinned);
    this.buttons.pin.textContent = state.pinned ? "Pinned" : "Pin";
    this.buttons.pin.disabled = !state.pinned && !state.canPin;
    setPressed(this.buttons.full, state.full);
    setPressed(this.buttons.group, state.grouped);
    setPressed(this.buttons.plan, state.plan);
  }

  setSelection(count: number): void {
    this.selectionBar.hidden = count === 0;
    this.selectionCount.textContent = `${count} selected`;
    const main = this.selectionBar.querySelector<HTMLButtonElement>('button[data-action="materialize-selection"]')!;
    main.textContent = `Materialize ${count} selected`;
  }

  setStatus(text: string): void {
    this.statusText.textContent = text;
  }

  setBusy(busy: boolean, items = 0): void {
    this.busy.hidden = !busy;
    if (busy) this.busy.textContent = items > 200 ? `Laying out ${items} boxes\u2026` : "Laying out\u2026";
  }

  /** An error with a Retry button over the canvas, or none (null). */
  setError(message: string | null): void {
    this.error.hidden = message === null;
    this.errorText.textContent = message ?? "";
  }

  setEmpty(message: string | null): void {
    this.empty.hidden = message === null;
    if (message !== null) this.empty.textContent = message;
  }

  showTooltip(lines: string[], x: number, y: number): void {
    this.tooltip.replaceChildren(...lines.map((line, i) => el("div", { className: i === 0 ? "tip-title" : "tip-line", textContent: line })));
    this.tooltip.hidden = false;
    const { innerWidth, innerHeight } = window;
    const r = this.tooltip.getBoundingClientRect();
    this.tooltip.style.left = `${Math.min(x + 14, innerWidth - r.width - 8)}px`;
    this.tooltip.style.top = `${Math.min(y + 16, innerHeight - r.height - 8)}px`;
  }

  hideTooltip(): void {
    this.tooltip.hidden = true;
  }
}

function legendBody(): HTMLElement {
  const svgNs = "http://www.w3.org/2000/svg";
  const body = el("div", { className: "legend-body" });
  const row = (cls: string, label: string, shape: "bar" | "line"): void => {
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "10");
    const mark = document.createElementNS(svgNs, shape === "bar" ? "rect" : "line");
    if (shape === "bar") {
      mark.setAttribute("width", "22");
      mark.setAttribute("height", "8");
      mark.setAttribute("y", "1");
      mark.setAttribute("rx", "2");
    } else {
      for (const [k, v] of Object.entries({ x1: "0", y1: "5", x2: "22", y2: "5" })) mark.setAttribute(k, v);
    }
    mark.setAttribute("class", cls);
    svg.append(mark);
    body.append(el("span", { className: "legend-item" }, svg, label));
  };
  for (const s of STATE_ORDER) row(`legend-status status-${s}`, s, "bar");
  row("legend-edge", "dependency", "line");
  row("legend-edge cross", "dbt \u2194 TypeScript", "line");
  for (const kind of Object.keys(KIND_ICON) as AssetKind[]) {
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("viewBox", "0 0 16 16");
    const path = document.createElementNS(svgNs, "path");
    path.setAttribute("d", KIND_ICON[kind]);
    path.setAttribute("class", `icon tech-${kind === "ts_asset" ? "ts" : "dbt"}`);
    svg.append(path);
    body.append(el("span", { className: "legend-item" }, svg, KIND_LABEL[kind]));
  }
  return body;
}
