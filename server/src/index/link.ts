/**
 * Turns the facts of every file into one asset graph, with diagnostics and the occurrence table
 * that hover / definition / references use. Pure: no file system access.
 */
import * as path from "node:path";
import { AssetGraph, findCycles } from "../graph/graph";
import { keyId, toKey } from "../graph/keys";
import type { AssetEdge, AssetKind, AssetNode, EdgeOrigin, FileSpan, IndexDiagnostic, Severity, Span } from "../protocol/types";
import { literalValue, resolveJinjaExpr } from "./dbt/jinja";
import { resolveNodeConfig } from "./dbt/project";
import type {
  DbtProject,
  JinjaExpr,
  MacroCall,
  MacroDef,
  ManifestFacts,
  RefCall,
  SourceCall,
  SqlFacts,
  TsFacts,
  YamlFacts,
  YamlNodeProps,
} from "./facts";
import { closestNames } from "./suggest";
import { resolveTsRef } from "./ts/resolveDeps";

/** One project's files as the workspace index knows them. */
export interface ProjectFiles {
  project: DbtProject;
  /** True for projects installed under dbt_packages/: indexed, but not the user's to fix. */
  isPackage: boolean;
  models: Map<string, SqlFacts>;
  snapshots: Map<string, SqlFacts>;
  macros: Map<string, SqlFacts>;
  seeds: Set<string>;
  yaml: Map<string, YamlFacts>;
  /** Packages declared in packages.yml / dependencies.yml (so unknown refs can say "run dbt deps"). */
  declaresPackages: boolean;
  manifest?: ManifestFacts;
}

export interface LinkInput {
  projects: ProjectFiles[];
  ts: Map<string, TsFacts>;
}

/** Something in a file that names an asset: a definition, or a reference to one. */
export interface Occurrence {
  span: Span;
  /** The asset named; undefined when the reference does not resolve. */
  target?: string;
  role: "definition" | "reference";
  /** For references: the asset that holds the reference (the model reading `ref('x')`). */
  from?: string;
  /** What completion should offer at this place. */
  completes?: "ref" | "source" | "source_table" | "ts_dep";
  /** For `source_table` completion: the source name. */
  sourceName?: string;
}

export interface LinkResult {
  graph: AssetGraph;
  diagnostics: Map<string, IndexDiagnostic[]>;
  occurrences: Map<string, Occurrence[]>;
  /** Assets defined in each file (a SQL model, a YAML file's sources, a TS file's assets). */
  assetsByFile: Map<string, string[]>;
  /** Merged dbt config per dbt node id (what the engines need to name and build relations). */
  configs: Map<string, Record<string, unknown>>;
}

const DBT_KINDS: ReadonlySet<AssetKind> = new Set(["dbt_model", "dbt_seed", "dbt_snapshot"]);

export function linkWorkspace(input: LinkInput): LinkResult {
  return new Linker(input).link();
}

/** Diagnostic codes a file's own references produce (recomputed when the file is relinked). */
const REFERENCE_CODES = new Set(["unknown-ref", "dynamic-ref", "unknown-source", "dynamic-source", "unknown-dep", "cycle"]);

