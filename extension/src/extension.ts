/**
 * Activation: the output channel, the language client, the run manager, the lineage panel, the
 * trees, and the commands (one table). Everything else lives in its own module.
 */
import { SERVER_START_SETTINGS } from "./settings";
import * as vscode from "vscode";
import { TributaryClient } from "./client";
import { registerCommands } from "./commands";
import { LineagePanel } from "./lineagePanel";
import { RunManager } from "./runManager";
import { JobsTree, ScheduleRunner } from "./jobsTree";
import { AssetsTree, RunsTree } from "./trees";
import { CompiledSqlView, PreviewPanel } from "./sqlViews";

let client: TributaryClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Tributary", { log: true });
  context.subscriptions.push(output);
  client = new TributaryClient(context, output);
  const runs = new RunManager(context, output);
  const assetsTree = new AssetsTree(client);
  const runsTree = new RunsTree(client);
  const jobsTree = new JobsTree(client);
  const schedules = new ScheduleRunner(context, output);
  const panel = new LineagePanel(context, client, {
    materialize: (ids, mode) => void vscode.commands.executeCommand(mode === "upstream" ? "tributary.materializeUpstream" : mode === "downstream" ? "tributary.materializeDownstream" : "tributary.materialize", ids),
    openAsset: (id) => void vscode.commands.executeCommand("tributary.openAsset", id),
  }, output);
  runs.onEvent(({ event, state }) => {
    if (event.type === "asset_start" || event.type === "asset_materialized" || event.type === "asset_failed") {
      panel.runProgress(event.assetId, state.assetStates.get(event.assetId) ?? "running");
    }
  });
  runs.onRunEnded(() => void Promise.all([runsTree.reload(), assetsTree.reload(), jobsTree.reload(), panel.refresh()]));
  const setRunning = (value: boolean) => void vscode.commands.executeCommand("setContext", "tributary.running", value);
  runs.onEvent(() => setRunning(true));
  runs.onRunEnded(() => setRunning(false));
  context.subscriptions.push(
    runs,
    panel,
    vscode.window.registerTreeDataProvider("tributary.assets", assetsTree),
    vscode.window.registerTreeDataProvider("tributary.runs", runsTree),
    vscode.window.registerTreeDataProvider("tributary.jobs", jobsTree),
    schedules,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("tributary.runSchedules")) schedules.update();
      // The language server takes these when it starts: offer to restart it rather than be silently stale.
      if (SERVER_START_SETTINGS.some((key) => e.affectsConfiguration(`tributary.${key}`))) {
        void vscode.window.showInformationMessage("Tributary: restart the language server to index with the new include/exclude settings?", "Restart").then((choice) => {
          if (choice === "Restart") void client?.restart();
        });
      }
    }),
    { dispose: () => void client?.dispose() },
  );
  const compiledSql = new CompiledSqlView(client);
  const preview = new PreviewPanel(client);
  context.subscriptions.push(compiledSql, preview);
  registerCommands(context, { client, runs, panel, assetsTree, runsTree, compiledSql, preview });
  void vscode.commands.executeCommand("setContext", "tributary.trusted", vscode.workspace.isTrusted);
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      void vscode.commands.executeCommand("setContext", "tributary.trusted", true);
      schedules.update();
      // The server renders Jinja (compiled SQL, column lineage, preview) only once trusted.
      void client?.restart();
    }),
  );
  schedules.update();
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.dispose();
}
