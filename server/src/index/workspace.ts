/**
 * The workspace index: finds dbt projects and TypeScript asset files under the roots, parses each
 * file once (facts cached per file), and links all facts into one graph. `update` re-reads one file
 * and relinks; linking is linear in the number of facts and needs no file access.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AssetGraph } from "../graph/graph";
import { compileGlob, type WildcardMatcher } from "../graph/wildcard";
import type { IndexDiagnostic } from "../protocol/types";
import { scanSql } from "./dbt/jinja";
import { scanPythonModel } from "./dbt/python";
import { parseManifest } from "./dbt/manifest";
import { readDbtProject } from "./dbt/project";
import { parsePropertiesYaml } from "./dbt/yaml";
import type { DbtProject, SqlFacts, TsFacts, YamlFacts } from "./facts";
import { buildChecks, type CheckIndex } from "./checks";
import { Linker } from "./link";
import type { LinkResult, Occurrence, ProjectFiles } from "./link/types";
import { makeRelativeResolver, readTsAssets } from "./ts/assets";
import { MAX_MANIFEST_BYTES, MAX_SOURCE_BYTES, ReadScope, undecodableNames, type ReadOutcome } from "./readFile";

/** Folders never walked: dependencies, build output, VCS and tool state. */
const SKIP_DIRS = new Set(["node_modules", ".git", ".hg", ".svn", ".tributary", "dbt_packages", "dbt_modules", "target", "logs", ".venv", "venv", "__pycache__", "dist", "out", "build", ".next", "coverage"]);
/**
 * Inside a dbt resource folder (models/, seeds/, ...) dbt reads every sub-folder: a domain folder
 * may well be called `logs`, `build` or `out`. Only installed packages and tool state are skipped.
 */
