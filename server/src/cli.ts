#!/usr/bin/env node
/** The `tributary` command line: the same core as the language server, without VS Code. */
import { Command, InvalidArgumentError, Option } from "commander";
import * as path from "node:path";
import { graphJson, sortedDiagnostics, withColumns } from "./cli/graphJson";
import { workspaceColumnLineage } from "./cli/compileCommand";
import { parse as parseYaml } from "yaml";
import { compileSelection, printCompiled } from "./cli/compileCommand";
import { CliError, history, materialize, planFor, printPlan, show, status, unlock, type CliRunSettings } from "./cli/runCommands";
import { daemonCommand, jobRunCommand, jobsCommand } from "./cli/jobsCommands";
import { readTributaryConfig, WorkspaceIndex, type TributaryConfig } from "./index/workspace";
import type { Engine } from "./protocol/runEvents";
import { checkWholeNumber, RunError } from "./run/errors";
import { userDbtExecutable } from "./run/dbtCli";
import { formatKey } from "./graph/keys";
import { AssetFailedError, runAssetCommand } from "./cli/runAsset";
import { exportDagsterCommand } from "./cli/exportDagster";

const program = new Command();
program.name("tributary").description("One lineage graph across dbt and TypeScript assets; materialize any asset with its upstreams.").version("0.1.0");

/** `listsDiagnostics`: the command prints every diagnostic itself (graph, check). */
function openWorkspace(dir: string | undefined, listsDiagnostics = false): { index: WorkspaceIndex; root: string; config: TributaryConfig; configErrors: number } {
  const root = path.resolve(dir ?? process.cwd());
  const { config, diagnostics } = readTributaryConfig([root]);
  if (!listsDiagnostics) for (const d of diagnostics) console.error(`${path.relative(root, d.file)}:${d.span.start.line + 1}:${d.span.start.character + 1}: ${d.severity}: ${d.message}`);
  const index = new WorkspaceIndex({ roots: [root], include: config.include, exclude: config.exclude, configDiagnostics: diagnostics });
  index.load();
  return { index, root, config, configErrors: diagnostics.filter((d) => d.severity === "error").length };
}

program
  .command("graph")
  .description("print the lineage graph of the workspace")
  .argument("[dir]", "workspace folder", ".")
  .option("--json", "print JSON")
  .option("--columns", "column-level lineage too (compiles every model; reads the warehouse catalog read-only)")
  .action(async (dir: string, options: { json?: boolean; columns?: boolean }) => {
    const { index, root } = openWorkspace(dir, true);
    let data = graphJson(index, root);
    const lineage = options.columns ? await workspaceColumnLineage(index, root) : undefined;
    if (lineage) data = withColumns(data, index, root, lineage);
    if (options.json) {
      process.stdout.write(JSON.stringify(data) + "\n");
      return;
    }
    const graph = index.graph;
    for (const id of graph.topologicalOrder()) {
      const node = graph.get(id)!;
      const ups = graph.upstream(id).map((u) => formatKey(graph.get(u)!.key));
      const where = node.file ? `  ${path.relative(root, node.file)}` : "";
      console.log(`${formatKey(node.key).padEnd(36)} ${node.kind.padEnd(13)}${ups.length ? ` ← ${ups.join(", ")}` : ""}${where}`);
      const entry = lineage?.[id];
      for (const c of entry?.columns ?? []) {
        const from = c.upstream.map((u) => `${formatKey(graph.get(u.asset)?.key ?? [u.asset])}.${u.column}`).join(", ");
        console.log(`    .${c.name}${from ? ` ← ${from}` : ""}${c.how === "derived" && from ? " (derived)" : ""}`);
      }
    }
    printDiagnostics(data.diagnostics);
  });

program
  .command("check")
  .description("print diagnostics; exit 1 when there are errors (for CI)")
  .argument("[dir]", "workspace folder", ".")
  .addOption(new Option("--json", "print JSON"))
  .action((dir: string, options: { json?: boolean }) => {
    const { index, root } = openWorkspace(dir, true);
    const diagnostics = graphJson(index, root).diagnostics;
    if (options.json) process.stdout.write(JSON.stringify(diagnostics) + "\n");
    else printDiagnostics(diagnostics);
    const errors = sortedDiagnostics(index, root).filter((d) => d.severity === "error").length;
    if (!options.json) console.log(`${index.graph.nodes.size} assets, ${diagnostics.length} diagnostics, ${errors} errors`);
    process.exitCode = errors > 0 ? 1 : 0;
  });

