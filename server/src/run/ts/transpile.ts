/**
 * TypeScript -> CommonJS for the TS step process, through a cache under `.tributary/build/`: the
 * runner transpiles an asset file and the local modules it imports before starting the step, so
 * the step process normally never loads the TypeScript compiler (a few hundred ms saved per step).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

/**
 * The cache file for a source text: keyed on a hash of the path and the text itself (not on size
 * and mtime, which an edit can keep, so that the step would run the old code).
 */
export function cachePath(cacheDir: string, file: string, source: string): string {
  const key = createHash("sha256").update(`${CACHE_VERSION}\u0000${file}\u0000`).update(source).digest("hex").slice(0, 32);
  return path.join(cacheDir, `${path.basename(file).replace(/\.[^.]+$/, "")}-${key}.js`);
}

/** Changes whenever the transpile options below change, so old cache entries are not reused. */
const CACHE_VERSION = "cjs-es2022-1";

/** The CommonJS text of a TS file's current contents: from the cache, else transpiled now (and cached). */
export function compiled(cacheDir: string, file: string): string {
  const source = readFileSync(file, "utf8");
  const cached = cachePath(cacheDir, file, source);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const output = transpile(file, source);
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
