/**
 * The Python side of dbt's Jinja, in JS: `str`/`list`/`dict` methods (`.items()`, `.upper()`,
 * `.append()`, `','.join(x)`, ...), Python-style rendering of values (`True`, `None`,
 * `['a', 'b']`, `('a', 'b')`), `+`/`-`/`*` on lists, strings and datetimes, and the small
 * `modules.datetime` / `modules.re` / `modules.pytz` subsets dbt exposes.
 */
import { isPlainObject } from "../../dbt/config";

/** Arrays created from a Jinja tuple literal `(a, b)` render as `('a', 'b')`. */
export const TUPLE = Symbol("dbt.tuple");

export function makeTuple(items: unknown[]): unknown[] {
  Object.defineProperty(items, TUPLE, { value: true, enumerable: false });
  return items;
}

export { isPlainObject };

/** nunjucks keyword-argument objects carry an own `__keywords` property. */
export function isKwargs(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && Object.prototype.hasOwnProperty.call(v, "__keywords");
}

/** Splits nunjucks call arguments into positional ones and keyword ones. */
export function splitArgs(args: unknown[]): { pos: unknown[]; kw: Record<string, unknown> } {
  if (args.length && isKwargs(args[args.length - 1])) {
    const kw = { ...(args[args.length - 1] as Record<string, unknown>) };
    delete kw.__keywords;
    return { pos: args.slice(0, -1), kw };
  }
  return { pos: args, kw: {} };
}

/** Positional argument `i`, or the keyword `name`, or the default. */
export function arg<T = unknown>(a: { pos: unknown[]; kw: Record<string, unknown> }, i: number, name: string, def?: T): T {
  if (a.pos.length > i && a.pos[i] !== undefined) return a.pos[i] as T;
  if (name in a.kw && a.kw[name] !== undefined) return a.kw[name] as T;
  return def as T;
}

function isStringLike(v: unknown): v is string | { val: string } {
  return typeof v === "string" || (v instanceof String && typeof (v as unknown as { val?: unknown }).val === "string");
}

export function strOf(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}

// ---------------------------------------------------------------- repr / str

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else out += ch;
  }
  return out + quote;
}

function numStr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  return String(n);
}

/** Python `repr()`. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return numStr(v);
  if (typeof v === "bigint") return v.toString();
  if (isStringLike(v)) return reprString(String(v));
  if (Array.isArray(v)) {
    const inner = v.map(pyRepr);
    if ((v as unknown as Record<symbol, unknown>)[TUPLE]) return inner.length === 1 ? `(${inner[0]},)` : `(${inner.join(", ")})`;
    return `[${inner.join(", ")}]`;
  }
  if (isPlainObject(v)) {
    return `{${Object.entries(v)
      .filter(([k]) => k !== "__keywords")
      .map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`)
      .join(", ")}}`;
  }
  if (typeof v === "function") return `<function ${v.name || "macro"}>`;
  return String(v);
}

/** Python `str()` — what `{{ value }}` prints. */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return v === null ? "None" : "";
  if (typeof v === "string") return v;
  if (isStringLike(v)) return String(v);
  if (typeof v === "boolean" || Array.isArray(v) || isPlainObject(v)) return pyRepr(v);
  if (typeof v === "number") return numStr(v);
  return String(v);
}

/** Python truthiness (empty list/dict are false). */
export function pyBool(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).filter((k) => k !== "__keywords").length > 0;
  if (isStringLike(v)) return String(v).length > 0;
  return !!v;
}

// ---------------------------------------------------------------- datetime

