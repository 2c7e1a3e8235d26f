/**
 * Turns the facts of every file into one asset graph, with diagnostics and the occurrence table
 * that hover / definition / references use. Pure: no file system access.
 *
 * Two passes: every project's and TS file's nodes are made and registered (duplicates, TS assets
 * that produce a dbt source), then each node's references are linked. Its parts in `link/`: the
 * macro table and call expansion, property YAML per project, the nodes built straight from facts,
 * the missing-package warning, and small text helpers.
 */
import * as path from "node:path";
import { AssetGraph, findCycles } from "../graph/graph";
import { formatKey, keyId, keyProblem } from "../graph/keys";
import type { AssetEdge, AssetKind, EdgeOrigin, FileSpan, IndexDiagnostic, Severity, Span } from "../protocol/types";
import { evalEnabled, jinjaTruth, resolveJinjaTuples, resolveJinjaValues, scanSql, usesVars } from "./dbt/jinja";
import { resolveNodeConfig } from "./dbt/project";
import { mergeConfig } from "../dbt/config";
import { refArguments, sourceArguments } from "../dbt/refs";
import type { JinjaExpr, RefCall, SourceCall, SqlFacts, TsFacts, VarCall, YamlRefDep } from "./facts";
import { MacroTable } from "./link/macros";
import { missingPackageWarnings } from "./link/missingPackages";
import { exposureNode, plainNode, sourceTableNode, tsAssetNode, tsSignature } from "./link/nodes";
import { collectProps, literalConfig, overrideKey, relSegments, yamlDepCalls, type ProjectProps, type PropsEntry } from "./link/props";
import { asRecord, asString, asStrings, commonFolder, didYouMean, exprText, push, unique, zeroSpan } from "./link/text";
import type { LinkInput, LinkResult, NodeRefs, Occurrence, PendingNode, ProjectFiles } from "./link/types";
import { resolveTsRef } from "./ts/resolveDeps";

const DBT_KINDS: ReadonlySet<AssetKind> = new Set(["dbt_model", "dbt_seed", "dbt_snapshot"]);

/** Diagnostic codes a file's own references produce (recomputed when the file is relinked). */
const REFERENCE_CODES = new Set(["unknown-ref", "dynamic-ref", "unknown-source", "dynamic-source", "unknown-dep", "cycle"]);

export class Linker {
  private readonly graph = new AssetGraph();
  private readonly diagnostics = new Map<string, IndexDiagnostic[]>();
  private readonly occurrences = new Map<string, Occurrence[]>();
  private readonly assetsByFile = new Map<string, string[]>();
  private readonly configs = new Map<string, Record<string, unknown>>();
  private readonly pending: PendingNode[] = [];
  /** dbt name -> ids (models, seeds, snapshots) per project name. */
  private readonly dbtByProject = new Map<string, Map<string, string[]>>();
  /** dbt name -> ids across all projects. */
  private readonly dbtByName = new Map<string, string[]>();
  /** `source\u0000table` -> id. */
  private readonly sources = new Map<string, string>();
  private readonly sourceNames = new Map<string, string[]>();
  private readonly macros = new MacroTable();
  /** `var()` values holding Jinja, scanned once. */
  private readonly varJinja = new Map<string, SqlFacts>();
  private readonly tsIdsByDef = new Map<object, string>();
  private readonly latestVersions = new Set<string>();
  private readonly propsByProject = new Map<ProjectFiles, ProjectProps>();
  /** The pending nodes each model / snapshot / TS file produced, for in-place relinking. */
  private readonly nodesByFile = new Map<string, PendingNode[]>();
  /** Model / seed / snapshot names defined in more than one project. */
  private readonly sharedNames = new Set<string>();
  /** Source tables (parsed facts) already made nodes. */
  private readonly tablesSeen = new Set<object>();
  /** Model names each project refs without finding them (for the missing-package diagnostic). */
  private readonly unresolvedRefs = new Map<ProjectFiles, Set<string>>();
  /** What other TS files can see of a TS file (its exports and asset keys). */
  private readonly tsSignatures = new Map<string, string>();