interface PendingNode extends AssetNode {
  /** dbt config merged from dbt_project.yml folders, YAML properties and in-file config(). */
  config?: Record<string, unknown>;
  /** Facts behind the node, to read its references in the second pass. */
  facts?: { refs: RefCall[]; sources: SourceCall[]; macroCalls: MacroCall[] };
  owner?: ProjectFiles;
}

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
  /** Macros by name per project (package macros under their package name too). */
  private readonly macros = new Map<string, Map<string, { def: MacroDef; project: ProjectFiles }>>();
  private readonly macroRefs = new Map<MacroDef, { refs: RefCall[]; sources: SourceCall[] }>();
  private readonly tsIdsByDef = new Map<object, string>();
  private readonly latestVersions = new Set<string>();
  private readonly propsByProject = new Map<ProjectFiles, ReturnType<typeof collectProps>>();
  /** The pending nodes each model / snapshot / TS file produced, for in-place relinking. */
  private readonly nodesByFile = new Map<string, PendingNode[]>();
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
    for (const p of this.input.projects) this.indexMacros(p);
    for (const p of this.input.projects) this.addDbtNodes(p);
    this.addTsNodes();
    this.registerNodes();
    for (const node of this.pending) this.linkDbtNode(node);
    this.linkExposures();
    this.linkTs();
    for (const p of this.input.projects) this.mergeManifest(p);
    this.reportCycles();
    for (const [file, facts] of this.input.ts) this.tsSignatures.set(file, tsSignature(facts));
    this.pending.length = 0;
    return this.result();
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

  // ------------------------------------------------------------------ macros

  private indexMacros(p: ProjectFiles): void {
    let byName = this.macros.get(p.project.name);
    if (!byName) this.macros.set(p.project.name, (byName = new Map()));
    for (const facts of p.macros.values()) {
      for (const def of facts.macros) byName.set(def.name, { def, project: p });
    }
    // Macros defined inside model / snapshot files are rare but legal.
    for (const facts of p.models.values()) for (const def of facts.macros) if (!byName.has(def.name)) byName.set(def.name, { def, project: p });
  }

  /** The macro a call names, seen from a project: own macros first, then any package's. */
  private findMacro(call: string, from: ProjectFiles): { def: MacroDef; project: ProjectFiles } | undefined {
    const dot = call.indexOf(".");
    if (dot >= 0) {
      const pkg = call.slice(0, dot);
      const name = call.slice(dot + 1);
      return this.macros.get(pkg === "dbt" ? from.project.name : pkg)?.get(name);
    }
    const own = this.macros.get(from.project.name)?.get(call);
    if (own) return own;
    for (const [, byName] of this.macros) {
      const found = byName.get(call);
      if (found) return found;
    }
    return undefined;
  }

  /** Literal refs and sources a macro makes, including those of the macros it calls. */
  private refsOfMacro(def: MacroDef, project: ProjectFiles, visiting = new Set<MacroDef>()): { refs: RefCall[]; sources: SourceCall[] } {
    const cached = this.macroRefs.get(def);
    if (cached) return cached;
    if (visiting.has(def)) return { refs: [], sources: [] };
    visiting.add(def);
    const refs = def.refs.filter((r) => r.args.every((a) => a.type === "string"));
    const sources = def.sources.filter((s) => s.args.every((a) => a.type === "string"));
    for (const call of def.macroCalls) {
      const target = this.findMacro(call.name, project);
      if (!target) continue;
      const inner = this.refsOfMacro(target.def, target.project, visiting);
      refs.push(...inner.refs);
      sources.push(...inner.sources);
    }
    visiting.delete(def);
    const result = { refs, sources };
    this.macroRefs.set(def, result);
    return result;
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
    for (const [file, facts] of p.yaml) {
      for (const source of facts.sources) {
        for (const table of source.tables) {
          const meta = { ...source.meta, ...table.meta };
          const key = overrideKey(meta) ?? [source.name, table.name];
          const node: PendingNode = {
            id: keyId(key),
            key,
            kind: "dbt_source",
            file,
            span: table.span,
            nameSpan: table.nameSpan,
            project: project.name,
            dbtName: table.name,
            sourceName: source.name,
            tags: unique([...source.tags, ...table.tags]),
            owners: [],
            description: table.description ?? source.description,
            meta,
            alsoAt: [],
            owner: p,
          };
          this.pending.push(node);
        }
      }
      for (const exposure of facts.exposures) {
        const key = ["exposure", exposure.name];
        this.pending.push({
          id: keyId(key),
          key,
          kind: "dbt_exposure",
          file,
          span: exposure.span,
          nameSpan: exposure.nameSpan,
          project: project.name,
          dbtName: exposure.name,
          tags: exposure.tags,
          owners: exposure.owners,
          description: exposure.description,
          meta: exposure.meta,
          materialized: exposure.type,
          alsoAt: [],
          owner: p,
        });
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
    const facts = { refs: snap.refs, sources: snap.sources, macroCalls: snap.macroCalls };
    this.addDbtNode(p, "dbt_snapshot", snap.name, file, snap.nameSpan, facts, props, "snapshots", literalConfig(snap.config));
  }

  private addDbtNode(
    p: ProjectFiles,
    kind: AssetKind,
    name: string,
    file: string,
    nameSpan: Span,
    facts: { refs: RefCall[]; sources: SourceCall[]; macroCalls: MacroCall[]; config?: Record<string, JinjaExpr> } | undefined,
    props: PropsEntry | undefined,
    resourceType: "models" | "seeds" | "snapshots",
    extraConfig: Record<string, unknown> = {},
    version?: { name: string; v: string; latest: boolean },
  ): void {
    const project = p.project;
    const config = {
      ...resolveNodeConfig(project, resourceType, relSegments(project, file, resourceType)),
    } as Record<string, unknown>;
    const yamlConfig = props?.props.config ?? {};
    const fileConfig = { ...(facts?.config ? literalConfig(facts.config) : {}), ...extraConfig };
    const tags = unique([
      ...asStrings(config.tags),
      ...(props?.props.tags ?? []),
      ...asStrings(yamlConfig.tags),
      ...asStrings(fileConfig.tags),
    ]);
    const meta = { ...asRecord(config.meta), ...(props?.props.meta ?? {}), ...asRecord(yamlConfig.meta), ...asRecord(fileConfig.meta) };
    const merged: Record<string, unknown> = { ...config, ...yamlConfig, ...fileConfig, tags, meta };
    const dbtName = version ? version.name : name;
    const key = overrideKey(meta) ?? (version ? [dbtName, `v${version.v}`] : [name]);
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
      facts: facts ? { refs: facts.refs, sources: facts.sources, macroCalls: facts.macroCalls } : undefined,
      owner: p,
      config: merged,
    };
    if (version?.latest) this.latestVersions.add(node.id);
    if (asString(merged.enabled) === "false" || merged.enabled === false) return;
    this.pending.push(node);
  }

  // ------------------------------------------------------------------ TS nodes

  private addTsNodes(): void {
    for (const [file, facts] of this.input.ts) this.recordFileNodes(file, () => this.addTsFile(file, facts));
  }

  private addTsFile(file: string, facts: TsFacts): void {
    {
      for (const def of facts.assets) {
        if (!def.key || def.key.length === 0) continue;
        const key = def.key;
        const node: PendingNode = {
          id: keyId(key),
          key,
          kind: "ts_asset",
          file,
          span: def.nameSpan,
          nameSpan: def.nameSpan,
          group: def.group,
          tags: def.tags,
          owners: def.owners,
          description: def.description,
          materialized: def.io ?? "json",
          exportName: def.exportName ?? def.localName,
          alsoAt: [],
        };
        this.tsIdsByDef.set(def, node.id);
        this.pending.push(node);
      }
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
      }
      if (rest.length > 0) {
        const places = nodes.map((n) => `${n.kind} in ${n.file ? path.basename(n.file) : "?"}`).join(", ");
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
    if (!this.sources.has(name)) this.sources.set(name, id);
    const tables = this.sourceNames.get(node.sourceName!) ?? [];
    if (!tables.includes(node.dbtName!)) tables.push(node.dbtName!);
    this.sourceNames.set(node.sourceName!, tables);
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
    for (const ref of node.facts.refs) this.linkRef(node.id, p, file, ref, "sql");
    for (const source of node.facts.sources) this.linkSource(node.id, p, file, source, "sql");
    for (const call of node.facts.macroCalls) {
      const macro = this.findMacro(call.name, p);
      if (!macro) continue;
      const made = this.refsOfMacro(macro.def, macro.project);
      for (const ref of made.refs) this.linkRef(node.id, p, file, ref, "macro", call.span);
      for (const source of made.sources) this.linkSource(node.id, p, file, source, "macro", call.span);
    }
  }

  /** Resolves `ref(...)`; `viaSpan` is set when the ref was made inside a macro the node calls. */
  private linkRef(to: string, p: ProjectFiles, file: string, ref: RefCall, origin: EdgeOrigin, viaSpan?: Span): void {
    const vars = p.project.vars;
    const values = ref.args.map((a) => resolveJinjaExpr(a, vars));
    const span = viaSpan ?? ref.nameSpan;
    if (values.some((v) => v === undefined)) {
      if (!viaSpan) {
        const text = ref.args.map(exprText).join(", ");
        this.report(file, ref.span, "info", "dynamic-ref", `Dynamic ref(${text}): its target is only known when dbt runs; it is not in the static graph (a target/manifest.json from 'dbt parse' fills it in).`, p);
      }
      return;
    }
    const name = values[values.length - 1]!;
    const pkg = values.length > 1 ? values[0] : asString(ref.kwargs.package && resolveJinjaExpr(ref.kwargs.package, vars));
    const versionExpr = ref.kwargs.v ?? ref.kwargs.version;
    const version = versionExpr ? resolveJinjaExpr(versionExpr, vars) : undefined;
    const literal = ref.args.every((a) => a.type === "string");
    const target = this.resolveRef(p, name, pkg, version);
    if (!viaSpan) {
      this.occur(file, { span: ref.nameSpan, target, role: "reference", from: to, completes: "ref" });
    }
    if (target) {
      this.edge(target, to, literal ? origin : "var", { file, span });
      return;
    }
    if (viaSpan) return;
    const known = pkg ? [...(this.dbtByProject.get(pkg)?.keys() ?? [])] : [...this.dbtByName.keys()];
    const hint = didYouMean(name, known);
    if (pkg && !this.dbtByProject.has(pkg)) {
      this.report(file, ref.packageSpan ?? ref.nameSpan, p.declaresPackages ? "warning" : "error", "unknown-ref", `ref('${pkg}', '${name}'): no project or package named '${pkg}' in the workspace${p.declaresPackages ? " (are packages installed? run 'dbt deps')" : ""}.`, p);
      return;
    }
    const severity: Severity = p.declaresPackages && !pkg ? "warning" : "error";
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
    const [sourceExpr, tableExpr] = call.args;
    const sourceName = sourceExpr && resolveJinjaExpr(sourceExpr, vars);
    const tableName = tableExpr && resolveJinjaExpr(tableExpr, vars);
    if (!viaSpan) {
      this.occur(file, { span: call.sourceSpan, target: undefined, role: "reference", from: to, completes: "source" });
    }
    if (sourceName === undefined || tableName === undefined) {
      if (!viaSpan) {
        this.report(file, call.span, "info", "dynamic-source", `Dynamic source(${call.args.map(exprText).join(", ")}): not in the static graph.`, p);
      }
      return;
    }
    const target = this.sources.get(`${sourceName}\u0000${tableName}`);
    if (!viaSpan) {
      this.occur(file, { span: call.tableSpan, target, role: "reference", from: to, completes: "source_table", sourceName });
      // The source-name argument points at the same asset for hover and definition.
      const list = this.occurrences.get(file)!;
      const sourceOccurrence = list[list.length - 2];
      sourceOccurrence.target = target;
    }
    if (target) {
      this.edge(target, to, origin, { file, span: viaSpan ?? call.tableSpan });
      return;
    }
    if (viaSpan) return;
    const tables = this.sourceNames.get(sourceName);
    if (!tables) {
      const hint = didYouMean(sourceName, [...this.sourceNames.keys()]);
      this.report(file, call.sourceSpan, "error", "unknown-source", `Unknown source '${sourceName}'.${hint}`, p);
    } else {
      const hint = didYouMean(tableName, tables);
      this.report(file, call.tableSpan, "error", "unknown-source", `Source '${sourceName}' has no table '${tableName}'.${hint}`, p);
    }
  }

  private linkExposures(): void {
    for (const p of this.input.projects) {
      for (const [file, facts] of p.yaml) {
        for (const exposure of facts.exposures) {
          const id = keyId(["exposure", exposure.name]);
          if (!this.graph.get(id)) continue;
          for (const dep of exposure.dependsOn) {
            if (dep.call === "ref") {
              const expr: RefCall = {
                args: dep.args.map((value) => ({ type: "string", value })),
                kwargs: {},
                span: dep.span,
                nameSpan: dep.span,
              };
              this.linkRef(id, p, file, expr, "yaml");
            } else {
              const call: SourceCall = {
                args: dep.args.map((value) => ({ type: "string", value })),
                kwargs: {},
                span: dep.span,
                sourceSpan: dep.span,
                tableSpan: dep.span,
              };
              this.linkSource(id, p, file, call, "yaml");
            }
          }
        }
      }
    }
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

// ---------------------------------------------------------------------- small pure helpers

/** The node as the graph keeps it, without the linker's bookkeeping. */
function plainNode(node: PendingNode): AssetNode {
  const { facts: _facts, owner: _owner, config: _config, ...plain } = node;
  return plain;
}

function tsSignature(facts: TsFacts): string {
  const exports = facts.exports.map((e) => `${e.exported}:${e.local}:${e.from ?? ""}`);
  const assets = facts.assets.map((a) => `${a.key?.join("/")}:${a.localName ?? ""}:${a.exportName ?? ""}`);
  return `${exports.join("|")}#${assets.join("|")}`;
}

interface PropsEntry {
  file: string;
  props: YamlNodeProps;
}

function collectProps(p: ProjectFiles): {
  models: Map<string, PropsEntry>;
  seeds: Map<string, PropsEntry>;
  snapshots: Map<string, PropsEntry>;
  definedModels: Set<string>;
  versioned: Map<string, { name: string; v: string; latest: boolean }>;
} {
  const models = new Map<string, PropsEntry>();
  const seeds = new Map<string, PropsEntry>();
  const snapshots = new Map<string, PropsEntry>();
  for (const [file, facts] of p.yaml) {
    for (const props of facts.models) models.set(props.name, { file, props });
    for (const props of facts.seeds) seeds.set(props.name, { file, props });
    for (const props of facts.snapshots) snapshots.set(props.name, { file, props });
  }
  const definedModels = new Set<string>();
  for (const file of p.models.keys()) definedModels.add(path.basename(file, path.extname(file)));
  return { models, seeds, snapshots, definedModels, versioned: versionFiles(models) };
}

/**
 * Versioned models: which file defines which version. `defined_in` names the file, else dbt's
 * convention `<name>_v<version>.sql`. Keys are `[name, "v<version>"]`; plain `ref('name')` means the
 * latest version (`latest_version`, else the highest).
 */
function versionFiles(models: Map<string, PropsEntry>): Map<string, { name: string; v: string; latest: boolean }> {
  const out = new Map<string, { name: string; v: string; latest: boolean }>();
  for (const [name, entry] of models) {
    const versions = entry.props.versions;
    if (!versions?.length) continue;
    const latest = entry.props.latestVersion ?? versions.map((x) => x.v).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b)).pop();
    for (const version of versions) {
      out.set(version.definedIn ?? `${name}_v${version.v}`, { name, v: version.v, latest: version.v === latest });
    }
  }
  return out;
}

function overrideKey(meta: Record<string, unknown> | undefined): string[] | undefined {
  if (!meta) return undefined;
  const tributary = asRecord(meta.tributary).key;
  const dagster = asRecord(meta.dagster).asset_key;
  for (const value of [tributary, dagster]) {
    if (typeof value === "string" && value.length > 0) return toKey(value);
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) return toKey(value as string[]);
  }
  return undefined;
}

