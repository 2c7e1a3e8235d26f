/**
 * The language-server faces of job() definitions: the hover over a `job()` call and its code lenses
 * (the jobs themselves, their selections and schedules, are worked out in ../jobs/jobs.ts).
 */
import type { CodeLens, Hover } from "vscode-languageserver";
import { URI } from "vscode-uri";
import { formatKey } from "../graph/keys";
import { describeSelectionError } from "../graph/selection";
import { inertMarkdown } from "../index/markdown";
import type { WorkspaceIndex } from "../index/workspace";
import { collectJobs, type JobInfo, type JobOptions } from "../jobs/jobs";
import { formatInZone, relativeFuture } from "../jobs/schedule";
import { planSelection } from "../plan/planner";
import { commandUri, type CommandId } from "../protocol/commands";
import type { RunRecord } from "../protocol/history";
import type { Pos, Span } from "../protocol/types";

export const RUN_JOB_COMMAND: CommandId = "tributary.runJob";
const LIST_LIMIT = 12;

export interface JobFaceOptions extends JobOptions {
  /** Now, epoch ms (default: Date.now()). */
  now?: number;
  /** The last run of a job (`lastJobRun` over the run history), for the hover. */
  lastRun?: (jobName: string) => RunRecord | undefined;
}

function contains(span: Span, pos: Pos): boolean {
  const afterStart = pos.line > span.start.line || (pos.line === span.start.line && pos.character >= span.start.character);
  const beforeEnd = pos.line < span.end.line || (pos.line === span.end.line && pos.character <= span.end.character);
  return afterStart && beforeEnd;
}

function jobsOfFile(index: WorkspaceIndex, file: string, options: JobOptions): JobInfo[] {
  if (!index.tsFacts(file)?.jobs.length) return [];
  return collectJobs(index, options).filter((j) => j.file === file);
}

/** A markdown link that opens an asset's definition. */
function assetLink(index: WorkspaceIndex, id: string): string {
  const node = index.graph.get(id);
  const label = node ? formatKey(node.key) : id;
  if (!node?.file) return `\`${label}\``;
  return `[${label}](${fileUri(node.file)}#L${(node.span?.start.line ?? 0) + 1})`;
}

function fileUri(file: string): string {
  return URI.file(file).toString();
}

/** The hover over a `job()` call: schedule and next times, selection, assets, plan size, last run. */
export function jobHover(index: WorkspaceIndex, file: string, pos: Pos, options: JobFaceOptions = {}): Hover | null {
  const job = jobsOfFile(index, file, options).find((j) => contains(j.def.span, pos));
  if (!job) return null;
  if (job.assets.length > 0) job.plan = planSelection(index.graph, job.assets);
  return { contents: { kind: "markdown", value: describeJob(index, job, options) }, range: job.def.span };
}

/** The markdown describing one job (hover, and the extension's Jobs tree tooltip). */
export function describeJob(index: WorkspaceIndex, job: JobInfo, options: JobFaceOptions = {}): string {
  const now = options.now ?? Date.now();
  const lines: string[] = [];
  lines.push(`**Job \`${job.name ?? "?"}\`**${job.schedule ? ` · ${job.schedule.text === job.schedule.cron ? `\`${job.schedule.cron}\`` : `\`${job.schedule.text}\``} (${job.schedule.describe()}, ${job.schedule.timezone}${job.schedule.explicitTimezone ? "" : " — the machine's zone"})` : job.def.schedule === undefined ? " · no schedule (run on demand)" : ""}`);
  if (job.def.description) lines.push("", job.def.description);
  if (job.scheduleError) lines.push("", `⚠ ${job.scheduleError.field === "timezone" ? "Time zone" : "Schedule"}: ${job.scheduleError.message}`);
  if (job.schedule) {
    const next = job.schedule.nextRuns(3, now);
    if (next.length) lines.push("", `**Next runs:** ${next.map((d, i) => `${formatInZone(d, job.schedule!.timezone)}${i === 0 ? ` (${relativeFuture(d, now)})` : ""}`).join(" · ")}`);
    else lines.push("", "**Next runs:** none (the schedule never fires again)");
  }
  if (job.selection !== undefined) {
    if (job.selectionError) lines.push("", `Selection \`${job.selection}\`: ⚠ ${describeSelectionError(job.selectionError)}`);
    else {
      const plan = job.plan;
      const dbtSteps = plan?.steps.filter((s) => s.kind === "dbt").length ?? 0;
      const planText = plan ? ` · plan: ${plan.steps.length} ${plan.steps.length === 1 ? "step" : "steps"} (${dbtSteps} dbt ${dbtSteps === 1 ? "invocation" : "invocations"})` : "";
      lines.push("", `Selection \`${job.selection}\`: ${job.assets.length} ${job.assets.length === 1 ? "asset" : "assets"}${planText}${job.usesStatus ? " (depends on the run history)" : ""}`);
      if (job.assets.length) {
        const shown = job.assets.slice(0, LIST_LIMIT).map((id) => assetLink(index, id));
        if (job.assets.length > LIST_LIMIT) shown.push(`… ${job.assets.length - LIST_LIMIT} more`);
        lines.push("", shown.join(", "));
      }
    }
  }
  const last = job.name !== undefined ? options.lastRun?.(job.name) : undefined;
  if (last) lines.push("", `Last run: **${last.status}** ${last.endedAt ?? last.startedAt} (run ${last.id}, ${last.trigger ?? "cli"})`);
  // Names, descriptions and selections come from the repository; the Run link is the server's own.
  const text = inertMarkdown(lines.join("\n"));
  if (job.name !== undefined && job.assets.length > 0 && !job.duplicate) return `${text}\n\n[▶ Run job](${commandUri(RUN_JOB_COMMAND, [job.name])})`;
  return text;
}

/** Code lenses over each `job()` call: `▶ Run job` (`tributary.runJob` with the name) and the next run time. */
export function jobLenses(index: WorkspaceIndex, file: string, options: JobFaceOptions = {}): CodeLens[] {
  const now = options.now ?? Date.now();
  const lenses: CodeLens[] = [];
  for (const job of jobsOfFile(index, file, options)) {
    const range = { start: job.def.span.start, end: job.def.span.start };
    if (job.name === undefined) continue;
    if (job.selectionError) lenses.push({ range, command: { title: "⚠ invalid selection", command: "" } });
    else if (job.assets.length > 0 && !job.duplicate) lenses.push({ range, command: { title: "▶ Run job", command: RUN_JOB_COMMAND, arguments: [job.name] } });
    if (job.schedule) {
      const next = job.schedule.next(now);
      lenses.push({ range, command: { title: next ? `next run at ${formatInZone(next, job.schedule.timezone)}` : "never runs again", command: "" } });
    } else if (job.scheduleError) {
      lenses.push({ range, command: { title: `⚠ invalid ${job.scheduleError.field}`, command: "" } });
    }
  }
  return lenses;
}