const DBT_SKIP_DIRS = new Set(["node_modules", "dbt_packages", "dbt_modules", "__pycache__"]);
const TS_FILE = /\.(ts|mts|cts|tsx)$/;
/** A cheap pre-filter for `export * from` / `export { a } from`: only such files can forward assets. */
const RE_EXPORT = /export\s*(\*|\{[^}]*\})\s*(as\s+\w+\s*)?from\s*["']/;

export interface WorkspaceOptions {
  /** Absolute workspace folders. */
  roots: string[];
  /** Globs (relative to a root) a TS or dbt file must match; default: everything. */
  include?: string[];
  /** Globs (relative to a root) excluded from indexing. */
  exclude?: string[];
  /** Text of open editors wins over the disk. */
  readOverride?: (file: string) => string | undefined;
  /** Problems found in `tributary.json`, reported with the index's own. */
  configDiagnostics?: IndexDiagnostic[];
}

export { readTributaryConfig, type TributaryConfig } from "./config";

type FileRole = "model" | "snapshot" | "macro" | "seed" | "test" | "yaml" | "ts";

interface ProjectState {
  files: ProjectFiles;
  /** Absolute folders whose files belong to this project, per role. */
  folders: { role: FileRole; dir: string }[];
  /** The project's own vars, before a root project's vars are laid over them. */
  ownVars: Record<string, unknown>;
}

export class WorkspaceIndex {
  private projects = new Map<string, ProjectState>();
  private readonly ts = new Map<string, TsFacts>();
  private readonly projectDiagnostics = new Map<string, IndexDiagnostic[]>();
  private readonly fileDiagnostics = new Map<string, IndexDiagnostic[]>();
  private linked: LinkResult | undefined;
  private linker: Linker | undefined;
  private checkIndex: { of: LinkResult; index: CheckIndex } | undefined;
  private readonly isIncluded: (file: string) => boolean;
  private readonly resolveModule = makeRelativeResolver((p) => fs.existsSync(p));
  /**
   * Facts parsed during one load, by file: projects that share folders (`model-paths: ["models",
   * "../../sources"]` in every project of a repository) parse each shared file once.
   */
  private shared: Map<string, { text: string; facts: SqlFacts | YamlFacts }> | undefined;
  private scope: ReadScope;

  constructor(private readonly options: WorkspaceOptions) {
    this.isIncluded = makeFilter(options);
    this.scope = new ReadScope(options.roots);
  }

  /** New workspace folders: everything is read again. */
  setRoots(roots: string[]): void {
    this.options.roots = [...roots];
    this.load();
  }

  /** Reads the whole workspace from disk. */
  load(): void {
    this.projects.clear();
    this.ts.clear();
    this.fileDiagnostics.clear();
    this.projectDiagnostics.clear();
    this.scope = new ReadScope(this.options.roots);
    const projectFiles: string[] = [];
    const tsFiles: string[] = [];
    this.shared = new Map();
    const isTs = (file: string) => TS_FILE.test(file) && !file.endsWith(".d.ts") && this.isIncluded(file);
    for (const root of this.options.roots) walk(root, (file) => {
      const base = path.basename(file);
      if (base === "dbt_project.yml") projectFiles.push(file);
      else if (isTs(base)) tsFiles.push(file);
    }, SKIP_DIRS, (file, escaped, isDir) => (isDir || isTs(file)) && this.reportBadName(file, escaped, isDir));
    // Every workspace project first, then what they installed (a package that is also in the
    // workspace is indexed once, from the workspace).
    for (const file of projectFiles) this.loadProject(file, false, false);
    for (const state of [...this.projects.values()]) if (!state.files.isPackage) this.loadPackages(state.files.project);
    this.applyRootVars();
    this.shared = undefined;
    for (const file of tsFiles) this.readTs(file);
    this.linked = undefined;
    this.checkIndex = undefined;
  }

  get graph(): AssetGraph {
    return this.link().graph;
  }

  get occurrences(): Map<string, Occurrence[]> {
    return this.link().occurrences;
  }

  /** The merged dbt config of a dbt node (folder configs, YAML properties, in-file config()). */
  configOf(id: string): Record<string, unknown> {
    return this.link().configs.get(id) ?? {};
  }

  /** dbt tests and TS checks, attached to the assets they test (rebuilt after any change). */
  checks(): CheckIndex {
    const linked = this.link();
    if (this.checkIndex?.of !== linked) this.checkIndex = { of: linked, index: buildChecks(this.projectFiles(), linked.graph, this.ts) };
    return this.checkIndex.index;
  }

  /** Assets defined (or described) in a file. */
  assetsIn(file: string): string[] {
    return this.link().assetsByFile.get(file) ?? [];
  }

  /** Every diagnostic, per absolute file path. */
  diagnostics(): Map<string, IndexDiagnostic[]> {
    const out = new Map<string, IndexDiagnostic[]>();
    const add = (list: IndexDiagnostic[]) => {
      for (const d of list) {
        const existing = out.get(d.file);
        if (existing) existing.push(d);
        else out.set(d.file, [d]);
      }
    };
    add(this.options.configDiagnostics ?? []);
    for (const list of this.projectDiagnostics.values()) add(list);
    for (const list of this.fileDiagnostics.values()) add(list);
    for (const list of this.link().diagnostics.values()) add(list);
    add(this.checks().diagnostics);
    return out;
  }

  /** dbt projects, by root folder. */
  dbtProjects(): DbtProject[] {
    return [...this.projects.values()].filter((p) => !p.files.isPackage).map((p) => p.files.project);
  }

  /** All project states, packages included (the runner needs package macros). */
  projectFiles(): ProjectFiles[] {
    return [...this.projects.values()].map((p) => p.files);
  }

  tsFacts(file: string): TsFacts | undefined {
    return this.ts.get(file);
  }

  tsFiles(): string[] {
    return [...this.ts.keys()];
  }

  /**
   * A file changed, was created (`text` given or read from disk) or was deleted (`exists` false).
   * Returns true when the file matters to the index.
   */
  update(file: string, exists = true): boolean {
    this.checkIndex = undefined;
    const base = path.basename(file);
    if (base === "dbt_project.yml" || base === "dependencies.yml" || base === "packages.yml") {
      const projectFile = path.join(path.dirname(file), "dbt_project.yml");
      const existing = this.projects.get(path.dirname(file));
      if (existing) this.removeProject(existing);
      // A project under an installed-packages folder stays a package.
      const isPackage = existing?.files.isPackage ?? [...this.projects.values()].some((s) => !s.files.isPackage && projectFile.startsWith(s.files.project.packagesPath + path.sep));
      if (fs.existsSync(projectFile)) this.loadProject(projectFile, isPackage);
      this.applyRootVars();
      this.linked = undefined;
      return true;
    }
    if (base === "manifest.json") {
      for (const state of this.projects.values()) {
        if (path.dirname(file) === state.files.project.targetPath) {
          this.readManifest(state);
          this.linked = undefined;
          return true;
        }
      }
      return false;
    }
    let changed = false;
    let graphChanged = false;
    for (const state of this.projects.values()) {
      const role = roleOf(state, file);
      if (!role) continue;
      this.forget(state, file);
      if (exists) this.readDbtFile(state, file, role);
      changed = true;
      // Test SQL makes checks, not assets: the linked graph stays as it is.
      if (role !== "test" || /\.ya?ml$/.test(file)) graphChanged = true;
    }
    if (changed && !graphChanged && !TS_FILE.test(base)) return true;
    if (TS_FILE.test(base) && !base.endsWith(".d.ts") && !isSkipped(file)) {
      this.ts.delete(file);
      this.fileDiagnostics.delete(file);
      if (exists && this.isIncluded(file)) this.readTs(file);
      changed = true;
    }
    if (changed && this.linked) {
      // Most edits keep a file's assets: relink just that file; anything else relinks everything.
      this.linked = exists ? this.linker?.relinkFile(file) : undefined;
    }
    return changed;
  }

  private link(): LinkResult {
    if (!this.linked) {
      this.linker = new Linker({ projects: [...this.projects.values()].map((p) => p.files), ts: this.ts });
      this.linked = this.linker.link();
    }
    return this.linked;
  }

  /**
   * The text of a workspace file (an open editor's text first). A file that is not a regular file
   * inside the workspace, or is too large, is not read: it gets a diagnostic saying why.
   */
  private read(file: string, maxBytes = MAX_SOURCE_BYTES): string | undefined {
    const override = this.options.readOverride?.(file);
    if (override !== undefined) return override;
    return this.vetted(file, this.scope.read(file, maxBytes));
  }

  /** True when a seed (any size) is a regular file inside the workspace; its rows are read only by a run. */
  private seedExists(file: string): boolean {
    return this.vetted(file, this.scope.check(file)) !== undefined;
  }

  private vetted(file: string, outcome: ReadOutcome): string | undefined {
    if (outcome.ok) return outcome.text;
    if (!outcome.missing) {
      const zero = { line: 0, character: 0 };
      this.fileDiagnostics.set(file, [{ file, span: { start: zero, end: zero }, severity: "warning", code: "file-skipped", message: `Not read: ${path.basename(file)} ${outcome.reason}.` }]);
    }
    return undefined;
  }

  private reportBadName(file: string, escaped: string, isDir: boolean): void {
    const zero = { line: 0, character: 0 };
    const what = isDir ? `the folder name '${escaped}' in ${path.dirname(file)} is not valid UTF-8, so nothing in it is read` : `the file name '${escaped}' in ${path.dirname(file)} is not valid UTF-8`;
    this.fileDiagnostics.set(file, [{ file, span: { start: zero, end: zero }, severity: "warning", code: "file-name-encoding", message: `Not read: ${what}; rename it.` }]);
  }

  // ------------------------------------------------------------------ dbt

  private loadProject(projectFile: string, isPackage: boolean, withPackages = true): void {
    const text = this.read(projectFile);
    if (text === undefined) return;
    // Resource folders are read only inside the workspace (`model-paths: ["/"]` must not index the disk).
    const project = readDbtProject(projectFile, text, (p) => this.read(p), process.env, { allowFolder: (dir) => this.scope.containsFolder(dir) });
    const root = path.dirname(projectFile);
    // An installed copy of a project that is in the workspace itself (`local:` packages in a
    // monorepo), or that another project of the workspace installed too: index it once.
    if (isPackage && [...this.projects.values()].some((s) => s.files.project.name === project.name)) return;
    this.projectDiagnostics.set(projectFile, project.diagnostics);
    const folders: ProjectState["folders"] = [
      ...project.modelPaths.map((dir) => ({ role: "model" as const, dir })),
      ...project.snapshotPaths.map((dir) => ({ role: "snapshot" as const, dir })),
      ...project.seedPaths.map((dir) => ({ role: "seed" as const, dir })),
      ...project.macroPaths.map((dir) => ({ role: "macro" as const, dir })),
      ...project.testPaths.map((dir) => ({ role: "test" as const, dir })),
    ];
    const state: ProjectState = {
      files: {
        project,
        isPackage,
        models: new Map(),
        snapshots: new Map(),
        macros: new Map(),
        seeds: new Set(),
        yaml: new Map(),
        tests: new Map(),
        declaresPackages: declaresPackages(root, (p) => this.read(p)),
      },
      folders,
      ownVars: project.vars,
    };
    this.projects.set(root, state);
    const seen = new Set<string>();
    for (const { role, dir } of folders) {
      const wanted = (file: string) => !seen.has(file) && (isPackage || this.isIncluded(file)) && fileMatchesRole(file, role);
      walk(dir, (file) => {
        if (wanted(file)) {
          seen.add(file);
          this.readDbtFile(state, file, role);
        }
      }, DBT_SKIP_DIRS, (file, escaped, isDir) => (isDir || wanted(file)) && this.reportBadName(file, escaped, isDir));
    }
    this.readManifest(state);
    if (!isPackage && withPackages) this.loadPackages(project);
  }

  /**
   * dbt gives a package the vars and the folder configs (`models: {<package>: ...}`) of the
   * project that installs it (its global vars and its
   * `vars: {<package>: {...}}` scope win over the package's own). The same holds for a workspace
   * project another one installs with `local:` (a package developed next to its integration
   * tests, whose models are all disabled unless the tests' project enables them).
   */
  private applyRootVars(): void {
    const states = [...this.projects.values()];
    for (const s of states) {
      s.files.project.vars = s.ownVars;
      delete s.files.project.rootConfig;
    }
    const done = new Set<ProjectState>();
    for (const root of states) {
      if (root.files.isPackage) continue;
      const rp = root.files.project;
      const consumers = states.filter((s) => s.files.isPackage && s.files.project.root.startsWith(rp.packagesPath + path.sep));
      for (const dir of rp.localPackages ?? []) {
        const s = this.projects.get(dir);
        if (s && s !== root && !s.files.isPackage) consumers.push(s);
      }
      for (const s of consumers) {
        if (done.has(s)) continue;
        done.add(s);
        const scoped = rp.rawVars?.[s.files.project.name];
        const scope = scoped && typeof scoped === "object" && !Array.isArray(scoped) ? (scoped as Record<string, unknown>) : {};
        s.files.project.vars = { ...s.ownVars, ...(rp.globalVars ?? {}), ...scope };
        s.files.project.rootConfig = { modelConfig: rp.modelConfig, seedConfig: rp.seedConfig, snapshotConfig: rp.snapshotConfig, sourceConfig: rp.sourceConfig, dispatch: rp.dispatch };
      }
    }
  }

  /** Installed packages (`dbt deps`) are projects too: their models, sources and macros resolve refs. */
  private loadPackages(project: DbtProject): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(project.packagesPath, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(project.packagesPath, entry.name, "dbt_project.yml");
      if (entry.isDirectory() && !this.projects.has(path.dirname(file)) && fs.existsSync(file)) this.loadProject(file, true);
    }
  }

  private removeProject(state: ProjectState): void {
    this.projects.delete(state.files.project.root);
    this.projectDiagnostics.delete(state.files.project.file);
    for (const map of [state.files.models, state.files.snapshots, state.files.macros, state.files.yaml, state.files.tests ?? new Map<string, unknown>()]) {
      for (const file of map.keys()) this.fileDiagnostics.delete(file);
    }
    for (const pkg of [...this.projects.values()]) {
      if (pkg.files.isPackage && pkg.files.project.root.startsWith(state.files.project.packagesPath + path.sep)) this.removeProject(pkg);
    }
  }

  private readDbtFile(state: ProjectState, file: string, role: FileRole): void {
    const files = state.files;
    // A seed's rows are the engine's business: the index needs its name only.
    if (role === "seed" && file.endsWith(".csv")) {
      if (this.seedExists(file)) files.seeds.add(file);
      return;
    }
    const cached = this.shared?.get(file);
    const text = cached?.text ?? this.read(file);
    if (text === undefined) return;
    if (/\.ya?ml$/.test(file)) {
      const facts = cached ? (cached.facts as YamlFacts) : parsePropertiesYaml(text, file);
      this.shared?.set(file, { text, facts });
      files.yaml.set(file, facts);
      this.fileDiagnostics.set(file, facts.diagnostics);
      return;
    }
    const facts = cached ? (cached.facts as SqlFacts) : file.endsWith(".py") ? scanPythonModel(text, file) : scanSql(text, file);
    this.shared?.set(file, { text, facts });
    this.fileDiagnostics.set(file, facts.diagnostics);
    if (role === "model") files.models.set(file, facts);
    else if (role === "snapshot") files.snapshots.set(file, facts);
    else if (role === "macro") files.macros.set(file, facts);
    else if (role === "test") (files.tests ??= new Map()).set(file, facts);
  }

  private forget(state: ProjectState, file: string): void {
    const files = state.files;
    files.models.delete(file);
    files.snapshots.delete(file);
    files.macros.delete(file);
    files.yaml.delete(file);
    files.seeds.delete(file);
    files.tests?.delete(file);
    this.fileDiagnostics.delete(file);
  }

  /** The manifest counts only when it is newer than every file of the project. */
  private readManifest(state: ProjectState): void {
    const files = state.files;
    files.manifest = undefined;
    const manifestFile = path.join(files.project.targetPath, "manifest.json");
    let manifestTime: number;
    try {
      manifestTime = fs.statSync(manifestFile).mtimeMs;
    } catch {
      return;
    }
    const sources = [files.project.file, ...files.models.keys(), ...files.snapshots.keys(), ...files.macros.keys(), ...files.yaml.keys(), ...files.seeds];
    for (const file of sources) {
      try {
        if (fs.statSync(file).mtimeMs > manifestTime) return;
      } catch {
        // A file deleted meanwhile does not make the manifest stale.
      }
    }
    const text = this.read(manifestFile, MAX_MANIFEST_BYTES);
    if (text === undefined) return;
    const manifest = parseManifest(text, manifestFile);
    this.fileDiagnostics.set(manifestFile, manifest.diagnostics);
    if (manifest.diagnostics.length === 0) files.manifest = manifest;
  }

  // ------------------------------------------------------------------ TypeScript

  private readTs(file: string): void {
    const text = this.read(file);
    if (text === undefined) return;
    // Barrel files re-export assets without importing tributary-assets themselves.
    const reexports = !text.includes("tributary-assets") && RE_EXPORT.test(text);
    const facts = readTsAssets(file, text, this.resolveModule, { parseWithoutTributary: reexports });
    // Files that do not import tributary-assets are kept (they may re-export assets) but quiet.
    this.ts.set(file, facts);
    if (facts.importsTributary) this.fileDiagnostics.set(file, facts.diagnostics);
  }
}

