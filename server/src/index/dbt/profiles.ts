/**
 * profiles.yml (dbt-duckdb and others): which target a project uses and its connection settings,
 * with `{{ env_var('X', 'default') }}` resolved. Pure apart from reading the given environment;
 * never throws.
 */
import * as os from "node:os";
import * as path from "node:path";
import { isMap, isScalar } from "yaml";
import type { Node as YamlNode } from "yaml";
import type { IndexDiagnostic } from "../../protocol/types";
import { addDiag, deref, mapEntries, parseYamlFile, scalarText, valueSpan, ZERO_SPAN } from "./yamlFile";
import type { YamlFile } from "./yamlFile";

export type Env = Record<string, string | undefined>;

export interface RenderedText {
  text: string;
  /** True when no Jinja is left in `text`. */
  complete: boolean;
  /** Environment variables that were used without a value or default (left as written). */
  missing: string[];
}

const FILTERS: Record<string, (v: string) => string> = {
  int: (v) => String(Number.isFinite(Number.parseInt(v, 10)) ? Number.parseInt(v, 10) : 0),
  float: (v) => String(Number.isFinite(Number.parseFloat(v)) ? Number.parseFloat(v) : 0),
  as_number: (v) => v.trim(),
  as_text: (v) => v,
  as_native: (v) => v,
  as_bool: (v) => v,
  string: (v) => v,
  trim: (v) => v.trim(),
  lower: (v) => v.toLowerCase(),
  upper: (v) => v.toUpperCase(),
};

const ENV_VAR_EXPR =
  /^env_var\s*\(\s*(['"])([^'"]*)\1\s*(?:,\s*(?:(['"])((?:\\.|(?!\3)[^\\])*)\3|([-+]?\d+(?:\.\d+)?)|(True|False|true|false|None|none))\s*)?\)((?:\s*\|\s*[A-Za-z_]\w*(?:\s*\(\s*\))?)*)$/;

/**
 * Renders the `{{ env_var('X') }}` / `{{ env_var('X', 'default') | int }}` expressions of a value
 * from `env`; every other Jinja expression or statement is kept as written (`complete: false`).
 */
