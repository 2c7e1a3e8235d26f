/** The macro files a renderer knows: which package each belongs to, and what is kept of each. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { macroNames, preprocess } from "./jinja";

/** A macro file of the project or a package: its macro names, then (once called) its compiled macros. */
export interface MacroFile {
  path: string;
  pkg: string;
  names: string[];
  exports?: Record<string, (...args: unknown[]) => unknown>;
  error?: unknown;
}

/** Folder -> the name its dbt_project.yml gives (undefined: no dbt_project.yml there). */
const PKG_NAME_CACHE = new Map<string, string | undefined>();
/** nunjucks does not export macros whose name starts with `_`: they are exported again under this prefix. */
export const PRIVATE_PREFIX = "dbt_private_macro";

/** The package a macro file belongs to: the name in the nearest dbt_project.yml above it. */
export function packageOfFile(file: string, rootDir: string, rootName: string): string {
  let dir = dirname(resolve(file));
  const root = resolve(rootDir);
  for (let i = 0; i < 30; i++) {
    if (dir === root) return rootName;
    if (PKG_NAME_CACHE.has(dir)) {
      const n = PKG_NAME_CACHE.get(dir);
      if (n) return n;
    } else {
      const yml = join(dir, "dbt_project.yml");
      let name: string | undefined;
      if (existsSync(yml)) {
        const m = /^name:\s*['"]?([\w-]+)['"]?/m.exec(readFileSync(yml, "utf8"));
        name = m?.[1] ?? dir.split(sep).pop();
      }
      PKG_NAME_CACHE.set(dir, name);
      if (name) return name;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return rootName;
}

/** Reads a macro file's macro names (its macros are compiled the first time one is called). */
export function readMacroFile(path: string, pkg: string): MacroFile {
  let names: string[] = [];
  let error: unknown;
  let source = "";
  try {
    source = readFileSync(path, "utf8");
    names = macroNames(preprocess(source, { macroFile: true })).map((m) => m.name);
  } catch (e) {
    error = e;
    // Still find the names, so calls to them can explain the failure.
    names = [...source.matchAll(/\{%-?\s*macro\s+([A-Za-z_]\w*)/g)].map((m) => m[1]);
  }
  return { path, pkg, names, error };
}
