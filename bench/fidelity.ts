/**
 * `npm run bench -- fidelity [--runs=N] [--index=BUNDLE] [name...]`: the index on real public dbt projects (listed in
 * bench/corpus.json, extracted into .cache/corpus/ by `node scripts/corpus.mjs`). For each project,
 * opened at its repository root as a new user would (no manifest in the tree):
 *   indexMs      median cold index in a fresh process (read + parse + link + diagnostics)
 *   indexCpuMs   its CPU time (every thread: the JIT compiles on its own threads)
 *   indexMainThreadMs  the CPU time of the thread that indexes (Linux): what the wall time is on
 *                an idle machine with a core to spare, and what a busy machine inflates least
 *   nodes        dbt models, seeds, snapshots and sources in the graph
 *   errors       error diagnostics (dbt parses every project of the corpus: each one is a bug)
 * and where the repository committed dbt's own manifest.json, its parent_map is the oracle:
 *   recall       manifest parent edges (between models, seeds, snapshots, sources) the graph has
 *   precision    graph edges the manifest has
 *   missingNodes / extraNodes  enabled manifest nodes absent from the graph, and the reverse
 * Prints one JSON line. Projects not extracted are skipped with a message on stderr. `--index`
 * measures another build of the index (a bundle of server/src/index/workspace.ts, e.g. from an
 * earlier commit) for before / after figures.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, freemem, loadavg } from "node:os";
import * as path from "node:path";
import { MAIN_THREAD_CPU } from "./mainThread";

const ROOT = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const RUNS = Number(args.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? 3);
const only = args.filter((a) => !a.startsWith("--"));
const BUNDLE = path.resolve(args.find((a) => a.startsWith("--index="))?.split("=")[1] ?? path.join(ROOT, "dist/bench-index.js"));

interface CorpusProject {
  name: string;
  repo: string;
  commit: string;
  manifest?: string;
  /** A known gap of the corpus copy (quoted with the figures). */
  note?: string;
}

interface Snapshot {
  ms: number;
  cpuMs: number;
  mainMs?: number;
  nodes: { id: string; kind: string; project?: string; dbtName?: string; sourceName?: string; version?: string }[];
  edges: { from: string; to: string }[];
  errors: { file: string; line: number; message: string }[];
}

