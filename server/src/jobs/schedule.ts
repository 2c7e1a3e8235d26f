/**
 * Job schedules (DESIGN.md §2): validation and next-run computation for the `schedule`
 * and `timezone` of `job({...})`.
 *
 * Accepted schedules:
 * - the macros `@hourly`, `@daily` (= `@midnight`), `@weekly`, `@monthly`, `@yearly` (= `@annually`),
 *   case-insensitive, expanded to the usual 5-field patterns (`@weekly` = Sunday 00:00);
 * - a 5-field cron string `minute hour day-of-month month day-of-week`, with lists, ranges, steps
 *   (`*` + `/n` or `a-b/n`), month and weekday names, `7` for Sunday. Day of month and day of week
 *   combine with OR when both are restricted (Vixie cron). Croner's extensions are accepted too:
 *   `L`, `W`, `#`, `?` and `+` (AND of day of month and day of week).
 * Seconds and year fields (6/7 fields), `@reboot` and date strings are rejected.
 *
 * Times are computed by `croner` in the job's IANA time zone (default: the machine's), with the
 * DST rules of Vixie cron: a *fixed-time* schedule (one value each for minute and hour, e.g.
 * `30 2 * * *`) whose time falls in a spring-forward gap runs at the first valid time after the
 * gap on that day (03:00), and runs once, at the first occurrence, when the time repeats in the
 * autumn; an *interval* schedule (`*`, steps, lists or ranges in minute or hour, e.g. `30 * * * *`)
 * skips times in the gap and runs on both occurrences of a repeated time.
 *
 * Errors carry the 0-based offset and length of the offending part inside the schedule string
 * (the field or list element that croner rejects), so diagnostics point at it.
 */
import { Cron } from "croner";

/** Schedule macros and the 5-field patterns they stand for. */
export const SCHEDULE_MACROS: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

const FIELDS = [
  { name: "minute", range: "0-59" },
  { name: "hour", range: "0-23" },
  { name: "day of month", range: "1-31" },
  { name: "month", range: "1-12 or JAN-DEC" },
  { name: "day of week", range: "0-7 or SUN-SAT, 0 and 7 are Sunday" },
] as const;

export interface ScheduleError {
  /** Which job option is wrong. */
  field: "schedule" | "timezone";
  /** 0-based offset into the schedule (or timezone) string. */
  offset: number;
  /** Length of the offending text (0 at the end of the string). */
  length: number;
  message: string;
}

export type ScheduleResult = { ok: true; schedule: Schedule } | { ok: false; error: ScheduleError };

/** The machine's IANA time zone (`UTC` when the runtime does not know it). */
export function localTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** An error message when `tz` is not a time zone the runtime knows, else undefined. */
export function timezoneError(tz: string): string | undefined {
  if (tz.trim() === "") return "The timezone is empty: write an IANA name such as \"Europe/Berlin\" or \"UTC\".";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return undefined;
  } catch {
    return `Unknown time zone '${tz}': write an IANA name such as "Europe/Berlin", "America/New_York" or "UTC".`;
  }
}

/** A valid schedule: computes run times in its time zone. Immutable. */
export class Schedule {
  private readonly cronner: Cron;

  constructor(
    /** The schedule as written (`@daily`, `0 3 * * *`). */
    readonly text: string,
    /** The 5-field pattern (macros expanded). */
    readonly cron: string,
    /** The IANA time zone the times are computed in. */
    readonly timezone: string,
    /** Whether `timezone` was given by the job (false: the machine's). */
    readonly explicitTimezone: boolean,
  ) {
    this.cronner = new Cron(cron, { timezone, mode: "5-part" });
  }

  /** The first run time strictly after `after`; undefined when the pattern never fires again. */
  next(after: Date | number): Date | undefined {
    return this.cronner.nextRun(new Date(after)) ?? undefined;
  }

  /** The next `n` run times strictly after `after`. */
  nextRuns(n: number, after: Date | number): Date[] {
    const out: Date[] = [];
    let t: Date | undefined = new Date(after);
    while (out.length < n && (t = this.next(t))) out.push(t);
    return out;
  }

  /** The latest run time at or before `at`; undefined when there is none. */
  latest(at: Date | number): Date | undefined {
    const ms = typeof at === "number" ? at : at.getTime();
    return this.cronner.previousRuns(1, new Date(ms + 1))[0];
  }

