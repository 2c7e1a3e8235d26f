/**
 * Opening a folder reads it as untrusted input (and names that are not valid UTF-8):
 * only regular files inside the workspace, each under a size cap, and the project's folders only
 * inside the workspace. Hangs are caught by running the real CLI with a time and memory limit.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { CLI } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";

/** `tributary check --json` in a child with 60 s and 4 GB of address space at most. */
interface CliDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: string;
  message: string;
}

function checkBounded(root: string): { status: number | null; signal: string | null; diagnostics: CliDiagnostic[]; stderr: string } {
  const script = `ulimit -v 4000000; exec "${process.execPath}" "${CLI}" check --json "${root}"`;
  const result = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
  let diagnostics: CliDiagnostic[] = [];
  try {
    diagnostics = JSON.parse(result.stdout) as CliDiagnostic[];
  } catch {
    diagnostics = [];
  }
  return { status: result.status, signal: result.signal, diagnostics, stderr: result.stderr };
}

function indexOf(root: string): WorkspaceIndex {
  const index = new WorkspaceIndex({ roots: [root] });
  index.load();
  return index;
}

function diagnosticsOf(index: WorkspaceIndex, file: string) {
  return index.diagnostics().get(file) ?? [];
}

describe("reading a repository", () => {
  let ws: { root: string; dispose: () => void };
  let outside: string;
  before(() => {
    ws = copyExample();
    outside = mkdtempSync(path.join(tmpdir(), "tributary-outside-"));
  });
  after(() => {
    ws.dispose();
    rmSync(outside, { recursive: true, force: true });
  });

  test("a model that is a link to /dev/zero or a FIFO is skipped with a diagnostic, and check finishes", () => {
    const zero = path.join(ws.root, "models", "zero.sql");
    const fifo = path.join(ws.root, "models", "pipe.sql");
    symlinkSync("/dev/zero", zero);
    const made = spawnSync("mkfifo", [fifo]);
    assert.equal(made.status, 0, "mkfifo");
    try {
      const result = checkBounded(ws.root);
      assert.equal(result.signal, null, `check was killed (${result.signal}): it hung or ran out of memory. ${result.stderr.slice(0, 500)}`);
      assert.equal(result.status, 0, result.stderr);
      const zeroDiag = result.diagnostics.find((d) => d.file === "models/zero.sql");
      assert.ok(zeroDiag, JSON.stringify(result.diagnostics));
      assert.equal(zeroDiag.line, 1);
      assert.equal(zeroDiag.severity, "warning");
      assert.match(zeroDiag.message, /link to \/dev\/zero, outside the workspace/);
      const fifoDiag = result.diagnostics.find((d) => d.file === "models/pipe.sql");
      assert.ok(fifoDiag, JSON.stringify(result.diagnostics));
      assert.match(fifoDiag.message, /not a regular file \(a FIFO\)/);
      // The rest of the project is read as usual.
      const index = indexOf(ws.root);
      assert.ok(index.graph.get("fct_orders"));
      assert.equal(index.graph.get("zero"), undefined);
    } finally {
      rmSync(zero, { force: true });
      rmSync(fifo, { force: true });
    }
  });

  test("a link to a file outside the workspace is not followed; a link inside it is", () => {
    const secret = path.join(outside, "secret.sql");
    writeFileSync(secret, "select 1 as stolen\n");
    const outLink = path.join(ws.root, "models", "stolen.sql");
    const inLink = path.join(ws.root, "models", "orders_alias.sql");
    symlinkSync(secret, outLink);
    symlinkSync(path.join(ws.root, "models", "staging", "stg_orders.sql"), inLink);
    try {
      const index = indexOf(ws.root);
      assert.equal(index.graph.get("stolen"), undefined);
      const [d] = diagnosticsOf(index, outLink);
      assert.equal(d?.code, "file-skipped");
      assert.match(d.message, /outside the workspace/);
      assert.ok(index.graph.get("orders_alias"), "a link inside the workspace is read");
    } finally {
      rmSync(outLink, { force: true });
      rmSync(inLink, { force: true });
    }
  });

  test("a file over the size cap is skipped with a diagnostic naming its size", () => {
    const big = path.join(ws.root, "models", "huge.sql");
    writeFileSync(big, "select 1 as x\n" + "-- padding padding padding padding padding padding padding\n".repeat(160_000));
    try {
      const index = indexOf(ws.root);
      assert.equal(index.graph.get("huge"), undefined);
      const [d] = diagnosticsOf(index, big);
      assert.equal(d?.code, "file-skipped");
      assert.match(d.message, /over the 8\.0 MB limit/);
      assert.ok(index.graph.get("fct_orders"));
    } finally {
      rmSync(big, { force: true });
    }
  });

  test("a seed is only checked, not read: a large one is kept, a link to a device is not", () => {
    const big = path.join(ws.root, "seeds", "big_seed.csv");
    const zero = path.join(ws.root, "seeds", "zero_seed.csv");
    writeFileSync(big, "id,name\n" + "1,some fairly long name to take up room\n".repeat(260_000));
    symlinkSync("/dev/zero", zero);
    try {
      const index = indexOf(ws.root);
      assert.ok(index.graph.get("big_seed"), "a 10 MB seed is a seed");
      assert.equal(index.graph.get("zero_seed"), undefined);
      assert.equal(diagnosticsOf(index, zero)[0]?.code, "file-skipped");
    } finally {
      rmSync(big, { force: true });
      rmSync(zero, { force: true });
    }
  });

  test("model-paths outside the workspace are refused with an error at the entry; check does not walk the disk", () => {
    const projectFile = path.join(ws.root, "dbt_project.yml");
    const original = readFileSync(projectFile, "utf8");
    writeFileSync(projectFile, original.replace('model-paths: ["models"]', 'model-paths: ["models", "/usr", "../elsewhere"]'));
    try {
      const index = indexOf(ws.root);
      const diags = diagnosticsOf(index, projectFile).filter((d) => d.code === "project-path-outside");
      assert.equal(diags.length, 2, JSON.stringify(diags));
      const text = readFileSync(projectFile, "utf8");
      const line = text.split("\n").findIndex((l) => l.startsWith("model-paths"));
      assert.equal(diags[0].span.start.line, line);
      assert.equal(diags[0].span.start.character, text.split("\n")[line].indexOf('"/usr"'));
      assert.equal(diags[0].severity, "error");
      assert.match(diags[0].message, /'\/usr' is outside the workspace/);
      assert.match(diags[1].message, /'\.\.\/elsewhere' is outside the workspace/);
      assert.deepEqual(index.dbtProjects()[0].modelPaths, [path.join(ws.root, "models")]);
      assert.ok(index.graph.get("fct_orders"));
    } finally {
      writeFileSync(projectFile, original);
    }
  });

  test("a default resource folder that links out of the workspace is refused", () => {
    const seeds = path.join(ws.root, "seeds");
    const moved = path.join(ws.root, "seeds-real");
    spawnSync("mv", [seeds, moved]);
    symlinkSync(outside, seeds);
    writeFileSync(path.join(outside, "leaked.csv"), "a\n1\n");
    try {
      const index = indexOf(ws.root);
      assert.equal(index.graph.get("leaked"), undefined);
      const diags = diagnosticsOf(index, path.join(ws.root, "dbt_project.yml")).filter((d) => d.code === "project-path-outside");
      assert.equal(diags.length, 1, JSON.stringify(diags));
      assert.match(diags[0].message, /`seed-paths`: 'seeds' is outside the workspace/);
    } finally {
      rmSync(seeds, { force: true });
      spawnSync("mv", [moved, seeds]);
    }
  });

  test("project folders inside the workspace but outside the project folder are read", () => {
    const shared = path.join(ws.root, "shared_models");
    mkdirSync(shared);
    writeFileSync(path.join(shared, "shared_model.sql"), "select 1 as x\n");
    const projectFile = path.join(ws.root, "dbt_project.yml");
    const original = readFileSync(projectFile, "utf8");
    writeFileSync(projectFile, original.replace('model-paths: ["models"]', 'model-paths: ["models", "./shared_models/../shared_models"]'));
    try {
      const index = indexOf(ws.root);
      assert.ok(index.graph.get("shared_model"));
      assert.equal(diagnosticsOf(index, projectFile).filter((d) => d.code === "project-path-outside").length, 0);
    } finally {
      writeFileSync(projectFile, original);
      rmSync(shared, { recursive: true, force: true });
    }
  });

  test("a file whose name is not valid UTF-8 gets a diagnostic instead of vanishing", () => {
    const dir = Buffer.from(path.join(ws.root, "models") + path.sep);
    const badName = Buffer.concat([dir, Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x73, 0x71, 0x6c])]); // bad\xff.sql
    writeFileSync(badName, "select 1 as x\n");
    try {
      const index = indexOf(ws.root);
      const found = [...index.diagnostics().values()].flat().filter((d) => d.code === "file-name-encoding");
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.match(found[0].message, /'bad\\xff\.sql'/);
      assert.equal(path.dirname(found[0].file), path.join(ws.root, "models"));
    } finally {
      rmSync(badName, { force: true });
    }
    const badDir = Buffer.concat([dir, Buffer.from([0x64, 0x69, 0x72, 0xfe])]); // dir\xfe
    mkdirSync(badDir);
    writeFileSync(Buffer.concat([badDir, Buffer.from("/inside.sql")]), "select 1 as x\n");
    try {
      const index = indexOf(ws.root);
      const found = [...index.diagnostics().values()].flat().filter((d) => d.code === "file-name-encoding");
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.match(found[0].message, /folder name 'dir\\xfe'.*nothing in it is read/);
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });
});

describe("a history file that is not a file", () => {
  test("a FIFO or a link to /dev/zero as .tributary/history/events.jsonl does not stop the server's hovers", async () => {
    const { LspClient, uri } = await import("../helpers/lspClient");
    const { positionOf } = await import("../helpers/workspace");
    for (const make of ["fifo", "zero"] as const) {
      const ws = copyExample();
      const history = path.join(ws.root, ".tributary", "history");
      mkdirSync(history, { recursive: true });
      const events = path.join(history, "events.jsonl");
      if (make === "fifo") assert.equal(spawnSync("mkfifo", [events]).status, 0);
      else symlinkSync("/dev/zero", events);
      const client = await LspClient.ready(ws.root);
      try {
        const fct = path.join(ws.root, "models/marts/fct_orders.sql");
        const text = readFileSync(fct, "utf8");
        await client.open(fct, text);
        const hover = await Promise.race([
          client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri: uri(fct) }, position: positionOf(text, "stg_orders", 2) }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${make}: the server did not answer within 30 s`)), 30_000)),
        ]);
        assert.match(hover?.contents.value ?? "", /\*\*stg_orders\*\*/, make);
      } finally {
        await client.stop();
        ws.dispose();
      }
    }
  });
});
