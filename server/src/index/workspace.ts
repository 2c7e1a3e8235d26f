/**
 * The workspace index: finds dbt projects and TypeScript asset files under the roots, parses each
 * file once (facts cached per file), and links all facts into one graph. `update` re-reads one file
 * and relinks; linking is linear in the number of facts and needs no file access.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import picomatch from "picomatch";
import type { AssetGraph } from "../graph/graph";
import type { IndexDiagnostic } from "../protocol/types";
import { scanSql } from "./dbt/jinja";
import { scanPythonModel } from "./dbt/python";
import { parseManifest } from "./dbt/manifest";
import { readDbtProject } from "./dbt/project";
import { parsePropertiesYaml } from "./dbt/yaml";
import type { DbtProject, SqlFacts, TsFacts, YamlFacts } from "./facts";
import { buildChecks, type CheckIndex } from "./checks";
import { Linker, type LinkResult, type Occurrence, type ProjectFiles } from "./link";
import { makeRelativeResolver, readTsAssets } from "./ts/assets";

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
}

/** Settings a workspace may keep in `tributary.json` at a root. */
export interface TributaryConfig {
  include?: string[];
  exclude?: string[];
  engine?: "embedded" | "dbt";
  dbtExecutable?: string;
  concurrency?: number;
}

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

  constructor(private readonly options: WorkspaceOptions) {
    this.isIncluded = makeFilter(options);
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
    const projectFiles: string[] = [];
    const tsFiles: string[] = [];
    for (const root of this.options.roots) walk(root, (file) => {
      const base = path.basename(file);
      if (base === "dbt_project.yml") projectFiles.push(file);
      else if (TS_FILE.test(base) && !base.endsWith(".d.ts") && this.isIncluded(file)) tsFiles.push(file);
    });
    // Every workspace project first, then what they installed (a package that is also in the
    // workspace is indexed once, from the workspace).
    for (const file of projectFiles) this.loadProject(file, false, false);
    for (const state of [...this.projects.values()]) if (!state.files.isPackage) this.loadPackages(state.files.project);
    this.applyRootVars();
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

  private read(file: string): string | undefined {
    const override = this.options.readOverride?.(file);
    if (override !== undefined) return override;
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  }

  // ------------------------------------------------------------------ dbt

  private loadProject(projectFile: string, isPackage: boolean, withPackages = true): void {
    const text = this.read(projectFile);
    if (text === undefined) return;
    const project = readDbtProject(projectFile, text, (p) => this.read(p));
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
      walk(dir, (file) => {
        if (seen.has(file)) return;
        if (!isPackage && !this.isIncluded(file)) return;
        if (fileMatchesRole(file, role)) {
          seen.add(file);
          this.readDbtFile(state, file, role);
        }
      }, DBT_SKIP_DIRS);
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
        s.files.project.rootConfig = { modelConfig: rp.modelConfig, seedConfig: rp.seedConfig, snapshotConfig: rp.snapshotConfig, sourceConfig: rp.sourceConfig };
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
    const text = this.read(file);
    if (text === undefined) return;
    const files = state.files;
    if (role === "seed" && file.endsWith(".csv")) {
      files.seeds.add(file);
      return;
    }
    if (/\.ya?ml$/.test(file)) {
      const facts: YamlFacts = parsePropertiesYaml(text, file);
      files.yaml.set(file, facts);
      this.fileDiagnostics.set(file, facts.diagnostics);
      return;
    }
    const facts: SqlFacts = file.endsWith(".py") ? scanPythonModel(text, file) : scanSql(text, file);
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
    const text = this.read(manifestFile);
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

/** Depth-first walk calling `visit` for each file; skips dependency and build folders. */
function walk(dir: string, visit: (file: string) => void, skip: ReadonlySet<string> = SKIP_DIRS): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.has(entry.name) && !entry.name.startsWith(".")) walk(full, visit, skip);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
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
  const include = options.include?.length ? picomatch(options.include, { dot: true }) : undefined;
  const exclude = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : undefined;
  if (!include && !exclude) return () => true;
  return (file) => {
    const root = options.roots.find((r) => file.startsWith(r + path.sep));
    const rel = root ? path.relative(root, file).split(path.sep).join("/") : file;
    if (exclude?.(rel)) return false;
    return include ? include(rel) : true;
  };
}

/** Reads `tributary.json` from the first root that has one; a broken file is reported, not fatal. */
export function readTributaryConfig(roots: string[]): { config: TributaryConfig; diagnostics: IndexDiagnostic[] } {
  for (const root of roots) {
    const file = path.join(root, "tributary.json");
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return { config: parsed as TributaryConfig, diagnostics: [] };
      throw new Error("expected a JSON object");
    } catch (error) {
      const zero = { line: 0, character: 0 };
      return {
        config: {},
        diagnostics: [{ file, span: { start: zero, end: zero }, severity: "error", code: "config-invalid", message: `tributary.json is not valid: ${(error as Error).message}` }],
      };
    }
  }
  return { config: {}, diagnostics: [] };
}
