/**
 * dbt's node configs: how a key is spelled and how a more specific level combines with a less
 * specific one (dbt_project.yml folders, then property YAML, then the file's `config()` calls).
 * One rule for the index (the graph's configs) and the embedded renderer (what a model runs with).
 */

/** Configs that add up across levels, each value once: tags, and the hooks (less specific first). */
const ADDITIVE = new Set(["tags", "pre_hook", "post_hook"]);
/** Mapping configs merged key by key (more specific keys win). */
const MERGED = new Set(["meta", "docs", "persist_docs", "grants", "contract", "quoting", "column_types", "labels"]);
/** Mapping configs a dbt_project.yml level may set without `+` (a bare `meta: {...}` is a config, not a folder). */
const BARE_MAPPING_CONFIGS = new Set([...MERGED, "snapshot_meta_column_names"]);

/** nunjucks marks a keyword-argument object with this own property; it is never a config. */
const KEYWORDS_MARK = "__keywords";

/** A mapping as YAML and Jinja make them (no arrays, class instances or Maps). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function asList(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** One spelling per config: `+materialized` is `materialized`, `pre-hook` is `pre_hook`. */
export function configKey(key: string): string {
  return key.trim().replace(/^\+/, "").replace(/-/g, "_");
}

/** The same config with its keys spelled by `configKey` (a later spelling of a key wins). */
export function normalizeConfig(config: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config ?? {})) if (k !== KEYWORDS_MARK) out[configKey(k)] = v;
  return out;
}

/** Sets one config of a more specific level over `config`, by dbt's rule for that key. */
export function setConfig(config: Record<string, unknown>, rawKey: string, value: unknown): void {
  const key = configKey(rawKey);
  if (ADDITIVE.has(key)) {
    const list = [...asList(config[key])];
    for (const item of asList(value)) if (!list.includes(item)) list.push(item);
    config[key] = list;
  } else if (MERGED.has(key) && isPlainObject(value)) {
    config[key] = { ...(isPlainObject(config[key]) ? config[key] : {}), ...value };
  } else {
    config[key] = value;
  }
}

/** Applies a more specific level (`config()` keywords, a YAML `config:` block...) over `config`. */
export function mergeConfig(config: Record<string, unknown>, level: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(level)) if (k !== KEYWORDS_MARK) setConfig(config, k, v);
}

/**
 * The configs one level of a dbt_project.yml config tree sets, given the name of the next level on
 * the node's path (a key equal to it is a folder, never a config): `+key`, a bare key with a
 * non-mapping value, or a bare mapping config without `+` keys inside.
 */
function levelConfigs(level: Record<string, unknown>, nextSegment: string | undefined): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(level)) {
    if (key.startsWith("+")) {
      out.push([key, value]);
      continue;
    }
    if (key === nextSegment) continue; // a sub-folder (or the file) on the node's path
    if (value === null || value === undefined) continue; // an empty folder entry
    if (!isPlainObject(value)) {
      out.push([key, value]); // dbt: a bare key with a non-mapping value is a config
    } else if (BARE_MAPPING_CONFIGS.has(key) && !Object.keys(value).some((k) => k.startsWith("+"))) {
      out.push([key, value]);
    }
  }
  return out;
}

/**
 * dbt's folder-config inheritance: walks each tree (`models:` of a package, then of the project
 * that installs it: the root wins) from its top along `fqn` (project name, folders, node name),
 * applying every level's configs over the less specific ones.
 */
export function configAlongPath(trees: readonly Record<string, unknown>[], fqn: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const tree of trees) {
    let level: unknown = tree;
    for (let i = 0; i <= fqn.length; i++) {
      if (!isPlainObject(level)) break;
      for (const [k, v] of levelConfigs(level, fqn[i])) setConfig(result, k, v);
      if (i === fqn.length) break;
      level = level[fqn[i]];
    }
  }
  return result;
}
