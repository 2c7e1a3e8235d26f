/**
 * dbt_project.yml: name, resource paths (absolute), vars, profile, the folder config trees, and
 * dbt mesh project dependencies (dependencies.yml). Plus dbt's folder-config inheritance.
 * Pure (files beside dbt_project.yml are read through `readText`); never throws.
 */
import * as path from "node:path";
import { isMap, isScalar, isSeq } from "yaml";
import type { Node as YamlNode } from "yaml";
import type { DbtProject } from "../facts";
import { renderEnvVars } from "./profiles";
import type { Env } from "./profiles";
import { addDiag, deref, isPlainObject, mapEntries, nodeSpan, parseYamlFile, scalarText, toPlain, ZERO_SPAN } from "./yamlFile";
import type { MapEntry, YamlFile } from "./yamlFile";

export interface ProjectReadOptions {
  /** False for a folder the project may not reach (outside the workspace). */
  allowFolder?: (absDir: string) => boolean;
}

type PathKey = "modelPaths" | "seedPaths" | "snapshotPaths" | "macroPaths" | "analysisPaths" | "testPaths";

/** dbt_project.yml key, legacy key, default, field. */
const PATH_SETTINGS: { key: string; legacy?: string; def: string; field: PathKey }[] = [
  { key: "model-paths", legacy: "source-paths", def: "models", field: "modelPaths" },
  { key: "seed-paths", legacy: "data-paths", def: "seeds", field: "seedPaths" },
  { key: "snapshot-paths", def: "snapshots", field: "snapshotPaths" },
  { key: "macro-paths", def: "macros", field: "macroPaths" },
  { key: "analysis-paths", def: "analyses", field: "analysisPaths" },
  { key: "test-paths", def: "tests", field: "testPaths" },
];

/**
 * Reads dbt_project.yml. `readText(absPath)` reads files beside it (`dependencies.yml`,
 * `packages.yml`, installed packages' `dbt_project.yml`) and returns undefined when missing.
 * `env` (default `process.env`) resolves `{{ env_var(...) }}` in paths and the profile name.
 * `options.allowFolder` vets each configured folder (`model-paths`, `target-path`, ...): a folder it
 * refuses is left out, with an error at its entry.
 */
export function readDbtProject(
  file: string,
  text: string,
  readText: (absPath: string) => string | undefined,
  env: Env = process.env,
  options: ProjectReadOptions = {},
): DbtProject {
  const absFile = path.resolve(file);
  const root = path.dirname(absFile);
  const project: DbtProject = {
    name: path.basename(root),
    root,
    file: absFile,
    modelPaths: [path.join(root, "models")],
    seedPaths: [path.join(root, "seeds")],
    snapshotPaths: [path.join(root, "snapshots")],
    macroPaths: [path.join(root, "macros")],
    analysisPaths: [path.join(root, "analyses")],
    testPaths: [path.join(root, "tests")],
    vars: {},
    targetPath: path.join(root, "target"),
    packagesPath: path.join(root, "dbt_packages"),
    projectDependencies: [],
    modelConfig: {},
    seedConfig: {},
    snapshotConfig: {},
    diagnostics: [],
  };
  let y: YamlFile | undefined;
  try {
    y = parseYamlFile(text, absFile);
    readInto(y, project, readText, env, options);
  } catch (e) {
    project.diagnostics.push({ file: absFile, span: ZERO_SPAN, severity: "error", code: "yaml-shape", message: `dbt_project.yml could not be read: ${e instanceof Error ? e.message : String(e)}` });
  }
  if (y) project.diagnostics.unshift(...y.diagnostics);
  return project;
}