export function renderEnvVars(text: string, env: Env = process.env): RenderedText {
  const missing: string[] = [];
  let complete = true;
  const out = text.replace(/\{\{-?([\s\S]*?)-?\}\}/g, (whole, inner: string) => {
    const m = ENV_VAR_EXPR.exec(inner.trim());
    if (!m) {
      complete = false;
      return whole;
    }
    const name = m[2];
    let value = env[name];
    if (value === undefined) {
      if (m[4] !== undefined) value = m[4].replace(/\\(.)/g, "$1");
      else if (m[5] !== undefined) value = m[5];
      else if (m[6] !== undefined) value = /^none$/i.test(m[6]) ? "" : m[6];
    }
    if (value === undefined) {
      missing.push(name);
      complete = false;
      return whole;
    }
    for (const f of m[7].split("|").map((s) => s.replace(/\(\s*\)/, "").trim()).filter(Boolean)) {
      const fn = FILTERS[f];
      if (!fn) {
        complete = false;
        return whole;
      }
      value = fn(value);
    }
    return value;
  });
  if (/\{%|\{#/.test(out)) complete = false;
  return { text: out, complete, missing };
}

export interface ProfileTarget {
  /** The target used: the given one, else the profile's `target:`, else dbt's `default`. */
  target?: string;
  type?: string;
  /** dbt-duckdb database file as written (relative paths are relative to the project folder). */
  path?: string;
  schema?: string;
  database?: string;
  threads?: number;
  diagnostics: IndexDiagnostic[];
}

/**
 * Reads `profileName` from profiles.yml and the settings of its target (`targetName`, else the
 * profile's `target:`, else `default` as dbt does). `env` defaults to `process.env`.
 */
export function readProfiles(text: string, file: string, profileName: string, targetName?: string, env: Env = process.env): ProfileTarget {
  const result: ProfileTarget = { diagnostics: [] };
  let y: YamlFile | undefined;
  try {
    y = parseYamlFile(text, file);
    readProfileInto(y, profileName, targetName, env, result);
  } catch (e) {
    result.diagnostics.push({ file, span: ZERO_SPAN, severity: "error", code: "yaml-shape", message: `profiles.yml could not be read: ${e instanceof Error ? e.message : String(e)}` });
  }
  if (y) result.diagnostics.unshift(...y.diagnostics);
  return result;
}

function readProfileInto(y: YamlFile, profileName: string, targetName: string | undefined, env: Env, result: ProfileTarget): void {
  const root = deref(y, y.doc.contents);
  if (!root || !isMap(root)) {
    if (root && !(isScalar(root) && root.value == null)) addDiag(y, root, "warning", "yaml-shape", "profiles.yml should be a mapping of profile names.");
    if (targetName) result.target = targetName;
    addDiag(y, undefined, "warning", "profile-not-found", `Profile \`${profileName}\` not found in profiles.yml.`);
    return;
  }
  const profile = mapEntries(y, root).get(profileName)?.value;
  if (!profile || !isMap(profile)) {
    if (targetName) result.target = targetName;
    addDiag(y, profile ?? undefined, "warning", "profile-not-found", `Profile \`${profileName}\` not found in profiles.yml.`);
    return;
  }
  const entries = mapEntries(y, profile);
  const render = (node: YamlNode | undefined): string | undefined => {
    const raw = scalarText(node);
    if (raw === undefined || !node) return undefined;
    const r = renderEnvVars(raw, env);
    for (const name of r.missing) {
      addDiag(y, valueSpan(y, node), "warning", "env-var-missing", `Environment variable \`${name}\` is not set and has no default.`);
    }
    return r.text;
  };
  const targetNode = entries.get("target")?.value;
  const target = targetName ?? render(targetNode) ?? "default";
  result.target = target;

  const outputs = entries.get("outputs")?.value;
  const outputEntries = outputs && isMap(outputs) ? mapEntries(y, outputs) : new Map();
  if (!outputs || !isMap(outputs)) {
    addDiag(y, outputs ?? profile, "warning", "yaml-shape", `Profile \`${profileName}\` has no \`outputs:\` mapping.`);
    return;
  }
  const output = outputEntries.get(target)?.value as YamlNode | undefined;
  if (!output || !isMap(output)) {
    addDiag(y, targetName === undefined && targetNode ? targetNode : outputs, "warning", "profile-target-not-found", `Target \`${target}\` not found in profile \`${profileName}\`.`);
    return;
  }
  const o = mapEntries(y, output);
  const get = (key: string): string | undefined => render(o.get(key)?.value);
  const type = get("type");
  if (type !== undefined) result.type = type;
  const p = get("path");
  if (p !== undefined) result.path = p;
  const schema = get("schema") ?? get("dataset");
  if (schema !== undefined) result.schema = schema;
  const database = get("database") ?? get("dbname") ?? get("project");
  if (database !== undefined) result.database = database;
  const threads = get("threads");
  if (threads !== undefined && /^\s*\d+\s*$/.test(threads)) result.threads = Number(threads);
}

/**
 * Where dbt would find profiles.yml for a project: the project folder, then `DBT_PROFILES_DIR`
 * (relative to the project folder when relative), then `~/.dbt/profiles.yml`.
 */
export function findProfilesFile(projectRoot: string, env: NodeJS.ProcessEnv, exists: (p: string) => boolean): string | undefined {
  const candidates = [path.join(projectRoot, "profiles.yml")];
  const dir = env.DBT_PROFILES_DIR?.trim();
  if (dir) candidates.push(path.join(path.resolve(projectRoot, expandHome(dir, env)), "profiles.yml"));
  const home = env.HOME || env.USERPROFILE || safeHomedir();
  if (home) candidates.push(path.join(home, ".dbt", "profiles.yml"));
  for (const c of candidates) {
    try {
      if (exists(c)) return c;
    } catch {
      // an unreadable place is a missing one
    }
  }
  return undefined;
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === "~" || p.startsWith("~/") || p.startsWith("~\\")) {
    const home = env.HOME || env.USERPROFILE || safeHomedir();
    if (home) return path.join(home, p.slice(1));
  }
  return p;
}

function safeHomedir(): string | undefined {
  try {
    return os.homedir();
  } catch {
    return undefined;
  }
}
