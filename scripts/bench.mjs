// `npm run bench -- NAME [options]`: runs bench/NAME.ts after a build; each prints one JSON line.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const [name, ...rest] = process.argv.slice(2);
const file = `bench/${name}.ts`;
if (!name || !existsSync(file)) {
  // The benches are the files of bench/ whose header says how to run them.
  const benches = readdirSync("bench").filter((f) => f.endsWith(".ts") && readFileSync(`bench/${f}`, "utf8").slice(0, 600).includes(`npm run bench -- ${f.slice(0, -3)}`));
  console.error(`usage: npm run bench -- <${benches.map((f) => f.slice(0, -3)).join("|")}> [options]`);
  process.exit(2);
}
const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const result = spawnSync(process.execPath, ["--import", "tsx", file, ...rest], { stdio: "inherit" });
process.exit(result.status ?? 1);
