/** The "Assets" tree (by group or by kind, with status icons) and the "Runs" tree (recent runs and their steps). */
import * as vscode from "vscode";
import type { CheckSummary } from "../../server/src/protocol/checks";
import { ChecksRequest, GraphRequest, RunsRequest, StatusesRequest, type RunsResult } from "../../server/src/protocol/requests";
import type { AssetNode } from "../../server/src/protocol/types";
import type { StatusMap } from "../../server/src/protocol/status";
import type { TributaryClient } from "./client";

const STATE_ICONS: Record<string, [string, string]> = {
  fresh: ["pass-filled", "charts.green"],
  stale: ["warning", "charts.yellow"],
  failed: ["error", "charts.red"],
  missing: ["circle-large-outline", "disabledForeground"],
  running: ["sync~spin", "charts.blue"],
};

const KIND_LABELS: Record<AssetNode["kind"], string> = {
  dbt_model: "dbt models",
  dbt_seed: "dbt seeds",
  dbt_snapshot: "dbt snapshots",
  dbt_source: "dbt sources",
  dbt_exposure: "dbt exposures",
  ts_asset: "TypeScript assets",
};

type AssetItem = { type: "folder"; label: string; children: AssetNode[] } | { type: "asset"; node: AssetNode } | { type: "check"; check: CheckSummary };

const CHECK_ICONS: Record<string, [string, string]> = {
  passed: ["pass", "charts.green"],
  failed: ["error", "charts.red"],
  error: ["error", "charts.red"],
  warned: ["warning", "charts.yellow"],
  skipped: ["debug-step-over", "disabledForeground"],
  "not run": ["circle-large-outline", "disabledForeground"],
};

export class AssetsTree implements vscode.TreeDataProvider<AssetItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private groupBy: "group" | "kind" = "group";
  private nodes: AssetNode[] = [];
  private statuses: StatusMap = {};
  /** Asset id -> its checks with their last results. */
  private checks = new Map<string, CheckSummary[]>();

  constructor(private readonly client: TributaryClient) {
    client.onGraphChanged(() => void this.reload());
  }

  setGrouping(by: "group" | "kind"): void {
    this.groupBy = by;
    this.changed.fire();
  }

  async reload(): Promise<void> {
    const client = this.client.languageClient;
    if (!client) return;
    this.nodes = (await client.sendRequest(GraphRequest)).nodes;
    this.statuses = await client.sendRequest(StatusesRequest, {});
    this.checks = new Map();
    for (const check of (await client.sendRequest(ChecksRequest, {})).checks) {
      for (const id of check.assets ?? []) this.checks.set(id, [...(this.checks.get(id) ?? []), check]);
    }
    this.changed.fire();
  }

  getChildren(item?: AssetItem): AssetItem[] {
    if (item?.type === "folder") return item.children.map((node) => ({ type: "asset", node }));
    if (item?.type === "asset") return (this.checks.get(item.node.id) ?? []).map((check) => ({ type: "check", check }));
    if (item) return [];
    const folders = new Map<string, AssetNode[]>();
    for (const node of this.nodes) {
      const label = this.groupBy === "kind" ? KIND_LABELS[node.kind] : node.group ?? node.project ?? "ungrouped";
      folders.set(label, [...(folders.get(label) ?? []), node]);
    }
    return [...folders.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([label, children]) => ({ type: "folder", label, children: children.sort((a, b) => a.id.localeCompare(b.id)) }));
  }

  getTreeItem(item: AssetItem): vscode.TreeItem {
    if (item.type === "folder") {
      const folder = new vscode.TreeItem(item.label, vscode.TreeItemCollapsibleState.Collapsed);
      folder.description = String(item.children.length);
      return folder;
    }
    if (item.type === "check") {
      const c = item.check;
      const check = new vscode.TreeItem(c.name, vscode.TreeItemCollapsibleState.None);
      check.id = `check:${c.id}`;
      check.description = `${c.status}${c.failures ? ` · ${c.failures} failing` : ""}${c.severity === "warn" ? " · warn" : ""}`;
      check.tooltip = `${c.kind} check ${c.name}: ${c.status}${c.at ? ` (${new Date(c.at).toLocaleString()})` : ""}`;
      const [icon, colour] = CHECK_ICONS[c.status] ?? ["circle-outline", "foreground"];
      check.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(colour));
      check.contextValue = "tributary.check";
      check.command = { command: "tributary.openCheckQuery", title: c.compiledSql ? "Open the failing query" : "Open", arguments: [c.id] };
      return check;
    }
    const node = item.node;
    const status = this.statuses[node.id];
    const checks = this.checks.get(node.id) ?? [];
    const tree = new vscode.TreeItem(node.key.join("/"), checks.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    tree.id = `asset:${node.id}`;
    tree.description = `${status ? `${status.state}${node.kind === "ts_asset" ? " · ts" : ""}` : node.kind.replace("dbt_", "")}${status?.checks ? ` · ${status.checks.text}` : ""}`;
    // Keys come from the repository: added as text; the description is already inert markdown (server).
    const tooltip = new vscode.MarkdownString().appendMarkdown("**").appendText(node.key.join("/")).appendMarkdown(`** (${node.kind})`);
    if (node.description) tooltip.appendMarkdown(`\n\n${node.description}`);
    if (status?.detail) tooltip.appendMarkdown("\n\n").appendText(`${status.state}: ${status.detail}`);
    tree.tooltip = tooltip;
    const [icon, colour] = STATE_ICONS[status?.state ?? ""] ?? ["symbol-class", "foreground"];
    tree.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(colour));
    tree.contextValue = node.kind === "dbt_source" || node.kind === "dbt_exposure" ? "tributary.asset.readonly" : "tributary.asset";
    tree.command = { command: "tributary.openAsset", title: "Open", arguments: [node.id] };
    return tree;
  }
}

