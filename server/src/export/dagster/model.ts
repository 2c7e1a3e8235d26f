/**
 * What a Dagster code location made from the workspace holds, as plain data (rendered to Python by
 * python.ts): every dbt project as dagster-dbt assets whose keys are Tributary's, every TS asset as
 * an asset with the same key and deps run through Dagster Pipes, dbt sources Tributary knows and
 * nothing produces (and exposures) as external assets, every `job()` as an asset job with its
 * selection in Dagster's syntax, every schedule with its cron and time zone. Nothing here depends
 * on the machine or the clock, so the same workspace always exports to the same files.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { findCycles } from "../../graph/graph";
import { parseSelection } from "../../graph/selection";
import { findProfilesFile, readProfiles } from "../../index/dbt/profiles";
import type { WorkspaceIndex } from "../../index/workspace";
import { collectJobs } from "../../jobs/jobs";
import type { AssetNode } from "../../protocol/types";
import { SelectionNotExportable, toDagsterSelection, type DagsterSelectionContext } from "./selection";

/** An asset check, for the export: dbt tests (dagster-dbt makes them checks itself) and TS checks. */
export interface ExportCheck {
  name: string;
  /** `ERROR` fails the asset like an error-severity dbt test; `WARN` only warns. */
  severity: "ERROR" | "WARN";
  description?: string;
}

/**
 * Where the export learns an asset's checks. The default (`indexChecks`) takes them from the index:
 * a TS asset's `checks` and `check()`s become `check_specs` that `run-asset` reports through Pipes;
 * a dbt node's tests are listed (dagster-dbt makes them checks itself when it runs `dbt build`).
 */
export type CheckProvider = (id: string) => readonly ExportCheck[];

/** The checks the index attached to each asset (dbt tests, TS checks). */
export function indexChecks(index: WorkspaceIndex): CheckProvider {
  const byAsset = index.checks().byAsset;
  return (id) =>
    (byAsset.get(id) ?? []).map((c) => {
      const check: ExportCheck = { name: c.name, severity: c.severity === "warn" ? "WARN" : "ERROR" };
      if (c.description) check.description = c.description;
      return check;
    });
}

export interface DbtNodeExport {
  /** dbt's unique_id, e.g. `model.jaffle_forecast.fct_orders`, `source.p.s.t`. */
  uniqueId: string;
  key: string[];
  group?: string;
  checks: ExportCheck[];
}

export interface DbtProjectExport {
  name: string;
  /** Python identifier stem. */
  ident: string;
  /** Project folder relative to the workspace root (posix, `.` for the root). */
  dir: string;
  /** Folder holding profiles.yml, relative to the workspace, when it sits in the project. */
  profilesDir?: string;
  adapterType: string;
  adapterPackage: string;
  nodes: DbtNodeExport[];
}

export interface TsAssetExport {
  id: string;
  key: string[];
  ident: string;
  deps: string[][];
  group?: string;
  description?: string;
  tags: Record<string, string>;
  owners: string[];
  file?: string;
  exportName?: string;
  checks: ExportCheck[];
}

export interface ExternalAssetExport {
  id: string;
  key: string[];
  kind: "source" | "exposure";
  deps: string[][];
  group?: string;
  description?: string;
}

export interface JobExport {
  name: string;
  ident: string;
  /** The selection as written in the job() call. */
  tributarySelection: string;
  /** The same selection in Dagster's syntax. */
  selection: string;
  description?: string;
  schedule?: { as: string; cron: string; timezone?: string; ident: string };
}

export interface DagsterExport {
  codeLocation: string;
  packageName: string;
  /** The workspace root relative to the generated package folder (posix). */
  workspaceFromPackage: string;
  dbtProjects: DbtProjectExport[];
  tsAssets: TsAssetExport[];
  externalAssets: ExternalAssetExport[];
  jobs: JobExport[];
}

export interface ExportProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export class ExportRefused extends Error {
  constructor(readonly problems: ExportProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n"));
  }
}

export const PACKAGE_NAME = "tributary_dagster";

