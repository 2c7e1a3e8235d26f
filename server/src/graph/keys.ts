import type { AssetKey } from "../protocol/types";

/** `"a/b"` -> `["a","b"]`; arrays are copied. Empty segments are dropped. */
export function toKey(value: string | readonly string[]): AssetKey {
  const parts = typeof value === "string" ? value.split("/") : [...value];
  return parts.filter((p) => p.length > 0);
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
