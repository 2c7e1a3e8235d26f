/** The macro files a renderer knows (each with the package the index found it in), and what is kept of each. */
import { readFileSync } from "node:fs";
import { macroNames, preprocess } from "./jinja";

/** A macro file of the project or a package: its macro names, then (once called) its compiled macros. */
export interface MacroFile {
  path: string;
  pkg: string;
  names: string[];
  exports?: Record<string, (...args: unknown[]) => unknown>;
  error?: unknown;
}

/** nunjucks does not export macros whose name starts with `_`: they are exported again under this prefix. */
export const PRIVATE_PREFIX = "dbt_private_macro";

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
