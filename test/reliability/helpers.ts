/** Small throwaway workspaces for the reliability tests, and ways to watch processes from outside. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** A temp workspace holding `files` (relative path -> text); removed by `dispose`. */
export function workspace(files: Record<string, string>): { root: string; dispose: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-rel-"));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** JSON lines printed by `--json`. */
export function jsonLines(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string });
}

/** Polls `check` every 50 ms until it holds; fails with `what` after `limitMs` (a bound on a hang, not a timing claim). */
export async function until(what: string, check: () => boolean, limitMs = 30000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a process exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** Lines of stderr that look like a stack trace. */
export function stackLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /^\s+at /.test(l));
}