function readInto(y: YamlFile, project: DbtProject, readText: (p: string) => string | undefined, env: Env, options: ProjectReadOptions): void {
  const rootNode = deref(y, y.doc.contents);
  if (!rootNode || !isMap(rootNode)) {
    if (rootNode && !(isScalar(rootNode) && rootNode.value == null)) {
      addDiag(y, rootNode, "warning", "yaml-shape", "dbt_project.yml should be a mapping.");
    }
    if (y.doc.errors.length === 0) addDiag(y, undefined, "warning", "yaml-shape", "dbt_project.yml has no `name`.");
    return;
  }
  const e = mapEntries(y, rootNode);

  // name
  const nameNode = e.get("name")?.value;
  const name = scalarText(nameNode)?.trim();
  if (name && !name.includes("{{") && !name.includes("{%")) project.name = name;
  else if (nameNode) addDiag(y, nameNode, "warning", "yaml-shape", `The project \`name\` must be a plain text value; using the folder name \`${project.name}\`.`);
  else if (y.doc.errors.length === 0) addDiag(y, rootNode, "warning", "yaml-shape", `dbt_project.yml has no \`name\`; using the folder name \`${project.name}\`.`);

  // profile
  const profileNode = e.get("profile")?.value;
  const profile = renderedScalar(y, profileNode, "profile", env);
  if (profile) project.profile = profile;

  // resource paths
  const allowed = (key: string, node: YamlNode | undefined, p: string): string | undefined => {
    const abs = path.resolve(project.root, p);
    if (!options.allowFolder || options.allowFolder(abs)) return abs;
    addDiag(y, node, "error", "project-path-outside", `\`${key}\`: '${p}' is outside the workspace (${abs}); Tributary does not read it.`);
    return undefined;
  };
  for (const s of PATH_SETTINGS) {
    const entry = e.get(s.key) ?? (s.legacy ? e.get(s.legacy) : undefined);
    if (!entry) continue;
    const paths = readPathList(y, entry, env);
    const key = scalarText(entry.key) ?? s.key;
    if (paths) project[s.field] = paths.flatMap(({ text, node }) => allowed(key, node, text) ?? []);
  }
  for (const [key, field] of [["target-path", "targetPath"], ["packages-install-path", "packagesPath"]] as const) {
    const node = e.get(key)?.value;
    const p = renderedScalar(y, node, key, env);
    const abs = p ? allowed(key, node, p) : undefined;
    if (abs) project[field] = abs;
  }
  // dbt's default folders may be links too (`models -> /`).
  for (const s of PATH_SETTINGS) {
    if (e.has(s.key) || (s.legacy && e.has(s.legacy))) continue;
    project[s.field] = project[s.field].filter((abs) => allowed(s.key, undefined, path.relative(project.root, abs)) !== undefined);
  }

  // config trees
  project.modelConfig = configTree(y, e.get("models"), "models");
  project.seedConfig = configTree(y, e.get("seeds"), "seeds");
  project.snapshotConfig = configTree(y, e.get("snapshots"), "snapshots");
  project.sourceConfig = configTree(y, e.get("sources"), "sources");

  // dispatch: [{macro_namespace, search_order}]
  const dispatchNode = e.get("dispatch")?.value;
  if (dispatchNode) {
    for (const item of seqMaps(y, dispatchNode, "dispatch")) {
      const d = mapEntries(y, item);
      const ns = scalarText(d.get("macro_namespace")?.value)?.trim();
      const order = d.get("search_order")?.value;
      const names = order && isSeq(order) ? order.items.map((i) => scalarText(deref(y, i))?.trim()).filter((n): n is string => !!n) : [];
      if (ns && names.length > 0) (project.dispatch ??= {})[ns] = names;
      else addDiag(y, item, "warning", "yaml-shape", "Each `dispatch:` entry needs a `macro_namespace` and a `search_order` list.");
    }
  }

  // dependencies.yml / packages.yml
  const packages = readDependencies(project, readText);

  // vars (after packages: other packages' scopes are left out)
  const varsEntry = e.get("vars");
  if (varsEntry?.value && !(isScalar(varsEntry.value) && varsEntry.value.value == null)) {
    if (!isMap(varsEntry.value)) {
      addDiag(y, varsEntry.value, "warning", "yaml-shape", "`vars:` should be a mapping.");
    } else {
      const raw = toPlain(y, varsEntry.value);
      if (isPlainObject(raw)) {
        project.rawVars = raw;
        project.vars = projectVars(raw, project, packages, readText);
      }
    }
  }
}