program
  .command("plan")
  .description("show the steps that would materialize a selection")
  .argument("<selection>", "selection, e.g. '+forecast_vs_actual' or 'tag:finance'")
  .option("--json", "print the plan as JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((selection: string, options: { json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    const plan = planFor(index, root, selection);
    if (options.json) process.stdout.write(JSON.stringify(plan) + "\n");
    else printPlan(plan, index);
  });

program
  .command("materialize")
  .description("materialize a selection and everything it needs, in order")
  .argument("[selection]", "selection, e.g. '+forecast_vs_actual'")
  .addOption(new Option("--engine <engine>", "dbt engine").choices(["embedded", "dbt"]))
  .option("--retry-failed", "re-execute the failed and skipped steps of the last run")
  .option("--vars <yaml>", "dbt vars as JSON or YAML, like dbt's --vars")
  .option("--full-refresh", "rebuild incremental models from scratch")
  .option("--wait", "wait for another run writing the warehouse instead of refusing")
  .option("--wait-timeout <seconds>", "with --wait: give up after this long", wholeNumber)
  .option("--concurrency <n>", "steps that may run at once", wholeNumber)
  .option("--no-checks", "do not run the assets' checks (dbt tests, TS checks) after they materialize")
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (selection: string | undefined, options: RunFlags & { retryFailed?: boolean; checks: boolean; dir: string }) => {
    const { index, root, config, configErrors } = openWorkspace(options.dir);
    const summary = await materialize(index, root, selection, { ...runSettings(options, config, configErrors), retryFailed: options.retryFailed, checks: options.checks });
    process.exitCode = exitCode(summary.status);
  });

program
  .command("check-assets")
  .description("run the checks (dbt tests, TS checks) of a selection on the data that is there, materializing nothing")
  .argument("<selection>", "selection, e.g. 'fct_orders' or 'tag:finance'")
  .addOption(new Option("--engine <engine>", "dbt engine").choices(["embedded", "dbt"]))
  .option("--vars <yaml>", "dbt vars as JSON or YAML, like dbt's --vars")
  .option("--wait", "wait for another run writing the warehouse instead of refusing")
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (selection: string, options: { engine?: Engine; vars?: string; wait?: boolean; json?: boolean; dir: string }) => {
    const { index, root, config, configErrors } = openWorkspace(options.dir);
    const summary = await materialize(index, root, selection, { ...runSettings(options, config, configErrors), checksOnly: true });
    process.exitCode = exitCode(summary.status);
  });

program
  .command("status")
  .description("fresh / stale / failed / missing per asset")
  .argument("[selection]", "selection (default: every asset)")
  .option("--json", "print JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((selection: string | undefined, options: { json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    status(index, root, selection, options.json === true);
  });

program
  .command("history")
  .description("recent runs, or the materializations of one asset")
  .argument("[key]", "asset key")
  .option("--json", "print JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((key: string | undefined, options: { json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    history(index, root, key, options.json === true);
  });

const jobsProgram = program
  .command("jobs")
  .description("list job() definitions: schedule, selection size, planned steps, next and last run")
  .option("--json", "print JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((options: { json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    jobsCommand(index, root, options.json === true);
  });

jobsProgram
  .command("run")
  .description("materialize a job's selection now (planner + runner, like materialize)")
  .argument("<name>", "job name")
  .addOption(new Option("--engine <engine>", "dbt engine").choices(["embedded", "dbt"]))
  .option("--vars <yaml>", "dbt vars as JSON or YAML, like dbt's --vars")
  .option("--full-refresh", "rebuild incremental models from scratch")
  .option("--wait", "wait for another run writing the warehouse instead of refusing")
  .option("--wait-timeout <seconds>", "with --wait: give up after this long", wholeNumber)
  .option("--concurrency <n>", "steps that may run at once", wholeNumber)
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (name: string, _options: unknown, command: Command) => {
    // `--json` / `-C` may be written before or after `run`: both levels define them.
    const options = command.optsWithGlobals<RunFlags & { dir: string }>();
    const { index, root, config, configErrors } = openWorkspace(options.dir);
    const summary = await jobRunCommand(index, root, name, runSettings(options, config, configErrors));
    process.exitCode = exitCode(summary.status);
  });

program
  .command("daemon")
  .description("run the jobs' schedules until SIGINT/SIGTERM, recording each tick in .tributary/history/ticks.jsonl")
  .addOption(new Option("--engine <engine>", "dbt engine").choices(["embedded", "dbt"]))
  .option("--drain", "on SIGINT/SIGTERM let running runs finish instead of cancelling them")
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (options: { engine?: Engine; drain?: boolean; json?: boolean; dir: string }) => {
    await daemonCommand(path.resolve(options.dir), { engine: options.engine, drain: options.drain, json: options.json });
  });