const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function p2(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

export class PyTimeDelta {
  /** Whole microseconds. */
  constructor(readonly micros: number) {}
  static from(kw: Record<string, unknown>, pos: unknown[] = []): PyTimeDelta {
    const n = (name: string, i: number) => Number(kw[name] ?? pos[i] ?? 0);
    const micros =
      n("days", 0) * 86_400e6 +
      n("seconds", 1) * 1e6 +
      n("microseconds", 2) +
      n("milliseconds", 3) * 1e3 +
      n("minutes", 4) * 60e6 +
      n("hours", 5) * 3600e6 +
      n("weeks", 6) * 7 * 86_400e6;
    return new PyTimeDelta(Math.round(micros));
  }
  get days(): number {
    return Math.floor(this.micros / 86_400e6);
  }
  get seconds(): number {
    return Math.floor((this.micros - this.days * 86_400e6) / 1e6);
  }
  get microseconds(): number {
    return this.micros % 1e6;
  }
  total_seconds(): number {
    return this.micros / 1e6;
  }
  toString(): string {
    const d = this.days;
    const rest = this.micros - d * 86_400e6;
    const s = Math.floor(rest / 1e6);
    const us = rest % 1e6;
    const hms = `${Math.floor(s / 3600)}:${p2(Math.floor(s / 60) % 60)}:${p2(s % 60)}${us ? "." + p2(us, 6) : ""}`;
    return d ? `${d} day${Math.abs(d) === 1 ? "" : "s"}, ${hms}` : hms;
  }
}

/** A UTC datetime with microseconds (`date` when `dateOnly`). */
export class PyDateTime {
  constructor(
    /** Milliseconds since the epoch (UTC). */
    readonly ms: number,
    readonly micro = 0,
    readonly dateOnly = false,
    readonly tzAware = true,
  ) {}
  private get d(): Date {
    return new Date(this.ms);
  }
  get year(): number {
    return this.d.getUTCFullYear();
  }
  get month(): number {
    return this.d.getUTCMonth() + 1;
  }
  get day(): number {
    return this.d.getUTCDate();
  }
  get hour(): number {
    return this.d.getUTCHours();
  }
  get minute(): number {
    return this.d.getUTCMinutes();
  }
  get second(): number {
    return this.d.getUTCSeconds();
  }
  get microsecond(): number {
    return this.d.getUTCMilliseconds() * 1000 + this.micro;
  }
  get tzinfo(): unknown {
    return this.tzAware ? pytzModule.utc : null;
  }
  date(): PyDateTime {
    return new PyDateTime(Date.UTC(this.year, this.month - 1, this.day), 0, true, false);
  }
  weekday(): number {
    return (this.d.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.weekday() + 1;
  }
  timestamp(): number {
    return this.ms / 1000 + this.micro / 1e6;
  }
  astimezone(): PyDateTime {
    return new PyDateTime(this.ms, this.micro, this.dateOnly, true);
  }
  replace(...args: unknown[]): PyDateTime {
    const { kw } = splitArgs(args);
    const g = (k: string, v: number) => (kw[k] === undefined ? v : Number(kw[k]));
    const us = g("microsecond", this.microsecond);
    const ms = Date.UTC(g("year", this.year), g("month", this.month) - 1, g("day", this.day), g("hour", this.hour), g("minute", this.minute), g("second", this.second), Math.floor(us / 1000));
    const tz = "tzinfo" in kw ? kw.tzinfo !== null : this.tzAware;
    return new PyDateTime(ms, us % 1000, this.dateOnly, tz);
  }
  isoformat(sep: unknown = "T"): string {
    const date = `${p2(this.year, 4)}-${p2(this.month)}-${p2(this.day)}`;
    if (this.dateOnly) return date;
    const us = this.microsecond;
    return `${date}${isKwargs(sep) ? "T" : String(sep)}${p2(this.hour)}:${p2(this.minute)}:${p2(this.second)}${us ? "." + p2(us, 6) : ""}${this.tzAware ? "+00:00" : ""}`;
  }
  strftime(fmt: string): string {
    return String(fmt).replace(/%([a-zA-Z%])/g, (_, c: string) => {
      switch (c) {
        case "Y": return p2(this.year, 4);
        case "y": return p2(this.year % 100);
        case "m": return p2(this.month);
        case "d": return p2(this.day);
        case "H": return p2(this.hour);
        case "I": return p2(this.hour % 12 || 12);
        case "p": return this.hour < 12 ? "AM" : "PM";
        case "M": return p2(this.minute);
        case "S": return p2(this.second);
        case "f": return p2(this.microsecond, 6);
        case "j": return p2(Math.floor((this.date().ms - Date.UTC(this.year, 0, 1)) / 86_400_000) + 1, 3);
        case "a": return DAY_NAMES[this.weekday()].slice(0, 3);
        case "A": return DAY_NAMES[this.weekday()];
        case "b": return MONTH_NAMES[this.month - 1].slice(0, 3);
        case "B": return MONTH_NAMES[this.month - 1];
        case "w": return String((this.weekday() + 1) % 7);
        case "z": return this.tzAware ? "+0000" : "";
        case "Z": return this.tzAware ? "UTC" : "";
        case "s": return String(Math.floor(this.ms / 1000));
        case "%": return "%";
        default: return "%" + c;
      }
    });
  }
  toString(): string {
    return this.isoformat(" ");
  }
  valueOf(): number {
    return this.ms;
  }
}

function parseIso(s: string): PyDateTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(String(s).trim());
  if (!m) throw new Error(`Invalid isoformat string: '${s}'`);
  const frac = (m[7] ?? "").padEnd(6, "0");
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), +frac.slice(0, 3));
  if (m[8] && m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const hh = +m[8].slice(1, 3);
    const mm = +m[8].slice(-2);
    ms -= sign * (hh * 60 + mm) * 60_000;
  }
  return new PyDateTime(ms, +frac.slice(3), false, !!m[8]);
}

