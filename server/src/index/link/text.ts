/** Small pure helpers of the linker: expressions as written, suggestions, value coercions. */
import * as path from "node:path";
import type { Span } from "../../protocol/types";
import type { JinjaExpr } from "../facts";
import { closestNames } from "../suggest";

export function exprText(expr: JinjaExpr): string {
  switch (expr.type) {
    case "string":
      return `'${expr.value}'`;
    case "number":
    case "bool":
      return String(expr.value);
    case "none":
      return "none";
    case "var":
      return `var(${exprText(expr.name)})`;
    case "concat":
      return expr.parts.map(exprText).join(" ~ ");
    case "unknown":
      return expr.text;
    case "each":
      return expr.text;
    case "param":
      return expr.name;
    case "index":
      return `${exprText(expr.of)}[${JSON.stringify(expr.key)}]`;
    default:
      return "…";
  }
}

export function didYouMean(name: string, candidates: string[]): string {
  const close = closestNames(name, candidates, 3);
  return close.length ? ` Did you mean ${close.map((c) => `'${c}'`).join(", ")}?` : "";
}

export function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function asString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

export function asStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
export function zeroSpan(): Span {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/** The deepest folder holding all `files` (so that their names relative to it tell them apart). */
export function commonFolder(files: string[]): string {
  let folder = files.length > 0 ? path.dirname(files[0]) : "";
  for (const file of files) {
    while (path.relative(folder, file).startsWith("..")) {
      const parent = path.dirname(folder);
      if (parent === folder) return folder;
      folder = parent;
    }
  }
  return folder;
}