// ---------------------------------------------------------------------- file system helpers

/**
 * Depth-first walk calling `visit` for each file (links to folders are not followed); skips
 * dependency and build folders. Files whose name is not valid UTF-8 go to `badName` instead.
 */
function walk(dir: string, visit: (file: string) => void, skip: ReadonlySet<string> = SKIP_DIRS, badName?: (file: string, escaped: string, isDir: boolean) => void): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  let undecodable: Map<string, string> | undefined;
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.name.includes("\uFFFD")) {
      undecodable ??= undecodableNames(dir);
      const escaped = undecodable.get(entry.name);
      if (escaped !== undefined) {
        badName?.(full, escaped, entry.isDirectory());
        continue;
      }
    }
    if (entry.isDirectory()) {
      if (!skip.has(entry.name) && !entry.name.startsWith(".")) walk(full, visit, skip, badName);
    } else {
      // Links, FIFOs and devices too: reading them is refused with a diagnostic, not skipped silently.
      visit(full);
    }
  }
}

function isSkipped(file: string, skip: ReadonlySet<string> = SKIP_DIRS, hidden = false): boolean {
  return file.split(path.sep).some((part) => skip.has(part) || (hidden && part.startsWith(".") && part !== "." && part !== ".."));
}

function fileMatchesRole(file: string, role: FileRole): boolean {
  if (/\.ya?ml$/.test(file)) return true;
  if (role === "seed") return file.endsWith(".csv");
  if (role === "model") return file.endsWith(".sql") || file.endsWith(".py");
  return file.endsWith(".sql");
}

