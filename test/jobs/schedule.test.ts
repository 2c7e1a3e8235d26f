/**
 * Job schedules: validation with located errors, macros, and next-run computation in named time
 * zones across DST changes (Europe/Berlin, last Sundays of March and October 2026).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeCron, formatInZone, isoInZone, parseSchedule, zoneOffsetMinutes, type Schedule } from "../../server/src/jobs/schedule";

function ok(text: string, tz?: string, defaultTz = "UTC"): Schedule {
  const r = parseSchedule(text, tz, defaultTz);
  assert.ok(r.ok, `expected '${text}' to be valid: ${r.ok ? "" : r.error.message}`);
  return r.schedule;
}

function err(text: string, tz?: string) {
  const r = parseSchedule(text, tz, "UTC");
  assert.ok(!r.ok, `expected '${text}' to be invalid`);
  return r.error;
}

/** Run times as local wall-clock strings with offsets in the schedule's zone. */
function local(s: Schedule, after: string, n: number): string[] {
  return s.nextRuns(n, new Date(after)).map((d) => isoInZone(d, s.timezone));
}

describe("schedule validation", () => {
  test("macros expand to 5-field patterns, case-insensitively", () => {
    assert.equal(ok("@hourly").cron, "0 * * * *");
    assert.equal(ok("@daily").cron, "0 0 * * *");
    assert.equal(ok("@DAILY").cron, "0 0 * * *");
    assert.equal(ok("@midnight").cron, "0 0 * * *");
    assert.equal(ok("@weekly").cron, "0 0 * * 0");
    assert.equal(ok("@monthly").cron, "0 0 1 * *");
    assert.equal(ok("@yearly").cron, "0 0 1 1 *");
    assert.equal(ok("@annually").cron, "0 0 1 1 *");
    assert.equal(ok(" @daily ").text, " @daily ");
  });

  test("5-field cron strings with lists, ranges, steps and names", () => {
    for (const s of ["0 3 * * *", "*/15 * * * *", "0 9-17/2 * * MON-FRI", "0 0 1,15 * *", "30 4 * jan,jul sun", "0 3 * * 7", "0 3 L * *", "0 3 * * 5#2"]) ok(s);
  });

  test("errors point at the offending field or list element", () => {
    let e = err("61 3 * * *");
    assert.deepEqual([e.field, e.offset, e.length], ["schedule", 0, 2]);
    assert.match(e.message, /minute/);
    e = err("0 3 * * 8");
    assert.deepEqual([e.offset, e.length], [8, 1]);
    assert.match(e.message, /day of week/);
    e = err("0 1,25,3 * * *");
    assert.deepEqual([e.offset, e.length], [4, 2], "the element '25' inside the list");
    assert.match(e.message, /'25'.*hour.*0-23/);
    e = err("0 3 32 * *");
    assert.deepEqual([e.offset, e.length], [4, 2]);
    assert.match(e.message, /day of month/);
    e = err("0 3 * 13 *");
    assert.deepEqual([e.offset, e.length], [6, 2]);
    e = err("  0 x * * *");
    assert.deepEqual([e.offset, e.length], [4, 1], "leading spaces counted");
    e = err("0 3 * 1-* *");
    assert.deepEqual([e.offset, e.length], [6, 3]);
    e = err("*/0 * * * *");
    assert.deepEqual([e.offset, e.length], [0, 3]);
    e = err("0 3,,4 * * *");
    assert.deepEqual([e.offset, e.length], [4, 0]);
  });

  test("wrong number of fields, unknown macros, never-firing patterns", () => {
    let e = err("0 3 * *");
    assert.deepEqual([e.offset, e.length], [7, 0]);
    assert.match(e.message, /5 fields.*missing day of week/);
    e = err("0 0 3 * * *");
    assert.deepEqual([e.offset, e.length], [10, 1]);
    assert.match(e.message, /Seconds and years are not supported/);
    e = err("@reboot");
    assert.deepEqual([e.offset, e.length], [0, 7]);
    e = err("@daily at 3");
    assert.deepEqual([e.offset, e.length], [7, 4]);
    e = err("");
    assert.match(e.message, /empty/);
    e = err("2026-01-01T00:00:00");
    assert.match(e.message, /5 fields/);
    e = err("0 0 30 2 *");
    assert.match(e.message, /never fires/);
  });

  test("time zones: IANA names are checked; without one the default zone applies", () => {
    const e = err("0 3 * * *", "Europe/Atlantis");
    assert.equal(e.field, "timezone");
    assert.deepEqual([e.offset, e.length], [0, "Europe/Atlantis".length]);
    assert.equal(err("0 3 * * *", "").field, "timezone");
    const s = ok("0 3 * * *", "America/New_York");
    assert.equal(s.timezone, "America/New_York");
    assert.equal(s.explicitTimezone, true);
    const d = ok("0 3 * * *", undefined, "Asia/Tokyo");
    assert.equal(d.timezone, "Asia/Tokyo");
    assert.equal(d.explicitTimezone, false);
    assert.equal(isoInZone(d.next(new Date("2026-06-01T00:00:00Z"))!, "Asia/Tokyo"), "2026-06-02T03:00:00+09:00");
  });

  test("descriptions of common shapes", () => {
    assert.equal(describeCron("0 3 * * *"), "every day at 03:00");
    assert.equal(describeCron("30 * * * *"), "every hour at :30");
    assert.equal(describeCron("0 * * * *"), "every hour");
    assert.equal(describeCron("*/5 * * * *"), "every 5 minutes");
    assert.equal(describeCron("0 0 * * 0"), "every Sunday at 00:00");
    assert.equal(describeCron("0 6 * * 1-5"), "every weekday at 06:00");
    assert.equal(describeCron("0 0 1 * *"), "on the 1st of every month at 00:00");
    assert.equal(describeCron("0 0 1 1 *"), "every year on January 1 at 00:00");
    assert.equal(describeCron("0 9-17 * * *"), "0 9-17 * * *");
  });
});

