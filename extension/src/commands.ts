/**
 * Command handlers, registered from the one command table (commandTable.ts). Each command knows
 * what to do when the language server is down or the workspace is not trusted.
 */
import * as vscode from "vscode";
import { AssetsAtRequest, ChecksRequest, GraphRequest, RefreshRequest } from "../../server/src/protocol/requests";
import type { CommandId } from "../../server/src/protocol/commands";
import { COMMANDS, selectionFor } from "./commandTable";
import type { TributaryClient } from "./client";
import type { LineagePanel } from "./lineagePanel";
import type { RunManager } from "./runManager";
import { askSelection } from "./selectionInput";
import type { AssetsTree, RunsTree } from "./trees";
import { COMPILED_SCHEME, type CompiledSqlView, type PreviewPanel } from "./sqlViews";

export interface CommandContext {
  client: TributaryClient;
  runs: RunManager;
  panel: LineagePanel;
  assetsTree: AssetsTree;
  runsTree: RunsTree;
  compiledSql: CompiledSqlView;
  preview: PreviewPanel;
}

/** The model file a SQL command acts on: the menu's file, else the active editor's (or the model behind a compiled view). */
function modelUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === COMPILED_SCHEME ? vscode.Uri.parse(arg.query) : arg;
  const uri = vscode.window.activeTextEditor?.document.uri;
  if (!uri) return undefined;
  return uri.scheme === COMPILED_SCHEME ? vscode.Uri.parse(uri.query) : uri;
}

/** The asset(s) a command acts on: an explicit id (lens, tree, panel), else the asset under the cursor, else the file's. */
async function targetAssets(ctx: CommandContext, arg: unknown): Promise<string[]> {
  if (typeof arg === "string") return [arg];
  if (Array.isArray(arg) && arg.every((a) => typeof a === "string")) return arg as string[];
  const node = (arg as { node?: { id?: string } } | undefined)?.node;
  if (node?.id) return [node.id];
  const client = ctx.client.languageClient;
  if (!client) return [];
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  if (!uri) return [];
  const editor = vscode.window.activeTextEditor;
  const position = editor && editor.document.uri.toString() === uri.toString() ? editor.selection.active : undefined;
  const result = await client.sendRequest(AssetsAtRequest, { uri: uri.toString(), position });
  return result.atCursor ? [result.atCursor] : result.inFile;
}

