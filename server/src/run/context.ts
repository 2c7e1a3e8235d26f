/**
 * What a run needs to know about the workspace beyond the plan: each dbt project's target (from
 * profiles.yml, dbt-duckdb style), the relation every asset lives in, and how to build the
 * embedded engine's inputs. Read from the workspace index; nothing here executes anything.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { findProfilesFile, readProfiles } from "../index/dbt/profiles";
import type { ProjectFiles } from "../index/link/types";
import type { WorkspaceIndex } from "../index/workspace";
import type { AssetNode } from "../protocol/types";
import { relationName, type EmbeddedTarget } from "./embedded/engine";
import type { EmbeddedNode, RelationResolver } from "./embedded/nodes";

export interface ProjectTarget extends EmbeddedTarget {
  /** Where the target came from, for messages. */
  origin: string;
}

export const DEFAULT_WAREHOUSE = path.join(".tributary", "warehouse.duckdb");

export class RunContext {
  private readonly targets = new Map<string, ProjectTarget>();
  readonly projects = new Map<string, ProjectFiles>();

  constructor(
    readonly index: WorkspaceIndex,
    /** The workspace folder holding `.tributary/` (history, storage, default warehouse). */
    readonly root: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    for (const p of index.projectFiles()) if (!p.isPackage) this.projects.set(p.project.name, p);
  }

  get storageDir(): string {
    return path.join(this.root, ".tributary", "storage");
  }

  /** The dbt-duckdb target of a project: its profiles.yml output, else `.tributary/warehouse.duckdb`. */
  target(projectName: string | undefined): ProjectTarget {
    const key = projectName ?? "";
    const cached = this.targets.get(key);
    if (cached) return cached;
    const project = projectName ? this.projects.get(projectName)?.project : undefined;
    const base = project?.root ?? this.root;
    let target: ProjectTarget = { name: "dev", type: "duckdb", schema: "main", database: "warehouse", path: path.join(base, DEFAULT_WAREHOUSE), threads: 4, origin: "default (no profiles.yml)" };
    const profiles = project ? findProfilesFile(project.root, this.env, existsSync) : undefined;
    if (project && profiles) {
      const profile = readProfiles(readFileSync(profiles, "utf8"), profiles, project.profile ?? project.name, undefined, this.env);
      if (profile.type && profile.type !== "duckdb") {
        throw new Error(`Profile '${project.profile ?? project.name}' in ${profiles} is of type '${profile.type}': the embedded engine runs DuckDB only. Use the dbt engine (--engine dbt).`);
      }
      if (profile.type === "duckdb") {
        const file = profile.path && profile.path !== ":memory:" ? path.resolve(project.root, profile.path) : path.join(base, DEFAULT_WAREHOUSE);
        target = {
          name: profile.target ?? "dev",
          type: "duckdb",
          schema: profile.schema ?? "main",
          database: profile.database ?? path.basename(file).replace(/\.[^.]+$/, ""),
          path: file,
          threads: profile.threads ?? 4,
          origin: profiles,
        };
      }
    }
    this.targets.set(key, target);
    return target;
  }

  /** The warehouse a TS asset reads and writes: that of the dbt project it touches, else the first one's. */
  targetForAsset(id: string): ProjectTarget {
    const graph = this.index.graph;
    const node = graph.get(id);
    if (node?.project) return this.target(node.project);
    for (const near of [...graph.upstream(id), ...graph.downstream(id)]) {
      const project = graph.get(near)?.project;
      if (project && this.projects.has(project)) return this.target(project);
    }
    return this.target(this.projects.keys().next().value);
  }

  embeddedNode(node: AssetNode): EmbeddedNode {
    const resourceType = node.kind === "dbt_seed" ? "seed" : node.kind === "dbt_snapshot" ? "snapshot" : "model";
    const config = { ...this.index.configOf(node.id) };
    if (node.version) config.version = node.version;
    return {
      id: node.id,
      resourceType,
      name: node.dbtName ?? node.key[node.key.length - 1],
      file: node.file!,
      config,
      dependsOn: [...this.index.graph.upstream(node.id)],
    };
  }

  /** The relation an asset's data lives in, when it is a warehouse table. */
  relationOf(id: string): { schema: string; identifier: string } | undefined {
    const node = this.index.graph.get(id);
    if (!node) return undefined;
    if (node.kind === "dbt_model" || node.kind === "dbt_seed" || node.kind === "dbt_snapshot") {
      const { schema, identifier } = relationName(this.embeddedNode(node), this.target(node.project));
      return { schema, identifier };
    }
    if (node.kind === "dbt_source" || (node.kind === "ts_asset" && node.producedByTs)) return this.sourceRelation(node);
    if (node.kind === "ts_asset") {
      const target = this.targetForAsset(id);
      return node.key.length > 1 ? { schema: node.key.slice(0, -1).join("_"), identifier: node.key[node.key.length - 1] } : { schema: target.schema, identifier: node.key[0] };
    }
    return undefined;
  }

  /** A dbt source's relation: its YAML `schema` (default: the source name) and `identifier`. */
  private sourceRelation(node: AssetNode): { schema: string; identifier: string } {
    const project = node.project ? this.projects.get(node.project) : undefined;
    for (const facts of project?.yaml.values() ?? []) {
      for (const source of facts.sources) {
        if (source.name !== node.sourceName) continue;
        const table = source.tables.find((t) => t.name === node.dbtName);
        if (!table) continue;
        const schema = source.schema && !source.schema.includes("{") ? source.schema : source.name;
        return { schema, identifier: table.identifier ?? table.name };
      }
    }
    return { schema: node.sourceName ?? node.key[0], identifier: node.dbtName ?? node.key[node.key.length - 1] };
  }

  /** How the embedded engine resolves `ref()` and `source()` of a project's models. */
  relationResolver(projectName: string): RelationResolver {
    const graph = this.index.graph;
    const dbtNodes = new Map<string, AssetNode[]>();
    const sources = new Map<string, AssetNode>();
    for (const n of graph.nodes.values()) {
      if (n.kind === "dbt_model" || n.kind === "dbt_seed" || n.kind === "dbt_snapshot") dbtNodes.set(n.dbtName!, [...(dbtNodes.get(n.dbtName!) ?? []), n]);
      if (n.sourceName) sources.set(`${n.sourceName}.${n.dbtName}`, n);
    }
    const byName = (name: string, project?: string, version?: string) =>
      dbtNodes.get(name)?.find((n) => (!project || n.project === project) && (!version || n.version === version));
    return {
      ref: (name, projectOrPackage, version) => {
        const node = byName(name, projectOrPackage, version) ?? (projectOrPackage ? undefined : byName(name, projectName, version));
        return node?.file ? { kind: "node", node: this.embeddedNode(node) } : undefined;
      },
      source: (sourceName, tableName) => {
        const node = sources.get(`${sourceName}.${tableName}`);
        return node ? this.sourceRelation(node) : undefined;
      },
    };
  }

  /** The project's macro files and those of installed packages, for the embedded engine. */
  macroFiles(projectName: string): { file: string; package: string }[] {
    const out: { file: string; package: string }[] = [];
    const own = this.projects.get(projectName);
    for (const p of this.index.projectFiles()) {
      if (p !== own && !(p.isPackage && own && p.project.root.startsWith(own.project.packagesPath))) continue;
      for (const file of p.macros.keys()) out.push({ file, package: p.project.name });
      // Generic tests under test-paths (`tests/generic/`) are macros too.
      for (const [file, facts] of p.tests ?? []) if (facts.macros.length > 0) out.push({ file, package: p.project.name });
    }
    return out;
  }
}