  /**
   * Relinks one changed model, snapshot or TS file in place when it still defines the same assets
   * and exports (the common edit): its nodes are replaced, the edges its references made are
   * rebuilt, cycles are re-checked. Returns false when the change reaches further (assets added,
   * removed or renamed, exports changed); then the caller links from scratch.
   */
  relinkFile(file: string): LinkResult | undefined {
    const old = this.nodesByFile.get(file);
    if (!old) return undefined;
    const tsFacts = this.input.ts.get(file);
    const project = tsFacts ? undefined : this.input.projects.find((p) => p.models.has(file) || p.snapshots.has(file));
    if (!tsFacts && !project) return undefined;
    if (tsFacts && this.tsSignatures.get(file) !== tsSignature(tsFacts)) return undefined;
    const made = this.recordFileNodes(file, () => {
      if (tsFacts) this.addTsFile(file, tsFacts);
      else if (project!.models.has(file)) this.addModelFile(project!, file, project!.models.get(file)!);
      else for (const snap of project!.snapshots.get(file)!.snapshots) this.addSnapshot(project!, file, snap, this.propsByProject.get(project!)!.snapshots.get(snap.name));
    });
    this.pending.length = 0;
    const sameAssets = made.length === old.length && made.every((n, i) => n.id === old[i].id);
    if (!sameAssets) return undefined;
    // Foreign-key edges are reported against the YAML file, which this fast path does not clear.
    if (made.some((n) => this.constraintDeps(n))) return undefined;
    for (const node of made) {
      const current = this.graph.get(node.id);
      if (!current || current.kind !== node.kind || current.file !== file || current.producedByTs) return undefined;
    }
    const ids = new Set(made.map((n) => n.id));
    this.occurrences.set(file, (this.occurrences.get(file) ?? []).filter((o) => o.role === "definition" && !ids.has(o.target!)));
    this.dropDiagnostics((d) => d.code === "cycle" || (d.file === file && REFERENCE_CODES.has(d.code)));
    for (const node of made) {
      this.graph.replaceNode(plainNode(node));
      if (node.config) this.configs.set(node.id, node.config);
      this.graph.removeEdgesInto(node.id);
      if (node.nameSpan) this.occur(file, { span: node.nameSpan, target: node.id, role: "definition" });
    }
    if (tsFacts) this.linkTsFile(file, tsFacts);
    else for (const node of made) this.linkDbtNode(node);
    this.reportCycles();
    return this.result();
  }

  private dropDiagnostics(drop: (d: IndexDiagnostic) => boolean): void {
    for (const [file, list] of this.diagnostics) {
      const kept = list.filter((d) => !drop(d));
      if (kept.length === 0) this.diagnostics.delete(file);
      else if (kept.length !== list.length) this.diagnostics.set(file, kept);
    }
  }

  constructor(private readonly input: LinkInput) {}

  link(): LinkResult {
    this.findSharedNames();
    for (const p of this.input.projects) this.macros.add(p);
    for (const p of this.input.projects) this.addDbtNodes(p);
    this.addTsNodes();
    this.registerNodes();
    for (const node of this.pending) this.linkDbtNode(node);
    this.linkExposures();
    this.linkTs();
    for (const p of this.input.projects) this.mergeManifest(p);
    this.reportCycles();
    for (const p of this.input.projects) this.reportMissingPackages(p);
    for (const [file, facts] of this.input.ts) this.tsSignatures.set(file, tsSignature(facts));
    this.pending.length = 0;
    return this.result();
  }

  /** dbt names defined by more than one project (their keys are qualified with the project name). */
  private findSharedNames(): void {
    const owner = new Map<string, string>();
    const note = (name: string, project: string) => {
      const seen = owner.get(name);
      if (seen === undefined) owner.set(name, project);
      else if (seen !== project) this.sharedNames.add(name);
    };
    for (const p of this.input.projects) {
      const versioned = new Map<string, string>();
      for (const facts of p.yaml.values()) {
        for (const m of facts.models) for (const v of m.versions ?? []) versioned.set(v.definedIn ?? `${m.name}_v${v.v}`, m.name);
      }
      for (const file of p.models.keys()) {
        const base = path.basename(file, path.extname(file));
        note(versioned.get(base) ?? base, p.project.name);
      }
      for (const file of p.seeds) note(path.basename(file, path.extname(file)), p.project.name);
      for (const facts of p.snapshots.values()) for (const snap of facts.snapshots) note(snap.name, p.project.name);
      for (const facts of p.models.values()) for (const snap of facts.snapshots) note(snap.name, p.project.name);
      for (const facts of p.yaml.values()) for (const snap of facts.snapshots) if (snap.relation) note(snap.name, p.project.name);
    }
  }

  private result(): LinkResult {
    return {
      graph: this.graph,
      diagnostics: this.diagnostics,
      occurrences: this.occurrences,
      assetsByFile: this.assetsByFile,
      configs: this.configs,
    };
  }

  // ------------------------------------------------------------------ helpers

  /** True (with an error at the node's name) when a dbt node's key cannot name an asset. */
  private rejectKey(key: string[], file: string, span: Span, owner: ProjectFiles): boolean {
    const problem = keyProblem(key);
    if (problem) this.report(file, span, "error", "invalid-key", `The asset key '${formatKey(key)}' is not valid: ${problem}. This node is left out of the graph.`, owner);
    return problem !== undefined;
  }