/** A scalar setting with `env_var()` rendered; undefined (with an info) when other Jinja remains. */
function renderedScalar(y: YamlFile, node: YamlNode | undefined, key: string, env: Env): string | undefined {
  if (!node || (isScalar(node) && node.value == null)) return undefined;
  const raw = scalarText(node);
  if (raw === undefined) {
    addDiag(y, node, "warning", "yaml-shape", `\`${key}\` should be a text value.`);
    return undefined;
  }
  const r = renderEnvVars(raw, env);
  if (!r.complete) {
    addDiag(y, node, "info", "dbt-project-jinja", `\`${key}\` uses Jinja that Tributary cannot evaluate statically; using dbt's default.`);
    return undefined;
  }
  return r.text.trim() || undefined;
}

/** `model-paths: [a, b]` (or a single string). Undefined when nothing usable is left (use the default). */
function readPathList(y: YamlFile, entry: MapEntry, env: Env): { text: string; node: YamlNode }[] | undefined {
  const key = scalarText(entry.key) ?? "paths";
  const node = entry.value;
  if (!node || (isScalar(node) && node.value == null)) return undefined;
  const items: YamlNode[] = [];
  if (isSeq(node)) {
    for (const raw of node.items) {
      const item = deref(y, raw);
      if (item) items.push(item);
    }
  } else if (isScalar(node)) {
    items.push(node);
  } else {
    addDiag(y, node, "warning", "yaml-shape", `\`${key}\` should be a list of folders.`);
    return undefined;
  }
  const out: { text: string; node: YamlNode }[] = [];
  for (const item of items) {
    const p = renderedScalar(y, item, key, env);
    if (p) out.push({ text: p, node: item });
  }
  return out.length > 0 ? out : undefined;
}

function configTree(y: YamlFile, entry: MapEntry | undefined, key: string): Record<string, unknown> {
  const node = entry?.value;
  if (!node || (isScalar(node) && node.value == null)) return {};
  if (!isMap(node)) {
    addDiag(y, node, "warning", "yaml-shape", `\`${key}:\` should be a mapping of project names to folder configs.`);
    return {};
  }
  const v = toPlain(y, node);
  return isPlainObject(v) ? v : {};
}

/**
 * Reads `dependencies.yml` (`projects:` -> `projectDependencies`, `packages:`) and `packages.yml`
 * beside the project; returns the (best-guess) names of the declared packages.
 */
function readDependencies(project: DbtProject, readText: (p: string) => string | undefined): Set<string> {
  const packages = new Set<string>();
  for (const fileName of ["dependencies.yml", "packages.yml"]) {
    const abs = path.join(project.root, fileName);
    let text: string | undefined;
    try {
      text = readText(abs);
    } catch {
      text = undefined;
    }
    if (text === undefined) continue;
    const y = parseYamlFile(text, abs);
    const rootNode = deref(y, y.doc.contents);
    if (rootNode && isMap(rootNode)) {
      const e = mapEntries(y, rootNode);
      if (fileName === "dependencies.yml") {
        for (const item of seqMaps(y, e.get("projects")?.value, "projects")) {
          const n = scalarText(mapEntries(y, item).get("name")?.value)?.trim();
          if (n && !project.projectDependencies.includes(n)) project.projectDependencies.push(n);
          else if (!n) addDiag(y, item, "warning", "yaml-shape", "Each project dependency needs a `name`.");
        }
      }
      for (const item of seqMaps(y, e.get("packages")?.value, "packages")) {
        const entries = mapEntries(y, item);
        const n = packageName(entries, project.root, readText);
        if (n) packages.add(n);
        const local = scalarText(entries.get("local")?.value)?.trim();
        if (local && !local.includes("{{")) (project.localPackages ??= []).push(path.resolve(project.root, local));
        const spec = ["package", "git", "tarball", "local", "private"].map((k) => scalarText(entries.get(k)?.value)?.trim()).find((v) => v);
        if (spec && !spec.includes("{{")) {
          (project.declaredPackages ??= []).push({
            spec, name: n && !n.includes("{{") ? n : undefined, local: local && !local.includes("{{") ? path.resolve(project.root, local) : undefined,
            file: abs, span: nodeSpan(y, item),
          });
        }
      }
    } else if (rootNode && !(isScalar(rootNode) && rootNode.value == null)) {
      addDiag(y, rootNode, "warning", "yaml-shape", `${fileName} should be a mapping.`);
    }
    project.diagnostics.push(...y.diagnostics);
  }
  for (const p of project.projectDependencies) packages.add(p);
  return packages;
}

