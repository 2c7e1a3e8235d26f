// `npm run package`: a production build, then the .vsix with @vscode/vsce. The allow-list in
// .vscodeignore keeps only the bundles and the native DuckDB binding for this platform.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
// `npm test` builds the production bundles once for every tier and says so with TRIBUTARY_PREBUILT.
if (process.env.TRIBUTARY_PREBUILT !== "1") run(process.execPath, ["scripts/build.mjs", "--production"]);
const { name, version } = JSON.parse(readFileSync("package.json", "utf8"));
const target = `${process.platform === "win32" ? "win32" : process.platform}-${process.arch}`;
run(process.execPath, ["node_modules/@vscode/vsce/vsce", "package", "--target", target, "--allow-missing-repository", "--skip-license",
  // The README's screenshots (docs/*.png, packaged) and links stay relative: there is no repository URL to rewrite them to.
  "--no-rewrite-relative-links", "--out", `${name}-${version}.vsix`]);