  /**
   * Run times in `(after, until]`, at most `limit` of them (counted from `after`): how many ticks a
   * sleeping daemon missed.
   */
  between(after: Date | number, until: Date | number, limit = 1000): Date[] {
    const end = new Date(until).getTime();
    const out: Date[] = [];
    let t: Date | undefined = new Date(after);
    while (out.length < limit && (t = this.next(t)) && t.getTime() <= end) out.push(t);
    return out;
  }

  /** A stable identity of what this schedule fires on (pattern and zone). */
  get key(): string {
    return `${this.cron}|${this.timezone}`;
  }

  /** `every day at 03:00`, `every hour at :30`, ... or the pattern itself for complex ones. */
  describe(): string {
    return describeCron(this.cron);
  }
}

/**
 * Validates a schedule string and an optional IANA time zone. Never throws. Without a time zone
 * the schedule runs in `defaultTimezone` (default: the machine's).
 */
export function parseSchedule(text: string, timezone?: string, defaultTimezone: string = localTimezone()): ScheduleResult {
  if (timezone !== undefined) {
    const message = timezoneError(timezone);
    if (message) return { ok: false, error: { field: "timezone", offset: 0, length: timezone.length, message } };
  }
  const tz = timezone ?? defaultTimezone;
  const fail = (offset: number, length: number, message: string): ScheduleResult => ({ ok: false, error: { field: "schedule", offset, length, message } });

  const tokens = splitFields(text);
  if (tokens.length === 0) return fail(0, text.length, "The schedule is empty: write a cron string such as \"0 3 * * *\" or one of @hourly, @daily, @weekly, @monthly, @yearly.");
  const first = tokens[0];
  if (first.text.startsWith("@")) {
    const cron = SCHEDULE_MACROS[first.text.toLowerCase()];
    if (!cron) return fail(first.offset, first.text.length, `Unknown schedule '${first.text}': use @hourly, @daily, @weekly, @monthly, @yearly or a 5-field cron string.`);
    if (tokens.length > 1) return fail(tokens[1].offset, text.trimEnd().length - tokens[1].offset, `Nothing may follow '${first.text}'.`);
    return build(text, cron, tz, timezone !== undefined);
  }
  if (tokens.length < 5) {
    const missing = FIELDS.slice(tokens.length).map((f) => f.name).join(", ");
    return fail(text.trimEnd().length, 0, `A cron schedule has 5 fields (minute hour day-of-month month day-of-week); this one has ${tokens.length}: missing ${missing}.`);
  }
  if (tokens.length > 5) {
    const extra = tokens[5];
    return fail(
      extra.offset,
      text.trimEnd().length - extra.offset,
      `A cron schedule has 5 fields (minute hour day-of-month month day-of-week); this one has ${tokens.length}. Seconds and years are not supported.`,
    );
  }
  const cron = tokens.map((t) => t.text).join(" ");
  // Locate the first element croner rejects, each checked alone in its field.
  for (let i = 0; i < 5; i++) {
    const field = tokens[i];
    let at = 0;
    for (const element of field.text.split(",")) {
      const offset = field.offset + at;
      at += element.length + 1;
      if (element === "") return fail(offset, 0, `Empty list element in the ${FIELDS[i].name} field.`);
      const probe = tokens.map((t, j) => (j === i ? element : "*")).join(" ");
      const error = croneError(probe);
      if (error !== undefined) return fail(offset, element.length, elementMessage(error, element, i));
    }
  }
  return build(text, cron, tz, timezone !== undefined);
}

function build(text: string, cron: string, tz: string, explicit: boolean): ScheduleResult {
  const lead = text.length - text.trimStart().length;
  const fail = (message: string): ScheduleResult => ({ ok: false, error: { field: "schedule", offset: lead, length: text.trim().length, message } });
  let schedule: Schedule;
  try {
    schedule = new Schedule(text, cron, tz, explicit);
  } catch (e) {
    return fail(`Invalid schedule: ${cleanMessage(e)}`);
  }
  // A pattern such as `0 0 30 2 *` (February 30th) is valid syntax but never fires.
  if (!schedule.next(Date.now()) && !schedule.latest(Date.now())) return fail("This schedule never fires (no date matches it).");
  return { ok: true, schedule };
}

function splitFields(text: string): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  const re = /\S+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ text: m[0], offset: m.index });
  return out;
}

function croneError(pattern: string): string | undefined {
  try {
    new Cron(pattern, { mode: "5-part", timezone: "UTC" });
    return undefined;
  } catch (e) {
    return cleanMessage(e);
  }
}

function cleanMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern:\s*/, "").replace(/^Syntax error,\s*/i, "");
}

function elementMessage(error: string, element: string, field: number): string {
  const f = FIELDS[field];
  if (/^Invalid value for/i.test(error)) return `'${element}' is out of range for the ${f.name} field (${f.range}).`;
  if (/illegal characters/i.test(error)) return `'${element}' is not valid in the ${f.name} field (${f.range}; lists a,b, ranges a-b, steps */n or a-b/n).`;
  return `'${element}' in the ${f.name} field: ${error.replace(/\.$/, "")}.`;
}

// ---------------------------------------------------------------- describing

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A short English rendering of the common shapes; the pattern itself otherwise. */
export function describeCron(cron: string): string {
  const [min, hour, dom, mon, dow] = cron.split(" ");
  const num = (s: string) => /^\d+$/.test(s);
  const pad = (s: string) => s.padStart(2, "0");
  if (!num(min)) {
    if (cron === "* * * * *") return "every minute";
    const step = /^\*\/(\d+)$/.exec(min);
    if (step && hour === "*" && dom === "*" && mon === "*" && dow === "*") return `every ${step[1]} minutes`;
    return cron;
  }
  if (hour === "*" && dom === "*" && mon === "*" && dow === "*") return min === "0" ? "every hour" : `every hour at :${pad(min)}`;
  if (!num(hour)) return cron;
  const at = `at ${pad(hour)}:${pad(min)}`;
  if (dom === "*" && mon === "*" && dow === "*") return `every day ${at}`;
  if (dom === "*" && mon === "*" && /^[0-7]$/.test(dow)) return `every ${WEEKDAYS[Number(dow)]} ${at}`;
  if (dom === "*" && mon === "*" && (dow === "1-5" || dow.toUpperCase() === "MON-FRI")) return `every weekday ${at}`;
  if (num(dom) && mon === "*" && dow === "*") return dom === "1" ? `on the 1st of every month ${at}` : `on day ${dom} of every month ${at}`;
  if (num(dom) && num(mon) && dow === "*" && Number(mon) >= 1 && Number(mon) <= 12) return `every year on ${MONTHS[Number(mon) - 1]} ${dom} ${at}`;
  return cron;
}

// ---------------------------------------------------------------- formatting times

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      weekday: "short",
      timeZoneName: "short",
    });
    formatters.set(tz, f);
  }
  return f;
}

function parts(date: Date, tz: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** The offset of `tz` from UTC at `date`, in minutes (`+120` for CEST). */
export function zoneOffsetMinutes(date: Date, tz: string): number {
  const p = parts(date, tz);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

/** `2026-03-29T03:00:00+02:00`: the wall-clock time in `tz` with its offset. */
export function isoInZone(date: Date, tz: string): string {
  const p = parts(date, tz);
  const off = zoneOffsetMinutes(date, tz);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

const zoneNames = new Map<string, Intl.DateTimeFormat>();

/** `CEST`, `EDT`, `UTC`, else `GMT+2`: the short name of the zone at `date`. */
export function zoneName(date: Date, tz: string): string {
  let name = parts(date, tz).timeZoneName ?? tz;
  if (/^GMT[+-]/.test(name)) {
    // en-US names only American zones; en-GB knows the European abbreviations (CET, CEST, BST...).
    let gb = zoneNames.get(tz);
    if (!gb) zoneNames.set(tz, (gb = new Intl.DateTimeFormat("en-GB", { timeZone: tz, timeZoneName: "short" })));
    const alt = gb.formatToParts(date).find((p) => p.type === "timeZoneName")?.value;
    if (alt && !/^(GMT|UTC)[+-]/.test(alt)) name = alt;
  }
  return name;
}

/** `Sun 2026-03-29 03:00 CEST`: for hovers, lenses and the CLI. */
export function formatInZone(date: Date, tz: string): string {
  const p = parts(date, tz);
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${zoneName(date, tz)}`;
}

/** `in 5 min`, `in 3 h`, `in 2 d`: how far `date` lies after `now`. */
export function relativeFuture(date: Date, now: number): string {
  const s = Math.max(0, (date.getTime() - now) / 1000);
  if (s < 60) return "in less than a minute";
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  if (s < 86400) return `in ${(s / 3600).toFixed(s < 36000 ? 1 : 0).replace(/\.0$/, "")} h`;
  return `in ${Math.round(s / 86400)} d`;
}
