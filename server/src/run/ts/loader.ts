/**
 * Lets a plain Node process `require` the user's TypeScript: `.ts`/`.mts`/`.cts`/`.tsx` files are
 * transpiled on the fly (TypeScript's `transpileModule`, no type-check, cached), `./x.js` imports find
 * `./x.ts`, and `tributary-assets` always resolves to the runtime shipped with the runner, so a
 * user project needs nothing installed for its assets to run.
 */
import Module from "node:module";
import { compiled } from "./transpile";

const TS_EXTENSIONS = [".ts", ".mts", ".cts", ".tsx"];

interface ModuleInternals {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  _extensions: Record<string, (module: { _compile(code: string, file: string): void }, file: string) => void>;
}

export function installTsLoader(runtimePath: string, cacheDir: string): void {
  const internals = Module as unknown as ModuleInternals;
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function (request, parent, isMain, options) {
    if (request === "tributary-assets" || request.startsWith("tributary-assets/")) return runtimePath;
    try {
      return resolve.call(this, request, parent, isMain, options);
    } catch (error) {
      const js = /\.(m|c)?js$/.exec(request);
      if (request.startsWith(".") && js) {
        const base = request.slice(0, -js[0].length);
        for (const ext of js[1] === "m" ? [".mts"] : js[1] === "c" ? [".cts"] : [".ts", ".tsx"]) {
          try {
            return resolve.call(this, base + ext, parent, isMain, options);
          } catch {
            // try the next extension
          }
        }
      }
      throw error;
    }
  };
  for (const ext of TS_EXTENSIONS) {
    internals._extensions[ext] = (module, file) => module._compile(compiled(cacheDir, file), file);
  }
}