function seqMaps(y: YamlFile, node: YamlNode | undefined, key: string): YamlNode[] {
  if (!node || (isScalar(node) && node.value == null)) return [];
  if (!isSeq(node)) {
    addDiag(y, node, "warning", "yaml-shape", `\`${key}:\` should be a list.`);
    return [];
  }
  const out: YamlNode[] = [];
  for (const raw of node.items) {
    const item = deref(y, raw);
    if (item && isMap(item)) out.push(item);
  }
  return out;
}

/** `package: dbt-labs/dbt_utils` -> dbt_utils; `local: ../x` -> x's project name; `git: .../repo.git` -> repo. */
function packageName(e: Map<string, MapEntry>, root: string, readText: (p: string) => string | undefined): string | undefined {
  const explicit = scalarText(e.get("name")?.value);
  if (explicit) return explicit;
  const hub = scalarText(e.get("package")?.value);
  if (hub) return hub.split("/").pop()?.trim() || undefined;
  const local = scalarText(e.get("local")?.value);
  if (local && !local.includes("{{")) {
    const dir = path.resolve(root, local);
    const n = projectNameOf(path.join(dir, "dbt_project.yml"), readText);
    return n ?? path.basename(dir);
  }
  const git = scalarText(e.get("git")?.value) ?? scalarText(e.get("tarball")?.value);
  if (git) {
    const base = git.replace(/[#?].*$/, "").replace(/\/+$/, "").split(/[/:]/).pop() ?? "";
    return base.replace(/\.(git|tar\.gz|tgz|zip)$/, "").replace(/-/g, "_") || undefined;
  }
  return undefined;
}

function projectNameOf(file: string, readText: (p: string) => string | undefined): string | undefined {
  let text: string | undefined;
  try {
    text = readText(file);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const y = parseYamlFile(text, file);
  const rootNode = deref(y, y.doc.contents);
  if (!rootNode || !isMap(rootNode)) return undefined;
  const n = scalarText(mapEntries(y, rootNode).get("name")?.value)?.trim();
  return n && !n.includes("{{") ? n : undefined;
}

/**
 * dbt's var scoping for this project: every global var, then this project's own scope
 * (`vars: {<project name>: {...}}`) on top. A mapping under the name of another package
 * (declared in packages.yml / dependencies.yml, or installed under packages-install-path) is
 * that package's scope and is left out; other mapping-valued vars stay, as in dbt.
 */
function projectVars(
  raw: Record<string, unknown>,
  project: DbtProject,
  packages: Set<string>,
  readText: (p: string) => string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === project.name && isPlainObject(v)) continue;
    if (isPlainObject(v) && (packages.has(k) || isInstalledPackage(project, k, readText))) continue;
    out[k] = v;
  }
  project.globalVars = { ...out };
  const own = raw[project.name];
  if (isPlainObject(own)) Object.assign(out, own);
  return out;
}

function isInstalledPackage(project: DbtProject, name: string, readText: (p: string) => string | undefined): boolean {
  if (!/^[A-Za-z_][\w-]*$/.test(name)) return false;
  try {
    return readText(path.join(project.packagesPath, name, "dbt_project.yml")) !== undefined;
  } catch {
    return false;
  }
}

// ================================================================ folder-config inheritance

/** Configs whose value may be a mapping, so a bare `meta: {...}` key is a config, not a folder. */
const DICT_CONFIGS = new Set(["meta", "docs", "persist_docs", "grants", "contract", "quoting", "column_types", "labels", "snapshot_meta_column_names"]);
/** Configs merged key by key (deeper keys win). */
const UPDATE_CONFIGS = new Set(["meta", "docs", "persist_docs", "grants", "contract", "quoting", "column_types", "labels"]);
/** Configs appended to (dbt: tags are a union, hooks run parent first). */
const HOOKS = new Set(["pre-hook", "post-hook"]);

function normalizeConfigKey(key: string): string {
  const k = key.trim();
  if (k === "pre_hook") return "pre-hook";
  if (k === "post_hook") return "post-hook";
  return k;
}

function asList(v: unknown): unknown[] {
  if (v == null) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * The configs one level of a config tree sets for the node, given the name of the next level on
 * the node's path (a key equal to it is a folder, never a config).
 */
function levelConfigs(level: Record<string, unknown>, nextSegment: string | undefined): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(level)) {
    if (key.startsWith("+")) {
      out.push([normalizeConfigKey(key.slice(1)), value]);
      continue;
    }
    if (key === nextSegment) continue; // a sub-folder (or the file) on the node's path
    if (value === null || value === undefined) continue; // an empty folder entry
    if (!isPlainObject(value)) {
      out.push([normalizeConfigKey(key), value]); // dbt: a bare key with a non-mapping value is a config
    } else if (DICT_CONFIGS.has(key) && !Object.keys(value).some((k) => k.startsWith("+"))) {
      out.push([key, value]);
    }
  }
  return out;
}