function workspaceRoot(): string | undefined {
  const editor = vscode.window.activeTextEditor;
  const folder = (editor && vscode.workspace.getWorkspaceFolder(editor.document.uri)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.fsPath;
}

async function materialize(ctx: CommandContext, ids: string[], mode: "only" | "upstream" | "downstream"): Promise<void> {
  if (ids.length === 0) {
    void vscode.window.showWarningMessage("Tributary: no asset here. Put the cursor on a model, a ref(), or an asset() definition.");
    return;
  }
  await runSelection(ctx, selectionFor(ids, mode), ids);
}

async function runSelection(ctx: CommandContext, selection: string, focus: string[] = []): Promise<void> {
  const root = workspaceRoot();
  if (!root) return;
  // The plan of what runs (the selection, e.g. `+x`), not of the assets it was asked on.
  if (ctx.panel.visible && focus.length) await ctx.panel.showPlan(selection, true);
  await ctx.runs.run({ selection, root });
}

const HANDLERS: Record<CommandId, (ctx: CommandContext, arg?: unknown) => Promise<void> | void> = {
  "tributary.materialize": async (ctx, arg) => materialize(ctx, await targetAssets(ctx, arg), "only"),
  "tributary.materializeUpstream": async (ctx, arg) => materialize(ctx, await targetAssets(ctx, arg), "upstream"),
  "tributary.materializeDownstream": async (ctx, arg) => materialize(ctx, await targetAssets(ctx, arg), "downstream"),
  "tributary.materializeSelection": async (ctx, arg) => {
    const selection = await askSelection(ctx.client, typeof arg === "string" ? arg : "");
    if (selection) await runSelection(ctx, selection);
  },
  "tributary.retryFailed": async (ctx) => {
    const root = workspaceRoot();
    if (root) await ctx.runs.run({ retryFailed: true, root });
  },
  "tributary.showLineage": async (ctx, arg) => ctx.panel.show(typeof arg === "string" || Array.isArray(arg) ? await targetAssets(ctx, arg) : undefined),
  "tributary.showRunHistory": async () => vscode.commands.executeCommand("tributary.runs.focus"),
  "tributary.refresh": async (ctx) => {
    await ctx.client.languageClient?.sendRequest(RefreshRequest);
    await Promise.all([ctx.assetsTree.reload(), ctx.runsTree.reload()]);
  },
  "tributary.cancelRun": (ctx) => ctx.runs.cancel(),
  "tributary.rerun": async (ctx, arg) => {
    const selection = (arg as { run?: { selection?: string } } | undefined)?.run?.selection;
    if (selection && !selection.startsWith("retry of")) await runSelection(ctx, selection);
    else await vscode.commands.executeCommand("tributary.retryFailed");
  },
  "tributary.openAsset": async (ctx, arg) => {
    const id = typeof arg === "string" ? arg : (await targetAssets(ctx, arg))[0];
    const client = ctx.client.languageClient;
    if (!id || !client) return;
    const node = (await client.sendRequest(GraphRequest)).nodes.find((n) => n.id === id);
    if (!node?.file) return;
    const span = node.nameSpan ?? node.span;
    const range = span ? new vscode.Range(span.start.line, span.start.character, span.end.line, span.end.character) : undefined;
    await vscode.window.showTextDocument(vscode.Uri.file(node.file), { selection: range, viewColumn: vscode.ViewColumn.One });
  },
  // A check's last failing query (dbt's compiled test SQL) in a new SQL editor, to run by hand; a
  // check that never failed opens where it is declared.
  "tributary.openCheckQuery": async (ctx, arg) => {
    const client = ctx.client.languageClient;
    const checkId = typeof arg === "string" ? arg : (arg as { check?: { id?: string } } | undefined)?.check?.id;
    if (!client || !checkId) return;
    const [check] = (await client.sendRequest(ChecksRequest, { checkId })).checks;
    if (!check) return;
    if (check.compiledSql) {
      const header = `-- ${check.name}: ${check.status}${check.failures !== undefined ? `, ${check.failures} failing row(s)` : ""}${check.at ? ` (${check.at})` : ""}\n-- The rows this query returns are the failures.\n`;
      const doc = await vscode.workspace.openTextDocument({ language: "sql", content: header + check.compiledSql });
      await vscode.window.showTextDocument(doc, { preview: false });
      return;
    }
    const line = Math.max(0, check.line - 1);
    await vscode.window.showTextDocument(vscode.Uri.file(check.file), { selection: new vscode.Range(line, 0, line, 0) });
  },
  "tributary.assetsByGroup": (ctx) => ctx.assetsTree.setGrouping("group"),
  "tributary.assetsByKind": (ctx) => ctx.assetsTree.setGrouping("kind"),
  "tributary.showCompiledSql": async (ctx, arg) => {
    const uri = modelUri(arg);
    if (uri) await ctx.compiledSql.show(uri);
  },
  "tributary.previewResults": async (ctx, arg) => {
    const uri = modelUri(arg);
    if (!uri) return;
    const active = vscode.window.activeTextEditor;
    const here = active && (active.document.uri.toString() === uri.toString() || (active.document.uri.scheme === COMPILED_SCHEME && active.document.uri.query === uri.toString()));
    const editor = here ? active : await vscode.window.showTextDocument(uri, { preserveFocus: false });
    await ctx.preview.preview(editor);
  },
  "tributary.runJob": async (ctx, arg) => {
    const root = workspaceRoot();
    const job = typeof arg === "string" ? arg : await vscode.window.showInputBox({ prompt: "Job name (a job() definition)" });
    if (root && job) await ctx.runs.run({ job, root });
  },
};

export function registerCommands(context: vscode.ExtensionContext, ctx: CommandContext): void {
  for (const spec of COMMANDS) {
    context.subscriptions.push(
      vscode.commands.registerCommand(spec.id, async (arg?: unknown) => {
        if (spec.executes && !vscode.workspace.isTrusted) {
          void vscode.window.showWarningMessage("Tributary does not run anything in a restricted workspace: trust this workspace to materialize assets. Reading and lineage still work.", "Manage Workspace Trust").then((choice) => choice && vscode.commands.executeCommand("workbench.trust.manage"));
          return;
        }
        if (spec.needsServer && !ctx.client.running) {
          const choice = await vscode.window.showWarningMessage("The Tributary language server is not running.", "Restart Server", "Show Output");
          if (choice === "Restart Server") await ctx.client.restart();
          if (choice === "Show Output") void vscode.commands.executeCommand("workbench.action.output.show.tributary");
          return;
        }
        try {
          await HANDLERS[spec.id](ctx, arg);
        } catch (error) {
          void vscode.window.showErrorMessage(`Tributary: ${spec.title} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
  }
}
