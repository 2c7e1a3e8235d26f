import type { Hover } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import type { CheckSummary } from "../protocol/checks";
import { describeCheck, describeChecks } from "../run/checkStatus";
import type { StatusSummary } from "../protocol/status";
import type { Pos } from "../protocol/types";
import { jobHover } from "./jobs";
import { inertMarkdown } from "../index/markdown";
import { commandUri } from "../protocol/commands";
import { assetAt, assetLink, kindLabel, occurrenceAt, relativeTo } from "./lookup";

/** What the run history knows about an asset, shown in hovers and code lenses. */
export type StatusProvider = (id: string) => StatusSummary | undefined;
/** An asset's checks with their last results. */
export type ChecksProvider = (id: string) => CheckSummary[];

const LIST_LIMIT = 12;

export function hover(index: WorkspaceIndex, roots: string[], file: string, pos: Pos, status?: StatusProvider, checks?: ChecksProvider): Hover | null {
  // Inside a job({...}) call: the job's schedule, next runs, selection and plan.
  const job = jobHover(index, file, pos, { roots });
  if (job) return job;
  const occurrence = occurrenceAt(index, file, pos);
  if (occurrence && !occurrence.target) return null;
  const id = occurrence?.target ?? (pos.line === 0 ? assetAt(index, file, undefined) : undefined);
  if (!id) return null;
  const markdown = describeAsset(index, roots, id, status, checks);
  if (!markdown) return null;
  return { contents: { kind: "markdown", value: markdown }, range: occurrence?.span };
}

/** The hover text of one asset: key, kind, description, file, upstream and downstream, status. */
export function describeAsset(index: WorkspaceIndex, roots: string[], id: string, status?: StatusProvider, checks?: ChecksProvider): string | undefined {
  const graph = index.graph;
  const node = graph.get(id);
  if (!node) return undefined;
  const lines: string[] = [];
  const facts = [kindLabel(node)];
  if (node.group) facts.push(`group \`${node.group}\``);
  if (node.materialized && node.kind !== "dbt_source") facts.push(node.kind === "ts_asset" ? `io \`${node.materialized}\`` : `materialized \`${node.materialized}\``);
  lines.push(`**${node.key.join("/")}** · ${facts.join(" · ")}`);
  if (node.description) lines.push("", node.description);
  if (node.tags.length) lines.push("", `Tags: ${node.tags.map((t) => `\`${t}\``).join(" ")}`);
  if (node.file) lines.push("", `Defined in \`${relativeTo(roots, node.file)}\``);
  const line = status?.(id);
  lines.push("", `Status: ${line ? `**${line.state}**${line.detail ? ` — ${line.detail}` : ""}` : "not materialized yet"}`);
  // Names, groups, tags and check messages come from the repository: made inert, before the
  // server's own command links are added.
  const parts = [inertMarkdown(lines.join("\n"))];
  lines.length = 0;
  const summaries = checks?.(id) ?? [];
  if (summaries.length > 0) {
    const checkLines = [`**Checks:** ${describeChecks(summaries)}`, ""];
    for (const s of summaries.slice(0, LIST_LIMIT)) {
      const query = s.compiledSql && s.status !== "passed" ? ` · [open the failing query](${commandUri("tributary.openCheckQuery", [s.id])})` : "";
      checkLines.push(`- ${inertMarkdown(describeCheck(s).replace(s.name, `\`${s.name}\``))}${query}`);
    }
    if (summaries.length > LIST_LIMIT) checkLines.push(`- … ${summaries.length - LIST_LIMIT} more`);
    parts.push(checkLines.join("\n"));
  }
  const list = (ids: readonly string[]) => {
    const shown = ids.slice(0, LIST_LIMIT).map((u) => assetLink(graph.get(u)!));
    if (ids.length > LIST_LIMIT) shown.push(`… ${ids.length - LIST_LIMIT} more`);
    return shown.join(", ");
  };
  const up = graph.upstream(id);
  const down = graph.downstream(id);
  lines.push(`**Upstream (${up.length}):** ${up.length ? list(up) : "none"}`);
  lines.push("", `**Downstream (${down.length}):** ${down.length ? list(down) : "none"}`);
  parts.push(inertMarkdown(lines.join("\n")));
  return parts.join("\n\n");
}
