/**
 * The lineage panel: holds the graph and the user's view settings, turns them into what is drawn
 * (visible set -> view -> layout in the worker -> render), and maps every gesture to a typed
 * message for the extension.
 */
import type { Plan } from "../../server/src/protocol/plan";
import type { ExpandResult, GraphMessage, HostMessage, MaterializeMode, PanelMessage, PanelNotification, PanelRequestMethod, PanelResults, SearchResult, UnsentRequest } from "../../server/src/protocol/webview";
import { ColumnLineage } from "./columnsView";
import { canQuickLayout, quickLayout } from "./quickLayout";
import { ContextMenu } from "./contextMenu";
import { Controls } from "./controls";
import { plainLayout } from "./elkGraph";
import { LayoutClient, Superseded, shapeHash } from "./layout";
import type { LayoutResult } from "./layoutTypes";
import { menuItems, tooltipLines } from "./menus";
import { GraphModel, OPEN_A_FILE } from "./model";
import { buildView, groupId, OVERVIEW_THRESHOLD, toLayoutInput, type View } from "./overview";
import { drawPlan, renderPlanList } from "./planOverlay";
import { nextTask, Renderer, type DrawContext } from "./render";
import { HostRequests } from "./requests";
import { KEEP_GRAPH_UP_TO, type PanelState } from "./state";

export interface PanelDeps {
  root: HTMLElement;
  post: (message: PanelMessage) => void;
  save: (state: PanelState) => void;
  state: PanelState;
  workerUrl: string;
}

interface RefreshOptions {
  /** Fit the drawing to the panel afterwards. */
  fit?: boolean;
  /** Keep this item where it is on screen. */
  anchor?: string;
  /** Fit these items to the panel (an opened group). */
  fitTo?: string[];
  /** Report the time since the graph arrived (`rendered`). */
  measure?: boolean;
}

/** Graphs bigger than this are processed in several tasks (none long enough to freeze the panel). */
const YIELD_ABOVE = 1000;
/**
 * The extension answers every request well within this (its own requests to the language server
 * time out sooner); past it the panel says so rather than wait silently.
 */
const ANSWER_TIMEOUT_MS = 30_000;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const frame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));

export class Panel {
  private readonly controls: Controls;
  private readonly renderer: Renderer;
  private readonly menu: ContextMenu;
  private readonly columns: ColumnLineage;
  private readonly layouts: LayoutClient;
  private readonly requests: HostRequests;
  private readonly state: PanelState;
  private model: GraphModel | undefined;
  private view: View | undefined;
  private layout: LayoutResult | undefined;
  private selection: Set<string>;
  private matches: Set<string> | null;
  private readonly extraVisible: Set<string>;
  private generation = 0;
  private receivedAt = 0;
  private renderSeq = 0;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private restyleQueued = false;
  private inbox: Promise<void> = Promise.resolve();
  private hoverTimer: ReturnType<typeof setTimeout> | undefined;
  /** The user zoomed or panned since the view was last fitted. */
  private userMoved = false;

