/**
 * TypeScript -> CommonJS for the TS step process, through a cache under `.tributary/build/`: the
 * runner transpiles an asset file and the local modules it imports before starting the step, so
 * the step process normally never loads the TypeScript compiler (a few hundred ms saved per step).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

type TypeScript = typeof import("typescript");
let compiler: TypeScript | undefined;

/** Loaded on first use only: most step processes find everything in the cache. */
function typescript(): TypeScript {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  compiler ??= require("typescript") as TypeScript;
  return compiler;
}

export function transpile(file: string, source: string): string {
  const ts = typescript();
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true, jsx: ts.JsxEmit.React },
  }).outputText;
}

/** The cache file for a source file's current contents (path, size and modification time). */
export function cachePath(cacheDir: string, file: string): string {
  const stat = statSync(file);
  const key = createHash("sha1").update(`${file}\u0000${stat.size}\u0000${stat.mtimeMs}`).digest("hex").slice(0, 20);
  return path.join(cacheDir, `${path.basename(file).replace(/\.[^.]+$/, "")}-${key}.js`);
}

/** The CommonJS text of a TS file: from the cache, else transpiled now (and cached). */
export function compiled(cacheDir: string, file: string): string {
  const cached = cachePath(cacheDir, file);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const output = transpile(file, readFileSync(file, "utf8"));
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${cached}.${process.pid}.tmp`;
    writeFileSync(temp, output);
    renameSync(temp, cached);
    return output;
  }
}

/** Fills the cache for the given files (the asset file and its local imports). */
export function precompile(cacheDir: string, files: Iterable<string>): void {
  for (const file of files) {
    try {
      compiled(cacheDir, file);
    } catch {
      // A file that cannot be read now is reported by the step when it is required.
    }
  }
}
