// The main job: build Tributary, then materialize examples/jaffle-forecast end to end on the
// embedded DuckDB engine (dbt seeds and models -> TS forecast -> TS predictions table -> dbt model),
// and show the result. `npm run example -- <command>` runs any other tributary command there.
import { spawnSync } from "node:child_process";

const build = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const tributary = (...args) => spawnSync(process.execPath, ["../../packages/tributary-assets/dist/cli.js", ...args], { stdio: "inherit", cwd: "examples/jaffle-forecast" }).status ?? 1;

const args = process.argv.slice(2);
if (args.length) process.exit(tributary(...args));
const code = tributary("materialize", "+forecast_vs_actual +customers");
if (code !== 0) process.exit(code);
process.exit(tributary("show", "forecast_vs_actual", "--limit", "8"));
