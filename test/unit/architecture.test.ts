/**
 * The layering rule of ARCHITECTURE.md, checked on every import of the source tree (type-only
 * imports included): server modules import only their own layer or the layers before it
 * (protocol → graph → dbt → index → plan → run → columns → jobs → export → features/cli → server.ts/cli.ts),
 * the extension and the webview reach the server only through protocol/, the runtime package
 * pulls in none of the server (and only the CLI, its bin, uses the runtime), only the extension imports `vscode`, the core never imports the
 * language server, the webview never imports Node, and no module takes part in an import cycle.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");
const SOURCE_ROOTS = ["server/src", "extension/src", "webview/src", "packages/tributary-assets/src"];

/** Server layers in order; a module may import its own layer or an earlier one. */
const SERVER_LAYERS: string[][] = [["protocol"], ["graph"], ["dbt"], ["index"], ["plan"], ["run"], ["columns"], ["jobs"], ["export"], ["features", "cli"], ["server.ts", "cli.ts"]];
const CORE = new Set(["graph", "dbt", "index", "plan", "run", "columns", "jobs"]);

interface Module {
  file: string;
  /** Relative imports resolved to files of the tree. */
  local: string[];
  /** Package imports (`vscode`, `node:fs`, `yaml`, ...). */
  packages: string[];
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec.replace(/\.js$/, ""));
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return undefined;
}

function readModules(): Module[] {
  const files = SOURCE_ROOTS.flatMap((r) => sourceFiles(join(ROOT, r)));
  return files.map((file) => {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const specs = info.importedFiles.map((f) => f.fileName);
    const local: string[] = [];
    const packages: string[] = [];
    for (const spec of specs) {
      if (spec.startsWith(".")) {
        const target = resolveLocal(file, spec);
        assert.ok(target, `${relative(ROOT, file)} imports '${spec}', which does not exist`);
        local.push(target);
      } else packages.push(spec);
    }
    return { file, local, packages };
  });
}

/** "server:<layer>", "extension", "webview", "runtime" or "data" (schemas/). */
function area(file: string): string {
  const rel = relative(ROOT, file).split(/[\\/]/);
  if (rel[0] === "extension") return "extension";
  if (rel[0] === "webview") return "webview";
  if (rel[0] === "packages") return "runtime";
  if (rel[0] === "schemas") return "data";
  return `server:${rel[2]}`;
}

function layerRank(layer: string): number {
  const rank = SERVER_LAYERS.findIndex((names) => names.includes(layer));
  assert.notEqual(rank, -1, `server/src/${layer} is in no layer of ARCHITECTURE.md: add it to SERVER_LAYERS`);
  return rank;
}

/** Every import that breaks the layering rule, as "from -> to (why)". */
function layeringViolations(modules: Module[]): string[] {
  const bad: string[] = [];
  for (const m of modules) {
    const from = area(m.file);
    for (const target of m.local) {
      const to = area(target);
      // Shipped data files (the tributary.json schema) may be read by any part.
      if (from === to || to === "data") continue;
      const arrow = `${relative(ROOT, m.file)} -> ${relative(ROOT, target)}`;
      if (from === "extension" || from === "webview") {
        if (to !== "server:protocol") bad.push(`${arrow} (${from} reaches the server only through protocol/)`);
      } else if (from === "runtime") {
        bad.push(`${arrow} (the runtime package pulls in none of the server)`);
      } else if (to === "runtime" && from === "server:cli") {
        // The CLI ships as the runtime package's bin: `run-asset` speaks Dagster Pipes through the runtime's own module.
        continue;
      } else if (!to.startsWith("server:")) {
        bad.push(`${arrow} (the server never imports ${to})`);
      } else {
        const a = from.slice(7);
        const b = to.slice(7);
        if (layerRank(b) > layerRank(a) || (layerRank(b) === layerRank(a) && a !== b)) bad.push(`${arrow} (${a} comes before ${b})`);
      }
    }
    for (const pkg of m.packages) {
      const where = relative(ROOT, m.file);
      if (pkg === "vscode" && from !== "extension") bad.push(`${where} imports vscode (only extension/ does)`);
      if (/^vscode-languageserver/.test(pkg) && CORE.has(from.slice(7)) && from.startsWith("server:")) bad.push(`${where} imports ${pkg} (the core knows nothing of the language server)`);
      if (from === "webview" && (pkg.startsWith("node:") || ["fs", "path", "child_process", "os"].includes(pkg))) bad.push(`${where} imports ${pkg} (the webview runs in a browser)`);
    }
  }
  return bad;
}

/** Strongly connected components of more than one module (Tarjan). */
function importCycles(modules: Module[]): string[][] {
  const edges = new Map(modules.map((m) => [m.file, m.local]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(ROOT, w));
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe("architecture", () => {
  const modules = readModules();

  it("reads the whole tree", () => {
    assert.ok(modules.length > 100, `only ${modules.length} modules found`);
    assert.ok(modules.some((m) => m.packages.includes("vscode")), "the extension's vscode imports are seen");
  });

  it("every import follows the layering rule", () => {
    assert.deepEqual(layeringViolations(modules), []);
  });

  it("no import cycles", () => {
    assert.deepEqual(importCycles(modules), []);
  });

  it("the checker catches what it is meant to catch", () => {
    const file = (p: string) => join(ROOT, p);
    const fake: Module[] = [
      { file: file("server/src/graph/a.ts"), local: [file("server/src/run/b.ts")], packages: ["vscode-languageserver"] },
      { file: file("server/src/run/b.ts"), local: [file("server/src/graph/a.ts")], packages: [] },
      { file: file("webview/src/c.ts"), local: [file("server/src/graph/a.ts")], packages: ["node:fs"] },
      { file: file("extension/src/d.ts"), local: [file("server/src/protocol/e.ts")], packages: ["vscode"] },
    ];
    const bad = layeringViolations(fake);
    assert.equal(bad.length, 4, bad.join("\n"));
    assert.ok(bad.some((b) => b.includes("graph comes before run")));
    assert.ok(bad.some((b) => b.includes("only through protocol")));
    assert.ok(bad.some((b) => b.includes("runs in a browser")));
    assert.ok(bad.some((b) => b.includes("knows nothing of the language server")));
    assert.equal(importCycles(fake).length, 1);
  });
});