/**
 * dbt's folder-config inheritance for one node: walks `models:` (or `seeds:` / `snapshots:`)
 * from its root, through `<project name>`, the node's folders, to the node's own name, applying
 * each level's configs (`+key`, or a bare key with a non-mapping value / a known mapping config).
 * `tags` accumulate (union), `meta` and the other mapping configs merge key by key, hooks
 * append, every other config is overridden by deeper levels. Packages' top-level keys are
 * ignored. `relPathSegments` is the node's path relative to its resource folder
 * (`["staging", "stg_orders.sql"]`; the extension of the last segment is dropped).
 */
export function resolveNodeConfig(project: DbtProject, resourceType: "models" | "seeds" | "snapshots" | "sources", relPathSegments: string[]): Record<string, unknown> {
  const treeOf = (p: Pick<DbtProject, "modelConfig" | "seedConfig" | "snapshotConfig" | "sourceConfig">) =>
    (resourceType === "models" ? p.modelConfig : resourceType === "seeds" ? p.seedConfig : resourceType === "sources" ? p.sourceConfig : p.snapshotConfig) ?? {};
  const segments = relPathSegments.filter((s) => s !== "" && s !== ".");
  if (segments.length > 0) segments[segments.length - 1] = segments[segments.length - 1].replace(/\.(sql|py|csv|ya?ml)$/i, "");
  const fqn = [project.name, ...segments];

  const result: Record<string, unknown> = {};
  const apply = (key: string, value: unknown): void => {
    if (key === "tags") {
      const tags = Array.isArray(result.tags) ? (result.tags as unknown[]) : [];
      for (const t of asList(value)) if (typeof t === "string" && !tags.includes(t)) tags.push(t);
      result.tags = tags;
    } else if (HOOKS.has(key)) {
      result[key] = [...asList(result[key]), ...asList(value)];
    } else if (UPDATE_CONFIGS.has(key) && isPlainObject(value)) {
      result[key] = { ...(isPlainObject(result[key]) ? result[key] : {}), ...value };
    } else {
      result[key] = value;
    }
  };

  // A package's own configs, then those of the project that installs it (dbt: the root wins).
  for (const tree of [treeOf(project), ...(project.rootConfig ? [treeOf(project.rootConfig)] : [])]) {
    let level: unknown = tree;
    for (let i = 0; i <= fqn.length; i++) {
      if (!isPlainObject(level)) break;
      for (const [k, v] of levelConfigs(level, fqn[i])) apply(k, v);
      if (i === fqn.length) break;
      level = level[fqn[i]];
    }
  }
  return result;
}
