/**
 * Bad input never crashes the server: every example file, truncated at random points and with
 * random byte edits, is fed to the real server over stdio; it keeps answering and reports
 * syntax problems as diagnostics naming the file and position.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { GraphRequest } from "../../server/src/protocol/requests";
import { serveCopy, uri } from "../helpers/lspClient";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    return statSync(full).isDirectory() ? filesUnder(full) : /\.(sql|ya?ml|ts)$/.test(name) ? [full] : [];
  });
}

describe("bad input", () => {
  const served = serveCopy();

  test("truncations and random byte edits of every example file never crash the server", async () => {
    const random = prng(20261124);
    const files = filesUnder(served.root);
    assert.ok(files.length >= 10, "the example has files to mutate");
    for (const file of files) {
      const original = readFileSync(file, "utf8");
      await served.client.open(file, original);
      let version = 1;
      const variants: string[] = [];
      for (let i = 0; i < 6; i++) variants.push(original.slice(0, Math.floor(random() * original.length)));
      for (let i = 0; i < 6; i++) {
        const chars = [...original];
        for (let k = 0; k < 1 + Math.floor(random() * 6); k++) {
          const at = Math.floor(random() * chars.length);
          const noise = ["{", "}", "%", "'", '"', "(", ")", ":", "\n", "-", "\u0000", "é", "#", "[", "]", String.fromCharCode(Math.floor(random() * 0x2fff))];
          chars.splice(at, Math.floor(random() * 3), noise[Math.floor(random() * noise.length)]);
        }
        variants.push(chars.join(""));
      }
      for (const text of variants) {
        await served.client.change(file, ++version, text);
        const lines = text.split("\n");
        const line = Math.floor(random() * lines.length);
        const character = Math.floor(random() * (lines[line].length + 1));
        await served.client.request("textDocument/hover", { textDocument: { uri: uri(file) }, position: { line, character } });
        await served.client.request("textDocument/documentSymbol", { textDocument: { uri: uri(file) } });
        await served.client.request("textDocument/completion", { textDocument: { uri: uri(file) }, position: { line, character } });
      }
      await served.client.change(file, ++version, original);
    }
    assert.ok(served.client.alive, served.client.stderr.join(""));
    const graph = await served.client.connection.sendRequest(GraphRequest);
    assert.ok(graph.nodes.length >= 11, "the graph is whole again after restoring the files");
  });

  test("syntax errors become diagnostics at the broken place, in SQL, YAML and TypeScript", async () => {
    const sql = path.join(served.root, "models/marts/customers.sql");
    const sqlText = readFileSync(sql, "utf8");
    const cut = sqlText.indexOf("{{ ref('fct_orders')") + 2;
    await served.client.open(sql, sqlText);
    await served.client.change(sql, 2, sqlText.slice(0, cut));
    const jinja = await served.client.waitFor(() => served.client.diagnostics.get(sql)?.find((d) => d.code === "jinja-syntax"), 10_000, "jinja diagnostic");
    assert.match(jinja.message, /\{\{/);
    assert.equal(jinja.range.start.line, sqlText.slice(0, cut).split("\n").length - 1);

    const yml = path.join(served.root, "models/forecasting/sources.yml");
    const ymlText = readFileSync(yml, "utf8");
    await served.client.open(yml, ymlText);
    await served.client.change(yml, 2, ymlText.replace("tables:", "tables: [\n  oops: {"));
    const yaml = await served.client.waitFor(() => served.client.diagnostics.get(yml)?.find((d) => d.code === "yaml-syntax"), 10_000, "yaml diagnostic");
    assert.ok(yaml.range.start.line >= 4, `YAML error placed at line ${yaml.range.start.line}`);

    const ts = path.join(served.root, "assets/forecast.ts");
    const tsText = readFileSync(ts, "utf8");
    await served.client.open(ts, tsText);
    await served.client.change(ts, 2, tsText.replace('deps: ["fct_orders"], group', 'deps: ["fct_orders"] group'));
    const syntax = await served.client.waitFor(() => served.client.diagnostics.get(ts)?.find((d) => d.code === "ts-syntax"), 10_000, "ts diagnostic");
    assert.equal(syntax.range.start.line, tsText.split("\n").findIndex((l) => l.includes('deps: ["fct_orders"], group')));
    // What could still be read is still in the graph.
    const graph = await served.client.connection.sendRequest(GraphRequest);
    assert.ok(graph.nodes.some((n) => n.id === "order_forecast_model"));
    assert.ok(served.client.alive);
  });
});