function strptime(s: string, fmt: string): PyDateTime {
  const parts: Record<string, number> = { Y: 1900, m: 1, d: 1, H: 0, M: 0, S: 0, f: 0 };
  const order: string[] = [];
  const re = String(fmt).replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%([YmdHMSfyjbB%])/g, (_, c: string) => {
    if (c === "%") return "%";
    order.push(c);
    return c === "Y" ? "(\\d{4})" : c === "f" ? "(\\d{1,6})" : c === "b" || c === "B" ? "([A-Za-z]+)" : c === "j" ? "(\\d{1,3})" : "(\\d{1,2})";
  });
  const m = new RegExp(`^${re}$`).exec(String(s));
  if (!m) throw new Error(`time data '${s}' does not match format '${fmt}'`);
  order.forEach((c, i) => {
    const v = m[i + 1];
    if (c === "y") parts.Y = 2000 + Number(v) - (Number(v) >= 69 ? 100 : 0);
    else if (c === "b" || c === "B") parts.m = MONTH_NAMES.findIndex((n) => n.toLowerCase().startsWith(v.toLowerCase().slice(0, 3))) + 1;
    else if (c === "f") parts.f = Number(v.padEnd(6, "0"));
    else parts[c] = Number(v);
  });
  return new PyDateTime(Date.UTC(parts.Y, parts.m - 1, parts.d, parts.H, parts.M, parts.S, Math.floor(parts.f / 1000)), parts.f % 1000, false, false);
}

function callable<T extends object>(fn: (...args: unknown[]) => unknown, props: T): ((...args: unknown[]) => unknown) & T {
  return Object.assign(fn, props);
}

function nowUtc(aware: boolean): PyDateTime {
  return new PyDateTime(Date.now(), 0, false, aware);
}

export const datetimeModule = {
  datetime: callable(
    (...args: unknown[]) => {
      const { pos, kw } = splitArgs(args);
      const n = (i: number, k: string, d: number) => Number(pos[i] ?? kw[k] ?? d);
      const us = n(6, "microsecond", 0);
      return new PyDateTime(Date.UTC(n(0, "year", 1970), n(1, "month", 1) - 1, n(2, "day", 1), n(3, "hour", 0), n(4, "minute", 0), n(5, "second", 0), Math.floor(us / 1000)), us % 1000, false, (pos[7] ?? kw.tzinfo) != null);
    },
    {
      now: (tz?: unknown) => nowUtc(tz != null && !isKwargs(tz)),
      utcnow: () => nowUtc(false),
      today: () => nowUtc(false),
      fromisoformat: (s: string) => parseIso(s),
      strptime: (s: string, f: string) => strptime(s, f),
      fromtimestamp: (t: number) => new PyDateTime(Number(t) * 1000, 0, false, false),
      utcfromtimestamp: (t: number) => new PyDateTime(Number(t) * 1000, 0, false, false),
    },
  ),
  date: callable(
    (...args: unknown[]) => {
      const { pos, kw } = splitArgs(args);
      return new PyDateTime(Date.UTC(Number(pos[0] ?? kw.year), Number(pos[1] ?? kw.month) - 1, Number(pos[2] ?? kw.day)), 0, true, false);
    },
    {
      today: () => nowUtc(false).date(),
      fromisoformat: (s: string) => parseIso(s).date(),
    },
  ),
  timedelta: (...args: unknown[]) => {
    const { pos, kw } = splitArgs(args);
    return PyTimeDelta.from(kw, pos);
  },
  timezone: { utc: null as unknown },
};

