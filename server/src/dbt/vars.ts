/**
 * dbt's `vars:` scoping and lookup: one rule for the index (which resolves `var()` to find refs,
 * `enabled` and sources) and the embedded renderer (which renders `var()`).
 */
import { isPlainObject } from "./config";

export interface ScopedVars {
  /** Every var one project sees: global vars, then its own scope (`vars: {<project>: {...}}`) on top. */
  vars: Record<string, unknown>;
  /** The global vars alone: what a root project passes down to the packages it installs. */
  globals: Record<string, unknown>;
}

/**
 * The vars a project sees from a raw `vars:` mapping. A mapping under the project's own name is
 * its scope; a mapping under the name of another package (`isPackageScope`) is that package's
 * scope and is left out; any other var is global, mapping-valued ones included, as in dbt.
 * Scoping vars that are already scoped gives them back unchanged.
 */
export function scopeVars(raw: Record<string, unknown>, projectName: string, isPackageScope: (name: string) => boolean = () => false): ScopedVars {
  const globals: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (isPlainObject(v) && (k === projectName || isPackageScope(k))) continue;
    globals[k] = v;
  }
  const own = raw[projectName];
  return { vars: isPlainObject(own) ? { ...globals, ...own } : { ...globals }, globals };
}

/**
 * `var(name)` against layers that win in order (`--vars`, then the project's scoped vars):
 * the value found, or `undefined` when no layer defines the name (so a default applies).
 */
export function lookupVar(name: string, ...layers: Readonly<Record<string, unknown>>[]): { value: unknown } | undefined {
  for (const layer of layers) if (Object.prototype.hasOwnProperty.call(layer, name)) return { value: layer[name] };
  return undefined;
}
