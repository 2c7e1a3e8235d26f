/**
 * `npm run bench -- columns`: compiled SQL, column lineage and query preview on a generated dbt
 * project (default 1,000 models over 10 seeds: CTEs over `select *`, joins, aggregates, a macro).
 * Prints one JSON line with medians:
 *   coldColumnsMs      fresh process: compile every model + parse (DuckDB) + column lineage (index excluded)
 *   coldIndexMs        the same process's index load, for reference
 *   compileRefreshMs   language server: a model edited (didChange) until its compiled SQL is answered
 *   previewWarmMs      language server: "Preview Results" of a model, 100 rows, after a first preview
 * Targets: ≤ 2,000 ms cold, ≤ 50 ms refresh, ≤ 200 ms preview.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { CompileRequest, PreviewRequest } from "../server/src/protocol/sql";
import { CLI } from "../test/helpers/cli";
import { LspClient, uri } from "../test/helpers/lspClient";
import { prng } from "./prng";

const args = process.argv.slice(2);
const MODELS = Number(args.find((a) => a.startsWith("--models="))?.split("=")[1] ?? 1000);
const RUNS = Number(args.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? 5);
const SEEDS = 10;
const round = (n: number) => Math.round(n * 10) / 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Every model outputs (id, a, b, c, amount, updated_at), so `select *` chains stay analyzable. */
export function generate(root: string, models: number): { sample: string; previewModel: string } {
  const random = prng(13);
  const w = (rel: string, text: string) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  w("dbt_project.yml", `name: colbench\nversion: "1.0.0"\nconfig-version: 2\nprofile: colbench\nmodels:\n  colbench:\n    +materialized: table\n`);
  w("profiles.yml", `colbench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n`);
  w("macros/money.sql", `{% macro cents_to_dollars(col) -%}\n  round({{ col }} / 100.0, 2)\n{%- endmacro %}\n`);
  for (let s = 0; s < SEEDS; s++) {
    const rows = Array.from({ length: 200 }, (_, i) => `${i},a${i},b${i},c${i},${i * 7},2024-01-${String(1 + (i % 28)).padStart(2, "0")}`);
    w(`seeds/raw_${s}.csv`, `id,a,b,c,amount,updated_at\n${rows.join("\n")}\n`);
  }
  for (let i = 0; i < models; i++) {
    const first = i < SEEDS ? `ref('raw_${i}')` : `ref('model_${i - 1 - Math.floor(random() * Math.min(i - SEEDS + 1, 50))}')`;
    const second = i < SEEDS ? `ref('raw_${(i + 1) % SEEDS}')` : `ref('model_${Math.floor(random() * (i - 1))}')`;
    const body =
      i % 5 === 0
        ? `select up0.id, max(up0.a) as a, max(up1.b) as b, max(up0.c) as c, sum({{ cents_to_dollars('up0.amount') }}) as amount, max(up0.updated_at) as updated_at\nfrom up0\njoin up1 on up0.id = up1.id\ngroup by up0.id`
        : `select up0.id, up0.a, up1.b, coalesce(up0.c, up1.c) as c, {{ cents_to_dollars('up0.amount') }} as amount, up0.updated_at\nfrom up0\nleft join up1 on up0.id = up1.id`;
    w(`models/m${Math.floor(i / 100)}/model_${i}.sql`, `{{ config(tags=['bench']) }}\n\nwith up0 as (\n    select * from {{ ${first} }}\n),\n\nup1 as (\n    select * from {{ ${second} }}\n),\n\nfinal as (\n${body}\n)\n\nselect * from final\n`);
  }
  const mid = Math.floor(models / 2);
  return { sample: path.join(root, `models/m${Math.floor(mid / 100)}/model_${mid}.sql`), previewModel: `model_${SEEDS + 5}` };
}