  private report(file: string, span: Span, severity: Severity, code: string, message: string, owner?: ProjectFiles): void {
    if (owner?.isPackage) return;
    let list = this.diagnostics.get(file);
    if (!list) this.diagnostics.set(file, (list = []));
    list.push({ file, span, severity, code, message });
  }

  private occur(file: string, occurrence: Occurrence): void {
    let list = this.occurrences.get(file);
    if (!list) this.occurrences.set(file, (list = []));
    list.push(occurrence);
  }

  private edge(from: string, to: string, origin: EdgeOrigin, at?: FileSpan): void {
    const edge: AssetEdge = at ? { from, to, origin, at } : { from, to, origin };
    this.graph.addEdge(edge);
  }

  // ------------------------------------------------------------------ dbt nodes

  private addDbtNodes(p: ProjectFiles): void {
    const project = p.project;
    const props = collectProps(p);
    this.propsByProject.set(p, props);

    for (const file of p.seeds) {
      const name = path.basename(file, path.extname(file));
      this.addDbtNode(p, "dbt_seed", name, file, zeroSpan(), undefined, props.seeds.get(name), "seeds");
    }
    for (const [file, facts] of p.models) this.recordFileNodes(file, () => this.addModelFile(p, file, facts));
    for (const [file, facts] of p.snapshots) {
      this.recordFileNodes(file, () => {
        for (const snap of facts.snapshots) this.addSnapshot(p, file, snap, props.snapshots.get(snap.name));
      });
    }
    // YAML-defined snapshots (dbt >= 1.9): `snapshots: [{name, relation: ref('x'), config}]`.
    const sqlSnapshots = new Set<string>();
    for (const facts of [...p.snapshots.values(), ...p.models.values()]) for (const snap of facts.snapshots) sqlSnapshots.add(snap.name);
    for (const [file, facts] of p.yaml) {
      for (const props of facts.snapshots) {
        const relation = props.relation;
        if (!relation || sqlSnapshots.has(props.name)) continue;
        const { refs, sources } = yamlDepCalls(relation);
        const before = this.pending.length;
        this.addDbtNode(p, "dbt_snapshot", props.name, file, props.nameSpan, { refs, sources, macroCalls: [] }, { file, props }, "snapshots");
        for (const node of this.pending.slice(before)) node.alsoAt = [];
      }
    }
    // Most projects have no `sources:` tree: then nothing in it can disable a table.
    const sourceTree = [project.sourceConfig, project.rootConfig?.sourceConfig].some((t) => t && Object.keys(t).length > 0);
    for (const [file, facts] of p.yaml) {
      const folders = sourceTree && facts.sources.length > 0 ? relSegments(project, file, "models").slice(0, -1) : [];
      for (const source of facts.sources) {
        for (const table of source.tables) {
          // YAML (table, then source) wins over dbt_project.yml's `sources:` tree, walked by the
          // source's fqn: project, the property file's folders, source, table.
          const treeEnabled = !sourceTree ? undefined : resolveNodeConfig(project, "sources", [...folders, source.name, table.name]).enabled ?? resolveNodeConfig(project, "sources", [source.name, table.name]).enabled;
          const enabled = table.enabled ?? source.enabled ?? treeEnabled;
          if (enabled !== undefined && evalEnabled(enabled, project.vars) === false) continue;
          // A property file in a folder several projects read (a root `sources/` in every
          // project's model-paths) is parsed once: its tables become one node, not one per project.
          if (this.tablesSeen.has(table)) continue;
          this.tablesSeen.add(table);
          const meta = { ...source.meta, ...table.meta };
          const key = overrideKey(meta) ?? [source.name, table.name];
          if (this.rejectKey(key, file, table.nameSpan ?? table.span, p)) continue;
          this.pending.push(sourceTableNode(p, file, source, table, key, meta));
        }
      }
      for (const exposure of facts.exposures) {
        this.pending.push(exposureNode(p, file, exposure));
      }
    }
    // YAML entries describing models that do not exist are worth a warning (typo or deleted model).
    for (const [name, entry] of props.models) {
      if (!props.definedModels.has(name) && !entry.props.versions?.length && !entry.props.name.includes("{")) {
        this.report(entry.file, entry.props.nameSpan, "warning", "unknown-model-props", `Properties for model '${name}', but no model file '${name}.sql' exists in project '${project.name}'.`, p);
      }
    }
  }

  private addModelFile(p: ProjectFiles, file: string, facts: SqlFacts): void {
    const props = this.propsByProject.get(p)!;
    const base = path.basename(file, path.extname(file));
    const version = props.versioned.get(base);
    const name = version?.name ?? base;
    this.addDbtNode(p, "dbt_model", name, file, zeroSpan(), facts, props.models.get(name), "models", {}, version);
    for (const snap of facts.snapshots) this.addSnapshot(p, file, snap, props.snapshots.get(snap.name));
  }