const ADAPTER_PACKAGES: Record<string, string> = { athena: "dbt-athena-community" };

const DBT_NODE_KINDS = new Set(["dbt_model", "dbt_seed", "dbt_snapshot"]);
const TAG_PART = /^[A-Za-z0-9_.-]{1,63}$/;
const TAG_VALUE = /^[A-Za-z0-9_.-]{0,63}$/;
const GROUP = /^[A-Za-z0-9_]+$/;
const PY_KEYWORDS = new Set("False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(" "));

/** A Dagster tag key: `name` or `prefix/name`, each part alphanumeric with `_ . -`, at most 63 characters. */
function validTagKey(key: string): boolean {
  const parts = key.split("/");
  return parts.length <= 2 && parts.every((p) => TAG_PART.test(p));
}

/** Tributary tags (`daily`, `team=growth`) -> Dagster tags (`{daily: ""}`, `{team: "growth"}`); ones Dagster rejects are left out. */
export function dagsterTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of [...tags].sort()) {
    const eq = tag.indexOf("=");
    const [k, v] = eq >= 0 ? [tag.slice(0, eq), tag.slice(eq + 1)] : [tag, ""];
    if (validTagKey(k) && TAG_VALUE.test(v)) out[k] = v;
  }
  return out;
}

/** Tributary owners -> Dagster owners (an e-mail address or `team:name`). */
function dagsterOwners(owners: readonly string[]): string[] {
  return [...new Set(owners.map((o) => (o.includes("@") || o.startsWith("team:") ? o : `team:${o}`)))].filter((o) => o.includes("@") || /^team:[A-Za-z0-9_.-]+$/.test(o)).sort();
}

function dagsterGroup(group: string | undefined): string | undefined {
  return group !== undefined && GROUP.test(group) ? group : undefined;
}

/** dbt's unique_id of a node Tributary read. */
function uniqueId(node: AssetNode): string | undefined {
  const pkg = node.project;
  if (!pkg || !node.dbtName) return undefined;
  if (node.kind === "dbt_model") return `model.${pkg}.${node.dbtName}${node.version !== undefined ? `.v${node.version}` : ""}`;
  if (node.kind === "dbt_seed") return `seed.${pkg}.${node.dbtName}`;
  if (node.kind === "dbt_snapshot") return `snapshot.${pkg}.${node.dbtName}`;
  if (node.sourceName !== undefined && (node.kind === "dbt_source" || node.producedByTs)) return `source.${pkg}.${node.sourceName}.${node.dbtName}`;
  return undefined;
}

/** Python identifiers, unique within the file. */
class Idents {
  private readonly used = new Set([
    ...["dg", "os", "Path", "dbt_assets", "DbtProject", "DbtCliResource", "DagsterDbtTranslator", "DagsterDbtTranslatorSettings"],
    ...["WORKSPACE", "NODE", "TRIBUTARY_CLI", "DBT_KEYS", "DBT_GROUPS", "defs", "run_ts_asset", "tributary_dbt_key", "TributaryDbtTranslator", "EXTERNAL_ASSETS"],
  ]);

  /** Marks names derived from a taken one (`x_project`, `x_dbt_assets`) as used. */
  reserve(...names: string[]): void {
    for (const name of names) this.used.add(name);
  }

  take(wanted: string): string {
    let base = wanted.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1") || "_";
    if (PY_KEYWORDS.has(base)) base += "_";
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

function codeLocationName(root: string, index: WorkspaceIndex): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { name?: unknown };
    if (typeof pkg.name === "string" && pkg.name) return pkg.name.replace(/^@[^/]+\//, "").replace(/[^A-Za-z0-9_]/g, "_");
  } catch {
    // no package.json: name it after the dbt project
  }
  const project = index.projectFiles().find((p) => !p.isPackage)?.project.name;
  return (project ?? "tributary").replace(/[^A-Za-z0-9_]/g, "_");
}

/** Code-unit order: the same on every machine, whatever its locale. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const posix = (p: string) => p.split(path.sep).join("/") || ".";

export interface BuildOptions {
  /** Output folder (absolute). */
  outDir: string;
  checks?: CheckProvider;
  env?: NodeJS.ProcessEnv;
}

