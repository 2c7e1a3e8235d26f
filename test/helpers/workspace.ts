import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export const EXAMPLE = path.resolve(__dirname, "../../examples/jaffle-forecast");

/** A fresh copy of the example (or another folder) in a temp directory; removed by `dispose`. */
export function copyExample(source = EXAMPLE): { root: string; dispose: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-"));
  cpSync(source, root, { recursive: true, filter: (src) => !/node_modules|\.tributary|[/\\]target([/\\]|$)/.test(path.relative(source, src)) });
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** Zero-based position of the first occurrence of `needle` in `text` (plus `offset` characters). */
export function positionOf(text: string, needle: string, offset = 0): { line: number; character: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`'${needle}' not found`);
  const before = text.slice(0, at + offset);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}