  /** Runs `add` and remembers the pending nodes it produced as the nodes of `file`. */
  private recordFileNodes(file: string, add: () => void): PendingNode[] {
    const before = this.pending.length;
    add();
    const made = this.pending.slice(before);
    this.nodesByFile.set(file, made);
    return made;
  }

  private addSnapshot(p: ProjectFiles, file: string, snap: SqlFacts["snapshots"][number], props: PropsEntry | undefined): void {
    const facts = { refs: snap.refs, sources: snap.sources, macroCalls: snap.macroCalls, varCalls: snap.varCalls, config: snap.config };
    this.addDbtNode(p, "dbt_snapshot", snap.name, file, snap.nameSpan, facts, props, "snapshots", literalConfig(snap.config));
  }

  private addDbtNode(
    p: ProjectFiles,
    kind: AssetKind,
    name: string,
    file: string,
    nameSpan: Span,
    facts: (NodeRefs & { config?: Record<string, JinjaExpr> }) | undefined,
    props: PropsEntry | undefined,
    resourceType: "models" | "seeds" | "snapshots",
    extraConfig: Record<string, unknown> = {},
    version?: { name: string; v: string; latest: boolean },
  ): void {
    const project = p.project;
    // Folders, then the property YAML (top-level tags / meta, then its config), then the file.
    const treeConfig = resolveNodeConfig(project, resourceType, relSegments(project, file, resourceType));
    const yamlConfig = props?.props.config ?? {};
    const merged = { ...treeConfig };
    if (props?.props.tags) mergeConfig(merged, { tags: props.props.tags });
    if (props?.props.meta) mergeConfig(merged, { meta: props.props.meta });
    mergeConfig(merged, yamlConfig);
    if (facts?.config) mergeConfig(merged, literalConfig(facts.config));
    mergeConfig(merged, extraConfig);
    const tags = asStrings(merged.tags);
    const meta = asRecord(merged.meta);
    merged.tags = tags;
    merged.meta = meta;
    const dbtName = version ? version.name : name;
    const plainKey = version ? [dbtName, `v${version.v}`] : [name];
    // Several projects in one workspace may each have a model of the same name (dbt keeps them
    // apart by package): those keys get the project name in front.
    const key = overrideKey(meta) ?? (this.sharedNames.has(dbtName) ? [project.name, ...plainKey] : plainKey);
    if (this.rejectKey(key, file, nameSpan, p)) return;
    const node: PendingNode = {
      id: keyId(key),
      key,
      kind,
      file,
      span: nameSpan,
      nameSpan,
      project: project.name,
      dbtName,
      version: version?.v,
      group: asString(merged.group) ?? props?.props.group,
      tags,
      owners: [],
      description: props?.props.description,
      meta,
      materialized: asString(merged.materialized) ?? (kind === "dbt_seed" ? "seed" : kind === "dbt_snapshot" ? "snapshot" : "view"),
      alsoAt: props ? [{ file: props.file, span: props.props.nameSpan }] : [],
      facts: facts ? { refs: facts.refs, sources: facts.sources, macroCalls: facts.macroCalls, varCalls: facts.varCalls } : undefined,
      owner: p,
      config: merged,
    };
    if (version?.latest) this.latestVersions.add(node.id);
    // dbt: the file's config() wins over YAML properties, which win over dbt_project.yml.
    const enabledAt = [facts?.config?.enabled, extraConfig.enabled, yamlConfig.enabled, treeConfig.enabled].find((v) => v !== undefined);
    const enabled = enabledAt === undefined ? true : evalEnabled(enabledAt, project.vars);
    if (enabled === false) return;
    if (enabled === undefined) node.maybeDisabled = true;
    this.pending.push(node);
  }

  // ------------------------------------------------------------------ TS nodes

  private addTsNodes(): void {
    for (const [file, facts] of this.input.ts) this.recordFileNodes(file, () => this.addTsFile(file, facts));
  }

  private addTsFile(file: string, facts: TsFacts): void {
    for (const def of facts.assets) {
      if (!def.key || def.key.length === 0) continue;
      const node = tsAssetNode(file, def, def.key);
      this.tsIdsByDef.set(def, node.id);
      this.pending.push(node);
    }
  }

