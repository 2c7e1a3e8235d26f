// The main job: build Tributary, then run it on examples/jaffle-forecast.
import { spawnSync } from "node:child_process";

const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const args = process.argv.slice(2);
const command = args.length ? args : ["graph"];
const run = spawnSync(process.execPath, ["../../packages/tributary-assets/dist/cli.js", ...command], { stdio: "inherit", cwd: "examples/jaffle-forecast" });
process.exit(run.status ?? 1);
