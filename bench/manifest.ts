/**
 * `npm run bench -- manifest`: parsing dbt's target/manifest.json. Prints one JSON line:
 *   manifestParseMs  median parse of a generated 20,000-model manifest (~33 MB of JSON)
 */
import { cpus, loadavg } from "node:os";
import { parseManifest } from "../server/src/index/dbt/manifest";

const round = (n: number) => Math.round(n * 10) / 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function generatedManifest(models: number): string {
  const nodes: Record<string, unknown> = {};
  const parentMap: Record<string, string[]> = {};
  const filler = "x".repeat(1500);
  for (let i = 0; i < models; i++) {
    const id = `model.big.m${i}`;
    const parents = i > 0 ? [`model.big.m${i - 1}`] : [];
    nodes[id] = { resource_type: "model", package_name: "big", name: `m${i}`, original_file_path: `models/m${i}.sql`, raw_code: filler, depends_on: { nodes: parents }, config: { tags: ["a"], meta: {} } };
    parentMap[id] = parents;
  }
  return JSON.stringify({ metadata: {}, nodes, sources: {}, exposures: {}, parent_map: parentMap });
}

const text = generatedManifest(20_000);
const samples: number[] = [];
for (let run = 0; run < 5; run++) {
  const t = performance.now();
  const facts = parseManifest(text, "/bench/target/manifest.json");
  samples.push(performance.now() - t);
  if (Object.keys(facts.nodes).length !== 20_000) throw new Error("the manifest did not parse whole");
}
console.log(JSON.stringify({ manifestParseMs: Math.round(median(samples)), manifestMb: round(text.length / 1e6), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg().map(round), node: process.version } }));