program
  .command("unlock")
  .description("remove the warehouse run lock of a run that no longer runs (never of one running on this machine)")
  .option("--force", "also remove the lock of a run this machine cannot check (another host or container) that refreshed it lately")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((options: { force?: boolean; dir: string }) => {
    process.exitCode = unlock(path.resolve(options.dir), options.force === true);
  });

program
  .command("compile")
  .description("print the SQL the embedded engine would run for each selected model (nothing runs)")
  .argument("<selection>", "selection, e.g. 'fct_orders' or '+customers'")
  .option("--vars <yaml>", "dbt vars as JSON or YAML, like dbt's --vars")
  .option("--json", "print JSON: {models: [...], errors: [...]}")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (selection: string, options: { vars?: string; json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    const result = await compileSelection(index, root, selection, options.vars ? (parseYaml(options.vars) as Record<string, unknown>) : undefined);
    if (options.json) process.stdout.write(JSON.stringify(result) + "\n");
    else printCompiled(result);
    process.exitCode = result.errors.length ? 1 : 0;
  });

program
  .command("show")
  .description("print the first rows of an asset's warehouse table")
  .argument("<key>", "asset key")
  .option("--limit <n>", "rows", wholeNumber, 10)
  .option("--json", "print JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (key: string, options: { limit: number; json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    await show(index, root, key, options.limit, options.json === true);
  });

program
  .command("run-asset")
  .description("materialize exactly one TS asset, reading its upstreams (the entry a Dagster Pipes client calls)")
  .argument("[key]", "asset key, e.g. forecasting/predicted_orders (default: the asset Dagster asked for)")
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (key: string | undefined, options: { json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    process.exitCode = await runAssetCommand(index, root, key, { json: options.json });
  });

program
  .command("export")
  .description("write the workspace as another orchestrator's definitions")
  .command("dagster")
  .description("write a Dagster code location: dbt assets, TS assets through Dagster Pipes, jobs and schedules")
  .option("--out <dir>", "output folder, relative to the workspace", "dagster")
  .option("--check", "write nothing; exit 1 when the folder differs from a fresh export (for CI)")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action((options: { out: string; check?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    process.exitCode = exportDagsterCommand(index, root, { out: options.out, check: options.check === true });
  });

interface RunFlags {
  engine?: Engine;
  vars?: string;
  fullRefresh?: boolean;
  wait?: boolean;
  waitTimeout?: number;
  concurrency?: number;
  json?: boolean;
}

/** What `materialize` and `jobs run` take from their flags, tributary.json and the environment. */
function runSettings(options: RunFlags, config: TributaryConfig, configErrors: number): CliRunSettings {
  // The language server serves with defaults; a run does not guess what a broken setting meant.
  if (configErrors > 0) throw new CliError(`tributary.json has ${configErrors === 1 ? "an error" : `${configErrors} errors`} (above): fix ${configErrors === 1 ? "it" : "them"} to run; nothing was run.`);
  if (options.concurrency === undefined && config.concurrency !== undefined) checkWholeNumber('"concurrency" in tributary.json', config.concurrency);
  return {
    engine: options.engine ?? config.engine,
    json: options.json,
    vars: options.vars ? parseVars(options.vars) : undefined,
    fullRefresh: options.fullRefresh,
    wait: options.wait,
    waitTimeoutMs: options.waitTimeout === undefined ? undefined : options.waitTimeout * 1000,
    dbtExecutable: userDbtExecutable(),
    concurrency: options.concurrency ?? config.concurrency,
  };
}

/** Commander's parser for a numeric option: a whole number of at least 1, else one clear line. */
function wholeNumber(text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1) throw new InvalidArgumentError("expected a whole number of at least 1.");
  return Number(text);
}

function parseVars(text: string): Record<string, unknown> {
  let vars: unknown;
  try {
    vars = parseYaml(text);
  } catch (error) {
    throw new CliError(`--vars is not valid JSON or YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (vars === null || typeof vars !== "object" || Array.isArray(vars)) throw new CliError(`--vars must be a mapping, e.g. '{"start_date": "2024-01-01"}'.`);
  return vars as Record<string, unknown>;
}

function exitCode(status: string): number {
  return status === "success" ? 0 : status === "cancelled" ? 130 : 1;
}

function printDiagnostics(diagnostics: { file: string; line: number; column: number; severity: string; message: string }[]): void {
  for (const d of diagnostics) console.log(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  const expected = error instanceof CliError || error instanceof RunError || (error instanceof Error && error.name === "WarehouseLockedError");
  console.error(error instanceof Error ? (expected ? error.message : error.stack ?? error.message) : String(error));
  process.exitCode = error instanceof AssetFailedError ? 1 : error instanceof RunError ? error.exitCode : 2;
});
