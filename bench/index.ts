/**
 * `npm run bench -- index`: indexing speed on a generated workspace (default 5,000 models and
 * 500 TS asset files). Prints one JSON line with medians:
 *   coldIndexMs   fresh process: read + parse + link the whole workspace
 *   coldIndexDocumentedMs  the same with half of the models documented in property files
 *   coldIndexLargeMs  a workspace shaped like the largest public dbt repositories: 5 projects,
 *                 7,400 documented models, 10,500 source tables in YAML shared by every project,
 *                 macros overriding ref and wrapping source (bench/generateLarge.ts; target <= 2,000)
 *   coldIndexLargeCpuMs  the CPU time of the same (user + system, GC and JIT threads included),
 *                 which a machine busy with other work inflates less than the wall time
 *   coldIndexLargeMainThreadMs  the CPU time of the indexing thread alone (Linux): about the wall
 *                 time on an idle machine with a core to spare
 *   editToGraphMs one model edited (a ref added) until the new graph is built
 *   hoverP50Ms / hoverP99Ms  hover requests over stdio against the real language server
 *   rssMb         the language server's resident memory after indexing
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, freemem, loadavg, tmpdir } from "node:os";
import * as path from "node:path";
import { WorkspaceIndex } from "../server/src/index/workspace";
import { LspClient, uri } from "../test/helpers/lspClient";
import { generateWorkspace } from "./generate";
import { generateLargeWorkspace } from "./generateLarge";
import { MAIN_THREAD_CPU } from "./mainThread";

const args = process.argv.slice(2);
const MODELS = Number(args.find((a) => a.startsWith("--models="))?.split("=")[1] ?? 5000);
const TS_FILES = Number(args.find((a) => a.startsWith("--ts="))?.split("=")[1] ?? 500);
const RUNS = Number(args.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? 5);
/** `--large-only`: just the large multi-project figure (what guards the issue-16 target). */
const LARGE_ONLY = args.includes("--large-only");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Cold index in a fresh Node process (the server's own start-up path, without the LSP). */
function coldIndexOnce(root: string): number {
  return coldIndexTimed(root).ms;
}

/** Wall time, and the CPU time of the process (what a loaded machine inflates less). */
function coldIndexTimed(root: string): { ms: number; cpuMs: number; mainMs?: number } {
  const script = `
    const { WorkspaceIndex } = require(${JSON.stringify(path.resolve(__dirname, "../dist/bench-index.js"))});
    ${MAIN_THREAD_CPU}
    const t = performance.now();
    const cpu = process.cpuUsage();
    const main = mainThreadMs();
    const index = new WorkspaceIndex({ roots: [${JSON.stringify(root)}] });
    index.load();
    const n = index.graph.nodes.size;
    index.diagnostics();
    const used = process.cpuUsage(cpu);
    const mainMs = main === undefined ? undefined : mainThreadMs() - main;
    process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, mainMs, n }));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as { ms: number; cpuMs: number; mainMs?: number };
}

function machine(loadavgBefore: number[]) {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgBefore, loadavgAfter: loadavg().map(round), freeMemMb: Math.round(freemem() / 2 ** 20), node: process.version };
}

/** Median cold index of the large multi-project workspace. */
function coldLarge(roots: string[]): { ms: number; cpuMs: number; mainMs?: number } {
  const root = mkdtempSync(path.join(tmpdir(), "tributary-bench-large-"));
  roots.push(root);
  generateLargeWorkspace(root);
  const runs = Array.from({ length: RUNS }, () => coldIndexTimed(root));
  const mains = runs.flatMap((r) => (r.mainMs === undefined ? [] : [r.mainMs]));
  return { ms: round(median(runs.map((r) => r.ms))), cpuMs: round(median(runs.map((r) => r.cpuMs))), ...(mains.length ? { mainMs: median(mains) } : {}) };
}

async function main(): Promise<void> {
  // The index bundled the way the server ships it, so the cold figure is the production one.
  execFileSync(path.resolve(__dirname, "../node_modules/.bin/esbuild"), ["server/src/index/workspace.ts", "--bundle", "--platform=node", "--format=cjs", "--outfile=dist/bench-index.js", "--log-level=warning"], { cwd: path.resolve(__dirname, "..") });
  const root = mkdtempSync(path.join(tmpdir(), "tributary-bench-"));
  const roots = [root];
  // Other work on the machine slows every figure (2 busy cores double coldIndexMs): say how busy it was.
  const loadavgBefore = loadavg().map(round);
  try {
    if (LARGE_ONLY) {
      const large = coldLarge(roots);
      console.log(JSON.stringify({ coldIndexLargeMs: large.ms, coldIndexLargeCpuMs: large.cpuMs, coldIndexLargeMainThreadMs: large.mainMs, runs: RUNS, machine: machine(loadavgBefore) }));
      return;
    }
    const ws = generateWorkspace(root, MODELS, TS_FILES);
    const documentedRoot = mkdtempSync(path.join(tmpdir(), "tributary-bench-documented-"));
    roots.push(documentedRoot);
    generateWorkspace(documentedRoot, MODELS, TS_FILES, { documented: true });
    const large = coldLarge(roots);
    const cold: number[] = [];
    const coldDocumented: number[] = [];
    // Interleaved, so that a busy moment on the machine weighs on both figures alike.
    for (let i = 0; i < RUNS; i++) {
      cold.push(coldIndexOnce(root));
      coldDocumented.push(coldIndexOnce(documentedRoot));
    }

    const index = new WorkspaceIndex({ roots: [root] });
    index.load();
    void index.graph;
    const original = readFileSync(ws.sampleModel, "utf8");
    const edits: number[] = [];
    for (let i = 0; i < RUNS * 4; i++) {
      const text = i % 2 === 0 ? original.replace("select * from final", "select * from final -- {{ ref('model_1') }}") : original;
      const overrideIndex = new Map([[ws.sampleModel, text]]);
      (index as unknown as { options: { readOverride?: (f: string) => string | undefined } }).options.readOverride = (f) => overrideIndex.get(f);
      const t = performance.now();
      index.update(ws.sampleModel);
      void index.graph.nodes.size;
      edits.push(performance.now() - t);
    }

    const client = await LspClient.ready(root);
    const text = readFileSync(ws.sampleModel, "utf8");
    await client.open(ws.sampleModel, text);
    const lines = text.split("\n");
    const line = lines.findIndex((l) => l.includes("ref('model_"));
    const character = lines[line].indexOf("ref('model_") + 6;
    const hovers: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await client.request("textDocument/hover", { textDocument: { uri: uri(ws.sampleModel) }, position: { line, character } });
      hovers.push(performance.now() - t);
    }
    const status = readFileSync(`/proc/${client.child.pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    await client.stop();

    console.log(
      JSON.stringify({
        models: MODELS,
        tsFiles: TS_FILES,
        coldIndexMs: round(median(cold)),
        // The same workspace with half of its models documented in property files (~12 YAML lines per model).
        coldIndexDocumentedMs: round(median(coldDocumented)),
        coldIndexLargeMs: large.ms,
        coldIndexLargeCpuMs: large.cpuMs,
        coldIndexLargeMainThreadMs: large.mainMs,
        editToGraphMs: round(median(edits)),
        hoverP50Ms: round(percentile(hovers, 50)),
        hoverP99Ms: round(percentile(hovers, 99)),
        rssMb: Math.round(rssKb / 1024),
        runs: RUNS,
        machine: machine(loadavgBefore),
      }),
    );
  } finally {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