describe("next runs across DST in Europe/Berlin (2026)", () => {
  // Spring forward: Sunday 2026-03-29, 02:00 CET -> 03:00 CEST (02:00-03:00 does not exist).
  // Fall back: Sunday 2026-10-25, 03:00 CEST -> 02:00 CET (02:00-03:00 happens twice).

  test("0 3 * * * stays at 03:00 local through both changes (UTC time moves)", () => {
    const s = ok("0 3 * * *", "Europe/Berlin");
    assert.deepEqual(local(s, "2026-03-27T12:00:00Z", 4), ["2026-03-28T03:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T03:00:00+02:00", "2026-03-31T03:00:00+02:00"]);
    assert.deepEqual(
      s.nextRuns(3, new Date("2026-03-27T12:00:00Z")).map((d) => d.toISOString()),
      ["2026-03-28T02:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T01:00:00.000Z"],
    );
    assert.deepEqual(local(s, "2026-10-23T12:00:00Z", 4), ["2026-10-24T03:00:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-26T03:00:00+01:00", "2026-10-27T03:00:00+01:00"]);
    // 03:00 on 2026-10-25 exists once (after the repeated hour): 02:00 UTC.
    assert.equal(s.next(new Date("2026-10-24T12:00:00Z"))!.toISOString(), "2026-10-25T02:00:00.000Z");
  });

  test("30 2 * * *: the skipped 02:30 runs at 03:00 that day; the repeated 02:30 runs once", () => {
    const s = ok("30 2 * * *", "Europe/Berlin");
    assert.deepEqual(local(s, "2026-03-27T12:00:00Z", 4), ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]);
    assert.deepEqual(local(s, "2026-10-23T12:00:00Z", 4), ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]);
    // Exactly one run on each transition day.
    const march29 = s.between(new Date("2026-03-28T23:00:00Z"), new Date("2026-03-29T22:00:00Z"));
    assert.equal(march29.length, 1);
    const oct25 = s.between(new Date("2026-10-24T22:00:00Z"), new Date("2026-10-25T23:00:00Z"));
    assert.equal(oct25.length, 1);
  });

  test("@daily in Berlin: midnight local, never affected by the 02:00 changes", () => {
    const s = ok("@daily", "Europe/Berlin");
    assert.deepEqual(local(s, "2026-03-28T12:00:00Z", 2), ["2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]);
    assert.deepEqual(local(s, "2026-10-24T12:00:00Z", 2), ["2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"]);
  });

  test("an hourly interval schedule skips the missing hour and runs in both repeated hours", () => {
    const s = ok("30 * * * *", "Europe/Berlin");
    const spring = s.between(new Date("2026-03-28T23:00:00Z"), new Date("2026-03-29T03:00:00Z")).map((d) => isoInZone(d, s.timezone));
    assert.deepEqual(spring, ["2026-03-29T00:30:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-29T04:30:00+02:00"]);
    const autumn = s.between(new Date("2026-10-24T22:00:00Z"), new Date("2026-10-25T02:00:00Z")).map((d) => isoInZone(d, s.timezone));
    assert.deepEqual(autumn, ["2026-10-25T00:30:00+02:00", "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]);
  });

  test("latest(): the last due time at or before an instant", () => {
    const s = ok("0 3 * * *", "Europe/Berlin");
    assert.equal(s.latest(new Date("2026-03-29T01:00:00Z"))!.toISOString(), "2026-03-29T01:00:00.000Z", "inclusive");
    assert.equal(s.latest(new Date("2026-03-29T00:59:59Z"))!.toISOString(), "2026-03-28T02:00:00.000Z");
    assert.equal(s.latest(new Date("2026-10-25T01:59:00Z"))!.toISOString(), "2026-10-24T01:00:00.000Z");
  });

  test("formatting in the zone", () => {
    assert.equal(zoneOffsetMinutes(new Date("2026-03-29T01:00:00Z"), "Europe/Berlin"), 120);
    assert.equal(zoneOffsetMinutes(new Date("2026-03-29T00:59:00Z"), "Europe/Berlin"), 60);
    assert.equal(formatInZone(new Date("2026-03-29T01:00:00Z"), "Europe/Berlin"), "Sun 2026-03-29 03:00 CEST");
    assert.equal(formatInZone(new Date("2026-10-25T02:00:00Z"), "Europe/Berlin"), "Sun 2026-10-25 03:00 CET");
    assert.equal(formatInZone(new Date("2026-07-04T07:00:00Z"), "America/New_York"), "Sat 2026-07-04 03:00 EDT");
    assert.equal(isoInZone(new Date("2026-07-04T07:00:00Z"), "UTC"), "2026-07-04T07:00:00+00:00");
  });
});