export const pytzModule = {
  utc: { zone: "UTC", toString: () => "UTC" },
  timezone: (name: string) => ({ zone: String(name), toString: () => String(name) }),
};
datetimeModule.timezone.utc = pytzModule.utc;

/** Python datetime from a JS Date (UTC). */
export function pyDatetimeFromDate(d: Date, aware = true): PyDateTime {
  return new PyDateTime(d.getTime(), 0, false, aware);
}

// ---------------------------------------------------------------- re

function pyRegex(pattern: unknown, flags: number, global: boolean): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace("g", "") + (global ? "g" : ""));
  let src = String(pattern)
    .replace(/\(\?P<(\w+)>/g, "(?<$1>")
    .replace(/\(\?P=(\w+)\)/g, "\\k<$1>")
    .replace(/\\A/g, "^")
    .replace(/\\Z/g, "$");
  let f = global ? "g" : "";
  if (flags & 2) f += "i";
  if (flags & 8) f += "m";
  if (flags & 16) f += "s";
  const inline = /^\(\?([imsx]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    for (const c of inline[1]) if (c !== "x" && !f.includes(c)) f += c;
  }
  return new RegExp(src, f + "u");
}

class PyMatch {
  constructor(private m: RegExpExecArray) {}
  group(...idx: unknown[]): unknown {
    if (idx.length > 1) return makeTuple(idx.map((i) => this.group(i)));
    const i = idx[0] ?? 0;
    const v = typeof i === "number" ? this.m[i] : this.m.groups?.[String(i)];
    return v ?? null;
  }
  groups(): unknown[] {
    return makeTuple(this.m.slice(1).map((x) => x ?? null));
  }
  groupdict(): Record<string, unknown> {
    return { ...(this.m.groups ?? {}) };
  }
  start(): number {
    return this.m.index;
  }
  end(): number {
    return this.m.index + this.m[0].length;
  }
  span(): unknown[] {
    return makeTuple([this.start(), this.end()]);
  }
  toString(): string {
    return `<re.Match object; span=(${this.start()}, ${this.end()}), match=${pyRepr(this.m[0])}>`;
  }
}

function pyReplacement(repl: string): string {
  return String(repl)
    .replace(/\$/g, "$$$$")
    .replace(/\\g<(\d+)>/g, "$$$1")
    .replace(/\\g<(\w+)>/g, "$$<$1>")
    .replace(/\\(\d+)/g, "$$$1");
}

function flagsOf(kw: Record<string, unknown>, v: unknown): number {
  return Number(kw.flags ?? v ?? 0) || 0;
}

export const reModule = {
  I: 2,
  IGNORECASE: 2,
  M: 8,
  MULTILINE: 8,
  S: 16,
  DOTALL: 16,
  X: 64,
  VERBOSE: 64,
  match(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const re = pyRegex(pos[0], flagsOf(kw, pos[2]), false);
    const m = re.exec(String(pos[1]));
    return m && m.index === 0 ? new PyMatch(m) : null;
  },
  fullmatch(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const re = pyRegex(`(?:${typeof pos[0] === "string" ? pos[0] : (pos[0] as RegExp).source})$`, flagsOf(kw, pos[2]), false);
    const m = re.exec(String(pos[1]));
    return m && m.index === 0 ? new PyMatch(m) : null;
  },
  search(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const m = pyRegex(pos[0], flagsOf(kw, pos[2]), false).exec(String(pos[1]));
    return m ? new PyMatch(m) : null;
  },
  findall(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const out: unknown[] = [];
    for (const m of String(pos[1]).matchAll(pyRegex(pos[0], flagsOf(kw, pos[2]), true))) {
      out.push(m.length <= 1 ? m[0] : m.length === 2 ? (m[1] ?? "") : makeTuple(m.slice(1).map((x) => x ?? "")));
    }
    return out;
  },
  sub(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const count = Number(kw.count ?? pos[3] ?? 0);
    const re = pyRegex(pos[0], flagsOf(kw, pos[4]), true);
    const repl = pos[1];
    let n = 0;
    return String(pos[2]).replace(re, (...m: unknown[]) => {
      if (count && n >= count) return m[0] as string;
      n++;
      if (typeof repl === "function") {
        const groups = m.slice(0, -2).filter((x) => typeof x !== "object");
        const arr = Object.assign([...groups], { index: 0, input: "" }) as unknown as RegExpExecArray;
        return strOf(repl(new PyMatch(arr)));
      }
      return (m[0] as string).replace(new RegExp(re.source, re.flags.replace("g", "")), pyReplacement(String(repl)));
    });
  },
  split(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    return String(pos[1]).split(pyRegex(pos[0], flagsOf(kw, pos[3]), false));
  },
  escape(s: unknown) {
    return String(s).replace(/[.*+?^${}()|[\]\\\-#&~\s]/g, "\\$&");
  },
  compile(...args: unknown[]) {
    const { pos, kw } = splitArgs(args);
    const pattern = pos[0];
    const flags = flagsOf(kw, pos[1]);
    const bound = (name: "match" | "search" | "findall" | "split" | "fullmatch") => (...a: unknown[]) => {
      const { pos: p } = splitArgs(a);
      return reModule[name](pattern, p[0], flags);
    };
    return {
      pattern,
      match: bound("match"),
      fullmatch: bound("fullmatch"),
      search: bound("search"),
      findall: bound("findall"),
      split: bound("split"),
      sub: (repl: unknown, s: unknown, count?: unknown) => reModule.sub(pattern, repl, s, count ?? 0, flags),
    };
  },
};

// ---------------------------------------------------------------- methods on values

function pyStripChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    if (left) s = s.replace(/^\s+/, "");
    if (right) s = s.replace(/\s+$/, "");
    return s;
  }
  const set = new Set(String(chars));
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.has(s[a])) a++;
  if (right) while (b > a && set.has(s[b - 1])) b--;
  return s.slice(a, b);
}

