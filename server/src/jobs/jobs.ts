/**
 * Jobs (DESIGN.md §2, issue 6): the `job({ name, selection, schedule, timezone })` calls the
 * workspace index read from TypeScript asset files, validated against the asset graph and the
 * schedule rules, and the language-server faces of them (diagnostics, hover, code lenses).
 *
 * Diagnostics (codes):
 * - `job-selection-syntax` (error): the selection does not parse; the range is the exact place
 *   inside the string literal where parsing failed (escapes and template literals accounted for);
 * - `job-selection-empty` (warning): the selection matches no asset (not for selections using
 *   `status:`, whose result depends on the run history);
 * - `job-schedule` (error): an invalid cron string or macro, at the offending field;
 * - `job-timezone` (error): an unknown IANA time zone, at the `timezone` string;
 * - `job-duplicate-name` (error): two jobs share a name (both are flagged).
 * Problems the reader itself reports (missing name or selection, computed values) stay in the
 * index's own diagnostics.
 *
 * This module reads no history and runs nothing; it imports only types from the language server.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { CodeLens, Hover } from "vscode-languageserver";
import { URI } from "vscode-uri";
import { formatKey } from "../graph/keys";
import { describeSelectionError, evaluateSelection, parseSelection, type SelectionAst, type SelectionError, type StatusLookup } from "../graph/selection";
import type { TsJobDef } from "../index/facts";
import { LineIndex } from "../index/lineIndex";
import type { WorkspaceIndex } from "../index/workspace";
import { planSelection } from "../plan/planner";
import type { Plan } from "../protocol/plan";
import type { RunRecord } from "../protocol/history";
import type { IndexDiagnostic, Pos, Span } from "../protocol/types";
import { inertMarkdown } from "../index/markdown";
import { formatInZone, localTimezone, parseSchedule, relativeFuture, type Schedule, type ScheduleError } from "./schedule";

export const RUN_JOB_COMMAND = "tributary.runJob";
const LIST_LIMIT = 12;

export interface JobOptions {
  /** Folders `path:` selectors are relative to (the workspace roots). */
  roots?: string[];
  /** Asset status for `status:` selectors (none: they match nothing). */
  status?: StatusLookup;
  /** Time zone of schedules without `timezone` (default: the machine's). */
  defaultTimezone?: string;
  /** Plan each job's selection (for step counts). */
  plan?: boolean;
  /** The current text of a file (open editors); default: read from disk. Used to place errors inside string literals. */
  readText?: (file: string) => string | undefined;
}

/** One `job()` call, validated. */
export interface JobInfo {
  /** Undefined when the name is missing or computed. */
  name?: string;
  file: string;
  def: TsJobDef;
  selection?: string;
  /** Selected asset ids, upstream first (empty when the selection is missing or invalid). */
  assets: string[];
  selectionError?: SelectionError;
  /** The selection uses `status:` (its result changes with the run history). */
  usesStatus: boolean;
  /** The schedule, when there is one and it is valid. */
  schedule?: Schedule;
  scheduleError?: ScheduleError;
  /** With `options.plan` and a non-empty selection. */
  plan?: Plan;
  /** Another job has the same name. */
  duplicate: boolean;
}

/** Every `job()` of the workspace, in file order, validated. */
export function collectJobs(index: WorkspaceIndex, options: JobOptions = {}): JobInfo[] {
  const out: JobInfo[] = [];
  const graph = index.graph;
  const order = new Map<string, number>();
  graph.topologicalOrder().forEach((id, i) => order.set(id, i));
  const tz = options.defaultTimezone ?? localTimezone();
  for (const file of [...index.tsFiles()].sort()) {
    for (const def of index.tsFacts(file)?.jobs ?? []) {
      const job: JobInfo = { file, def, assets: [], usesStatus: false, duplicate: false };
      if (def.name !== undefined) job.name = def.name;
      if (def.selection !== undefined) {
        job.selection = def.selection;
        const parsed = parseSelection(def.selection);
        if (!parsed.ok) job.selectionError = parsed.error;
        else {
          job.usesStatus = usesStatus(parsed.ast);
          const ids = evaluateSelection(parsed.ast, graph, { status: options.status, root: options.roots });
          job.assets = [...ids].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
          if (options.plan && job.assets.length > 0) job.plan = planSelection(graph, job.assets);
        }
      }
      if (def.schedule !== undefined) {
        const result = parseSchedule(def.schedule, def.timezone, tz);
        if (result.ok) job.schedule = result.schedule;
        else job.scheduleError = result.error;
      } else if (def.timezone !== undefined) {
        const result = parseSchedule("@daily", def.timezone, tz);
        if (!result.ok) job.scheduleError = result.error;
      }
      out.push(job);
    }
  }
  const byName = new Map<string, JobInfo[]>();
  for (const job of out) if (job.name !== undefined) byName.set(job.name, [...(byName.get(job.name) ?? []), job]);
  for (const list of byName.values()) if (list.length > 1) for (const job of list) job.duplicate = true;
  return out;
}