  /** Adds pending nodes to the graph: TS assets absorb dbt sources with their key; other clashes are duplicates. */
  private registerNodes(): void {
    const byId = new Map<string, PendingNode[]>();
    for (const node of this.pending) {
      const list = byId.get(node.id);
      if (list) list.push(node);
      else byId.set(node.id, [node]);
    }
    for (const [id, nodes] of byId) {
      let chosen = nodes[0];
      let rest = nodes.slice(1);
      const ts = nodes.filter((n) => n.kind === "ts_asset");
      const sourcesHere = nodes.filter((n) => n.kind === "dbt_source");
      if (ts.length === 1 && sourcesHere.length > 0 && ts.length + sourcesHere.length === nodes.length) {
        // The TS asset produces this dbt source: one node, described in both places.
        chosen = ts[0];
        const source = sourcesHere[0];
        chosen.sourceName = source.sourceName;
        chosen.dbtName = source.dbtName;
        chosen.project = source.project;
        chosen.producedByTs = true;
        chosen.description ??= source.description;
        chosen.tags = unique([...chosen.tags, ...source.tags]);
        chosen.alsoAt.push({ file: source.file!, span: source.nameSpan! });
        rest = sourcesHere.slice(1);
        for (const s of sourcesHere) this.registerSource(s, id);
      } else if (nodes.length > 1 && nodes.every((n) => n.kind === "dbt_source")) {
        // The same source table declared twice is a duplicate too, but name it as such.
        for (const n of nodes) this.registerSource(n, id);
        if (new Set(nodes.map((n) => n.owner)).size === nodes.length) {
          // Each of several projects declares the table it reads: one node, described in each.
          for (const other of rest) if (other.file && other.nameSpan) chosen.alsoAt.push({ file: other.file, span: other.nameSpan });
          rest = [];
        }
      }
      if (rest.length > 0 && nodes.every((n) => DBT_KINDS.has(n.kind) && n.owner === nodes[0].owner) && nodes.filter((n) => !n.maybeDisabled).length <= 1) {
        // One model per adapter (`enabled=target.type == 'bigquery'`): dbt keeps the one enabled
        // for the target; statically that is the unconditional one, else the first.
        chosen = nodes.find((n) => !n.maybeDisabled) ?? nodes[0];
        for (const other of nodes) if (other !== chosen && other.file && other.nameSpan) chosen.alsoAt.push({ file: other.file, span: other.nameSpan });
        rest = [];
      }
      if (rest.length > 0) {
        const base = commonFolder(nodes.flatMap((n) => (n.file ? [n.file] : [])));
        const places = nodes.map((n) => `${n.kind} in ${n.file ? path.relative(base, n.file) : "?"}`).join(", ");
        for (const n of nodes) {
          if (n.file && n.nameSpan) this.report(n.file, n.nameSpan, "error", "duplicate-key", `Duplicate asset key '${id}': defined ${nodes.length} times (${places}).`, n.owner);
        }
      }
      this.addToGraph(chosen);
      if (chosen.kind === "dbt_source") this.registerSource(chosen, id);
      for (const other of rest) {
        // Keep the duplicates' references flowing into the chosen node so the graph stays useful.
        if (other.facts && !chosen.facts) chosen.facts = other.facts;
      }
    }
  }

  private registerSource(node: PendingNode, id: string): void {
    const name = `${node.sourceName}\u0000${node.dbtName}`;
    if (this.sources.has(name)) return;
    this.sources.set(name, id);
    // A table listed once (sources of thousands of tables made `includes` quadratic).
    const tables = this.sourceNames.get(node.sourceName!);
    if (tables) tables.push(node.dbtName!);
    else this.sourceNames.set(node.sourceName!, [node.dbtName!]);
  }

  private addToGraph(node: PendingNode): void {
    this.graph.addNode(plainNode(node));
    if (node.config) this.configs.set(node.id, node.config);
    if (node.file) {
      const list = this.assetsByFile.get(node.file) ?? [];
      list.push(node.id);
      this.assetsByFile.set(node.file, list);
      if (node.nameSpan) this.occur(node.file, { span: node.nameSpan, target: node.id, role: "definition" });
    }
    for (const at of node.alsoAt) {
      const list = this.assetsByFile.get(at.file) ?? [];
      if (!list.includes(node.id)) list.push(node.id);
      this.assetsByFile.set(at.file, list);
      this.occur(at.file, { span: at.span, target: node.id, role: "definition" });
    }
    if (DBT_KINDS.has(node.kind) && node.dbtName) {
      const project = node.project ?? "";
      let byName = this.dbtByProject.get(project);
      if (!byName) this.dbtByProject.set(project, (byName = new Map()));
      push(byName, node.dbtName, node.id);
      push(this.dbtByName, node.dbtName, node.id);
      }
  }

  // ------------------------------------------------------------------ dbt references

