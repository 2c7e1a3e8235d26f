/**
 * Jobs read from TypeScript files: validation against the graph (diagnostics at the exact column
 * inside string literals), hover, code lenses, and the list the daemon schedules.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { jobHover, jobLenses } from "../../server/src/features/jobs";
import { collectJobs, jobDiagnostics, literalOffsets, scheduledJobs } from "../../server/src/jobs/jobs";
import { hover } from "../../server/src/features/hover";
import { codeLenses } from "../../server/src/features/lenses";
import type { Pos } from "../../server/src/protocol/types";
import { copyExample } from "../helpers/workspace";

const JOBS_TS = [
  'import { job } from "tributary-assets";',
  "",
  "/** Morning refresh of the forecast chain. */",
  'export const good = job({ name: "good", selection: "+predicted_orders", schedule: "0 3 * * *", timezone: "Europe/Berlin" });',
  'export const badSel = job({ name: "bad_sel", selection: "fct_orders and (", schedule: "@daily" });',
  'export const escaped = job({ name: "escaped", selection: "\\"fct_orders\\" or )" });',
  "export const multi = job({",
  '  name: "multi",',
  "  selection: `fct_orders",
  "    or @@`,",
  "});",
  'export const empty = job({ name: "empty", selection: "tag:nothing_has_this" });',
  'export const badCron = job({ name: "bad_cron", selection: "fct_orders", schedule: "0 25 * * *" });',
  'export const badTz = job({ name: "bad_tz", selection: "fct_orders", schedule: "@hourly", timezone: "Mars/Base" });',
  'export const dup1 = job({ name: "dup", selection: "fct_orders" });',
  'export const dup2 = job({ name: "dup", selection: "customers", schedule: "@weekly" });',
  'export const staleOnly = job({ name: "stale_only", selection: "status:stale" });',
  "",
].join("\n");

/** Position of the `nth` occurrence of `needle` (plus `delta` characters). */
function at(text: string, needle: string, delta = 0, nth = 0): Pos {
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  assert.notEqual(offset, -1, needle);
  offset += delta;
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}

