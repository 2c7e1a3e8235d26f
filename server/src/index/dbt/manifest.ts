/**
 * dbt's `target/manifest.json` (schema v4 to v12 and later): the parent edges dbt itself found
 * and a summary of each node, source and exposure. One `JSON.parse`, then one pass.
 * Pure; never throws: anything unreadable is one `manifest-malformed` warning and empty facts.
 */
import type { IndexDiagnostic } from "../../protocol/types";
import type { ManifestFacts } from "../facts";

type NodeSummary = ManifestFacts["nodes"][string];

const ZERO = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function malformed(file: string, why: string): ManifestFacts {
  const d: IndexDiagnostic = {
    file,
    span: ZERO,
    severity: "warning",
    code: "manifest-malformed",
    message: `dbt manifest could not be used (${why}); lineage comes from static reading only.`,
  };
  return { parents: {}, nodes: {}, diagnostics: [d] };
}

function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) if (typeof x === "string") out.push(x);
  return out;
}

function summarize(id: string, raw: Record<string, unknown>): NodeSummary | undefined {
  const resourceType = typeof raw.resource_type === "string" ? raw.resource_type : id.split(".")[0];
  const name = typeof raw.name === "string" ? raw.name : undefined;
  if (!resourceType || name === undefined) return undefined;
  const packageName = typeof raw.package_name === "string" ? raw.package_name : (id.split(".")[1] ?? "");
  const s: NodeSummary = { resourceType, packageName, name };
  if (typeof raw.source_name === "string") s.sourceName = raw.source_name;
  if (typeof raw.version === "string" || typeof raw.version === "number") s.version = String(raw.version);
  if (typeof raw.original_file_path === "string") s.originalFilePath = raw.original_file_path;
  return s;
}

export function parseManifest(text: string, file: string): ManifestFacts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return malformed(file, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    if (!isObject(data)) return malformed(file, "the top level is not an object");
    const { nodes, sources, exposures, parent_map: parentMap } = data;
    if (!isObject(nodes)) return malformed(file, "no `nodes` object");
    for (const [key, v] of [["sources", sources], ["exposures", exposures]] as const) {
      if (v !== undefined && v !== null && !isObject(v)) return malformed(file, `\`${key}\` is not an object`);
    }
    if (parentMap !== undefined && parentMap !== null && !isObject(parentMap)) return malformed(file, "`parent_map` is not an object");

    const facts: ManifestFacts = { parents: {}, nodes: {}, diagnostics: [] };
    const useParentMap = isObject(parentMap);
    const groups: Record<string, unknown>[] = [nodes];
    if (isObject(sources)) groups.push(sources);
    if (isObject(exposures)) groups.push(exposures);
    for (const group of groups) {
      for (const id in group) {
        const raw = group[id];
        if (!isObject(raw)) continue;
        const s = summarize(id, raw);
        if (s) facts.nodes[id] = s;
        if (!useParentMap) {
          const dependsOn = raw.depends_on;
          const parents = isObject(dependsOn) ? stringList(dependsOn.nodes) : [];
          if (parents.length > 0 || group !== sources) facts.parents[id] = parents;
        }
      }
    }
    if (useParentMap) {
      for (const id in parentMap) facts.parents[id] = stringList(parentMap[id]);
    }
    return facts;
  } catch (e) {
    return malformed(file, e instanceof Error ? e.message : String(e));
  }
}