/** The job named `name` (the first one when the name is duplicated). */
export function findJob(index: WorkspaceIndex, name: string, options: JobOptions = {}): JobInfo | undefined {
  return collectJobs(index, options).find((j) => j.name === name);
}

function usesStatus(ast: SelectionAst): boolean {
  switch (ast.type) {
    case "attribute":
      return ast.attribute === "status";
    case "name":
      return false;
    case "and":
    case "or":
      return ast.operands.some(usesStatus);
    default:
      return usesStatus(ast.operand);
  }
}

// ---------------------------------------------------------------- diagnostics

/** The job problems of the whole workspace (see the module comment for the codes). */
export function jobDiagnostics(index: WorkspaceIndex, options: JobOptions = {}): IndexDiagnostic[] {
  const texts = new TextCache(options.readText);
  const out: IndexDiagnostic[] = [];
  const jobs = collectJobs(index, options);
  for (const job of jobs) {
    const { def, file } = job;
    const diag = (span: Span, severity: IndexDiagnostic["severity"], code: string, message: string) => out.push({ file, span, severity, code, message });
    if (job.selectionError && def.selectionSpan) {
      const e = job.selectionError;
      diag(texts.literalRange(file, def.selectionSpan, e.offset, e.length), "error", "job-selection-syntax", `Invalid selection: ${e.message}`);
    } else if (job.selection !== undefined && def.selectionSpan && job.assets.length === 0 && !job.usesStatus && !job.selectionError) {
      diag(def.selectionSpan, "warning", "job-selection-empty", `The selection '${job.selection}' of job '${job.name ?? "?"}' matches no asset.`);
    }
    const se = job.scheduleError;
    if (se?.field === "schedule" && def.scheduleSpan) {
      diag(texts.literalRange(file, def.scheduleSpan, se.offset, se.length), "error", "job-schedule", `Invalid schedule: ${se.message}`);
    } else if (se?.field === "timezone") {
      const at = texts.propertyLiteral(file, def.span, "timezone") ?? def.scheduleSpan ?? def.nameSpan ?? def.span;
      diag(at, "error", "job-timezone", se.message);
    }
    if (job.duplicate && job.name !== undefined) {
      const others = jobs.filter((j) => j !== job && j.name === job.name).map((j) => `${path.basename(j.file)}:${j.def.span.start.line + 1}`);
      diag(def.nameSpan ?? def.span, "error", "job-duplicate-name", `Another job is named '${job.name}' (${others.join(", ")}); job names must be unique.`);
    }
  }
  return out;
}

/** File texts and the mapping of offsets inside string literals to positions. */
class TextCache {
  private readonly texts = new Map<string, { text: string; lines: LineIndex } | null>();

  constructor(private readonly readText?: (file: string) => string | undefined) {}

  private get(file: string): { text: string; lines: LineIndex } | undefined {
    let entry = this.texts.get(file);
    if (entry === undefined) {
      let text: string | undefined;
      try {
        text = this.readText ? this.readText(file) : readFileSync(file, "utf8");
      } catch {
        text = undefined;
      }
      entry = text === undefined ? null : { text, lines: new LineIndex(text) };
      this.texts.set(file, entry);
    }
    return entry ?? undefined;
  }

  /**
   * The range of `length` characters at `offset` in the *value* of the string literal spanning
   * `span` (quotes included). Without the file text, the literal is taken to have no escapes.
   */
  literalRange(file: string, span: Span, offset: number, length: number): Span {
    const entry = this.get(file);
    if (entry) {
      const start = entry.lines.offset(span.start);
      const end = entry.lines.offset(span.end);
      const raw = entry.text.slice(start, end);
      const map = literalOffsets(raw);
      if (map) {
        const at = (i: number) => start + map[Math.max(0, Math.min(i, map.length - 1))];
        return { start: entry.lines.position(at(offset)), end: entry.lines.position(at(offset + length)) };
      }
    }
    const base = span.start;
    const pos = (i: number): Pos => ({ line: base.line, character: base.character + 1 + i });
    return { start: pos(offset), end: pos(offset + length) };
  }

