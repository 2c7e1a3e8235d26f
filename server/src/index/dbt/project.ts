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
import { configAlongPath } from "../../dbt/config";
import { scopeVars } from "../../dbt/vars";
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
 * dbt's var scoping for this project (server/src/dbt/vars.ts): a mapping under the name of a
 * package declared in packages.yml / dependencies.yml, or installed under packages-install-path,
 * is that package's scope.
 */
function projectVars(
  raw: Record<string, unknown>,
  project: DbtProject,
  packages: Set<string>,
  readText: (p: string) => string | undefined,
): Record<string, unknown> {
  const scoped = scopeVars(raw, project.name, (k) => packages.has(k) || isInstalledPackage(project, k, readText));
  project.globalVars = scoped.globals;
  return scoped.vars;
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

/**
 * dbt's folder-config inheritance for one node: walks `models:` (or `seeds:` / `snapshots:` /
 * `sources:`) from its root, through `<project name>`, the node's folders, to the node's own
 * name, by dbt's merge rules (server/src/dbt/config.ts). Packages' top-level keys are ignored.
 * `relPathSegments` is the node's path relative to its resource folder
 * (`["staging", "stg_orders.sql"]`; the extension of the last segment is dropped).
 */
export function resolveNodeConfig(project: DbtProject, resourceType: "models" | "seeds" | "snapshots" | "sources", relPathSegments: string[]): Record<string, unknown> {
  const treeOf = (p: Pick<DbtProject, "modelConfig" | "seedConfig" | "snapshotConfig" | "sourceConfig">) =>
    (resourceType === "models" ? p.modelConfig : resourceType === "seeds" ? p.seedConfig : resourceType === "sources" ? p.sourceConfig : p.snapshotConfig) ?? {};
  const segments = relPathSegments.filter((s) => s !== "" && s !== ".");
  if (segments.length > 0) segments[segments.length - 1] = segments[segments.length - 1].replace(/\.(sql|py|csv|ya?ml)$/i, "");
  // A package's own configs, then those of the project that installs it (dbt: the root wins).
  const trees = [treeOf(project), ...(project.rootConfig ? [treeOf(project.rootConfig)] : [])];
  return configAlongPath(trees, [project.name, ...segments]);
}
