/**
 * Selection globs match in bounded time and selections are bounded in size.
 * The language server evaluates job() selections when a file opens, so a pathological pattern is
 * also tried through the CLI and the real server: each must answer instead of stalling (they run
 * as child processes, so a regression fails on a timeout instead of hanging the suite).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Hover } from "vscode-languageserver-protocol";
import { AssetGraph } from "../../server/src/graph/graph";
import { MAX_SELECTION_LENGTH, parseSelection, selectAssets } from "../../server/src/graph/selection";
import { compileGlob, compileWildcard } from "../../server/src/graph/wildcard";
import { CLI } from "../helpers/cli";
import { LspClient, uri } from "../helpers/lspClient";
import { copyExample, positionOf } from "../helpers/workspace";

const EVIL = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*c";
const LONG_KEY = "a".repeat(40);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** The old meaning of a pattern, as a regular expression (only for short inputs). */
function reference(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
}

describe("wildcards", () => {
  test("the compiled matcher agrees with the regular-expression meaning on 20,000 random cases", () => {
    const random = prng(11);
    const pick = (alphabet: string, max: number) => Array.from({ length: Math.floor(random() * max) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    for (let i = 0; i < 20_000; i++) {
      const pattern = pick("ab/*.", 8);
      const text = pick("ab/.", 10);
      assert.equal(compileWildcard(pattern)(text), reference(pattern).test(text), `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`);
    }
  });

  test("a pattern that makes a backtracking matcher explode is answered, in key:, names, tags and paths", () => {
    const g = new AssetGraph();
    g.addNode({ id: LONG_KEY, key: [LONG_KEY], kind: "ts_asset", tags: [LONG_KEY], owners: [], alsoAt: [], group: LONG_KEY, file: `/ws/${LONG_KEY}.ts` });
    g.addNode({ id: "aac", key: ["aac"], kind: "ts_asset", tags: [], owners: [], alsoAt: [] });
    for (const text of [`key:"${EVIL}"`, `"${EVIL}"`, `tag:"${EVIL}"`, `group:"${EVIL}"`, `path:"${EVIL}"`]) {
      const result = selectAssets(text, g, { root: "/ws" });
      assert.ok(result.ok, text);
      assert.ok(!result.ids.has(LONG_KEY), text);
    }
    const hit = selectAssets(`key:"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"`, g);
    assert.ok(hit.ok && hit.ids.has(LONG_KEY));
  });

  test("a selection longer than the limit is a located error", () => {
    const text = Array.from({ length: 3000 }, (_, i) => `m${i}`).join(" or ");
    assert.ok(text.length > MAX_SELECTION_LENGTH);
    const parsed = parseSelection(text);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) {
      assert.equal(parsed.error.column, MAX_SELECTION_LENGTH + 1);
      assert.match(parsed.error.message, new RegExp(`at most ${MAX_SELECTION_LENGTH} characters`));
    }
  });
});

describe("include / exclude globs", () => {
  test("the usual glob forms mean what they mean in picomatch", () => {
    const cases: [string, string, boolean][] = [
      ["models/**", "models/staging/stg_orders.sql", true],
      ["models/**", "assets/forecast.ts", false],
      ["a/**", "a", true],
      ["a*/**", "ab", false],
      ["**/x.sql", "x.sql", true],
      ["**/x.sql", "models/deep/x.sql", true],
      ["**/staging/**", "models/staging/x.sql", true],
      ["*.sql", "a/b.sql", false],
      ["*.sql", "b.sql", true],
      ["assets/*.{ts,mts}", "assets/x.mts", true],
      ["assets/*.{ts,mts}", "assets/x.cts", false],
      ["models/stg_?.sql", "models/stg_a.sql", true],
      ["models/stg_?.sql", "models/stg_ab.sql", false],
      ["models/[a-c]*.sql", "models/b1.sql", true],
      ["models/[!a-c]*.sql", "models/b1.sql", false],
      ["!models/**", "assets/x.ts", true],
      ["!models/**", "models/x.sql", false],
      ["./models/*.sql", "models/x.sql", true],
      ["**", "any/thing/at/all.ts", true],
      ["models/\\*.sql", "models/*.sql", true],
      ["models/\\*.sql", "models/x.sql", false],
    ];
    for (const [glob, file, expected] of cases) assert.equal(compileGlob(glob)(file), expected, `${glob} on ${file}`);
  });

  test("a pathological exclude glob in tributary.json does not stall the index", () => {
    const ws = copyExample();
    try {
      writeFileSync(path.join(ws.root, "tributary.json"), JSON.stringify({ exclude: [`**/${EVIL}`, `${EVIL}/**`] }));
      writeFileSync(path.join(ws.root, "assets", `${LONG_KEY}.ts`), 'import { asset } from "tributary-assets";\nexport const x = asset({ key: "x" }, async () => 1);\n');
      const result = spawnSync(process.execPath, [CLI, "check", ws.root], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
      assert.equal(result.signal, null, "check stalled on the glob");
      assert.match(result.stdout, /assets, \d+ diagnostics/);
    } finally {
      ws.dispose();
    }
  });
});

describe("a pathological job() selection in a workspace", () => {
  let ws: { root: string; dispose: () => void };
  let client: LspClient | undefined;
  let jobFile: string;
  const jobText = [
    'import { asset, job } from "tributary-assets";',
    `export const longKey = asset({ key: "${LONG_KEY}" }, async () => 1);`,
    `export const evilJob = job({ name: "evil_job", selection: 'key:"${EVIL}"' });`,
    "",
  ].join("\n");
  before(() => {
    ws = copyExample();
    jobFile = path.join(ws.root, "assets", "evil.ts");
    writeFileSync(jobFile, jobText);
  });
  after(async () => {
    await client?.stop();
    ws.dispose();
  });

  test("tributary check finishes", () => {
    const result = spawnSync(process.execPath, [CLI, "check", ws.root], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
    assert.equal(result.signal, null, "check stalled on the selection");
    assert.match(result.stdout, /assets, \d+ diagnostics/);
  });

  test("the language server answers hovers on the job and elsewhere", async () => {
    client = await LspClient.ready(ws.root, 60_000);
    await client.open(jobFile, readFileSync(jobFile, "utf8"));
    const answer = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the server did not answer within 30 s")), 30_000))]);
    const onJob = await answer(client.request<Hover | null>("textDocument/hover", { textDocument: { uri: uri(jobFile) }, position: positionOf(jobText, "evil_job", 2) }));
    assert.ok(onJob, "a hover on the job");
    const fct = path.join(ws.root, "models/marts/fct_orders.sql");
    const text = readFileSync(fct, "utf8");
    const onRef = await answer(client.request<Hover | null>("textDocument/hover", { textDocument: { uri: uri(fct) }, position: positionOf(text, "stg_orders", 2) }));
    assert.match((onRef!.contents as { value: string }).value, /\*\*stg_orders\*\*/);
  });
});