/** The export of a workspace; throws `ExportRefused` listing every job that cannot be exported. */
export function buildDagsterExport(index: WorkspaceIndex, root: string, options: BuildOptions): DagsterExport {
  const graph = index.graph;
  const checksOf: CheckProvider = options.checks ?? indexChecks(index);
  const idents = new Idents();
  const rel = (file: string) => posix(path.relative(root, file));
  const nodes = [...graph.nodes.values()].sort((a, b) => byText(a.id, b.id));

  const dbtProjects: DbtProjectExport[] = [];
  for (const files of [...index.projectFiles()].filter((p) => !p.isPackage).sort((a, b) => byText(a.project.name, b.project.name))) {
    const project = files.project;
    const profiles = findProfilesFile(project.root, options.env ?? process.env, existsSync);
    let adapterType = "duckdb";
    if (profiles) {
      try {
        adapterType = readProfiles(readFileSync(profiles, "utf8"), profiles, project.profile ?? project.name, undefined, options.env ?? process.env).type ?? adapterType;
      } catch {
        // unreadable profiles.yml: the index reports it; the export assumes DuckDB like the embedded engine
      }
    }
    const projectNodes: DbtNodeExport[] = [];
    for (const node of nodes) {
      // Package models run in the root project's dbt invocation and sit in its manifest.
      const inProject = node.project === project.name || (node.project !== undefined && index.projectFiles().some((p) => p.isPackage && p.project.name === node.project && p.project.root.startsWith(project.packagesPath)));
      if (!inProject) continue;
      const id = uniqueId(node);
      if (!id) continue;
      const entry: DbtNodeExport = { uniqueId: id, key: node.key, checks: DBT_NODE_KINDS.has(node.kind) ? [...checksOf(node.id)] : [] };
      const group = dagsterGroup(node.group);
      if (group && node.kind !== "ts_asset") entry.group = group;
      projectNodes.push(entry);
    }
    projectNodes.sort((a, b) => byText(a.uniqueId, b.uniqueId));
    const ident = idents.take(project.name);
    idents.reserve(`${ident}_project`, `${ident}_dbt_assets`, `${ident.toUpperCase()}_DBT_KEYS`);
    dbtProjects.push({
      name: project.name,
      ident,
      dir: rel(project.root),
      profilesDir: profiles && path.dirname(profiles) === project.root ? rel(project.root) : undefined,
      adapterType,
      adapterPackage: ADAPTER_PACKAGES[adapterType] ?? `dbt-${adapterType}`,
      nodes: projectNodes,
    });
  }

  const upstreamKeys = (id: string) => [...graph.upstream(id)].sort().map((u) => graph.get(u)!.key);
  const tsAssets: TsAssetExport[] = [];
  const externalAssets: ExternalAssetExport[] = [];
  for (const node of nodes) {
    if (node.kind === "ts_asset") {
      const asset: TsAssetExport = {
        id: node.id,
        key: node.key,
        ident: idents.take(node.key.join("__")),
        deps: upstreamKeys(node.id),
        tags: dagsterTags(node.tags),
        owners: dagsterOwners(node.owners),
        checks: [...checksOf(node.id)],
      };
      const group = dagsterGroup(node.group);
      if (group) asset.group = group;
      if (node.description) asset.description = node.description;
      if (node.file) asset.file = rel(node.file);
      if (node.exportName) asset.exportName = node.exportName;
      tsAssets.push(asset);
    } else if (node.kind === "dbt_source" || node.kind === "dbt_exposure") {
      const external: ExternalAssetExport = { id: node.id, key: node.key, kind: node.kind === "dbt_source" ? "source" : "exposure", deps: upstreamKeys(node.id) };
      const group = dagsterGroup(node.group);
      if (group) external.group = group;
      if (node.description) external.description = node.description;
      externalAssets.push(external);
    }
  }

  // What Dagster will see for each asset, for translating selections.
  const groupById = new Map<string, string | undefined>();
  const tagsById = new Map<string, Record<string, string>>();
  const kindsById = new Map<string, string[]>();
  for (const p of dbtProjects) for (const n of p.nodes) groupById.set(n.key.join("/"), n.group);
  for (const node of nodes) {
    if (DBT_NODE_KINDS.has(node.kind)) {
      kindsById.set(node.id, ["dbt", dbtProjects.find((p) => p.name === node.project)?.adapterType ?? "duckdb"]);
      // dagster-dbt turns each dbt tag into a tag with an empty value.
      tagsById.set(node.id, dagsterTags(node.tags.filter((t) => !t.includes("="))));
    } else if (node.kind === "ts_asset") {
      kindsById.set(node.id, ["typescript"]);
      tagsById.set(node.id, dagsterTags(node.tags));
      groupById.set(node.id, dagsterGroup(node.group));
    } else {
      kindsById.set(node.id, ["dbt"]);
      tagsById.set(node.id, {});
      groupById.set(node.id, dagsterGroup(node.group));
    }
  }
  const selectionContext: DagsterSelectionContext = {
    graph,
    roots: [root, ...index.projectFiles().map((p) => p.project.root)],
    groupOf: (id) => groupById.get(id),
    tagsOf: (id) => tagsById.get(id) ?? {},
    kindsOf: (id) => kindsById.get(id) ?? [],
  };

  const jobs: JobExport[] = [];
  const problems: ExportProblem[] = [];
  for (const job of collectJobs(index, { roots: [root], defaultTimezone: "UTC" })) {
    const at = { file: rel(job.file), line: job.def.span.start.line + 1, column: job.def.span.start.character + 1 };
    const refuse = (message: string) => problems.push({ ...at, message });
    if (job.name === undefined) {
      refuse("a job() without a readable name cannot be exported");
      continue;
    }
    if (job.duplicate) {
      refuse(`two jobs are named '${job.name}'; Dagster job names must be unique`);
      continue;
    }
    if (job.selection === undefined) {
      refuse(`job '${job.name}' has no readable selection`);
      continue;
    }
    const parsed = parseSelection(job.selection);
    if (!parsed.ok) {
      refuse(`job '${job.name}': its selection does not parse (${parsed.error.message})`);
      continue;
    }
    let selection: string;
    try {
      selection = toDagsterSelection(parsed.ast, selectionContext);
    } catch (error) {
      if (!(error instanceof SelectionNotExportable)) throw error;
      refuse(`job '${job.name}': the selection '${job.selection}' cannot be exported to Dagster: ${error.message}`);
      continue;
    }
    if (job.scheduleError) {
      refuse(`job '${job.name}': ${job.scheduleError.message}`);
      continue;
    }
    const exported: JobExport = { name: job.name, ident: idents.take(job.name), tributarySelection: job.selection, selection };
    if (job.def.description) exported.description = job.def.description;
    if (job.schedule && job.def.schedule !== undefined) {
      exported.schedule = { as: job.def.schedule, cron: job.schedule.cron, ident: idents.take(`${job.name}_schedule`) };
      if (job.def.timezone !== undefined) exported.schedule.timezone = job.def.timezone;
    }
    jobs.push(exported);
  }
  for (const cycle of findCycles(graph)) {
    const first = graph.get(cycle[0]);
    problems.push({ file: first?.file ? rel(first.file) : ".", line: first?.span ? first.span.start.line + 1 : 1, column: first?.span ? first.span.start.character + 1 : 1, message: `the assets ${cycle.join(" -> ")} form a cycle; Dagster's asset graph must have none` });
  }
  if (problems.length > 0) throw new ExportRefused(problems);
  jobs.sort((a, b) => byText(a.name, b.name));

  const packageDir = path.join(options.outDir, PACKAGE_NAME);
  return {
    codeLocation: codeLocationName(root, index),
    packageName: PACKAGE_NAME,
    workspaceFromPackage: posix(path.relative(packageDir, root)),
    dbtProjects,
    tsAssets,
    externalAssets,
    jobs,
  };
}
