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

/**
 * The commands the server's hovers link to. The extension trusts hover markdown for these and
 * no other (repository text in a hover cannot link a command: see index/markdown.ts).
 */
export const HOVER_LINK_COMMANDS = ["tributary.runJob", "tributary.openCheckQuery"] as const satisfies readonly CommandId[];
export type HoverLinkCommand = (typeof HOVER_LINK_COMMANDS)[number];

/** A markdown link running a command with arguments (VS Code's `command:` URI). */
export function commandUri(id: CommandId, args: unknown[]): string {
  return `command:${id}?${encodeURIComponent(JSON.stringify(args))}`;
}