describe("jobs in the workspace", () => {
  let root: string;
  let dispose: () => void;
  let index: WorkspaceIndex;
  let file: string;
  const now = Date.parse("2026-03-28T12:00:00Z");

  before(() => {
    ({ root, dispose } = copyExample());
    file = path.join(root, "assets", "jobs.ts");
    writeFileSync(file, JOBS_TS);
    index = new WorkspaceIndex({ roots: [root] });
    index.load();
  });
  after(() => dispose());

  test("collectJobs: selections evaluated, schedules parsed, plans made", () => {
    const jobs = collectJobs(index, { roots: [root], plan: true, defaultTimezone: "UTC" });
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const forecast = byName.get("forecast_job")!;
    assert.deepEqual(forecast.assets, ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model"]);
    assert.equal(forecast.plan!.steps.length, 2);
    assert.equal(forecast.schedule!.cron, "0 0 * * *");
    assert.equal(forecast.schedule!.timezone, "UTC");
    const good = byName.get("good")!;
    assert.ok(good.assets.includes("forecasting/predicted_orders"));
    assert.equal(good.schedule!.timezone, "Europe/Berlin");
    assert.equal(good.def.description, "Morning refresh of the forecast chain.");
    assert.ok(byName.get("bad_sel")!.selectionError);
    assert.equal(byName.get("empty")!.assets.length, 0);
    assert.equal(byName.get("bad_cron")!.scheduleError!.field, "schedule");
    assert.equal(byName.get("bad_tz")!.scheduleError!.field, "timezone");
    assert.equal(jobs.filter((j) => j.name === "dup").every((j) => j.duplicate), true);
    assert.equal(byName.get("stale_only")!.usesStatus, true);
  });

  test("diagnostics: at the exact place inside the literal", () => {
    const diagnostics = jobDiagnostics(index, { roots: [root] });
    const of = (code: string) => diagnostics.filter((d) => d.code === code);
    const syntax = of("job-selection-syntax");
    assert.equal(syntax.length, 3);
    // "fct_orders and (": the end of the string (offset 16, nothing after the '(').
    const bad = syntax.find((d) => d.message.includes("unclosed"))!;
    assert.deepEqual(bad.span.start, at(JOBS_TS, '"fct_orders and ("', 17));
    assert.deepEqual(bad.span.end, bad.span.start);
    assert.equal(bad.severity, "error");
    assert.equal(bad.file, file);
    // Escaped quotes before the error: the ')' in the source, not 2 characters early.
    const esc = syntax.find((d) => d.message.includes("after 'or'"))!;
    assert.deepEqual(esc.span.start, at(JOBS_TS, 'or )"', 3));
    assert.deepEqual(esc.span.end, at(JOBS_TS, 'or )"', 4));
    // A template literal across lines: line 2 of the selection.
    const multi = syntax.find((d) => d.message.includes("unexpected '@'"))!;
    assert.deepEqual(multi.span.start, at(JOBS_TS, "or @@", 4), "the second @");

    const empty = of("job-selection-empty");
    assert.equal(empty.length, 1, "status: selections are not reported as empty");
    assert.equal(empty[0].severity, "warning");
    assert.deepEqual(empty[0].span.start, at(JOBS_TS, '"tag:nothing_has_this"'));

    const cron = of("job-schedule");
    assert.equal(cron.length, 1);
    assert.deepEqual(cron[0].span.start, at(JOBS_TS, '"0 25 * * *"', 3));
    assert.deepEqual(cron[0].span.end, at(JOBS_TS, '"0 25 * * *"', 5));
    assert.match(cron[0].message, /hour/);

    const tz = of("job-timezone");
    assert.equal(tz.length, 1);
    assert.deepEqual(tz[0].span.start, at(JOBS_TS, '"Mars/Base"'));
    assert.deepEqual(tz[0].span.end, at(JOBS_TS, '"Mars/Base"', '"Mars/Base"'.length));

    const dup = of("job-duplicate-name");
    assert.equal(dup.length, 2);
    assert.deepEqual(dup.map((d) => d.span.start), [at(JOBS_TS, '"dup"'), at(JOBS_TS, '"dup"', 0, 1)]);

    // The example's own job is clean.
    assert.equal(diagnostics.filter((d) => d.file.endsWith("forecast.ts")).length, 0);
  });

  test("diagnostics use the editor's text when given (unsaved edits)", () => {
    // The index and the override must agree; here the index is on disk, the text only differs after the spans.
    const diagnostics = jobDiagnostics(index, { roots: [root], readText: (f) => (f === file ? JOBS_TS + "\n// unsaved\n" : undefined) });
    assert.equal(diagnostics.filter((d) => d.code === "job-selection-syntax").length, 3);
  });

  test("literalOffsets maps value offsets to source offsets", () => {
    assert.deepEqual(literalOffsets('"ab"'), [1, 2, 3]);
    assert.deepEqual(literalOffsets('"a\\"b"'), [1, 2, 4, 5]);
    assert.deepEqual(literalOffsets("'\\u0041\\x42c'"), [1, 7, 11, 12]);
    assert.deepEqual(literalOffsets("`a\\\nb`"), [1, 4, 5], "a line continuation adds no character");
    assert.equal(literalOffsets("`a${x}`"), undefined);
    assert.equal(literalOffsets("someVariable"), undefined);
  });

  test("hover over a job: schedule, next runs in its zone, assets, plan size, run link", () => {
    const h = jobHover(index, file, at(JOBS_TS, "name: \"good\"", 2), { roots: [root], now });
    assert.ok(h);
    const md = (h.contents as { value: string }).value;
    assert.match(md, /\*\*Job `good`\*\*/);
    assert.match(md, /`0 3 \* \* \*` \(every day at 03:00, Europe\/Berlin\)/);
    assert.match(md, /Next runs:\*\* Sun 2026-03-29 03:00 CEST \(in 13 h\) · Mon 2026-03-30 03:00 CEST · Tue 2026-03-31 03:00 CEST/);
    assert.match(md, /Selection `\+predicted_orders`: \d+ assets · plan: \d+ steps \(\d dbt invocations?\)/);
    assert.match(md, /\[forecasting\/predicted_orders\]\(file:\/\//);
    assert.match(md, /command:tributary\.runJob\?/);
    assert.match(md, /Morning refresh/);
    // Outside any job() call: no job hover.
    assert.equal(jobHover(index, file, { line: 0, character: 3 }, { now }), null);
    // The feature entry point answers with the job hover too.
    const viaFeature = hover(index, [root], file, at(JOBS_TS, "name: \"good\"", 2));
    assert.match((viaFeature!.contents as { value: string }).value, /\*\*Job `good`\*\*/);
  });

  test("code lenses: ▶ Run job with the name, and the next run time", () => {
    const lenses = jobLenses(index, file, { now });
    const good = lenses.filter((l) => l.range.start.line === at(JOBS_TS, "export const good").line);
    assert.deepEqual(good.map((l) => l.command!.title), ["▶ Run job", "next run at Sun 2026-03-29 03:00 CEST"]);
    assert.deepEqual(good[0].command!.arguments, ["good"]);
    assert.equal(good[0].command!.command, "tributary.runJob");
    const titles = lenses.map((l) => l.command!.title);
    assert.ok(titles.includes("⚠ invalid selection"));
    assert.ok(titles.includes("⚠ invalid schedule"));
    assert.ok(titles.includes("⚠ invalid timezone"));
    // No run lens for an empty selection or a duplicated name.
    const runLenses = lenses.filter((l) => l.command!.command === "tributary.runJob").map((l) => l.command!.arguments![0] as string);
    assert.deepEqual(runLenses.sort(), ["bad_cron", "bad_tz", "good"]);
    // The example's job lens comes through the feature entry point.
    const forecastFile = path.join(root, "assets", "forecast.ts");
    const all = codeLenses(index, forecastFile);
    assert.ok(all.some((l) => l.command?.command === "tributary.runJob" && l.command.arguments?.[0] === "forecast_job"));
  });

  test("scheduledJobs: valid scheduled jobs only, with reasons for the others", () => {
    const { jobs, ignored } = scheduledJobs(index, { roots: [root], defaultTimezone: "UTC" });
    assert.deepEqual(jobs.map((j) => j.name).sort(), ["forecast_job", "good"]);
    const reasons = new Map(ignored.map((i) => [i.name, i.reason]));
    assert.match(reasons.get("bad_sel")!, /invalid selection/);
    assert.match(reasons.get("bad_cron")!, /hour/);
    assert.match(reasons.get("bad_tz")!, /Unknown time zone/);
    assert.match(reasons.get("dup")!, /same name/);
    assert.ok(!reasons.has("empty"), "jobs without a schedule are on demand, not ignored");
  });
});
