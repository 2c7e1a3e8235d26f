/**
 * Every command of the extension, in one table: id, title, where it shows, and what it needs.
 * Pure data (no `vscode` import) so package.json's contributions and the tests can be checked
 * against it; handlers are attached in commands.ts. The ids are the protocol's (the server names
 * them in code lenses and hover links).
 */
import type { CommandId } from "../../server/src/protocol/commands";

export interface CommandSpec {
  id: CommandId;
  title: string;
  /** Needs the language server (the asset graph). */
  needsServer: boolean;
  /** Executes user code or writes the warehouse: disabled in untrusted workspaces. */
  executes: boolean;
  icon?: string;
}

export const COMMANDS: readonly CommandSpec[] = [
  { id: "tributary.materialize", title: "Materialize", needsServer: true, executes: true, icon: "$(play)" },
  { id: "tributary.materializeUpstream", title: "Materialize with Upstream", needsServer: true, executes: true },
  { id: "tributary.materializeDownstream", title: "Materialize with Downstream", needsServer: true, executes: true },
  { id: "tributary.materializeSelection", title: "Materialize Selection…", needsServer: true, executes: true },
  { id: "tributary.retryFailed", title: "Re-execute Failed", needsServer: false, executes: true },
  // The panel opens at once and waits for the server itself (saying so), rather than refusing.
  { id: "tributary.showLineage", title: "Show Lineage", needsServer: false, executes: false, icon: "$(type-hierarchy)" },
  { id: "tributary.showRunHistory", title: "Show Run History", needsServer: false, executes: false },
  { id: "tributary.refresh", title: "Refresh", needsServer: true, executes: false, icon: "$(refresh)" },
  { id: "tributary.cancelRun", title: "Cancel Run", needsServer: false, executes: false, icon: "$(debug-stop)" },
  { id: "tributary.rerun", title: "Run Again", needsServer: true, executes: true, icon: "$(debug-rerun)" },
  { id: "tributary.openAsset", title: "Open Asset Definition", needsServer: true, executes: false },
  { id: "tributary.assetsByGroup", title: "Group Assets by Group", needsServer: false, executes: false },
  { id: "tributary.assetsByKind", title: "Group Assets by Kind", needsServer: false, executes: false },
  { id: "tributary.runJob", title: "Run Job Now", needsServer: false, executes: true, icon: "$(play)" },
  // Both render the project's Jinja (not a sandbox): trusted workspaces only.
  { id: "tributary.showCompiledSql", title: "Show Compiled SQL", needsServer: true, executes: true, icon: "$(file-code)" },
  { id: "tributary.previewResults", title: "Preview Results", needsServer: true, executes: true, icon: "$(table)" },
  { id: "tributary.openCheckQuery", title: "Open Check Query", needsServer: true, executes: false },
];

/** URI scheme of the read-only compiled SQL documents (sqlViews.ts). */
export const COMPILED_SCHEME = "tributary-compiled";

/** SQL files where compiled SQL and preview are offered. */
export const SQL_FILES_WHEN = "resourceExtname == .sql && resourceScheme == file";

/** Files where the editor context menu offers materialize and lineage. */
export const ASSET_FILES_WHEN = "resourceExtname =~ /^\\.(sql|ya?ml|ts|mts|cts|py|csv)$/";

/** Which asset(s) a materialize mode selects, in the selection grammar. */
export function selectionFor(ids: string[], mode: "only" | "upstream" | "downstream"): string {
  const quote = (id: string) => (/^[\w./-]+$/.test(id) && !/^(and|or|not)$/i.test(id) ? `key:"${id}"` : `key:"${id.replace(/"/g, '\\"')}"`);
  const prefix = mode === "upstream" ? "+" : "";
  const suffix = mode === "downstream" ? "+" : "";
  return ids.map((id) => `${prefix}${quote(id)}${suffix}`).join(" ");
}
