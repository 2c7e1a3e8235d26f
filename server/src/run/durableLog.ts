/**
 * Durable append-only JSON Lines files (the run history's `events.jsonl`, the schedule's
 * `ticks.jsonl`): appending records so that a kill -9 loses nothing already recorded, and reading
 * them back tolerantly, incrementally, while other processes may be appending.
 *
 * Writing: every append is one `write` on a descriptor opened for appending, then `fsync` (and the
 * folder's `fsync` when the append creates the file), so appends of several processes never
 * interleave within a line. An unterminated last line (a torn write) is left alone and the next
 * append starts on a fresh line.
 *
 * Reading: lines are read from where the last read stopped; a replaced or truncated file is read
 * again from the start. Blank lines are skipped, lines that do not parse or fail validation are
 * skipped and counted, and an unterminated last line is left pending for the next read.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** A line of a log: byte offset and length (without the newline). */
export type LineRef = [offset: number, length: number];

const CHUNK = 1 << 20;
/**
 * The longest line kept in memory while reading. A longer one (no record is near this size) is
 * read past without being kept, and counted as corrupt: a log in a hostile workspace cannot make
 * the reader hold an unbounded line.
 */
export const MAX_LINE_BYTES = 16 << 20;

/**
 * Appends records as JSON lines in one write, then fsyncs (and fsyncs the folder, created if
 * needed, when this creates the file).
 */
export function appendLines(file: string, records: readonly unknown[]): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const created = !existsSync(file);
  const body = records.map((r) => JSON.stringify(r)).join("\n") + "\n";
  const fd = openSync(file, "a+");
  try {
    const size = fstatSync(fd).size;
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n"; // a torn line: start ours on a fresh one
    }
    const buf = Buffer.from(prefix + body, "utf8");
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not possible on every platform (Windows); the file's own fsync is what matters most.
  }
}

/** What a `JsonlReader` does with the lines it reads. */
export interface JsonlHandler<T> {
  /** Checks a parsed line: the record, `null` for a line to ignore (e.g. an unknown type), `undefined` for a corrupt one. */
  validate(parsed: unknown): T | null | undefined;
  /** Takes a valid record, with its line. */
  apply(record: T, ref: LineRef): void;
  /** The file was replaced, truncated or removed: forget what was applied from it (it is read again from the start). */
  reset(): void;
}

/** Follows one JSON Lines file: `reload()` reads what was appended since the last read. */
export class JsonlReader<T> {
  private offset = 0;
  private ino: number | undefined;
  private tornTail = false;
  private corrupt = 0;

  constructor(
    readonly file: string,
    private readonly handler: JsonlHandler<T>,
  ) {}

  /** Lines skipped because they did not parse or failed validation (since the last full read). */
  get corruptLines(): number {
    return this.corrupt;
  }

  /** Whether the file ended in an unterminated line at the last read (a torn write, or a write in flight). */
  get hasTornTail(): boolean {
    return this.tornTail;
  }

  /**
   * Reads what was appended since the last read (from the last offset; a replaced or truncated
   * file, or one removed after a read, starts over with `handler.reset()`). Returns whether
   * anything new was read (or forgotten).
   */
  reload(): boolean {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      if (this.offset > 0 || this.corrupt > 0) {
        this.reset();
        return true;
      }
      return false;
    }
    try {
      const st = fstatSync(fd);
      let changed = false;
      if (this.ino !== undefined && (st.ino !== this.ino || st.size < this.offset)) {
        this.reset();
        changed = true;
      }
      this.ino = st.ino;
      const size = st.size;
      const from = this.offset;
      if (size === this.offset) return changed;
      let carry: Buffer = Buffer.alloc(0);
      // `buf` below always starts at `carryStart`, the start of the line not yet read whole.
      let carryStart = this.offset;
      let pos = this.offset;
      // Inside a line longer than MAX_LINE_BYTES: read on to its end without keeping it.
      let skipping = false;
      while (pos < size) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
        const n = readSync(fd, chunk, 0, chunk.length, pos);
        if (n <= 0) break;
        pos += n;
        let buf: Buffer;
        if (skipping) {
          const nl = chunk.subarray(0, n).indexOf(0x0a);
          if (nl === -1) continue;
          skipping = false;
          this.corrupt++;
          carryStart = pos - n + nl + 1;
          buf = chunk.subarray(nl + 1, n);
        } else {
          buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        }
        let lineStart = 0;
        for (let nl = buf.indexOf(0x0a, lineStart); nl !== -1; nl = buf.indexOf(0x0a, lineStart)) {
          this.applyLine(buf.subarray(lineStart, nl), carryStart + lineStart);
          lineStart = nl + 1;
        }
        carryStart += lineStart;
        skipping = buf.length - lineStart > MAX_LINE_BYTES;
        carry = skipping ? Buffer.alloc(0) : Buffer.from(buf.subarray(lineStart));
      }
      this.offset = carryStart;
      this.tornTail = carry.length > 0 || skipping;
      return changed || carryStart > from;
    } finally {
      closeSync(fd);
    }
  }

  /** Reads one line back by its ref: the record, or undefined when it is gone, does not parse or is not valid. */
  readAt(ref: LineRef): T | undefined {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch {
      return undefined;
    }
    try {
      const buf = Buffer.alloc(ref[1]);
      const n = readSync(fd, buf, 0, ref[1], ref[0]);
      return this.handler.validate(JSON.parse(buf.subarray(0, n).toString("utf8"))) ?? undefined;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  private reset(): void {
    this.offset = 0;
    this.ino = undefined;
    this.tornTail = false;
    this.corrupt = 0;
    this.handler.reset();
  }

  /** Parses, validates and applies one line (without its newline; a trailing CR is dropped). */
  private applyLine(line: Buffer, offset: number): void {
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    if (end === 0) return;
    if (end > MAX_LINE_BYTES) {
      this.corrupt++;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.subarray(0, end).toString("utf8"));
    } catch {
      this.corrupt++;
      return;
    }
    const record = this.handler.validate(parsed);
    if (record === undefined) this.corrupt++;
    if (record === undefined || record === null) return;
    this.handler.apply(record, [offset, line.length]);
  }
}
