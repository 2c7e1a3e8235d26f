// `npm run bench -- NAME [options]`: runs bench/NAME.ts after a build; each prints one JSON line.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const [name, ...rest] = process.argv.slice(2);
const file = `bench/${name}.ts`;
if (!name || !existsSync(file)) {
  console.error("usage: npm run bench -- <index|run|plan|panel|columns> [options]");
  process.exit(2);
}
const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const result = spawnSync(process.execPath, ["--import", "tsx", file, ...rest], { stdio: "inherit" });
process.exit(result.status ?? 1);