function literalConfig(config: Record<string, JinjaExpr>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const value = literalValue(v);
    if (value !== undefined) out[k] = value;
  }
  return out;
}

/** Path segments of a node under its resource folder, for folder-level configs (`marts/fct_orders`). */
function relSegments(project: DbtProject, file: string, resourceType: "models" | "seeds" | "snapshots"): string[] {
  const roots = resourceType === "models" ? project.modelPaths : resourceType === "seeds" ? project.seedPaths : project.snapshotPaths;
  for (const root of roots) {
    const rel = path.relative(root, file);
    if (!rel.startsWith("..") && !path.isAbsolute(rel)) {
      const parts = rel.split(path.sep);
      parts[parts.length - 1] = parts[parts.length - 1].replace(/\.[^.]+$/, "");
      return parts;
    }
  }
  return [path.basename(file).replace(/\.[^.]+$/, "")];
}

function exprText(expr: JinjaExpr): string {
  switch (expr.type) {
    case "string":
      return `'${expr.value}'`;
    case "number":
    case "bool":
      return String(expr.value);
    case "none":
      return "none";
    case "var":
      return `var(${exprText(expr.name)})`;
    case "concat":
      return expr.parts.map(exprText).join(" ~ ");
    case "unknown":
      return expr.text;
    default:
      return "…";
  }
}

function didYouMean(name: string, candidates: string[]): string {
  const close = closestNames(name, candidates, 3);
  return close.length ? ` Did you mean ${close.map((c) => `'${c}'`).join(", ")}?` : "";
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function asString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function asStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function zeroSpan(): Span {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}