const round = (n: number) => Math.round(n * 10) / 10;
const ratio = (a: number, b: number) => (b === 0 ? 1 : Math.round((a / b) * 10000) / 10000);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One cold index in a fresh Node process; the graph comes back with the time. */
function coldIndex(root: string): Snapshot {
  const script = `
    const { WorkspaceIndex } = require(${JSON.stringify(BUNDLE)});
    ${MAIN_THREAD_CPU}
    const t = performance.now();
    const cpu = process.cpuUsage();
    const main = mainThreadMs();
    const index = new WorkspaceIndex({ roots: [${JSON.stringify(root)}] });
    index.load();
    const graph = index.graph;
    const diagnostics = index.diagnostics();
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    const mainMs = main === undefined ? undefined : mainThreadMs() - main;
    const errors = [...diagnostics.values()].flat().filter((d) => d.severity === "error")
      .map((d) => ({ file: require("node:path").relative(${JSON.stringify(root)}, d.file), line: d.span.start.line + 1, message: d.message }));
    process.stdout.write(JSON.stringify({
      ms,
      cpuMs,
      mainMs,
      nodes: [...graph.nodes.values()].map((n) => ({ id: n.id, kind: n.kind, project: n.project, dbtName: n.dbtName, sourceName: n.sourceName, version: n.version })),
      edges: graph.edges.map((e) => ({ from: e.from, to: e.to })),
      errors,
    }));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8", maxBuffer: 1 << 30 })) as Snapshot;
}

const KIND_PREFIX: Record<string, string> = { dbt_model: "model", dbt_seed: "seed", dbt_snapshot: "snapshot" };

/** The manifest unique_id of a graph node (undefined for TS assets and exposures). */
function uniqueId(node: Snapshot["nodes"][number]): string | undefined {
  if (!node.project) return undefined;
  if (node.kind === "dbt_source") return `source.${node.project}.${node.sourceName}.${node.dbtName}`;
  const prefix = KIND_PREFIX[node.kind];
  if (!prefix) return undefined;
  return `${prefix}.${node.project}.${node.dbtName}${node.version ? `.v${node.version}` : ""}`;
}

const COMPARED = /^(model|seed|snapshot|source)\./;

function fidelity(snapshot: Snapshot, manifestFile: string) {
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { parent_map: Record<string, string[]>; nodes: Record<string, unknown>; sources: Record<string, unknown> };
  const ids = new Map(snapshot.nodes.map((n) => [n.id, uniqueId(n)]));
  const graphEdges = new Set<string>();
  for (const e of snapshot.edges) {
    const from = ids.get(e.from);
    const to = ids.get(e.to);
    if (from && to) graphEdges.add(`${from} > ${to}`);
  }
  const manifestEdges = new Set<string>();
  for (const [child, parents] of Object.entries(manifest.parent_map)) {
    if (!COMPARED.test(child)) continue;
    for (const parent of parents) if (COMPARED.test(parent)) manifestEdges.add(`${parent} > ${child}`);
  }
  const manifestNodes = new Set([...Object.keys(manifest.nodes), ...Object.keys(manifest.sources)].filter((id) => COMPARED.test(id)));
  const graphNodes = new Set([...ids.values()].filter((id): id is string => id !== undefined));
  const missingEdges = [...manifestEdges].filter((e) => !graphEdges.has(e)).sort();
  const extraEdges = [...graphEdges].filter((e) => !manifestEdges.has(e)).sort();
  const missingNodes = [...manifestNodes].filter((id) => !graphNodes.has(id)).sort();
  const extraNodes = [...graphNodes].filter((id) => !manifestNodes.has(id)).sort();
  return {
    manifestEdges: manifestEdges.size,
    graphEdges: graphEdges.size,
    recall: ratio(manifestEdges.size - missingEdges.length, manifestEdges.size),
    precision: ratio(graphEdges.size - extraEdges.length, graphEdges.size),
    missingNodes: missingNodes.length,
    extraNodes: extraNodes.length,
    // A few of each, to say what is off without reading the whole graph.
    examples: { missingEdges: missingEdges.slice(0, 5), extraEdges: extraEdges.slice(0, 5), missingNodes: missingNodes.slice(0, 5), extraNodes: extraNodes.slice(0, 5) },
  };
}

function main(): void {
  execFileSync(path.join(ROOT, "node_modules/.bin/esbuild"), ["server/src/index/workspace.ts", "--bundle", "--platform=node", "--format=cjs", "--outfile=dist/bench-index.js", "--log-level=warning"], { cwd: ROOT });
  const corpus = JSON.parse(readFileSync(path.join(ROOT, "bench/corpus.json"), "utf8")) as { projects: CorpusProject[] };
  const loadavgBefore = loadavg().map(round);
  const results: Record<string, unknown>[] = [];
  const skipped: string[] = [];
  for (const project of corpus.projects) {
    if (only.length && !only.includes(project.name)) continue;
    const root = path.join(ROOT, ".cache/corpus", project.name);
    if (!existsSync(path.join(root, ".corpus.json"))) {
      console.error(`fidelity: skipping ${project.name}: not in .cache/corpus (fetch ${project.repo} and run \`node scripts/corpus.mjs ${project.name}\`)`);
      skipped.push(project.name);
      continue;
    }
    const runs: Snapshot[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(coldIndex(root));
    const snapshot = runs[runs.length - 1];
    const mains = runs.flatMap((r) => (r.mainMs === undefined ? [] : [r.mainMs]));
    const s = snapshot;
    const manifestFile = path.join(ROOT, ".cache/corpus", `${project.name}.manifest.json`);
    results.push({
      name: project.name,
      repo: project.repo,
      commit: project.commit.slice(0, 12),
      indexMs: round(median(runs.map((r) => r.ms))),
      indexCpuMs: round(median(runs.map((r) => r.cpuMs))),
      ...(mains.length ? { indexMainThreadMs: median(mains) } : {}),
      nodes: s.nodes.filter((n) => n.kind.startsWith("dbt_")).length,
      edges: s.edges.length,
      errors: s.errors.length,
      ...(s.errors.length ? { errorExamples: s.errors.slice(0, 5) } : {}),
      ...(project.manifest && existsSync(manifestFile) ? fidelity(s, manifestFile) : {}),
      ...(project.note ? { note: project.note } : {}),
    });
  }
  console.log(
    JSON.stringify({
      projects: results,
      skipped,
      index: path.relative(ROOT, BUNDLE),
      runs: RUNS,
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgBefore, loadavgAfter: loadavg().map(round), freeMemMb: Math.round(freemem() / 2 ** 20), node: process.version },
    }),
  );
}

main();
