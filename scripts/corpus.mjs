// `node scripts/corpus.mjs [--mirror=DIR] [name...]`: extracts the public dbt projects listed in
// bench/corpus.json into .cache/corpus/<name>/ (git-ignored; their files are never committed).
// Each repository must already be on this machine as a bare git copy: DIR/<owner>+<name>/repo or
// DIR/<owner>+<name>.git (default DIR: $TRIBUTARY_MIRROR, else /work/.mirror). The commit recorded in
// corpus.json is extracted with `git archive`; the packages `dbt deps` would install go under
// `packagesDir`; a committed manifest.json is moved out of the tree to .cache/corpus/<name>.manifest.json
// so the index never sees it (the fidelity bench uses it as the oracle).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const mirror = args.find((a) => a.startsWith("--mirror="))?.split("=")[1] ?? process.env.TRIBUTARY_MIRROR ?? "/work/.mirror";
const only = args.filter((a) => !a.startsWith("--"));
const corpus = JSON.parse(readFileSync(path.join(root, "bench/corpus.json"), "utf8"));
const out = path.join(root, ".cache/corpus");

function gitDir(repo) {
  const base = repo.replace("/", "+");
  for (const candidate of [path.join(mirror, base, "repo"), path.join(mirror, `${base}.git`), path.join(mirror, base)]) {
    if (existsSync(path.join(candidate, "HEAD"))) return candidate;
  }
  return undefined;
}

/**
 * Writes the tree of `commit` under `dest` (git cat-file rather than git archive: a stored copy may
 * lack its largest blobs, which are skipped and counted). Symbolic links are skipped.
 */
function extract(repo, commit, dest) {
  const dir = gitDir(repo);
  if (!dir) throw new Error(`${repo} is not in ${mirror} (fetch it first)`);
  const listing = execFileSync("git", ["--git-dir", dir, "ls-tree", "-r", "-z", commit], { maxBuffer: 1 << 30, encoding: "utf8" });
  const blobs = [];
  for (const entry of listing.split("\0")) {
    const match = /^(\d+) blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
    if (match && match[1] !== "120000") blobs.push({ sha: match[2], file: match[3] });
  }
  const batch = execFileSync("git", ["--git-dir", dir, "cat-file", "--batch"], { input: blobs.map((b) => b.sha).join("\n") + "\n", maxBuffer: 2 ** 31 });
  let at = 0;
  let missing = 0;
  for (const blob of blobs) {
    const eol = batch.indexOf(10, at);
    const header = batch.subarray(at, eol).toString("utf8");
    at = eol + 1;
    const size = /^[0-9a-f]+ blob (\d+)$/.exec(header);
    if (!size) {
      missing++;
      continue;
    }
    const length = Number(size[1]);
    const file = path.join(dest, blob.file);
    if (!file.startsWith(dest + path.sep)) throw new Error(`${repo}: path outside the tree: ${blob.file}`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, batch.subarray(at, at + length));
    at += length + 1;
  }
  return { files: blobs.length - missing, missing };
}

/**
 * Fivetran's docs workflow edits the integration tests' dbt_project.yml before `dbt docs generate`:
 * lines marked `# @docs-include` are uncommented, lines marked `# @docs-ignore` commented out. The
 * committed manifest comes from that file, so the index reads the same one.
 */
function toggleDocsVars(file) {
  const text = readFileSync(file, "utf8")
    .replace(/^([ \t]*)# ([^#\n]*)(# [^\n]*@docs-include[^\n]*)$/gm, "$1$2$3")
    .replace(/^([ \t]*)([^#\s][^#\n]*)(# [^\n]*@docs-ignore[^\n]*)$/gm, "$1# $2$3");
  writeFileSync(file, text);
}

let failed = 0;
for (const project of corpus.projects) {
  if (only.length && !only.includes(project.name)) continue;
  const dest = path.join(out, project.name);
  try {
    rmSync(dest, { recursive: true, force: true });
    const { files, missing } = extract(project.repo, project.commit, dest);
    for (const pkg of project.packages ?? []) extract(pkg.repo, pkg.commit, path.join(dest, project.packagesDir, pkg.name));
    if (project.docsToggle) toggleDocsVars(path.join(dest, project.docsToggle));
    const manifestOut = path.join(out, `${project.name}.manifest.json`);
    rmSync(manifestOut, { force: true });
    if (project.manifest) renameSync(path.join(dest, project.manifest), manifestOut);
    // Nothing dbt wrote may stay in the tree: the index must work from the sources alone.
    execFileSync("find", [dest, "-name", "manifest.json", "-path", "*/target/*", "-delete"]);
    writeFileSync(path.join(dest, ".corpus.json"), JSON.stringify({ repo: project.repo, commit: project.commit }) + "\n");
    console.log(`${project.name}: ${project.repo}@${project.commit.slice(0, 12)} -> ${path.relative(root, dest)} (${files} files${missing ? `, ${missing} large blobs absent from the copy` : ""})`);
  } catch (error) {
    failed++;
    console.error(`${project.name}: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
