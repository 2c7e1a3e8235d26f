/**
 * The extension's command ids: the extension registers them (extension/src/commandTable.ts has a
 * row for each), the server names them in code lenses and in hover links.
 */
export type CommandId =
  | "tributary.materialize"
  | "tributary.materializeUpstream"
  | "tributary.materializeDownstream"
  | "tributary.materializeSelection"
  | "tributary.retryFailed"
  | "tributary.showLineage"
  | "tributary.showRunHistory"
  | "tributary.refresh"
  | "tributary.cancelRun"
  | "tributary.rerun"
  | "tributary.openAsset"
  | "tributary.assetsByGroup"
  | "tributary.assetsByKind"
  | "tributary.runJob"
  | "tributary.showCompiledSql"
  | "tributary.previewResults"
  | "tributary.openCheckQuery";

/** A markdown link running a command with arguments (VS Code's `command:` URI). */
export function commandUri(id: CommandId, args: unknown[]): string {
  return `command:${id}?${encodeURIComponent(JSON.stringify(args))}`;
}
