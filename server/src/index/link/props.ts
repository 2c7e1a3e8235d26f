/** What a project's property YAML says about its nodes, gathered once per project for the linker. */
import * as path from "node:path";
import { toKey } from "../../graph/keys";
import { literalValue } from "../dbt/jinja";
import type { DbtProject, JinjaExpr, RefCall, SourceCall, YamlNodeProps, YamlRefDep } from "../facts";
import { asRecord } from "./text";
import type { ProjectFiles } from "./types";

export type ProjectProps = ReturnType<typeof collectProps>;

export interface PropsEntry {
  file: string;
  props: YamlNodeProps;
}

export function collectProps(p: ProjectFiles): {
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
export function versionFiles(models: Map<string, PropsEntry>): Map<string, { name: string; v: string; latest: boolean }> {
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

export function overrideKey(meta: Record<string, unknown> | undefined): string[] | undefined {
  if (!meta) return undefined;
  const tributary = asRecord(meta.tributary).key;
  const dagster = asRecord(meta.dagster).asset_key;
  for (const value of [tributary, dagster]) {
    if (typeof value === "string" && value.length > 0) return toKey(value);
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) return toKey(value as string[]);
  }
  return undefined;
}

export function literalConfig(config: Record<string, JinjaExpr>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    const value = literalValue(v);
    if (value !== undefined) out[k] = value;
  }
  return out;
}

/** Path segments of a node under its resource folder, for folder-level configs (`marts/fct_orders`). */
export function relSegments(project: DbtProject, file: string, resourceType: "models" | "seeds" | "snapshots"): string[] {
  const roots = resourceType === "models" ? project.modelPaths : resourceType === "seeds" ? project.seedPaths : project.snapshotPaths;
  for (const root of roots) {
    // Both absolute and normalized (the index builds them with path.resolve / path.join): a prefix
    // test, where path.relative took a tenth of a large project's link time.
    if (file.startsWith(root + path.sep)) {
      const parts = file.slice(root.length + 1).split(path.sep);
      parts[parts.length - 1] = parts[parts.length - 1].replace(/\.[^.]+$/, "");
      return parts;
    }
  }
  return [path.basename(file).replace(/\.[^.]+$/, "")];
}

/** A `ref(...)` / `source(...)` read from YAML, as the calls the SQL scanner would have found. */
export function yamlDepCalls(dep: YamlRefDep): { refs: RefCall[]; sources: SourceCall[] } {
  const args = dep.args.map((value): JinjaExpr => ({ type: "string", value }));
  if (dep.call === "source") return { refs: [], sources: [{ args, kwargs: {}, span: dep.span, sourceSpan: dep.span, tableSpan: dep.span }] };
  const kwargs: RefCall["kwargs"] = dep.version !== undefined ? { v: { type: "string", value: dep.version } } : {};
  return { refs: [{ args, kwargs, span: dep.span, nameSpan: dep.span }], sources: [] };
}