  /** The span of the string literal of property `name` inside the call at `callSpan`. */
  propertyLiteral(file: string, callSpan: Span, name: string): Span | undefined {
    const entry = this.get(file);
    if (!entry) return undefined;
    const start = entry.lines.offset(callSpan.start);
    const raw = entry.text.slice(start, entry.lines.offset(callSpan.end));
    const m = new RegExp(`(?:^|[{,\\s])["']?${name}["']?\\s*:\\s*(["'\`])`).exec(raw);
    if (!m) return undefined;
    const open = m.index + m[0].length - 1;
    const map = literalOffsets(raw.slice(open));
    const close = map ? open + map[map.length - 1] + 1 : raw.indexOf(m[1], open + 1) + 1;
    return entry.lines.span(start + open, start + (close > open ? close : open + 1));
  }
}

/**
 * For the source text of a string literal (starting at its opening quote, possibly wrapped in
 * parentheses or followed by `as ...`), the raw offset of each value index `0..value.length`
 * (the last entry is the closing quote). Undefined when the text is no string literal.
 */
export function literalOffsets(raw: string): number[] | undefined {
  let i = 0;
  while (i < raw.length && (raw[i] === "(" || /\s/.test(raw[i]))) i++;
  const quote = raw[i];
  if (quote !== '"' && quote !== "'" && quote !== "`") return undefined;
  const map: number[] = [];
  i++;
  while (i < raw.length && raw[i] !== quote) {
    const c = raw[i];
    if (c === "\\") {
      const n = raw[i + 1];
      if (n === "\r" || n === "\n" || n === "\u2028" || n === "\u2029") {
        i += n === "\r" && raw[i + 2] === "\n" ? 3 : 2; // line continuation: no character
        continue;
      }
      let len = 2;
      let units = 1;
      if (n === "x") len = 4;
      else if (n === "u" && raw[i + 2] === "{") {
        const close = raw.indexOf("}", i + 3);
        len = close < 0 ? 2 : close - i + 1;
        const cp = parseInt(raw.slice(i + 3, close), 16);
        units = cp > 0xffff ? 2 : 1;
      } else if (n === "u") len = 6;
      for (let u = 0; u < units; u++) map.push(i);
      i += len;
      continue;
    }
    if (c === "$" && quote === "`" && raw[i + 1] === "{") return undefined; // a substitution: not a plain literal
    if (c === "\r" && quote === "`" && raw[i + 1] === "\n") {
      map.push(i); // CRLF in a template literal is one "\n" in the value
      i += 2;
      continue;
    }
    map.push(i);
    i++;
  }
  map.push(i);
  return map;
}

// ---------------------------------------------------------------- hover and lenses

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
  if (job.name !== undefined && job.assets.length > 0 && !job.duplicate) {
    lines.push("", `[▶ Run job](command:${RUN_JOB_COMMAND}?${encodeURIComponent(JSON.stringify([job.name]))})`);
  }
  // Names, descriptions and selections come from the repository.
  return inertMarkdown(lines.join("\n"));
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

// ---------------------------------------------------------------- for the daemon

/** The jobs the daemon can run (named, unique, with a valid schedule and selection) and why others are left out. */
export function scheduledJobs(index: WorkspaceIndex, options: JobOptions = {}): { jobs: { name: string; schedule: Schedule; selection: string }[]; ignored: { name?: string; file: string; reason: string }[] } {
  const jobs: { name: string; schedule: Schedule; selection: string }[] = [];
  const ignored: { name?: string; file: string; reason: string }[] = [];
  for (const job of collectJobs(index, options)) {
    if (job.def.schedule === undefined && !job.scheduleError) continue; // on demand only
    const reason =
      job.name === undefined
        ? "it has no name that can be read statically"
        : job.duplicate
          ? "another job has the same name"
          : job.scheduleError
            ? job.scheduleError.message
            : job.selection === undefined
              ? "it has no selection that can be read statically"
              : job.selectionError
                ? `invalid selection: ${describeSelectionError(job.selectionError)}`
                : undefined;
    if (reason || !job.schedule) ignored.push({ name: job.name, file: job.file, reason: reason ?? "invalid schedule" });
    else jobs.push({ name: job.name!, schedule: job.schedule, selection: job.selection! });
  }
  return { jobs, ignored };
}