function roleOf(state: ProjectState, file: string): FileRole | undefined {
  for (const { role, dir } of state.folders) {
    if (file.startsWith(dir + path.sep) && fileMatchesRole(file, role) && !isSkipped(path.dirname(path.relative(dir, file)), DBT_SKIP_DIRS, true)) return role;
  }
  return undefined;
}

function declaresPackages(root: string, read: (file: string) => string | undefined): boolean {
  for (const name of ["packages.yml", "dependencies.yml"]) {
    const text = read(path.join(root, name));
    if (text && /^packages\s*:/m.test(text)) return true;
  }
  return false;
}

function makeFilter(options: WorkspaceOptions): (file: string) => boolean {
  // Globs come from tributary.json: compiled to matchers that cannot backtrack (picomatch's
  // regular expressions take exponential time on `a*a*a*…c`).
  const anyOf = (globs: string[]): WildcardMatcher => {
    const matchers = globs.map(compileGlob);
    return (rel) => matchers.some((m) => m(rel));
  };
  const include = options.include?.length ? anyOf(options.include) : undefined;
  const exclude = options.exclude?.length ? anyOf(options.exclude) : undefined;
  if (!include && !exclude) return () => true;
  return (file) => {
    const root = options.roots.find((r) => file.startsWith(r + path.sep));
    const rel = root ? path.relative(root, file).split(path.sep).join("/") : file;
    if (exclude?.(rel)) return false;
    return include ? include(rel) : true;
  };
}
