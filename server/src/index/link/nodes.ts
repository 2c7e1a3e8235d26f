/** The nodes the linker makes from facts that need no merging: source tables, exposures, TS assets. */
import { keyId } from "../../graph/keys";
import type { AssetNode } from "../../protocol/types";
import type { TsAssetDef, TsFacts, YamlExposure, YamlSource, YamlSourceTable } from "../facts";
import { inertMarkdown } from "../markdown";
import { unique } from "./text";
import type { PendingNode, ProjectFiles } from "./types";

export function sourceTableNode(p: ProjectFiles, file: string, source: YamlSource, table: YamlSourceTable, key: string[], meta: Record<string, unknown>): PendingNode {
  return {
    id: keyId(key),
    key,
    kind: "dbt_source",
    file,
    span: table.span,
    nameSpan: table.nameSpan,
    project: p.project.name,
    dbtName: table.name,
    sourceName: source.name,
    tags: unique([...source.tags, ...table.tags]),
    owners: [],
    description: table.description ?? source.description,
    meta,
    alsoAt: [],
    owner: p,
  };
}

export function exposureNode(p: ProjectFiles, file: string, exposure: YamlExposure): PendingNode {
  const key = ["exposure", exposure.name];
  return {
    id: keyId(key),
    key,
    kind: "dbt_exposure",
    file,
    span: exposure.span,
    nameSpan: exposure.nameSpan,
    project: p.project.name,
    dbtName: exposure.name,
    tags: exposure.tags,
    owners: exposure.owners,
    description: exposure.description,
    meta: exposure.meta,
    materialized: exposure.type,
    alsoAt: [],
    owner: p,
  };
}

export function tsAssetNode(file: string, def: TsAssetDef, key: string[]): PendingNode {
  return {
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
}

/** The node as the graph keeps it, without the linker's bookkeeping. */
export function plainNode(node: PendingNode): AssetNode {
  const { facts: _facts, owner: _owner, config: _config, ...plain } = node;
  if (plain.description) plain.description = inertMarkdown(plain.description);
  return plain;
}

/** What other TS files can see of a TS file: when it changes, files importing it must relink. */
export function tsSignature(facts: TsFacts): string {
  const exports = facts.exports.map((e) => `${e.exported}:${e.local}:${e.from ?? ""}`);
  const assets = facts.assets.map((a) => `${a.key?.join("/")}:${a.localName ?? ""}:${a.exportName ?? ""}`);
  return `${exports.join("|")}#${assets.join("|")}`;
}
