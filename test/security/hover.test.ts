/**
 * Markdown written in the repository is shown in hovers without fetching anything: images in
 * dbt descriptions, JSDoc and job descriptions become plain links and HTML is escaped, through
 * the real language server.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { Hover } from "vscode-languageserver-protocol";
import { HOVER_LINK_COMMANDS } from "../../server/src/protocol/commands";
import { serveCopy, uri } from "../helpers/lspClient";
import { positionOf } from "../helpers/workspace";

const BEACON = "https://tracker.invalid/pixel.png";

describe("descriptions in hovers", () => {
  const tsText = [
    'import { asset, job } from "tributary-assets";',
    `/** Scores orders. ![pixel](${BEACON}) <img src="${BEACON}"> */`,
    'export const scored = asset({ key: "scored_orders", deps: ["fct_orders"] }, async () => 1);',
    `export const scoreJob = job({ name: "score_job", selection: "scored_orders", description: "Nightly ![p](${BEACON}) <img src=x> [docs](command:tributary.runJob?%5B%22score_job%22%5D)" });`,
    "",
  ].join("\n");
  const served = serveCopy({
    prepare: (root) => {
      writeFileSync(path.join(root, "models", "beacon_model.sql"), "select 1 as x\n");
      writeFileSync(path.join(root, "models", "beacon.yml"), `version: 2\nmodels:\n  - name: beacon_model\n    config:\n      group: "x\` ![g](${BEACON}) \`"\n      tags: ["<img src=${BEACON}>"]\n    description: "Customers. ![tracker](${BEACON}) and <img src='${BEACON}'/> a < b [docs](command:tributary.runJob?%5B%22x%22%5D) [e]( &#99;ommand:x) [ok](https://example.invalid/docs)"\n`);
      writeFileSync(path.join(root, "assets", "scored.ts"), tsText);
    },
  });

  async function hoverAt(file: string, text: string, needle: string, offset: number): Promise<string> {
    await served.client.open(file, text);
    const hover = await served.client.request<Hover | null>("textDocument/hover", { textDocument: { uri: uri(file) }, position: positionOf(text, needle, offset) });
    assert.ok(hover, `a hover at ${needle}`);
    return (hover.contents as { value: string }).value;
  }

  function assertInert(markdown: string): void {
    assert.doesNotMatch(markdown, /!\[/, "no markdown image");
    for (const link of markdown.matchAll(/\]\(\s*([^)\s]*)/g)) {
      // The server's own "▶ Run job" link is the one command link a hover may carry (and the extension trusts).
      if (link[0].startsWith("](command:tributary.runJob?") && /\[▶ Run job\]$/.test(markdown.slice(0, link.index + 1))) continue;
      assert.doesNotMatch(link[1], /^(command:|&|<)/i, `no command link from the repository: ${link[0]}`);
    }
    assert.doesNotMatch(markdown, /<img/i, "no HTML image");
    assert.ok(markdown.includes(BEACON), "the address is still shown, as a link");
  }

  test("a dbt model's YAML description", async () => {
    const file = path.join(served.root, "models", "beacon_model.sql");
    const markdown = await hoverAt(file, readFileSync(file, "utf8"), "", 0);
    assert.match(markdown, /Customers\. \[tracker\]\(/);
    assert.match(markdown, /a < b/);
    assert.match(markdown, /group `x` \[g\]\(/, "the group, from the repository, is shown inert too");
    assert.match(markdown, /&lt;img src=/, "the tag, too");
    assert.match(markdown, /\[docs\]\(#blocked:command:tributary\.runJob/, "a command link from the repository is blocked");
    assert.match(markdown, /\[ok\]\(https:\/\/example\.invalid\/docs\)/, "a web link is kept");
    assertInert(markdown);
  });

  test("a TS asset's JSDoc and a job's description", async () => {
    const file = path.join(served.root, "assets", "scored.ts");
    assertInert(await hoverAt(file, tsText, "scored = asset", 2));
    const job = await hoverAt(file, tsText, "score_job", 2);
    assert.match(job, /Nightly \[p\]\(/);
    assertInert(job);
    const commands = [...job.matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]);
    assert.deepEqual(commands, ["tributary.runJob"], "the job's own Run link");
    for (const id of commands) assert.ok((HOVER_LINK_COMMANDS as readonly string[]).includes(id), `${id} is among the commands the extension trusts in hovers`);
  });
});