/** Compile + lineage in a fresh process, from the bundles built the way the server ships them. */
function coldOnce(root: string): { columnsMs: number; indexMs: number; models: number; analyzed: number } {
  const script = `
    const { WorkspaceIndex, RunContext, columnLineage } = require(${JSON.stringify(path.resolve(__dirname, "../dist/bench-columns.js"))});
    (async () => {
      let t = performance.now();
      const index = new WorkspaceIndex({ roots: [${JSON.stringify(root)}] });
      index.load();
      void index.graph;
      const indexMs = performance.now() - t;
      t = performance.now();
      const map = await columnLineage(new RunContext(index, ${JSON.stringify(root)}), undefined);
      const columnsMs = performance.now() - t;
      const entries = Object.values(map);
      process.stdout.write(JSON.stringify({ columnsMs, indexMs, models: entries.filter((e) => e.origin === "sql" || e.level === "table").length, analyzed: entries.filter((e) => e.origin === "sql").length }));
      process.exit(0);
    })();`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8", maxBuffer: 1 << 26 })) as { columnsMs: number; indexMs: number; models: number; analyzed: number };
}

async function main(): Promise<void> {
  const repo = path.resolve(__dirname, "..");
  writeFileSync(path.join(repo, "dist/bench-columns-entry.ts"), `export { WorkspaceIndex } from "../server/src/index/workspace";\nexport { RunContext } from "../server/src/run/context";\nexport { columnLineage } from "../server/src/columns/lineage";\n`);
  execFileSync(path.join(repo, "node_modules/.bin/esbuild"), ["dist/bench-columns-entry.ts", "--bundle", "--platform=node", "--format=cjs", "--outfile=dist/bench-columns.js", "--external:@duckdb/node-api", "--log-level=warning"], { cwd: repo });
  const root = mkdtempSync(path.join(tmpdir(), "tributary-bench-columns-"));
  const loadavgBefore = loadavg().map(round);
  try {
    const ws = generate(root, MODELS);
    const cold = Array.from({ length: RUNS }, () => coldOnce(root));

    // A few models materialized, so that the preview reads real tables.
    const run = spawnSync(process.execPath, [CLI, "materialize", `+${ws.previewModel}`], { cwd: root, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`materialize failed: ${run.stdout}${run.stderr}`);

    const client = await LspClient.ready(root, 120_000, { trusted: true });
    const text = readFileSync(ws.sample, "utf8");
    await client.open(ws.sample, text);
    await client.connection.sendRequest(CompileRequest, { uri: uri(ws.sample) });
    const refresh: number[] = [];
    for (let i = 0; i < RUNS * 4; i++) {
      const edited = text.replace("select * from final", `select * from final -- edit ${i}`);
      const t = performance.now();
      await client.change(ws.sample, i + 2, edited);
      const result = await client.connection.sendRequest(CompileRequest, { uri: uri(ws.sample) });
      refresh.push(performance.now() - t);
      if (!result.ok || !result.sql.includes(`edit ${i}`)) throw new Error(`the refresh did not see the edit: ${JSON.stringify(result).slice(0, 300)}`);
    }
    const previewFile = path.join(root, `models/m0/${ws.previewModel}.sql`);
    const previews: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS * 2 + 1; i++) {
      const t = performance.now();
      const result = await client.connection.sendRequest(PreviewRequest, { uri: uri(previewFile), limit: 100 });
      if (!result.ok) throw new Error(`preview failed: ${result.message}`);
      if (i > 0) previews.push(performance.now() - t);
      rows = result.rows.length;
    }
    await client.stop();

    console.log(
      JSON.stringify({
        models: MODELS,
        analyzedModels: cold[0].analyzed,
        coldColumnsMs: round(median(cold.map((c) => c.columnsMs))),
        coldIndexMs: round(median(cold.map((c) => c.indexMs))),
        compileRefreshMs: round(median(refresh)),
        previewWarmMs: round(median(previews)),
        previewRows: rows,
        runs: RUNS,
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgBefore, loadavgAfter: loadavg().map(round), freeMemMb: Math.round(freemem() / 2 ** 20), node: process.version },
      }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
