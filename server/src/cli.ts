#!/usr/bin/env node
/** The `tributary` command line: the same core as the language server, without VS Code. */
import { Command, Option } from "commander";
import * as path from "node:path";
import { graphJson, sortedDiagnostics } from "./cli/graphJson";
import { parse as parseYaml } from "yaml";
import { CliError, history, materialize, planFor, printPlan, show, status } from "./cli/runCommands";
import { daemonCommand, jobRunCommand, jobsCommand } from "./jobs/cli";
import { readTributaryConfig, WorkspaceIndex, type TributaryConfig } from "./index/workspace";
import type { Engine } from "./run/runner";
import { formatKey } from "./graph/keys";

const program = new Command();
program.name("tributary").description("One lineage graph across dbt and TypeScript assets; materialize any asset with its upstreams.").version("0.1.0");

function openWorkspace(dir: string | undefined): { index: WorkspaceIndex; root: string; config: TributaryConfig } {
  const root = path.resolve(dir ?? process.cwd());
  const { config, diagnostics } = readTributaryConfig([root]);
  for (const d of diagnostics) console.error(`${path.relative(root, d.file)}: ${d.message}`);
  const index = new WorkspaceIndex({ roots: [root], include: config.include, exclude: config.exclude });
  index.load();
  return { index, root, config };
}

program
  .command("graph")
  .description("print the lineage graph of the workspace")
  .argument("[dir]", "workspace folder", ".")
  .option("--json", "print JSON")
  .action((dir: string, options: { json?: boolean }) => {
    const { index, root } = openWorkspace(dir);
    const data = graphJson(index, root);
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
    }
    printDiagnostics(data.diagnostics);
  });

program
  .command("check")
  .description("print diagnostics; exit 1 when there are errors (for CI)")
  .argument("[dir]", "workspace folder", ".")
  .addOption(new Option("--json", "print JSON"))
  .action((dir: string, options: { json?: boolean }) => {
    const { index, root } = openWorkspace(dir);
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
  .option("--concurrency <n>", "steps that may run at once", (v) => Number(v))
  .option("--no-checks", "do not run the assets' checks (dbt tests, TS checks) after they materialize")
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (selection: string | undefined, options: { engine?: Engine; retryFailed?: boolean; vars?: string; fullRefresh?: boolean; wait?: boolean; concurrency?: number; checks: boolean; json?: boolean; dir: string }) => {
    const { index, root, config } = openWorkspace(options.dir);
    const summary = await materialize(index, root, selection, { ...runSettings(options, config), retryFailed: options.retryFailed, checks: options.checks });
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
    const { index, root, config } = openWorkspace(options.dir);
    const summary = await materialize(index, root, selection, { ...runSettings(options, config), checksOnly: true });
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
  .option("--concurrency <n>", "steps that may run at once", (v) => Number(v))
  .option("--json", "print one JSON event per line")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (name: string, _options: unknown, command: Command) => {
    // `--json` / `-C` may be written before or after `run`: both levels define them.
    const options = command.optsWithGlobals<{ engine?: Engine; vars?: string; fullRefresh?: boolean; wait?: boolean; concurrency?: number; json?: boolean; dir: string }>();
    const { index, root, config } = openWorkspace(options.dir);
    const summary = await jobRunCommand(index, root, name, runSettings(options, config));
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
  .command("show")
  .description("print the first rows of an asset's warehouse table")
  .argument("<key>", "asset key")
  .option("--limit <n>", "rows", (v) => Number(v), 10)
  .option("--json", "print JSON")
  .option("-C, --dir <dir>", "workspace folder", ".")
  .action(async (key: string, options: { limit: number; json?: boolean; dir: string }) => {
    const { index, root } = openWorkspace(options.dir);
    await show(index, root, key, options.limit, options.json === true);
  });

interface RunFlags {
  engine?: Engine;
  vars?: string;
  fullRefresh?: boolean;
  wait?: boolean;
  concurrency?: number;
  json?: boolean;
}

/** What `materialize` and `jobs run` take from their flags, tributary.json and the environment. */
function runSettings(options: RunFlags, config: TributaryConfig) {
  return {
    engine: options.engine ?? config.engine,
    json: options.json,
    vars: options.vars ? (parseYaml(options.vars) as Record<string, unknown>) : undefined,
    fullRefresh: options.fullRefresh,
    wait: options.wait,
    dbtExecutable: config.dbtExecutable ?? process.env.TRIBUTARY_DBT_EXECUTABLE,
    concurrency: options.concurrency ?? config.concurrency,
  };
}

function exitCode(status: string): number {
  return status === "success" ? 0 : status === "cancelled" ? 130 : 1;
}

function printDiagnostics(diagnostics: { file: string; line: number; column: number; severity: string; message: string }[]): void {
  for (const d of diagnostics) console.log(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  const expected = error instanceof CliError || (error instanceof Error && error.name === "WarehouseLockedError");
  console.error(error instanceof Error ? (expected ? error.message : error.stack ?? error.message) : String(error));
  process.exitCode = 2;
});
