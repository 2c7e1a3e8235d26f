/** `tributary export dagster [--out DIR] [--check]`: writes (or checks) the Dagster code location. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { buildDagsterExport, ExportRefused } from "../export/dagster/model";
import { renderDagsterExport } from "../export/dagster/python";
import type { WorkspaceIndex } from "../index/workspace";
import { CliError } from "./runCommands";

export function exportDagsterCommand(index: WorkspaceIndex, root: string, options: { out: string; check: boolean }): number {
  const outDir = path.resolve(root, options.out);
  let files: Map<string, string>;
  try {
    files = renderDagsterExport(buildDagsterExport(index, root, { outDir }));
  } catch (error) {
    if (error instanceof ExportRefused) throw new CliError(`Nothing was exported to Dagster (${error.problems.length === 1 ? "1 problem" : `${error.problems.length} problems`}):\n${error.message}`);
    throw error;
  }
  const shown = (file: string) => path.relative(process.cwd(), path.join(outDir, file)) || file;
  if (options.check) {
    const stale = [...files].filter(([file, text]) => read(path.join(outDir, file)) !== text).map(([file]) => file);
    if (stale.length === 0) {
      console.log(`${shown(".")}: the Dagster export is up to date (${files.size} files)`);
      return 0;
    }
    console.error(`The Dagster export is out of date; run 'tributary export dagster${options.out === "dagster" ? "" : ` --out ${options.out}`}'.`);
    for (const file of stale) console.error(`  ${read(path.join(outDir, file)) === undefined ? "missing" : "differs"}: ${shown(file)}`);
    return 1;
  }
  for (const [file, text] of files) {
    const target = path.join(outDir, file);
    if (read(target) === text) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  console.log(`wrote a Dagster code location to ${shown(".")}: ${[...files.keys()].join(", ")}`);
  console.log(`run it: cd ${shown(".")} && pip install -e ".[dev]" && dagster dev`);
  return 0;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
