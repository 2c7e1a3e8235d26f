import * as path from "node:path";
import type { Span } from "../../protocol/types";
import type { ProjectFiles } from "./types";

/**
 * A package packages.yml / dependencies.yml declares that is not installed (no project of that
 * name in the workspace or under packages-install-path): its models, sources and macros are not
 * in the graph. Says which, and what lineage is missing because of it.
 */
export function missingPackageWarnings(p: ProjectFiles, projects: ProjectFiles[], unresolvedRefs: Set<string> | undefined): { file: string; span: Span; message: string }[] {
  const declared = p.project.declaredPackages;
  if (p.isPackage || !declared?.length) return [];
  const names = new Set(projects.map((q) => q.project.name));
  const roots = new Set(projects.map((q) => q.project.root));
  const missing = declared.filter((d) => {
    if (d.local) return !roots.has(d.local);
    if (!d.name) return false;
    // A git package installs under its project's name, which the URL only suggests (`dbt_x` -> `x`).
    return !names.has(d.name) && !names.has(d.name.replace(/^dbt_/, ""));
  });
  if (missing.length === 0) return [];
  const unresolved = [...(unresolvedRefs ?? [])];
  const warnings: { file: string; span: Span; message: string }[] = [];
  const where = path.relative(p.project.root, p.project.packagesPath) || ".";
  for (const d of missing) {
    const lost: string[] = [];
    if (d.name) {
      const prefix = `${d.name}.`;
      let calls = 0;
      for (const facts of [...p.models.values(), ...p.macros.values(), ...p.snapshots.values()]) {
        for (const c of facts.macroCalls) if (c.name.startsWith(prefix)) calls++;
        for (const m of facts.macros) for (const c of m.macroCalls) if (c.name.startsWith(prefix)) calls++;
      }
      if (calls > 0) lost.push(calls === 1 ? `1 call of its macros (\`${d.name}.*\`) is not expanded` : `${calls} calls of its macros (\`${d.name}.*\`) are not expanded`);
    }
    if (unresolved.length > 0) {
      const sample = unresolved.slice(0, 3).map((n) => `'${n}'`).join(", ");
      lost.push(`${unresolved.length === 1 ? "1 ref of this project finds" : `${unresolved.length} refs of this project find`} no model (${sample}${unresolved.length > 3 ? ", ..." : ""})${missing.length > 1 ? ", which may come from it" : ""}`);
    }
    const installedAs = d.local ? `no dbt project in ${path.relative(p.project.root, d.local) || "."}` : `nothing named '${d.name}' in ${where}/`;
    warnings.push({
      file: d.file,
      span: d.span,
      message: `Package '${d.spec}' is declared but not installed (${installedAs}): run 'dbt deps'. Until then its models, sources and macros are missing from the graph${lost.length ? `: ${lost.join("; ")}` : ""}.`,
    });
  }
  return warnings;
}
