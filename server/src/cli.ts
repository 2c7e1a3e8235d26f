#!/usr/bin/env node
/** The `tributary` command line: the same core as the language server, without VS Code. */
import { Command, Option } from "commander";
import * as path from "node:path";
import { graphJson, sortedDiagnostics } from "./cli/graphJson";
import { readTributaryConfig, WorkspaceIndex } from "./index/workspace";
import { formatKey } from "./graph/keys";

const program = new Command();
program.name("tributary").description("One lineage graph across dbt and TypeScript assets; materialize any asset with its upstreams.").version("0.1.0");

function openWorkspace(dir: string | undefined): { index: WorkspaceIndex; root: string } {
  const root = path.resolve(dir ?? process.cwd());
  const { config, diagnostics } = readTributaryConfig([root]);
  for (const d of diagnostics) console.error(`${path.relative(root, d.file)}: ${d.message}`);
  const index = new WorkspaceIndex({ roots: [root], include: config.include, exclude: config.exclude });
  index.load();
  return { index, root };
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
    const errors = sortedDiagnostics(index).filter((d) => d.severity === "error").length;
    if (!options.json) console.log(`${index.graph.nodes.size} assets, ${diagnostics.length} diagnostics, ${errors} errors`);
    process.exitCode = errors > 0 ? 1 : 0;
  });

function printDiagnostics(diagnostics: { file: string; line: number; column: number; severity: string; message: string }[]): void {
  for (const d of diagnostics) console.log(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
});
