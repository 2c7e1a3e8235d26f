import type { AssetKey } from "../protocol/types";

/** `"a/b"` -> `["a","b"]`; arrays are copied. Empty segments are dropped. */
export function toKey(value: string | readonly string[]): AssetKey {
  const parts = typeof value === "string" ? value.split("/") : [...value];
  return parts.filter((p) => p.length > 0);
}

/**
 * Why a key cannot name an asset, or undefined when it can. Keys become file paths (the json IO
 * manager's `.tributary/storage/<segments>.json`) and table names: no empty segment, no `.` or
 * `..`, no path separator or NUL inside a segment.
 */
export function keyProblem(key: readonly string[]): string | undefined {
  if (key.length === 0) return "a key needs at least one segment";
  for (const segment of key) {
    if (segment === "") return "a key may not have empty segments";
    if (segment === "." || segment === "..") return `a key segment may not be '${segment}'`;
    if (/[/\\]/.test(segment)) return `the key segment '${segment}' contains a path separator (write the key as separate segments)`;
    if (segment.includes("\0")) return "a key segment may not contain a NUL character";
  }
  return undefined;
}

/** The graph id of a key: its segments joined by `/`. */
export function keyId(key: readonly string[]): string {
  return key.join("/");
}

/** How the key is shown to people. */
export function formatKey(key: readonly string[]): string {
  return key.join("/");
}

/** The input name of a dep inside a TS asset function: the key's last segment. */
export function inputName(key: readonly string[]): string {
  return key[key.length - 1] ?? "";
}
