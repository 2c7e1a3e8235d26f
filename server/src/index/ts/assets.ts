/**
 * Static reader of TypeScript asset files: `asset({...}, fn)` and `job({...})` calls of the
 * `tributary-assets` runtime, plus the file's import/export bindings so the linker can resolve
 * identifier deps across modules (see `resolveDeps.ts`).
 *
 * Pure and total: text in, facts out, never throws. One parse (TS 6 `createSourceFile`) and one
 * walk of the tree; files whose text does not mention `tributary-assets` are not parsed at all.
 *
 * The parts: `tsFile.ts` (the parse, spans, diagnostics), `moduleScope.ts` (imports, exports and
 * the runtime's names), `walk.ts` (the calls and their declarations), `assetDef.ts`, `checkDefs.ts`,
 * `jobDef.ts` (what each call says), `syntax.ts` (literal and name helpers).
 */
import path from "node:path";
import type { TsFacts } from "../facts";
import { TRIBUTARY_MODULE, readModuleScope } from "./moduleScope";
import { emptyFacts, parseTsFile } from "./tsFile";
import { walkCalls } from "./walk";

/** Maps an import specifier written in `fromFile` to an absolute file path, if it is one. */
export type ModuleResolver = (specifier: string, fromFile: string) => string | undefined;

export interface ReadTsAssetsOptions {
  /**
   * Parse even when the text does not mention `tributary-assets`, to learn the file's imports and
   * exports (barrel files re-exporting asset constants). Default false: such files are skipped.
   */
  parseWithoutTributary?: boolean;
}

// ---------------------------------------------------------------- module resolution

const SCRIPT_EXTS = [".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx"];
const JS_TO_TS: Record<string, string[]> = {
  ".js": [".ts", ".tsx"],
  ".jsx": [".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
};

/**
 * The default resolver for relative (and absolute) specifiers: `./x` -> `x.ts` / `x.mts` /
 * `x.cts` / `x.tsx` / `x/index.ts`..., `./x.js` -> `x.ts` (TS's ESM convention), `./x.ts` as is.
 * Bare specifiers (packages) resolve to `undefined`; tsconfig `paths` are not consulted.
 * `fileExists` must be false for directories; callers may cache it.
 */
export function makeRelativeResolver(fileExists: (p: string) => boolean): ModuleResolver {
  return (specifier, fromFile) => {
    const isRelative = specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../");
    if (!isRelative && !path.isAbsolute(specifier)) return undefined;
    const base = path.resolve(path.dirname(fromFile), specifier);
    const ext = path.extname(base).toLowerCase();
    const candidates: string[] = [];
    const rewrites = JS_TO_TS[ext];
    if (rewrites) for (const r of rewrites) candidates.push(base.slice(0, base.length - ext.length) + r);
    if (SCRIPT_EXTS.includes(ext)) candidates.push(base);
    for (const e of [".ts", ".mts", ".cts", ".tsx"]) candidates.push(base + e);
    for (const e of [".ts", ".mts", ".cts", ".tsx"]) candidates.push(path.join(base, "index" + e));
    for (const c of candidates) {
      try {
        if (fileExists(c)) return c;
      } catch {
        // a failing probe is a missing file
      }
    }
    return undefined;
  };
}

/**
 * Reads the asset and job definitions, imports and exports of one TypeScript file.
 * `resolveModule` maps import specifiers to absolute paths (see `makeRelativeResolver`).
 */
export function readTsAssets(
  file: string,
  text: string,
  resolveModule: ModuleResolver,
  options: ReadTsAssetsOptions = {},
): TsFacts {
  if (!options.parseWithoutTributary && !text.includes(TRIBUTARY_MODULE)) return emptyFacts();
  try {
    return read(file, text, resolveModule);
  } catch (err) {
    const facts = emptyFacts();
    facts.diagnostics.push({
      file,
      span: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: "error",
      message: `Tributary could not read this file: ${err instanceof Error ? err.message : String(err)}`,
      code: "ts-internal",
    });
    return facts;
  }
}

function read(file: string, text: string, resolveModule: ModuleResolver): TsFacts {
  const f = parseTsFile(file, text);
  const resolve = (specifier: string): string | undefined => {
    try {
      return resolveModule(specifier, file);
    } catch {
      return undefined;
    }
  };
  const scope = readModuleScope(f, resolve);
  const { assetNames, jobNames, checkNames, namespaceNames } = scope;

  // Files that do not import the runtime still report imports/exports (parseWithoutTributary).
  if (assetNames.size === 0 && jobNames.size === 0 && checkNames.size === 0 && namespaceNames.size === 0) return f.facts;

  walkCalls(f, scope);
  return f.facts;
}
