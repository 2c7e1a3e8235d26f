/**
 * From the index's asset checks to what the engines run, and from engine results to history
 * records: the embedded engine's dbt tests, the dbt CLI's test results, TS checks.
 */
import type { AssetCheck, CheckOutcome } from "../protocol/checks";
import type { WorkspaceIndex } from "../index/workspace";
import { parseDependsOn } from "../index/dbt/yaml";
import type { RunContext } from "./context";
import type { EmbeddedTest } from "./embedded/engine";

/** The dbt checks (generic, singular and unit tests) attached to any of `assets`, each once. */
export function dbtChecksOf(index: WorkspaceIndex, assets: Iterable<string>): AssetCheck[] {
  const byAsset = index.checks().byAsset;
  const out = new Map<string, AssetCheck>();
  for (const id of assets) {
    for (const c of byAsset.get(id) ?? []) if (c.kind !== "ts" && c.enabled) out.set(c.id, c);
  }
  return [...out.values()];
}

/**
 * The embedded engine's tests for a dbt step: each waits for the step's nodes it reads (the assets
 * it checks and, for `relationships`, its `to:`); assets outside the step are read as they are.
 */
export function embeddedTests(index: WorkspaceIndex, checks: AssetCheck[], stepAssets: string[], ctx?: RunContext): EmbeddedTest[] {
  const inStep = new Set(stepAssets);
  const graph = index.graph;
  const out: EmbeddedTest[] = [];
  for (const c of checks) {
    const test: EmbeddedTest = {
      id: c.id,
      name: c.name,
      ...(c.alias ? { alias: c.alias } : {}),
      file: c.file,
      severity: c.severity,
      config: c.config,
      waitFor: [...c.assets, ...c.reads].filter((a) => inStep.has(a)),
      attachedTo: c.assets,
    };
    if (c.kind === "unit") {
      const node = graph.get(c.assets[0]);
      if (!node || !ctx || !c.unit) continue;
      const given: NonNullable<EmbeddedTest["unit"]>["given"] = [];
      for (const g of c.unit.given) {
        const call = parseDependsOn(g.input);
        if (!call || call === "other") continue;
        const target = call.call === "source" ? [...graph.nodes.values()].find((n) => n.sourceName === call.args[0] && n.dbtName === call.args[1]) : [...graph.nodes.values()].find((n) => n.dbtName === call.args[call.args.length - 1] && (n.kind === "dbt_model" || n.kind === "dbt_seed" || n.kind === "dbt_snapshot"));
        const relation = target ? ctx.relationOf(target.id) : undefined;
        given.push({ call: call.call, args: call.call === "ref" ? [call.args[call.args.length - 1]] : call.args, rows: Array.isArray(g.rows) ? (g.rows as Record<string, unknown>[]) : [], ...(g.format ? { format: g.format } : {}), ...(relation ? { relation } : {}) });
      }
      test.unit = { node: ctx.embeddedNode(node), given, expect: Array.isArray(c.unit.expect.rows) ? (c.unit.expect.rows as Record<string, unknown>[]) : [] };
      test.waitFor = test.waitFor.filter((a) => a === node.id);
    } else if (c.kind === "generic") {
      const node = graph.get(c.assets[0]);
      if (!node) continue;
      const model = node.sourceName && (node.kind === "dbt_source" || node.producedByTs)
        ? { source: node.sourceName, table: node.dbtName ?? node.key[node.key.length - 1] }
        : { ref: node.dbtName ?? node.key[node.key.length - 1], ...(node.project ? { package: node.project } : {}), ...(node.version !== undefined ? { version: node.version } : {}) };
      test.generic = { test: c.testName!, model, args: c.args ?? {}, ...(c.column !== undefined ? { column: c.column } : {}) };
    }
    out.push(test);
  }
  return out;
}

export function outcomeOf(status: "pass" | "fail" | "warn" | "error" | "skipped"): CheckOutcome {
  return status === "pass" ? "passed" : status === "fail" ? "failed" : status === "warn" ? "warned" : status;
}
