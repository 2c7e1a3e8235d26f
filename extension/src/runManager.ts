/**
 * Runs go through the runner in a separate Node process (the `tributary` CLI bundled with the
 * extension, `--json` events on stdout), never in the extension host. One run at a time per
 * window; a progress notification with a working Cancel, a status bar item, and the step log of
 * a failure in the output channel.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";
import { readSettings } from "./settings";
import type { RunEvent } from "../../server/src/protocol/runEvents";
import { applyRunEvent, EventLineParser, initialRunState, progressMessage, summaryMessage, type RunState } from "./runProgress";

export interface RunRequest {
  selection?: string;
  retryFailed?: boolean;
  /** Run a job() by name (its selection, through the planner). */
  job?: string;
  /** The workspace folder holding `.tributary/`. */
  root: string;
}

export class RunManager implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private readonly statusBar = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  private readonly events = new vscode.EventEmitter<{ event: RunEvent; state: RunState }>();
  /** Every runner event with the run's state after it (the lineage panel shows live progress). */
  readonly onEvent = this.events.event;
  private readonly ended = new vscode.EventEmitter<RunState>();
  readonly onRunEnded = this.ended.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.statusBar.name = "Tributary run";
    this.statusBar.command = "tributary.showRunHistory";
  }

  get busy(): boolean {
    return this.child !== undefined;
  }

  cancel(): void {
    this.child?.kill("SIGINT");
  }

  async run(request: RunRequest): Promise<RunState | undefined> {
    if (this.child) {
      void vscode.window.showWarningMessage("A Tributary run is already going in this window; cancel it or wait for it.");
      return undefined;
    }
    const settings = readSettings(vscode.workspace.getConfiguration("tributary"));
    const cli = this.context.asAbsolutePath(path.join("dist", "runner", "cli.js"));
    const what = request.job ? ["jobs", "run", request.job] : ["materialize", ...(request.retryFailed ? ["--retry-failed"] : [request.selection ?? ""])];
    const args = [cli, ...what, "--json", "-C", request.root];
    if (settings.engine !== "auto") args.push("--engine", settings.engine);
    if (settings.concurrency !== undefined) args.push("--concurrency", String(settings.concurrency));
    const userNode = settings.nodePath;
    const nodePath = userNode ?? process.execPath;
    const env: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_TRIGGER: "vscode", ...(userNode ? {} : { ELECTRON_RUN_AS_NODE: "1" }) };
    if (settings.dbtExecutable) env.TRIBUTARY_DBT_EXECUTABLE = settings.dbtExecutable;
    const label = request.job ? `job ${request.job}` : request.retryFailed ? "re-execute failed" : request.selection ?? "";
    this.output.info(`run: ${label}`);
    const state = initialRunState();
    const parser = new EventLineParser();
    const child = spawn(nodePath, args, { cwd: request.root, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.statusBar.text = "$(sync~spin) Tributary: starting";
    this.statusBar.show();
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => {
      stderr.push(d.toString());
      this.output.warn(d.toString().trimEnd());
    });

    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tributary: ${label}`, cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => this.cancel());
      return new Promise<RunState>((resolve) => {
        child.stdout!.on("data", (chunk: Buffer) => {
          for (const event of parser.push(chunk.toString())) {
            applyRunEvent(state, event);
            if (event.type === "log") this.output.info(`[${event.stepId}] ${event.message}`);
            if (event.type === "asset_failed") this.output.error(`${event.assetId}: ${event.error}`);
            progress.report({ message: progressMessage(state) });
            this.statusBar.text = `$(sync~spin) Tributary: ${state.doneAssets}/${state.totalAssets}`;
            this.events.fire({ event, state });
          }
        });
        child.on("error", (error) => stderr.push(error.message));
        child.on("exit", (code) => {
          this.child = undefined;
          if (state.status === "starting" || state.status === "running") {
            state.status = "failed";
            const message = stderr.join("").trim() || `the runner exited with code ${code}`;
            state.failed.push({ assetId: "(run)", error: message });
          }
          this.finish(state, label, stderr.join("").trim());
          resolve(state);
        });
      });
    });
  }

  private finish(state: RunState, label: string, stderr: string): void {
    const icon = state.status === "success" ? "$(check)" : state.status === "cancelled" ? "$(circle-slash)" : "$(error)";
    this.statusBar.text = `${icon} Tributary: ${state.status}`;
    this.statusBar.tooltip = summaryMessage(state, label);
    this.ended.fire(state);
    if (state.status === "success") {
      void vscode.window.showInformationMessage(summaryMessage(state, label));
      return;
    }
    if (state.status === "cancelled") {
      void vscode.window.showWarningMessage(summaryMessage(state, label));
      return;
    }
    // A failure opens the failed step's log in the output channel.
    for (const failure of state.failed) {
      const lines = failure.stepId ? state.logs.get(failure.stepId) ?? [] : [];
      this.output.error(`── ${failure.assetId} failed ──\n${lines.join("\n")}\n${failure.error}`);
    }
    if (stderr && state.failed.length === 0) this.output.error(stderr);
    this.output.show(true);
    void vscode.window.showErrorMessage(stderr && state.failed[0]?.assetId === "(run)" ? `Tributary: ${stderr.split("\n")[0]}` : summaryMessage(state, label), "Re-execute Failed").then((choice) => {
      if (choice) void vscode.commands.executeCommand("tributary.retryFailed");
    });
  }

  dispose(): void {
    this.cancel();
    this.statusBar.dispose();
    this.events.dispose();
    this.ended.dispose();
  }
}
