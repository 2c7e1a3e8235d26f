/**
 * The "Jobs" tree (job, schedule, next run, last run status; Run now) and, when the
 * `tributary.runSchedules` setting is on in a trusted workspace, the schedule daemon: the same
 * `tributary daemon` the CLI runs, in its own process (never in the extension host).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";
import { JobsRequest, type JobSummary } from "../../server/src/protocol/requests";
import type { TributaryClient } from "./client";
import { readSettings } from "./settings";

export class JobsTree implements vscode.TreeDataProvider<JobSummary> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private jobs: JobSummary[] = [];

  constructor(private readonly client: TributaryClient) {
    client.onGraphChanged(() => void this.reload());
  }

  async reload(): Promise<void> {
    const client = this.client.languageClient;
    if (!client) return;
    this.jobs = (await client.sendRequest(JobsRequest)).jobs;
    this.changed.fire();
  }

  getChildren(job?: JobSummary): JobSummary[] {
    return job ? [] : this.jobs;
  }

  getTreeItem(job: JobSummary): vscode.TreeItem {
    const item = new vscode.TreeItem(job.name, vscode.TreeItemCollapsibleState.None);
    const next = job.nextRun ? `next ${new Date(job.nextRun).toLocaleString()}` : "no schedule";
    item.description = `${job.schedule ?? "manual"} · ${next}${job.lastRunStatus ? ` · last ${job.lastRunStatus}` : ""}`;
    // Names, selections and messages come from the repository: added as text, never as markdown.
    const tooltip = new vscode.MarkdownString().appendMarkdown("**").appendText(job.name).appendMarkdown("** — ").appendText(job.selection ?? "");
    for (const line of [`${job.assets} assets, ${job.steps ?? 0} steps`, job.timezone ? `time zone ${job.timezone}` : "", ...job.errors.map((e) => `⚠ ${e}`)].filter(Boolean)) tooltip.appendMarkdown("\n\n").appendText(line);
    item.tooltip = tooltip;
    const failed = job.lastRunStatus === "failed" || job.errors.length > 0;
    item.iconPath = new vscode.ThemeIcon(failed ? "error" : job.lastRunStatus === "success" ? "pass-filled" : "watch", new vscode.ThemeColor(failed ? "charts.red" : job.lastRunStatus === "success" ? "charts.green" : "foreground"));
    item.contextValue = "tributary.job";
    item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.file(job.file), { selection: new vscode.Range(job.line - 1, 0, job.line - 1, 0) }] };
    return item;
  }
}

/** Runs `tributary daemon` while the setting is on and the workspace is trusted. */
export class ScheduleRunner implements vscode.Disposable {
  private child: ChildProcess | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  update(): void {
    const wanted = readSettings(vscode.workspace.getConfiguration("tributary")).runSchedules && vscode.workspace.isTrusted;
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (wanted && root && !this.child) this.start(root);
    if (!wanted) this.stop();
  }

  private start(root: string): void {
    const cli = this.context.asAbsolutePath(path.join("dist", "runner", "cli.js"));
    const settings = readSettings(vscode.workspace.getConfiguration("tributary"));
    const nodePath = settings.nodePath ?? process.execPath;
    const dbt = settings.dbtExecutable;
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: "1", TRIBUTARY_TRIGGER: "vscode", ...(dbt ? { TRIBUTARY_DBT_EXECUTABLE: dbt } : {}) };
    const child = spawn(nodePath, [cli, "daemon", "-C", root], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.output.info(`schedules: daemon started (pid ${child.pid})`);
    child.stdout!.on("data", (d: Buffer) => this.output.info(`schedules: ${d.toString().trimEnd()}`));
    child.stderr!.on("data", (d: Buffer) => this.output.warn(`schedules: ${d.toString().trimEnd()}`));
    child.on("exit", (code) => {
      if (this.child === child) this.child = undefined;
      this.output.info(`schedules: daemon stopped (${code ?? "signal"})`);
    });
  }

  private stop(): void {
    this.child?.kill("SIGTERM");
    this.child = undefined;
  }

  dispose(): void {
    this.stop();
  }
}