  private linkDbtNode(node: PendingNode): void {
    if (!node.facts || !node.file || !this.graph.get(node.id) || node.kind === "ts_asset") return;
    const p = node.owner!;
    const file = node.file;
    const vars = p.project.vars;
    for (const ref of node.facts.refs) this.linkRef(node.id, p, file, ref, "sql");
    for (const source of node.facts.sources) this.linkSource(node.id, p, file, source, "sql");
    for (const call of node.facts.macroCalls) {
      const made = this.macros.expand(call, p, vars, undefined);
      for (const ref of made.refs) this.linkRef(node.id, p, file, ref, "macro", call.span);
      for (const source of made.sources) this.linkSource(node.id, p, file, source, "macro", call.span);
      for (const v of made.varCalls) this.linkVarCall(node.id, p, file, v, call.span);
    }
    for (const v of node.facts.varCalls ?? []) this.linkVarCall(node.id, p, file, v);
    const constraints = this.constraintDeps(node);
    if (constraints) for (const dep of constraints.deps) this.linkYamlDep(node.id, p, constraints.file, dep);
  }

  /**
   * `var('x')` whose value holds Jinja (`"{{ ref('stg_x') }}"`): dbt renders it in the node's
   * context, so the refs and sources in it are the node's.
   */
  private linkVarCall(to: string, p: ProjectFiles, file: string, call: VarCall, viaSpan?: Span, depth = 0): void {
    const vars = p.project.vars;
    if (depth > 4 || call.expr.type !== "var") return;
    if (call.when && jinjaTruth(call.when, vars) === false) return;
    const names = resolveJinjaValues(call.expr.name, vars);
    if (!names || names.length !== 1 || !Object.prototype.hasOwnProperty.call(vars, names[0])) return;
    const raw = vars[names[0]];
    if (typeof raw !== "string" || !/\{[{%]/.test(raw)) return;
    let facts = this.varJinja.get(raw);
    if (!facts) this.varJinja.set(raw, (facts = scanSql(raw, file)));
    const span = viaSpan ?? call.span;
    for (const ref of facts.refs) this.linkRef(to, p, file, ref, "var", span);
    for (const source of facts.sources) this.linkSource(to, p, file, source, "var", span);
    for (const inner of facts.macroCalls) {
      const made = this.macros.expand(inner, p, vars, undefined);
      for (const ref of made.refs) this.linkRef(to, p, file, ref, "var", span);
      for (const source of made.sources) this.linkSource(to, p, file, source, "var", span);
      for (const v of made.varCalls) this.linkVarCall(to, p, file, v, span, depth + 1);
    }
    for (const v of facts.varCalls ?? []) this.linkVarCall(to, p, file, v, span, depth + 1);
  }

  /** Resolves `ref(...)`; `viaSpan` is set when the ref was made inside a macro the node calls. */
  private linkRef(to: string, p: ProjectFiles, file: string, ref: RefCall, origin: EdgeOrigin, viaSpan?: Span): void {
    const vars = p.project.vars;
    // dbt renders with the project's vars when it parses: a ref under a false `{% if %}` is not made.
    if (ref.when && jinjaTruth(ref.when, vars) === false) return;
    const args = refArguments({ pos: ref.args, kw: ref.kwargs });
    // The package as a positional argument is part of the target (every value a loop gives it);
    // as `package=` only its first value is.
    const targetArgs = ref.args.length > 1 ? [args.package!, args.name!] : args.name ? [args.name] : [];
    const values = targetArgs.map((a) => resolveJinjaValues(a, vars));
    const span = viaSpan ?? ref.nameSpan;
    if (values.length === 0 || values.some((v) => v === undefined)) {
      if (!viaSpan) {
        const text = [...ref.args.map(exprText), ...Object.entries(ref.kwargs).map(([k, v]) => `${k}=${exprText(v)}`)].join(", ");
        this.report(file, ref.span, "info", "dynamic-ref", `Dynamic ref(${text}): its target is only known when dbt runs; it is not in the static graph (a target/manifest.json from 'dbt parse' fills it in).`, p);
      }
      return;
    }
    const names = values[values.length - 1]!;
    const pkgs: (string | undefined)[] = values.length > 1 ? values[0]! : [args.package ? resolveJinjaValues(args.package, vars)?.[0] : undefined];
    const version = args.version ? resolveJinjaValues(args.version, vars)?.[0] : undefined;
    // A ref whose arguments come from vars is var-driven; loops over literal lists are as literal as their items.
    const literal = !targetArgs.some(usesVars);
    let first = true;
    for (const pkg of pkgs) {
      for (const name of names) {
        const target = this.resolveRef(p, name, pkg, version);
        if (!viaSpan && first) {
          this.occur(file, { span: ref.nameSpan, target, role: "reference", from: to, completes: "ref" });
          first = false;
        }
        if (target) {
          this.edge(target, to, literal ? origin : "var", { file, span });
          continue;
        }
        if (viaSpan) continue;
        this.reportUnknownRef(p, file, ref, name, pkg, version);
      }
    }
  }

  private reportMissingPackages(p: ProjectFiles): void {
    for (const warning of missingPackageWarnings(p, this.input.projects, this.unresolvedRefs.get(p))) {
      this.report(warning.file, warning.span, "warning", "package-not-installed", warning.message, p);
    }
  }

  private reportUnknownRef(p: ProjectFiles, file: string, ref: RefCall, name: string, pkg: string | undefined, version: string | undefined): void {
    const known = pkg ? [...(this.dbtByProject.get(pkg)?.keys() ?? [])] : [...this.dbtByName.keys()];
    const hint = didYouMean(name, known);
    if (pkg && !this.dbtByProject.has(pkg)) {
      if (p.project.projectDependencies.includes(pkg)) {
        // dbt mesh: an upstream project declared in dependencies.yml that lives elsewhere.
        this.report(file, ref.packageSpan ?? ref.nameSpan, "warning", "unknown-ref", `ref('${pkg}', '${name}'): project '${pkg}' (dependencies.yml) is not in the workspace; add its folder to see its models.`, p);
        return;
      }
      this.report(file, ref.packageSpan ?? ref.nameSpan, p.declaresPackages ? "warning" : "error", "unknown-ref", `ref('${pkg}', '${name}'): no project or package named '${pkg}' in the workspace${p.declaresPackages ? " (are packages installed? run 'dbt deps')" : ""}.`, p);
      return;
    }
    const severity: Severity = p.declaresPackages && !pkg ? "warning" : "error";
    if (!pkg) {
      let names = this.unresolvedRefs.get(p);
      if (!names) this.unresolvedRefs.set(p, (names = new Set()));
      names.add(name);
    }
    const extra = severity === "warning" ? " It may come from a package that is not installed (run 'dbt deps')." : "";
    this.report(file, ref.nameSpan, severity, "unknown-ref", `Unknown model '${name}'${version ? ` version ${version}` : ""} in ref().${hint}${extra}`, p);
  }

  private resolveRef(p: ProjectFiles, name: string, pkg: string | undefined, version: string | undefined): string | undefined {
    const pick = (ids: string[] | undefined): string | undefined => {
      if (!ids || ids.length === 0) return undefined;
      if (version) return ids.find((id) => this.graph.get(id)?.version === version);
      return ids.find((id) => !this.graph.get(id)?.version || this.latestVersions.has(id)) ?? ids[ids.length - 1];
    };
    if (pkg) return pick(this.dbtByProject.get(pkg)?.get(name));
    return pick(this.dbtByProject.get(p.project.name)?.get(name)) ?? pick(this.dbtByName.get(name));
  }

  private linkSource(to: string, p: ProjectFiles, file: string, call: SourceCall, origin: EdgeOrigin, viaSpan?: Span): void {
    const vars = p.project.vars;
    if (call.when && jinjaTruth(call.when, vars) === false) return;
    const { source: sourceExpr, table: tableExpr } = sourceArguments({ pos: call.args, kw: call.kwargs });
    const pairs = sourceExpr && tableExpr ? resolveJinjaTuples([sourceExpr, tableExpr], vars) : undefined;
    if (!viaSpan) {
      this.occur(file, { span: call.sourceSpan, target: undefined, role: "reference", from: to, completes: "source" });
    }
    if (!pairs) {
      if (!viaSpan) {
        this.report(file, call.span, "info", "dynamic-source", `Dynamic source(${call.args.map(exprText).join(", ")}): not in the static graph.`, p);
      }
      return;
    }
    let first = true;
    for (const [sourceName, tableName] of pairs) {
      const target = this.sources.get(`${sourceName}\u0000${tableName}`);
      if (!viaSpan && first) {
        first = false;
        this.occur(file, { span: call.tableSpan, target, role: "reference", from: to, completes: "source_table", sourceName });
        // The source-name argument points at the same asset for hover and definition.
        const list = this.occurrences.get(file)!;
        const sourceOccurrence = list[list.length - 2];
        sourceOccurrence.target = target;
      }
      if (target) {
        this.edge(target, to, origin, { file, span: viaSpan ?? call.tableSpan });
        continue;
      }
      if (viaSpan) continue;
      const tables = this.sourceNames.get(sourceName);
      if (!tables) {
        const hint = didYouMean(sourceName, [...this.sourceNames.keys()]);
        this.report(file, call.sourceSpan, "error", "unknown-source", `Unknown source '${sourceName}'.${hint}`, p);
      } else {
        const hint = didYouMean(tableName, tables);
        this.report(file, call.tableSpan, "error", "unknown-source", `Source '${sourceName}' has no table '${tableName}'.${hint}`, p);
      }
    }
  }

  private linkExposures(): void {
    for (const p of this.input.projects) {
      for (const [file, facts] of p.yaml) {
        for (const exposure of facts.exposures) {
          const id = keyId(["exposure", exposure.name]);
          if (!this.graph.get(id)) continue;
          for (const dep of exposure.dependsOn) this.linkYamlDep(id, p, file, dep);
        }
      }
    }
  }

  /** A `ref(...)` / `source(...)` written in a YAML file (exposures, foreign keys) made `to`'s parent. */
  private linkYamlDep(to: string, p: ProjectFiles, file: string, dep: YamlRefDep): void {
    const { refs, sources } = yamlDepCalls(dep);
    for (const ref of refs) this.linkRef(to, p, file, ref, "yaml");
    for (const source of sources) this.linkSource(to, p, file, source, "yaml");
  }

  /** The foreign-key targets of a model's YAML constraints (see `YamlNodeProps.constraintDeps`). */
  private constraintDeps(node: PendingNode): { file: string; deps: YamlRefDep[] } | undefined {
    if (node.kind !== "dbt_model" || !node.owner || !node.dbtName) return undefined;
    const entry = this.propsByProject.get(node.owner)?.models.get(node.dbtName);
    const deps = entry?.props.constraintDeps?.filter((d) => d.onlyVersion === undefined || d.onlyVersion === node.version);
    return entry && deps?.length ? { file: entry.file, deps } : undefined;
  }

  // ------------------------------------------------------------------ TS references

  private linkTs(): void {
    for (const [file, facts] of this.input.ts) this.linkTsFile(file, facts);
  }

  private linkTsFile(file: string, facts: TsFacts): void {
    const factsOf = (f: string) => this.input.ts.get(f);
    const allIds = () => [...this.graph.nodes.keys()];
    {
      for (const def of facts.assets) {
        const to = this.tsIdsByDef.get(def);
        if (!to || this.graph.get(to)?.file !== file) continue;
        for (const dep of def.deps) {
          let target: string | undefined;
          let label: string;
          if (dep.type === "key") {
            label = dep.key.join("/");
            target = this.findByKey(dep.key);
          } else {
            label = dep.name;
            const resolved = resolveTsRef(dep.name, file, factsOf);
            if (resolved?.asset.key) target = keyId(resolved.asset.key);
          }
          this.occur(file, { span: dep.span, target, role: "reference", from: to, completes: dep.type === "key" ? "ts_dep" : undefined });
          if (target && this.graph.get(target)) {
            this.edge(target, to, "ts", { file, span: dep.span });
          } else if (dep.type === "key") {
            this.report(file, dep.span, "error", "unknown-dep", `Unknown asset '${label}' in deps.${didYouMean(label, allIds())}`);
          } else {
            this.report(file, dep.span, "error", "unknown-dep", `'${label}' is not an asset this file can see (an asset() constant, imported or declared here).`);
          }
        }
      }
    }
  }

  /** A TS dep key: the exact id, else a dbt node with that name (`"fct_orders"` for a versioned model). */
  private findByKey(key: string[]): string | undefined {
    const id = keyId(key);
    if (this.graph.get(id)) return id;
    if (key.length === 1) {
      const ids = this.dbtByName.get(key[0]);
      if (ids?.length) return ids.find((id) => this.latestVersions.has(id)) ?? ids[ids.length - 1];
    }
    return undefined;
  }

  // ------------------------------------------------------------------ manifest

  private mergeManifest(p: ProjectFiles): void {
    const manifest = p.manifest;
    if (!manifest) return;
    const idOf = (uniqueId: string): string | undefined => {
      const node = manifest.nodes[uniqueId];
      if (!node) return undefined;
      if (node.resourceType === "source") return this.sources.get(`${node.sourceName}\u0000${node.name}`);
      if (node.resourceType === "exposure") {
        const id = keyId(["exposure", node.name]);
        return this.graph.get(id) ? id : undefined;
      }
      if (!["model", "seed", "snapshot"].includes(node.resourceType)) return undefined;
      return this.resolveRef(p, node.name, node.packageName, node.version);
    };
    for (const [child, parents] of Object.entries(manifest.parents)) {
      const to = idOf(child);
      if (!to) continue;
      for (const parent of parents) {
        const from = idOf(parent);
        if (from && !this.graph.hasEdge(from, to)) this.edge(from, to, "manifest");
      }
    }
  }

  // ------------------------------------------------------------------ cycles

  private reportCycles(): void {
    for (const cycle of findCycles(this.graph)) {
      const names = [...cycle, cycle[0]].join(" → ");
      for (let i = 0; i < cycle.length; i++) {
        const from = cycle[i];
        const to = cycle[(i + 1) % cycle.length];
        const edge = this.graph.edge(from, to);
        const at = edge?.at ?? (this.graph.get(to)?.file ? { file: this.graph.get(to)!.file!, span: this.graph.get(to)!.span ?? zeroSpan() } : undefined);
        if (at) this.report(at.file, at.span, "error", "cycle", `Dependency cycle: ${names}.`);
      }
    }
  }
}