function pyFormat(fmt: string, args: unknown[]): string {
  const { pos, kw } = splitArgs(args);
  let auto = 0;
  return fmt.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rsa])?(?::([^{}]*))?\}/g, (m, field: string | undefined, spec: string | undefined) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    const key = field ?? "";
    const v = key === "" ? pos[auto++] : /^\d+$/.test(key) ? pos[Number(key)] : kw[key];
    if (spec) {
      const fm = /^(\d*)\.(\d+)f$/.exec(spec);
      if (fm) return Number(v).toFixed(Number(fm[2])).padStart(Number(fm[1] || 0));
      const wm = /^([<>^])?(\d+)$/.exec(spec);
      if (wm) return wm[1] === "<" ? pyStr(v).padEnd(+wm[2]) : pyStr(v).padStart(+wm[2]);
    }
    return pyStr(v);
  });
}

function pyPercent(fmt: string, values: unknown): string {
  const list = Array.isArray(values) ? values : [values];
  let i = 0;
  return fmt.replace(/%(\(\w+\))?([-0 +#]*\d*(?:\.\d+)?)([sdifrx%])/g, (m, name: string | undefined, flags: string, c: string) => {
    if (c === "%") return "%";
    const v = name && isPlainObject(values) ? values[name.slice(1, -1)] : list[i++];
    if (c === "d" || c === "i") return String(Math.trunc(Number(v)));
    if (c === "f") {
      const p = /\.(\d+)/.exec(flags);
      return Number(v).toFixed(p ? Number(p[1]) : 6);
    }
    if (c === "r") return pyRepr(v);
    return pyStr(v);
  });
}

export { pyPercent };

function splitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let rest = s.replace(/^\s+/, "");
  while (rest.length) {
    if (maxsplit >= 0 && out.length >= maxsplit) {
      out.push(rest);
      break;
    }
    const m = /\s+/.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

type Method = (self: never, ...args: unknown[]) => unknown;

const STR_METHODS: Record<string, Method> = {
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  casefold: (s: string) => s.toLowerCase(),
  swapcase: (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""),
  title: (s: string) => s.toLowerCase().replace(/(^|[^a-zA-Z0-9])([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase()),
  capitalize: (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  strip: (s: string, chars?: unknown) => pyStripChars(s, chars, true, true),
  lstrip: (s: string, chars?: unknown) => pyStripChars(s, chars, true, false),
  rstrip: (s: string, chars?: unknown) => pyStripChars(s, chars, false, true),
  startswith: (s: string, p: unknown) => (Array.isArray(p) ? p.some((x) => s.startsWith(String(x))) : s.startsWith(String(p))),
  endswith: (s: string, p: unknown) => (Array.isArray(p) ? p.some((x) => s.endsWith(String(x))) : s.endsWith(String(p))),
  split: (s: string, ...args: unknown[]) => {
    const a = splitArgs(args);
    const sep = arg<unknown>(a, 0, "sep", null);
    const max = Number(arg(a, 1, "maxsplit", -1));
    if (sep === null || sep === undefined) return splitWhitespace(s, max);
    const parts = s.split(String(sep));
    if (max >= 0 && parts.length > max + 1) return [...parts.slice(0, max), parts.slice(max).join(String(sep))];
    return parts;
  },
  rsplit: (s: string, ...args: unknown[]) => {
    const a = splitArgs(args);
    const sep = arg<unknown>(a, 0, "sep", null);
    const max = Number(arg(a, 1, "maxsplit", -1));
    const parts = sep === null || sep === undefined ? splitWhitespace(s, -1) : s.split(String(sep));
    if (max >= 0 && parts.length > max + 1) return [parts.slice(0, parts.length - max).join(sep == null ? " " : String(sep)), ...parts.slice(parts.length - max)];
    return parts;
  },
  splitlines: (s: string) => s.split(/\r?\n/).filter((x, i, a) => i < a.length - 1 || x !== ""),
  replace: (s: string, a: unknown, b: unknown, count?: unknown) => {
    const n = count === undefined || isKwargs(count) ? -1 : Number(count);
    if (n < 0) return s.split(String(a)).join(String(b));
    let out = s;
    let done = 0;
    let from = 0;
    while (done < n) {
      const i = out.indexOf(String(a), from);
      if (i < 0) break;
      out = out.slice(0, i) + String(b) + out.slice(i + String(a).length);
      from = i + String(b).length;
      done++;
    }
    return out;
  },
  join: (s: string, items: unknown) => (Array.isArray(items) ? items : isPlainObject(items) ? Object.keys(items) : [...strOf(items)]).map(pyStr).join(s),
  format: (s: string, ...args: unknown[]) => pyFormat(s, args),
  find: (s: string, sub: unknown) => s.indexOf(String(sub)),
  rfind: (s: string, sub: unknown) => s.lastIndexOf(String(sub)),
  index: (s: string, sub: unknown) => {
    const i = s.indexOf(String(sub));
    if (i < 0) throw new Error("ValueError: substring not found");
    return i;
  },
  count: (s: string, sub: unknown) => (String(sub) === "" ? s.length + 1 : s.split(String(sub)).length - 1),
  isdigit: (s: string) => /^\d+$/.test(s),
  isnumeric: (s: string) => /^\d+$/.test(s),
  isdecimal: (s: string) => /^\d+$/.test(s),
  isalpha: (s: string) => /^\p{L}+$/u.test(s),
  isalnum: (s: string) => /^[\p{L}\d]+$/u.test(s),
  isspace: (s: string) => /^\s+$/.test(s),
  isupper: (s: string) => /[A-Z]/.test(s) && s === s.toUpperCase(),
  islower: (s: string) => /[a-z]/.test(s) && s === s.toLowerCase(),
  isidentifier: (s: string) => /^[A-Za-z_]\w*$/.test(s),
  zfill: (s: string, w: unknown) => (s.startsWith("-") ? "-" + s.slice(1).padStart(Number(w) - 1, "0") : s.padStart(Number(w), "0")),
  ljust: (s: string, w: unknown, c: unknown = " ") => s.padEnd(Number(w), String(c)),
  rjust: (s: string, w: unknown, c: unknown = " ") => s.padStart(Number(w), String(c)),
  center: (s: string, w: unknown, c: unknown = " ") => {
    const total = Math.max(0, Number(w) - s.length);
    const left = Math.floor(total / 2);
    return String(c).repeat(left) + s + String(c).repeat(total - left);
  },
  partition: (s: string, sep: unknown) => {
    const i = s.indexOf(String(sep));
    return makeTuple(i < 0 ? [s, "", ""] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  rpartition: (s: string, sep: unknown) => {
    const i = s.lastIndexOf(String(sep));
    return makeTuple(i < 0 ? ["", "", s] : [s.slice(0, i), String(sep), s.slice(i + String(sep).length)]);
  },
  removeprefix: (s: string, p: unknown) => (s.startsWith(String(p)) ? s.slice(String(p).length) : s),
  removesuffix: (s: string, p: unknown) => (String(p) && s.endsWith(String(p)) ? s.slice(0, -String(p).length) : s),
  encode: (s: string) => s,
  decode: (s: string) => s,
};

function pyCompare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = pyCompare(a[i], b[i]);
      if (c) return c;
    }
    return a.length - b.length;
  }
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export { pyCompare };

const LIST_METHODS: Record<string, Method> = {
  append: (l: unknown[], x: unknown) => {
    l.push(x);
    return null;
  },
  extend: (l: unknown[], xs: unknown) => {
    l.push(...(Array.isArray(xs) ? xs : isPlainObject(xs) ? Object.keys(xs) : [...strOf(xs)]));
    return null;
  },
  insert: (l: unknown[], i: unknown, x: unknown) => {
    l.splice(Number(i) < 0 ? Math.max(0, l.length + Number(i)) : Number(i), 0, x);
    return null;
  },
  pop: (l: unknown[], i?: unknown) => {
    if (!l.length) throw new Error("IndexError: pop from empty list");
    if (i === undefined || isKwargs(i)) return l.pop();
    const idx = Number(i) < 0 ? l.length + Number(i) : Number(i);
    return l.splice(idx, 1)[0];
  },
  remove: (l: unknown[], x: unknown) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error("ValueError: list.remove(x): x not in list");
    l.splice(i, 1);
    return null;
  },
  index: (l: unknown[], x: unknown) => {
    const i = l.indexOf(x);
    if (i < 0) throw new Error(`ValueError: ${pyRepr(x)} is not in list`);
    return i;
  },
  count: (l: unknown[], x: unknown) => l.filter((y) => y === x).length,
  copy: (l: unknown[]) => [...l],
  clear: (l: unknown[]) => {
    l.length = 0;
    return null;
  },
  reverse: (l: unknown[]) => {
    l.reverse();
    return null;
  },
  sort: (l: unknown[], ...args: unknown[]) => {
    const { kw } = splitArgs(args);
    l.sort(pyCompare);
    if (kw.reverse) l.reverse();
    return null;
  },
};

const DICT_METHODS: Record<string, Method> = {
  items: (d: Record<string, unknown>) => Object.entries(d).filter(([k]) => k !== "__keywords").map(([k, v]) => makeTuple([k, v])),
  keys: (d: Record<string, unknown>) => Object.keys(d).filter((k) => k !== "__keywords"),
  values: (d: Record<string, unknown>) => Object.entries(d).filter(([k]) => k !== "__keywords").map(([, v]) => v),
  get: (d: Record<string, unknown>, k: unknown, def: unknown = null) => (Object.prototype.hasOwnProperty.call(d, String(k)) ? d[String(k)] : def),
  pop: (d: Record<string, unknown>, k: unknown, ...rest: unknown[]) => {
    const key = String(k);
    if (Object.prototype.hasOwnProperty.call(d, key)) {
      const v = d[key];
      delete d[key];
      return v;
    }
    if (rest.length) return rest[0];
    throw new Error(`KeyError: ${pyRepr(k)}`);
  },
  setdefault: (d: Record<string, unknown>, k: unknown, def: unknown = null) => {
    const key = String(k);
    if (!Object.prototype.hasOwnProperty.call(d, key)) d[key] = def;
    return d[key];
  },
  update: (d: Record<string, unknown>, ...args: unknown[]) => {
    const { pos, kw } = splitArgs(args);
    for (const src of pos) {
      if (isPlainObject(src)) Object.assign(d, src);
      else if (Array.isArray(src)) for (const pair of src) if (Array.isArray(pair)) d[String(pair[0])] = pair[1];
    }
    Object.assign(d, kw);
    return null;
  },
  copy: (d: Record<string, unknown>) => ({ ...d }),
  clear: (d: Record<string, unknown>) => {
    for (const k of Object.keys(d)) delete d[k];
    return null;
  },
  has_key: (d: Record<string, unknown>, k: unknown) => Object.prototype.hasOwnProperty.call(d, String(k)),
  popitem: (d: Record<string, unknown>) => {
    const keys = Object.keys(d);
    if (!keys.length) throw new Error("KeyError: popitem(): dictionary is empty");
    const k = keys[keys.length - 1];
    const v = d[k];
    delete d[k];
    return makeTuple([k, v]);
  },
};

/**
 * The Python method `name` of `obj` bound to it, or undefined when `obj` has none by that name.
 * String methods whose JS namesake behaves differently (`split`, `replace`) take precedence.
 */
export function pythonMethod(obj: unknown, name: string): ((...args: unknown[]) => unknown) | undefined {
  if (typeof name !== "string") return undefined;
  if (isStringLike(obj)) {
    const m = STR_METHODS[name];
    const s = String(obj);
    return m ? (...args: unknown[]) => (m as (s: string, ...a: unknown[]) => unknown)(s, ...args) : undefined;
  }
  if (Array.isArray(obj)) {
    const m = LIST_METHODS[name];
    return m ? (...args: unknown[]) => (m as (l: unknown[], ...a: unknown[]) => unknown)(obj, ...args) : undefined;
  }
  if (isPlainObject(obj)) {
    const m = DICT_METHODS[name];
    return m ? (...args: unknown[]) => (m as (d: Record<string, unknown>, ...a: unknown[]) => unknown)(obj, ...args) : undefined;
  }
  return undefined;
}

/** Python-style method names (snake case) a class's instances answer. */
function methodNames(cls: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(cls.prototype).filter((n) => /^[a-z_]+$/.test(n) && n !== "constructor" && typeof Object.getOwnPropertyDescriptor(cls.prototype, n)?.value === "function");
}

/** Every method the renderer implements on Python values: str, list, dict, datetime, timedelta. */
export function pythonValueMethods(): string[] {
  const names = [...Object.keys(STR_METHODS), ...Object.keys(LIST_METHODS), ...Object.keys(DICT_METHODS), ...methodNames(PyDateTime), ...methodNames(PyTimeDelta)];
  return [...new Set(names)].sort();
}

export function hasPythonMethod(obj: unknown, name: string): boolean {
  if (isStringLike(obj)) return Object.prototype.hasOwnProperty.call(STR_METHODS, name);
  if (Array.isArray(obj)) return Object.prototype.hasOwnProperty.call(LIST_METHODS, name);
  if (isPlainObject(obj)) return Object.prototype.hasOwnProperty.call(DICT_METHODS, name);
  return false;
}

// ---------------------------------------------------------------- operators

export function pyAdd(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out = [...a, ...b];
    return (a as unknown as Record<symbol, unknown>)[TUPLE] ? makeTuple(out) : out;
  }
  if (a instanceof PyDateTime && b instanceof PyTimeDelta) return shift(a, b.micros);
  if (a instanceof PyTimeDelta && b instanceof PyDateTime) return shift(b, a.micros);
  if (a instanceof PyTimeDelta && b instanceof PyTimeDelta) return new PyTimeDelta(a.micros + b.micros);
  if (isStringLike(a) && isStringLike(b)) return String(a) + String(b);
  return (a as number) + (b as number);
}

export function pySub(a: unknown, b: unknown): unknown {
  if (a instanceof PyDateTime && b instanceof PyTimeDelta) return shift(a, -b.micros);
  if (a instanceof PyDateTime && b instanceof PyDateTime) return new PyTimeDelta((a.ms - b.ms) * 1000 + (a.micro - b.micro));
  if (a instanceof PyTimeDelta && b instanceof PyTimeDelta) return new PyTimeDelta(a.micros - b.micros);
  return (a as number) - (b as number);
}

export function pyMul(a: unknown, b: unknown): unknown {
  if (isStringLike(a) && typeof b === "number") return String(a).repeat(Math.max(0, b));
  if (typeof a === "number" && isStringLike(b)) return String(b).repeat(Math.max(0, a));
  if (Array.isArray(a) && typeof b === "number") return Array.from({ length: Math.max(0, b) }, () => a).flat();
  return (a as number) * (b as number);
}

function shift(d: PyDateTime, micros: number): PyDateTime {
  const totalMicro = d.micro + micros;
  const msShift = Math.floor(totalMicro / 1000);
  return new PyDateTime(d.ms + msShift, totalMicro - msShift * 1000, d.dateOnly, d.tzAware);
}
