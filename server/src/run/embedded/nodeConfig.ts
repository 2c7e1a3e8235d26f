/** A node's config as the renderer needs it before and while rendering. */
import type { EmbeddedNode } from "./nodes";

/** Config keys that change how a node renders (`this`, `is_incremental()`). */
export const DECISIVE = ["materialized", "schema", "alias", "database", "full_refresh", "target_schema", "target_database", "version"];

export function toArray(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** Literal `config(...)` keyword values found by a quick scan (for nodes not rendered in this step). */
export function prescanConfig(src: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const re = /\bconfig\s*\(([\s\S]*?)\)\s*-?\}\}/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const kv = /(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|(True|False|true|false)|(none|None)|(-?\d+(?:\.\d+)?))/g;
    for (let k = kv.exec(m[1]); k; k = kv.exec(m[1])) {
      out[k[1]] = k[2] ?? k[3] ?? (k[4] !== undefined ? /^t/i.test(k[4]) : k[5] !== undefined ? null : Number(k[6]));
    }
  }
  return out;
}

export function defaultMaterialization(node: EmbeddedNode): string {
  return node.resourceType === "seed" ? "seed" : node.resourceType === "snapshot" ? "snapshot" : "view";
}
