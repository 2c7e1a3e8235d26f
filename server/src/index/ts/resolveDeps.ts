/**
 * Resolves identifier deps of TS assets (`deps: [orderForecastModel]`, `deps: [models.forecast]`)
 * to the `asset(...)` definition they name, following imports and re-export chains statically.
 */
import type { TsAssetDef, TsFacts } from "../facts";

export type FactsLookup = (file: string) => TsFacts | undefined;

/** What a name denotes while resolving: an asset, or a whole module (namespace import). */
type Target = { kind: "asset"; file: string; asset: TsAssetDef } | { kind: "module"; file: string };

/**
 * Resolves `name` (`x` or `ns.x`, as in `TsDep.name`) written in `fromFile`:
 * - a local asset constant of the same file;
 * - an imported binding -> the target module's export of that name, following
 *   `export { a as b }`, `export { x } from`, `export * from`, `export * as ns from` chains and
 *   default imports/exports;
 * - `ns.x` through namespace imports (`import * as ns`) and namespace re-exports.
 * Returns undefined when the chain leaves the indexed files or does not end at an asset.
 */
export function resolveTsRef(
  name: string,
  fromFile: string,
  facts: FactsLookup,
): { file: string; asset: TsAssetDef } | undefined {
  const parts = name.split(".");
  const visited = new Set<string>();
  let target = resolveLocal(fromFile, parts[0], facts, visited);
  for (let i = 1; i < parts.length && target; i++) {
    target = target.kind === "module" ? resolveExport(target.file, parts[i], facts, visited) : undefined;
  }
  return target?.kind === "asset" ? { file: target.file, asset: target.asset } : undefined;
}

/** A name bound in `file`'s module scope. */
function resolveLocal(file: string, local: string, facts: FactsLookup, visited: Set<string>): Target | undefined {
  const f = safeFacts(facts, file);
  if (!f) return undefined;
  // Prefer a top-level (exported or re-exported) constant over a same-named nested one.
  const candidates = f.assets.filter((a) => a.localName === local);
  const asset = candidates.find((a) => a.exportName !== undefined) ?? candidates[0];
  if (asset) return { kind: "asset", file, asset };
  const imp = f.imports.find((i) => i.local === local);
  if (!imp || !imp.from) return undefined;
  if (imp.imported === "*") return { kind: "module", file: imp.from };
  return resolveExport(imp.from, imp.imported, facts, visited);
}

/** The export `exported` of module `file`. */
function resolveExport(file: string, exported: string, facts: FactsLookup, visited: Set<string>): Target | undefined {
  const visitKey = `${file}\u0000${exported}`;
  if (visited.has(visitKey)) return undefined;
  visited.add(visitKey);
  const f = safeFacts(facts, file);
  if (!f) return undefined;

  const direct = f.assets.find((a) => a.exportName === exported);
  if (direct) return { kind: "asset", file, asset: direct };

  for (const e of f.exports) {
    if (e.exported !== exported) continue;
    if (e.from) {
      const r = e.local === "*" ? ({ kind: "module", file: e.from } as const) : resolveExport(e.from, e.local, facts, visited);
      if (r) return r;
    } else if (!(exported === "default" && e.local === "default")) {
      const r = resolveLocal(file, e.local, facts, visited);
      if (r) return r;
    }
  }
  // `export * from` never forwards `default`.
  if (exported !== "default") {
    for (const e of f.exports) {
      if (e.exported !== "*" || !e.from) continue;
      const r = resolveExport(e.from, exported, facts, visited);
      if (r) return r;
    }
  }
  return undefined;
}

function safeFacts(facts: FactsLookup, file: string): TsFacts | undefined {
  try {
    return facts(file);
  } catch {
    return undefined;
  }
}