type RunItem = { type: "run"; run: RunsResult["runs"][number] } | { type: "step"; run: RunsResult["runs"][number]; step: RunsResult["runs"][number]["steps"][number] };

export class RunsTree implements vscode.TreeDataProvider<RunItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private runs: RunsResult["runs"] = [];

  constructor(private readonly client: TributaryClient) {
    client.onGraphChanged(() => void this.reload());
  }

  async reload(): Promise<void> {
    const client = this.client.languageClient;
    if (!client) return;
    this.runs = (await client.sendRequest(RunsRequest, { limit: 30 })).runs;
    this.changed.fire();
  }

  getChildren(item?: RunItem): RunItem[] {
    if (!item) return this.runs.map((run) => ({ type: "run", run }));
    if (item.type === "run") return item.run.steps.map((step) => ({ type: "step", run: item.run, step }));
    return [];
  }

  getTreeItem(item: RunItem): vscode.TreeItem {
    const state = item.type === "run" ? item.run.status : item.step.status;
    const icon = { success: ["pass-filled", "charts.green"], failed: ["error", "charts.red"], running: ["sync~spin", "charts.blue"], skipped: ["debug-step-over", "disabledForeground"], cancelled: ["circle-slash", "charts.yellow"], interrupted: ["debug-disconnect", "charts.yellow"] }[state] ?? ["circle-outline", "foreground"];
    if (item.type === "run") {
      const run = new vscode.TreeItem(item.run.selection, vscode.TreeItemCollapsibleState.Collapsed);
      run.description = `${state} · ${new Date(item.run.startedAt).toLocaleString()}`;
      run.tooltip = `${item.run.id}${item.run.error ? `\n${item.run.error}` : ""}`;
      run.iconPath = new vscode.ThemeIcon(icon[0], new vscode.ThemeColor(icon[1]));
      run.contextValue = state === "failed" ? "tributary.run.failed" : "tributary.run";
      run.id = `run:${item.run.id}`;
      return run;
    }
    const step = new vscode.TreeItem(`${item.step.kind} · ${item.step.assets.join(", ")}`, vscode.TreeItemCollapsibleState.None);
    step.description = state;
    step.tooltip = item.step.error ?? item.step.log?.slice(-500);
    step.iconPath = new vscode.ThemeIcon(icon[0], new vscode.ThemeColor(icon[1]));
    step.id = `step:${item.run.id}:${item.step.stepId}`;
    return step;
  }
}
