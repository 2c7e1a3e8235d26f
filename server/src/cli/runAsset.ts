/**
 * `tributary run-asset KEY`: materializes exactly one TS asset (one step of a plan, its upstreams
 * read, never rebuilt), the entry a Dagster Pipes client calls. Launched by Dagster
 * (`DAGSTER_PIPES_CONTEXT` / `DAGSTER_PIPES_MESSAGES` set), it speaks Pipes: log lines as `log`,
 * the result as `report_asset_materialization` (rows, the asset's metadata, the data version), then
 * `closed`, with the exception when the asset failed. Without Pipes it is a one-asset materialize.
 */
import { DagsterPipesError, openDagsterPipes, toPipesAssetKey, type PipesSession } from "../../../packages/tributary-assets/src/pipes";
import { formatKey, toKey } from "../graph/keys";
import type { WorkspaceIndex } from "../index/workspace";
import { planSelection } from "../plan/planner";
import { RunContext } from "../run/context";
import { HistoryStore } from "../run/history";
import type { RunEvent } from "../protocol/runEvents";
import { runPlan } from "../run/runner";
import { cancelOnSignals, CliError } from "./runCommands";

export interface RunAssetOptions {
  json?: boolean;
  env?: NodeJS.ProcessEnv;
  nodePath?: string;
}

const PIPES_LEVEL: Record<string, "DEBUG" | "INFO" | "WARNING" | "ERROR"> = { debug: "DEBUG", info: "INFO", warn: "WARNING", error: "ERROR", stderr: "WARNING", stdout: "INFO" };

/** Runs the asset; returns the process exit code (0 success, 1 the asset failed). */
export async function runAssetCommand(index: WorkspaceIndex, root: string, keyText: string | undefined, options: RunAssetOptions = {}): Promise<number> {
  let session: PipesSession | undefined;
  try {
    session = openDagsterPipes(options.env ?? process.env);
  } catch (error) {
    if (error instanceof DagsterPipesError) throw new CliError(`Dagster Pipes: ${error.message}`);
    throw error;
  }
  try {
    const code = await run(index, root, keyText, session, options);
    session?.close();
    return code;
  } catch (error) {
    session?.close(error);
    throw error;
  }
}

async function run(index: WorkspaceIndex, root: string, keyText: string | undefined, session: PipesSession | undefined, options: RunAssetOptions): Promise<number> {
  const id = resolveAsset(index, keyText, session);
  const node = index.graph.get(id)!;
  const pipesKey = toPipesAssetKey(node.key);
  const plan = planSelection(index.graph, [id]);
  if (plan.steps.length !== 1 || plan.steps[0].kind !== "ts") throw new CliError(`'${formatKey(node.key)}' cannot run alone (${plan.skipped.map((s) => s.reason).join("; ") || "no TS step planned"}).`);
  const cancel = cancelOnSignals(true);
  const dagster = session
    ? { runId: session.context.run_id, jobName: session.context.job_name, partitionKey: session.context.partition_key, retryNumber: session.context.retry_number, extras: session.context.extras }
    : undefined;
  try {
    const summary = await runPlan(new RunContext(index, root), plan, {
      selection: formatKey(node.key),
      engine: "embedded",
      // Dagster may run several steps of a workspace at once: take turns on the warehouse.
      waitForLock: true,
      trigger: session ? `dagster ${session.context.run_id}` : "cli",
      signal: cancel.signal,
      nodePath: options.nodePath,
      dagster,
      onEvent: (event: RunEvent) => {
        if (options.json) process.stdout.write(JSON.stringify(event) + "\n");
        if (event.type === "log") {
          if (session) session.log(PIPES_LEVEL[event.level] ?? "INFO", event.message);
          else if (!options.json) process.stderr.write(`[${event.level}] ${event.message}\n`);
        }
      },
    });
    // The asset's checks (its TS checks and check()s) ran in the same step: Dagster hears of them
    // after the materialization, or before the failure when a blocking one failed the asset.
    const checks = (summary.checks ?? []).filter((c) => c.assets.includes(id));
    const reportChecks = () => {
      for (const check of checks) {
        const metadata: Record<string, unknown> = {};
        if (check.failures !== undefined) metadata.failures = { type: "int", raw_value: check.failures };
        if (check.message) metadata.message = { type: "text", raw_value: check.message };
        session?.reportAssetCheck({ assetKey: pipesKey, checkName: check.name, passed: check.status === "passed", severity: check.severity === "warn" ? "WARN" : "ERROR", metadata });
      }
    };
    const record = HistoryStore.open(root).materializations(id, 5).find((m) => m.runId === summary.runId);
    if (summary.status !== "success" || !record || record.status !== "success") {
      const error = summary.failed.find((f) => f.assetId === id)?.error ?? record?.error ?? `the run ended ${summary.status}`;
      reportChecks();
      throw new AssetFailedError(`${formatKey(node.key)} failed: ${error}`);
    }
    const metadata: Record<string, unknown> = { ...(record.metadata ?? {}) };
    if (record.rows !== undefined) metadata["dagster/row_count"] = { type: "int", raw_value: record.rows };
    metadata["tributary/run_id"] = { type: "text", raw_value: summary.runId };
    metadata["tributary/code_version"] = { type: "text", raw_value: record.codeVersion };
    metadata["tributary/duration_ms"] = { type: "int", raw_value: record.durationMs };
    // Tributary's data version of an asset is the run that last wrote it (HistoryStore.dataVersion).
    session?.reportAssetMaterialization({ assetKey: pipesKey, metadata, dataVersion: summary.runId });
    reportChecks();
    if (!session && !options.json) {
      console.log(`${formatKey(node.key)}: materialized${record.rows === undefined ? "" : `, ${record.rows} rows`} (run ${summary.runId})`);
      for (const check of checks) console.log(`  check ${check.name}: ${check.status}`);
    }
    return 0;
  } finally {
    cancel.dispose();
  }
}

/** A failed asset: the CLI prints the message and exits 1 (Pipes got it in `closed`). */
export class AssetFailedError extends CliError {
  override name = "AssetFailedError";
}

/** KEY (`a/b`), else the single asset key of the Pipes context; it must be a TS asset in scope of the context. */
function resolveAsset(index: WorkspaceIndex, keyText: string | undefined, session: PipesSession | undefined): string {
  const scope = session?.context.asset_keys ?? null;
  let text = keyText;
  if (text === undefined) {
    if (!scope || scope.length !== 1) throw new CliError("Name the asset to run: tributary run-asset KEY (e.g. forecasting/predicted_orders).");
    text = scope[0];
  }
  const id = toKey(text).join("/");
  const node = index.graph.get(id);
  if (!node) {
    const near = [...index.graph.nodes.values()].filter((n) => n.kind === "ts_asset" && n.key[n.key.length - 1] === id).map((n) => formatKey(n.key));
    throw new CliError(`No asset has the key '${text}'.${near.length ? ` Did you mean ${near.map((k) => `'${k}'`).join(" or ")}?` : ""}`);
  }
  if (node.kind !== "ts_asset") throw new CliError(`'${formatKey(node.key)}' is a ${node.kind.replace("_", " ")}: run-asset runs one TypeScript asset (dbt nodes run through dbt: tributary materialize, or dagster-dbt).`);
  if (scope && scope.length > 0 && !scope.includes(toPipesAssetKey(node.key))) {
    throw new CliError(`Dagster asked for ${scope.map((k) => `'${k}'`).join(", ")}, but run-asset was given '${formatKey(node.key)}'.`);
  }
  return id;
}
