/**
 * Reading a workspace file as untrusted input: only regular files, never through a link that leaves
 * the workspace, never more than a size cap, and never blocking (a FIFO or a device named like a
 * model must not hang the index). A file that is not read comes back with the reason, for a
 * diagnostic on that file.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A dbt or TS source file larger than this is skipped: real ones are a few kilobytes. */
export const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
/** dbt's own `target/manifest.json` grows with the project (100 MB is seen on large ones). */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export type ReadOutcome = { ok: true; text: string } | { ok: false; missing: true } | { ok: false; missing: false; reason: string };

/** The folders (workspace roots) that reads may reach, compared by their real paths. */
export class ReadScope {
  private readonly realRoots: string[];

  constructor(roots: readonly string[]) {
    this.realRoots = roots.map(realPath).map((r) => (r.endsWith(path.sep) ? r : r + path.sep));
  }

  /** True when `file` (after resolving every link) is inside one of the roots. */
  contains(file: string): boolean {
    const real = realPath(file) + path.sep;
    return this.realRoots.some((r) => real.startsWith(r));
  }

  /** Like `contains` for a path that may not exist yet: its nearest existing ancestor decides. */
  containsFolder(dir: string): boolean {
    let at = path.resolve(dir);
    for (;;) {
      if (fs.existsSync(at)) return this.contains(at);
      const parent = path.dirname(at);
      if (parent === at) return false;
      at = parent;
    }
  }

  /** The real path of `file` when it lies inside the scope, else why not. */
  private resolve(file: string): string | Exclude<ReadOutcome, { ok: true }> {
    let real: string;
    try {
      real = fs.realpathSync.native(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === "ENOENT" || code === "ENOTDIR" ? { ok: false, missing: true } : { ok: false, missing: false, reason: `cannot be read (${(error as Error).message})` };
    }
    if (!this.realRoots.some((r) => (real + path.sep).startsWith(r))) {
      return { ok: false, missing: false, reason: real === path.resolve(file) ? "is outside the workspace" : `is a link to ${real}, outside the workspace` };
    }
    return real;
  }

  /**
   * Whether `file` is a regular file inside the scope, without reading it (seeds: the index only
   * needs to know they exist; the runner reads them after trust). No size cap.
   */
  check(file: string): ReadOutcome {
    const real = this.resolve(file);
    if (typeof real !== "string") return real;
    try {
      const stat = fs.statSync(real);
      return stat.isFile() ? { ok: true, text: "" } : { ok: false, missing: false, reason: `is not a regular file (${kindOf(stat)})` };
    } catch (error) {
      return { ok: false, missing: false, reason: `cannot be read (${(error as Error).message})` };
    }
  }

  /** Reads `file` as UTF-8 within the scope and the size cap. */
  read(file: string, maxBytes = MAX_SOURCE_BYTES): ReadOutcome {
    const real = this.resolve(file);
    if (typeof real !== "string") return real;
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
      fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ENOENT" ? { ok: false, missing: true } : { ok: false, missing: false, reason: `cannot be read (${(error as Error).message})` };
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) return { ok: false, missing: false, reason: `is not a regular file (${kindOf(stat)})` };
      if (stat.size > maxBytes) return { ok: false, missing: false, reason: `is ${megabytes(stat.size)}, over the ${megabytes(maxBytes)} limit for one file` };
      // Read at most one byte past the cap: a file that grows while it is read is still bounded.
      const buffer = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
      let length = 0;
      while (length < buffer.length) {
        const n = fs.readSync(fd, buffer, length, buffer.length - length, length);
        if (n === 0) break;
        length += n;
      }
      if (length > maxBytes) return { ok: false, missing: false, reason: `is over the ${megabytes(maxBytes)} limit for one file` };
      return { ok: true, text: buffer.toString("utf8", 0, length) };
    } catch (error) {
      return { ok: false, missing: false, reason: `cannot be read (${(error as Error).message})` };
    } finally {
      fs.closeSync(fd);
    }
  }
}

function realPath(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  if (stat.isDirectory()) return "a folder";
  return "not a file";
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * A file name read from a folder that is not valid UTF-8 comes back from Node with U+FFFD in it,
 * and no file of that name exists. Returns the name with its raw bytes escaped (`bad\xff.sql`)
 * when that is the case.
 */
export function undecodableNames(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  let raw: Buffer[];
  try {
    raw = fs.readdirSync(dir, { encoding: "buffer" });
  } catch {
    return out;
  }
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const bytes of raw) {
    try {
      decoder.decode(bytes);
    } catch {
      const escaped = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
      out.set(bytes.toString("utf8"), escaped);
    }
  }
  return out;
}
