/** Which engine runs a plan's dbt steps (the CLI, jobs and the daemon ask the same way). */
import type { WorkspaceIndex } from "../index/workspace";
import type { Plan } from "../protocol/plan";
import { findDbtExecutable } from "./dbtCli";
import { RunError } from "./errors";
import type { Engine } from "../protocol/runEvents";

/**
 * The engine for dbt steps: the one asked for; else dbt when it is installed and a planned project
 * uses dbt packages (which may hold macros the embedded engine cannot run); else embedded.
 */
export function chooseEngine(index: WorkspaceIndex, plan: Plan, asked: Engine | undefined, configuredExecutable: string | undefined, env: NodeJS.ProcessEnv = process.env): { engine: Engine; executable?: string } {
  const executable = findDbtExecutable(env, configuredExecutable);
  if (asked === "dbt") {
    if (!executable) throw new RunError(`The dbt engine needs the dbt executable: ${configuredExecutable ? `'${configuredExecutable}' was not found` : "'dbt' is not on PATH"} (set tributary.dbtExecutable in your user settings, or TRIBUTARY_DBT_EXECUTABLE).`, 2);
    return { engine: "dbt", executable };
  }
  if (asked === "embedded") return { engine: "embedded" };
  const planned = new Set(plan.steps.filter((s) => s.kind === "dbt").map((s) => s.project));
  const usesPackages = index.projectFiles().some((p) => !p.isPackage && planned.has(p.project.name) && p.declaresPackages);
  return usesPackages && executable ? { engine: "dbt", executable } : { engine: "embedded" };
}