  constructor(private readonly deps: PanelDeps) {
    this.state = deps.state;
    this.selection = new Set(this.state.selection);
    this.matches = this.state.matches ? new Set(this.state.matches) : null;
    this.extraVisible = new Set(this.state.extraVisible);
    this.layouts = new LayoutClient(deps.workerUrl);
    this.requests = new HostRequests((message) => deps.post(message), ANSWER_TIMEOUT_MS);
    this.controls = new Controls(deps.root, {
      depth: (up, down) => this.setDepth(up, down),
      search: (text) => this.search(text),
      clearSearch: () => this.clearSearch(),
      showMatches: () => this.showMatches(),
      materializeMatches: () => this.matches && this.materialize([...this.matches], "only"),
      pin: () => this.togglePin(),
      fullGraph: () => this.toggleFull(),
      grouping: () => this.toggleGrouping(),
      plan: () => this.togglePlan(),
      fit: () => this.renderer.fit(),
      zoom: (f) => this.renderer.zoomBy(f),
      materializeSelection: (mode) => this.materialize([...this.selection], mode),
      planSelection: () => this.requestPlan([...this.selection]),
      clearSelection: () => this.setSelection([]),
      retry: () => this.retry(),
    });
    this.menu = new ContextMenu(this.controls.menuHost);
    this.renderer = new Renderer(this.controls.canvas, {
      activate: (id) => {
        this.setSelection([id]);
        this.post({ method: "openAsset", id });
      },
      toggle: (id) => this.toggleSelected(id),
      menu: (id, x, y) => this.openMenu(id, x, y),
      expand: (id) => this.expand(id),
      column: (id, column) => this.selectColumn(id, column),
      toggleGroup: (name) => this.toggleGroup(name),
      band: (ids, additive) => this.setSelection(additive ? [...this.selection, ...ids] : ids),
      background: () => this.setSelection([]),
      hover: (id, x, y) => this.hover(id, x, y),
    });
    this.columns = new ColumnLineage(this.renderer.svg, this.renderer.columnLayer, (ids) => this.requestColumns(ids), this.state.expandedColumns);
    this.renderer.onTransform = (t, byUser) => {
      this.state.transform = { x: t.x, y: t.y, k: t.k };
      this.userMoved ||= byUser;
      this.saveSoon();
    };
    window.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || this.menu.open || (e.target as Element).closest?.("input")) return;
      if (this.columns.hasSelection()) {
        this.columns.clearSelection();
        this.columns.paint(this.view, this.layout);
      } else if (this.selection.size) {
        this.setSelection([]);
      }
    });
    // Follow the panel's size until the user zooms or pans.
    new ResizeObserver(() => this.layout && this.model && !this.userMoved && this.fitInitial(this.model)).observe(this.controls.canvas);
    this.controls.setDepth(this.state.upstream, this.state.downstream);
    this.controls.setSearchText(this.state.search);
    if (this.matches) this.controls.setSearchResult({ count: this.matches.size, shown: this.matches.size });
    this.controls.setSelection(this.selection.size);
    document.body.dataset.renderSeq = "0";
  }

  /** Boot: start the worker, repaint what the state kept, then tell the extension we are ready. */
  start(): void {
    void this.layouts.warm().then(() => (document.body.dataset.layoutWarm = "true"));
    const kept = this.state.graph;
    if (kept) {
      if (this.state.layout) this.layouts.remember(this.state.layout.hash, this.state.layout.result);
      this.showGraph(kept, true);
    } else {
      this.syncToggles();
    }
    this.request({ method: "ready" });
  }

  /** Messages are handled one after the other (a graph's handling yields between its phases). */
  onMessage(message: HostMessage): void {
    if (message.method === "graph") this.receivedAt = performance.now();
    this.inbox = this.inbox.then(() => this.handle(message)).catch((err: unknown) => {
      this.setBusy(false);
      this.fail("draw", `cannot show the graph: ${messageOf(err)}`);
    });
  }

  private async handle(message: HostMessage): Promise<void> {
    switch (message.method) {
      case "response":
        this.requests.settle(message);
        break;
      case "graph":
        this.showError(null);
        // The message's arrival (deserializing it) was one task; building the model is the next.
        if (message.data.nodes.length > YIELD_ABOVE) await nextTask();
        this.showGraph(message, false);
        break;
      case "waiting":
        this.showError(null);
        if (!this.model) this.controls.setEmpty(message.message);
        this.controls.setStatus(message.message);
        break;
      case "hostError":
        this.setBusy(false);
        this.showError(message.message);
        break;
      case "statuses":
        this.model?.setStatuses(message.statuses);
        this.restyleSoon();
        break;
      case "runProgress":
        this.model?.statuses.set(message.assetId, { state: message.state, ...(message.detail ? { detail: message.detail } : {}) });
        this.restyleSoon();
        break;
      case "plan":
        this.showPlan(message.plan);
        break;
    }
  }

  // ---- graph and refresh ----------------------------------------------------------------------

  private showGraph(message: GraphMessage, restored: boolean): void {
    const previous = this.model;
    const model = GraphModel.from(message);
    const sameFocus = !!previous && previous.full === model.full && sameIds(previous.centre, model.centre);
    this.model = model;
    if (!model.full && model.centre.length) this.state.lastCentre = model.centre;
    // The depth the extension cut the graph at (a restored graph keeps the user's later choice).
    if (message.upstream !== undefined && !restored) this.state.upstream = message.upstream;
    if (message.downstream !== undefined && !restored) this.state.downstream = message.downstream;
    this.controls.setDepth(this.state.upstream, this.state.downstream);
    if (!sameFocus && !restored) {
      this.extraVisible.clear();
      if (!this.state.filterToMatches) this.state.transform = null;
    }
    if (restored) this.userMoved = !!this.state.transform;
    this.selection = new Set([...this.selection].filter((id) => model.nodes.has(id)));
    this.state.graph = message.data.nodes.length <= KEEP_GRAPH_UP_TO ? message : null;
    this.syncToggles();
    this.controls.setSelection(this.selection.size);
    this.columns.graphChanged(() => [...this.visibleSet(model)]);
    void this.refresh({ fit: !(restored || sameFocus) || !this.state.transform, measure: !restored });
  }

  private visibleSet(model: GraphModel): Set<string> {
    let visible: Set<string>;
    if (this.state.filterToMatches && this.matches) {
      visible = new Set([...this.matches].filter((id) => model.nodes.has(id)));
    } else if (model.full || model.centre.length === 0) {
      visible = new Set(model.nodes.keys());
    } else {
      visible = model.neighbourhood(model.centre, this.state.upstream, this.state.downstream);
      for (const id of this.extraVisible) if (model.nodes.has(id)) visible.add(id);
    }
    // Graph order, so the same set always makes the same layout input (and hits the cache).
    return new Set([...model.nodes.keys()].filter((id) => visible.has(id)));
  }

  private grouped(visibleCount: number): boolean {
    return this.state.groupMode === "on" || (this.state.groupMode === "auto" && visibleCount > OVERVIEW_THRESHOLD);
  }

  /**
   * Lay out and draw the current model. Never leaves the panel waiting silently: a layout or a
   * drawing that fails (or a layout over its time budget) ends in an error with Retry, reported
   * to the extension.
   */
  private async refresh(options: RefreshOptions = {}): Promise<void> {
    const generation = ++this.generation;
    try {
      await this.layOutAndDraw(generation, options);
    } catch (err) {
      if (err instanceof Superseded || generation !== this.generation) return;
      this.setBusy(false);
      this.fail(err instanceof LayoutFailure ? "layout" : "draw", err instanceof LayoutFailure ? `cannot lay out the graph: ${err.message}` : `cannot draw the graph: ${messageOf(err)}`);
    }
  }

  private async layOutAndDraw(generation: number, options: RefreshOptions): Promise<void> {
    const model = this.model;
    if (!model) return;
    const isCurrent = (): boolean => generation === this.generation;
    const marks: Record<string, number> = { start: performance.now() };
    if (model.nodes.size > YIELD_ABOVE) {
      await nextTask();
      if (!isCurrent()) return;
    }
    const visible = this.visibleSet(model);
    const view = buildView(model, visible, { grouped: this.grouped(visible.size), expanded: new Set(this.state.expandedGroups) });
    this.columns.decorate(view);
    const anchorPoint = options.anchor ? this.renderer.screenPoint(options.anchor) : undefined;
    const nothing = model.full || model.centre.length ? "No assets here." : OPEN_A_FILE;
    this.controls.setEmpty(model.nodes.size === 0 ? nothing : visible.size === 0 ? "Nothing matches." : null);
    this.syncToggles(view);
    const input = toLayoutInput(view);
    const hash = shapeHash(input);
    marks.view = performance.now();
    let layout = this.layouts.cached(hash);
    if (!layout) {
      this.setBusy(true, input.nodes.length);
      const pending = this.layouts.layout(input, hash);
      pending.catch(() => undefined); // awaited below
      // The worker or ELK still loading: paint a main-thread layout now, ELK's replaces it.
      if (document.body.dataset.layoutWarm !== "true" && canQuickLayout(input)) await this.quickPaint(view, quickLayout(input), isCurrent, options);
      try {
        layout = await pending;
      } catch (err) {
        throw err instanceof Superseded ? err : new LayoutFailure(messageOf(err));
      }
      if (!isCurrent()) return;
    }
    this.view = view;
    this.layout = layout;
    marks.layout = performance.now();
    const place = (): void => {
      if (options.fitTo?.some((id) => layout.nodes[id])) {
        this.renderer.fit(options.fitTo);
      } else if (anchorPoint && options.anchor && layout.nodes[options.anchor]) {
        this.renderer.pinTo(options.anchor, anchorPoint);
      } else if (options.fit || !this.state.transform) {
        this.fitInitial(model);
        this.userMoved = false;
      } else {
        this.renderer.setTransform(this.state.transform);
      }
    };
    const drawn = await this.renderer.draw(view, layout, this.context(), isCurrent, place);
    if (!drawn) return;
    this.columns.paint(view, layout);
    marks.draw = performance.now();
    if (this.state.showPlan && this.state.plan) drawPlan(this.renderer.planLayers, this.state.plan, view, layout);
    this.state.layout = view.items.length <= KEEP_GRAPH_UP_TO && this.state.graph ? { hash, result: plainLayout(layout) } : null;
    this.saveSoon();
    this.setBusy(false);
    this.showError(null);
    this.updateStatusLine(view, visible.size);
    // "Drawn" means painted: wait for the frame that shows it.
    await frame();
    await nextTask();
    if (!isCurrent()) return;
    marks.painted = performance.now();
    // Where the time went (tests and the benchmark read it).
    document.body.dataset.renderTimings = JSON.stringify({
      at: Math.round(marks.start),
      sinceReceived: Math.round(marks.start - this.receivedAt),
      view: Math.round(marks.view - marks.start),
      layout: Math.round(marks.layout - marks.view),
      elk: Math.round(layout.ms),
      draw: Math.round(marks.draw - marks.layout),
      paint: Math.round(marks.painted - marks.draw),
      items: view.items.length,
      edges: view.edges.length,
    });
    this.renderSeq++;
    document.body.dataset.renderSeq = String(this.renderSeq);
    if (options.measure) {
      const ms = Math.round((performance.now() - this.receivedAt) * 10) / 10;
      document.body.dataset.renderMs = String(ms);
      const groups = view.items.filter((i) => i.type === "group").length;
      this.post({ method: "rendered", nodes: view.items.length - groups, groups, ms });
    }
  }

  /** A first paint from the main-thread layout (not counted as a draw: tests and `rendered` wait for ELK's). */
  private async quickPaint(view: View, quick: LayoutResult, isCurrent: () => boolean, options: RefreshOptions): Promise<void> {
    this.view = view;
    this.layout = quick;
    const place = (): void => (options.fit || !this.state.transform ? this.renderer.fit() : this.renderer.setTransform(this.state.transform));
    if (!(await this.renderer.draw(view, quick, this.context(), isCurrent, place))) return;
    this.columns.paint(view, quick);
    await frame();
    if (options.measure && isCurrent() && !document.body.dataset.quickPaintMs) document.body.dataset.quickPaintMs = String(Math.round((performance.now() - this.receivedAt) * 10) / 10);
  }

  /** Fit everything; on a big flat graph, fit the centre instead (the whole would be unreadable). */
  private fitInitial(model: GraphModel): void {
    const centre = model.centre.filter((id) => this.layout?.nodes[id]);
    if (this.view && this.view.items.length > 150 && centre.length) this.renderer.fit(centre);
    else this.renderer.fit();
  }

  private context(): DrawContext {
    const model = this.model!;
    const visible = new Set(this.view?.itemOf.keys() ?? []);
    const expandable = new Set<string>();
    for (const id of visible) {
      if (model.truncated.has(id) || model.hiddenNeighbours(id, visible).length) expandable.add(id);
    }
    return { model, selection: this.selection, matches: this.matches, centre: new Set(model.centre), expandable };
  }

  private restyleSoon(): void {
    if (this.restyleQueued) return;
    this.restyleQueued = true;
    requestAnimationFrame(() => {
      this.restyleQueued = false;
      if (this.model && this.view) {
        this.renderer.restyle(this.context());
        this.updateStatusLine(this.view, this.view.itemOf.size);
      }
    });
  }

  private setBusy(busy: boolean, items = 0): void {
    this.controls.setBusy(busy, items);
    document.body.dataset.busy = String(busy);
  }

  private updateStatusLine(view: View, visibleCount: number): void {
    const model = this.model!;
    const groups = view.items.filter((i) => i.type === "group" && !i.expanded).length;
    const parts = [`${visibleCount} of ${model.nodes.size} assets`];
    if (groups) parts.push(`${groups} groups (click one to open it)`);
    if (model.pinned) parts.push(`pinned on ${model.pinned}`);
    const failed = [...view.itemOf.keys()].filter((id) => model.status(id).state === "failed").length;
    if (failed) parts.push(`${failed} failed`);
    this.controls.setStatus(parts.join(" \u00b7 "));
  }

  private syncToggles(view = this.view): void {
    const model = this.model;
    this.controls.setToggles({
      pinned: !!model?.pinned,
      full: !!model?.full,
      grouped: !!view?.grouped,
      plan: this.state.showPlan,
      canPin: !!model && (model.centre.length > 0 || this.selection.size === 1),
    });
    this.controls.setDepthEnabled(!model?.full);
  }

  // ---- errors -----------------------------------------------------------------------------------

  /** Shows an error with Retry (or hides it with null). */
  private showError(message: string | null): void {
    this.controls.setError(message);
    if (message === null) delete document.body.dataset.error;
    else document.body.dataset.error = message;
  }

  /** A failure of the panel's own: shown with Retry, and reported to the extension (which logs it). */
  private fail(phase: "layout" | "draw" | "answer", message: string): void {
    this.showError(message);
    this.post({ method: "panelError", phase, message });
  }

  /** Retry: a fresh layout worker, the graph asked for again (and laid out again meanwhile). */
  private retry(): void {
    this.showError(null);
    this.layouts.restart();
    this.request({ method: "retry" });
    if (this.model) void this.refresh({ fit: true });
  }

  // ---- talking to the extension ----------------------------------------------------------------

  private post(message: PanelNotification): void {
    this.deps.post(message);
  }

  /**
   * Asks the extension; `onResult` gets its answer. An error answer is shown with Retry (the
   * extension logged it); no answer in time likewise, and reported (`panelError`). `onError`
   * undoes what waited for the answer.
   */
  private request<M extends PanelRequestMethod>(message: UnsentRequest<M> & { method: M }, onResult: (result: PanelResults[M]) => void = () => undefined, onError?: () => void): void {
    this.requests.send(message, {
      result: onResult,
      error: (text, timedOut) => {
        onError?.();
        this.setBusy(false);
        if (timedOut) this.fail("answer", text);
        else this.showError(text);
      },
    });
  }

  private requestColumns(ids: string[]): void {
    this.request({ method: "requestColumns", ids }, (lineage) => {
      this.columns.onColumns(lineage);
      void this.refresh({ anchor: this.anchorOnScreen() });
    });
  }

  // ---- gestures --------------------------------------------------------------------------------

  private setSelection(ids: string[]): void {
    this.selection = new Set(ids.filter((id) => this.model?.nodes.has(id)));
    this.state.selection = [...this.selection];
    this.controls.setSelection(this.selection.size);
    this.syncToggles();
    this.restyleSoon();
    this.saveSoon();
  }

  private toggleSelected(id: string): void {
    const item = this.view?.byId.get(id);
    const ids = item?.type === "group" ? item.members : [id];
    const next = new Set(this.selection);
    const allIn = ids.every((i) => next.has(i));
    for (const i of ids) {
      if (allIn) next.delete(i);
      else next.add(i);
    }
    this.setSelection([...next]);
  }

  private materialize(ids: string[], mode: MaterializeMode): void {
    if (ids.length) this.post({ method: "materialize", ids, mode });
  }

  private requestPlan(ids: string[]): void {
    if (!ids.length) return;
    this.state.showPlan = true;
    this.syncToggles();
    this.request({ method: "requestPlan", ids }, (plan) => this.showPlan(plan));
  }

  private setDepth(upstream: number, downstream: number): void {
    if (upstream === this.state.upstream && downstream === this.state.downstream) return;
    this.state.upstream = upstream;
    this.state.downstream = downstream;
    this.extraVisible.clear();
    this.state.filterToMatches = false;
    void this.refresh({ fit: true });
    const centre = this.model?.centre ?? [];
    if (this.model && !this.model.full && centre.length) this.request({ method: "requestNeighbourhood", ids: centre, upstream, downstream });
  }

  private search(selection: string): void {
    this.state.search = selection;
    this.controls.setSearching();
    this.request({ method: "search", selection }, (result) => this.onSearchResult(selection, result), () => selection === this.state.search && this.controls.setSearchResult(null));
    this.saveSoon();
  }

  private onSearchResult(selection: string, result: SearchResult): void {
    if (selection !== this.state.search) return;
    if ("error" in result) {
      this.controls.setSearchResult({ error: result.error });
      this.setMatches(null);
      return;
    }
    this.setMatches(result.ids);
  }

  private setMatches(ids: string[] | null): void {
    this.matches = ids ? new Set(ids) : null;
    this.state.matches = ids;
    const wasFiltering = this.state.filterToMatches;
    if (!ids) this.state.filterToMatches = false;
    if (ids) {
      const shown = ids.filter((id) => this.view?.itemOf.has(id)).length;
      this.controls.setSearchResult({ count: ids.length, shown });
    }
    if (wasFiltering && !this.state.filterToMatches) void this.refresh({ fit: true });
    else this.restyleSoon();
    this.saveSoon();
  }

  private clearSearch(): void {
    this.state.search = "";
    this.controls.setSearchResult(null);
    this.setMatches(null);
  }

  private showMatches(): void {
    if (!this.matches || !this.model) return;
    const ids = [...this.matches];
    this.state.filterToMatches = true;
    if (ids.some((id) => !this.model!.nodes.has(id))) {
      this.request({ method: "requestNeighbourhood", ids, upstream: 0, downstream: 0 });
    }
    void this.refresh({ fit: true });
  }

  private togglePin(): void {
    const model = this.model;
    if (!model) return;
    if (model.pinned) {
      model.pinned = undefined;
      this.request({ method: "setPin", id: null });
    } else {
      const id = this.selection.size === 1 ? [...this.selection][0] : model.centre[0];
      if (!id) return;
      model.pinned = id;
      this.request({ method: "setPin", id });
    }
    this.syncToggles();
    if (this.view) this.updateStatusLine(this.view, this.view.itemOf.size);
  }

  private toggleFull(): void {
    const model = this.model;
    if (model?.full && this.state.lastCentre.length) {
      this.request({ method: "requestNeighbourhood", ids: this.state.lastCentre, upstream: this.state.upstream, downstream: this.state.downstream });
    } else {
      this.request({ method: "requestFullGraph" });
    }
  }

  private toggleGrouping(): void {
    this.state.groupMode = this.view?.grouped ? "off" : "on";
    void this.refresh({ fit: true });
  }

  private toggleGroup(name: string): void {
    const open = new Set(this.state.expandedGroups);
    if (open.has(name)) open.delete(name);
    else open.add(name);
    this.state.expandedGroups = [...open];
    // Opening a group zooms to it; closing one keeps its box where the frame was.
    void this.refresh(open.has(name) ? { fitTo: [groupId(name)] } : { anchor: groupId(name) });
  }

  private togglePlan(): void {
    if (this.state.showPlan) {
      this.state.showPlan = false;
      this.controls.planHost.hidden = true;
      const { hulls, badges } = this.renderer.planLayers;
      hulls.replaceChildren();
      badges.replaceChildren();
      this.syncToggles();
      this.saveSoon();
      return;
    }
    const ids = this.selection.size ? [...this.selection] : this.model?.centre.length ? this.model.centre : [...(this.view?.itemOf.keys() ?? [])];
    this.requestPlan(ids);
  }

  private showPlan(plan: Plan): void {
    this.state.plan = plan;
    this.state.showPlan = true;
    renderPlanList(this.controls.planHost, plan);
    this.controls.planHost.hidden = false;
    if (this.view && this.layout) drawPlan(this.renderer.planLayers, plan, this.view, this.layout);
    this.syncToggles();
    this.saveSoon();
  }

  private expand(id: string): void {
    const model = this.model;
    if (!model || !this.view) return;
    const hidden = model.hiddenNeighbours(id, new Set(this.view.itemOf.keys()));
    for (const n of hidden) this.extraVisible.add(n);
    this.extraVisible.add(id);
    this.state.extraVisible = [...this.extraVisible];
    if (model.truncated.has(id)) this.request({ method: "expand", id }, (result) => this.onExpanded(id, result));
    if (hidden.length) void this.refresh({ anchor: id });
  }

  /** Expands an asset in place into its columns, or collapses it (the same action). */
  private toggleColumns(id: string): void {
    const onGraph = [...(this.view?.itemOf.keys() ?? [])].filter((n) => this.model?.nodes.has(n));
    this.columns.toggle(id, onGraph);
    this.state.expandedColumns = this.columns.expandedIds;
    this.saveSoon();
    void this.refresh({ anchor: id });
  }

  /** Highlights a column's path (or clears it); the drawn assets on the path expand into their columns. */
  private selectColumn(id: string, column: string): void {
    const drawn = new Set([...(this.view?.items ?? [])].filter((i) => i.type === "node").map((i) => i.id));
    const grew = this.columns.select(id, column, drawn);
    this.state.expandedColumns = this.columns.expandedIds;
    this.saveSoon();
    // Mark the rows drawn now at once; the assets that grew are marked when they are drawn.
    this.columns.paint(this.view, this.layout);
    if (grew) void this.refresh({ anchor: id });
  }

  /** An expanded asset to keep in place across a relayout, if any is drawn. */
  private anchorOnScreen(): string | undefined {
    return this.view?.items.find((i) => i.type === "node" && this.columns.isExpanded(i.id))?.id;
  }

  private onExpanded(id: string, result: ExpandResult): void {
    const model = this.model;
    if (!model) return;
    model.merge(result.data, result.truncated, result.statuses, id);
    for (const node of result.data.nodes) this.extraVisible.add(node.id);
    this.extraVisible.add(id);
    this.state.extraVisible = [...this.extraVisible];
    void this.refresh({ anchor: id });
  }

  private openMenu(id: string, x: number, y: number): void {
    const item = this.view?.byId.get(id);
    if (!item || !this.model) return;
    const ids = item.type === "group" ? item.members : this.selection.has(id) && this.selection.size > 1 ? [...this.selection] : [id];
    const items = menuItems(item, ids, item.type === "node" && this.context().expandable.has(id), {
      post: (message) => this.post(message),
      showInLineage: (target) => this.request({ method: "showInLineage", id: target }),
      materialize: (targets, mode) => this.materialize(targets, mode),
      plan: (targets) => this.requestPlan(targets),
      expand: (target) => this.expand(target),
      toggleGroup: (name) => this.toggleGroup(name),
    });
    if (item.type === "node") {
      items.push({ id: "columns", label: this.columns.isExpanded(id) ? "Collapse columns" : "Expand columns", run: () => this.toggleColumns(id) });
    }
    this.controls.hideTooltip();
    this.menu.show(items, x, y, item.type === "group" ? `group ${item.name}` : id);
  }

  private hover(id: string | null, x: number, y: number): void {
    clearTimeout(this.hoverTimer);
    if (!id || this.menu.open) {
      this.controls.hideTooltip();
      return;
    }
    this.hoverTimer = setTimeout(() => {
      const item = this.view?.byId.get(id);
      if (item && this.model) this.controls.showTooltip(tooltipLines(this.model, item), x, y);
    }, 350);
  }

  private saveSoon(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.state.selection = [...this.selection];
      this.state.extraVisible = [...this.extraVisible];
      this.deps.save(this.state);
    }, 250);
  }
}

/** A layout that failed or ran out of time (as opposed to a drawing that failed). */
class LayoutFailure extends Error {}

function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
