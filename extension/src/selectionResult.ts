import type { SelectResult } from "../../server/src/protocol/requests";

/** The input box's message for one answer of the server (pure; unit-tested). */
export function describeSelectResult(result: SelectResult): { ok: boolean; message: string } {
  if ("error" in result) return { ok: false, message: result.error.message };
  if (result.ids.length === 0) return { ok: false, message: "No asset matches this selection." };
  const assets = `${result.ids.length} asset${result.ids.length === 1 ? "" : "s"}`;
  return { ok: true, message: `${assets} · ${result.steps} step${result.steps === 1 ? "" : "s"} (${result.dbtSteps} dbt invocation${result.dbtSteps === 1 ? "" : "s"})` };
}
