/** Compiled SQL and preview in the client: commands in the manifest, the preview table's CSV, sorting and page. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { COMMANDS, COMPILED_SCHEME, SQL_FILES_WHEN } from "../../extension/src/commandTable";
import { compareCells, previewHtml, toCsv } from "../../extension/src/previewTable";

const manifest = JSON.parse(readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as {
  contributes: { commands: { command: string; enablement?: string }[]; menus: Record<string, { command: string; when?: string }[]> };
};

describe("Show Compiled SQL / Preview Results commands", () => {
  test("in the editor title and context menu of SQL files, trusted workspaces only", () => {
    for (const id of ["tributary.showCompiledSql", "tributary.previewResults"]) {
      assert.ok(COMMANDS.find((c) => c.id === id)?.executes, `${id} renders Jinja: it counts as executing`);
      assert.equal(manifest.contributes.commands.find((c) => c.command === id)?.enablement, "isWorkspaceTrusted");
      for (const menu of ["editor/title", "editor/context"]) assert.equal(manifest.contributes.menus[menu].find((e) => e.command === id)?.when, SQL_FILES_WHEN, `${id} in ${menu}`);
    }
    // In the compiled SQL view, Preview Results runs the selected (rendered) SQL.
    assert.ok(manifest.contributes.menus["editor/title"].some((e) => e.command === "tributary.previewResults" && e.when === `resourceScheme == ${COMPILED_SCHEME}`));
  });
});

describe("preview table", () => {
  test("CSV quotes what needs quoting and keeps nulls empty", () => {
    assert.equal(toCsv(["a", "b,c"], [[1, 'say "hi"'], [null, "x\ny"], [{ k: 1 }, true]]), 'a,"b,c"\r\n1,"say ""hi"""\r\n,"x\ny"\r\n"{""k"":1}",true\r\n');
  });

  test("sorting: numbers numerically, text as text, nulls last", () => {
    assert.deepEqual([10, 9, null, 100].sort(compareCells), [9, 10, 100, null]);
    assert.deepEqual(["b", null, "a"].sort(compareCells), ["a", "b", null]);
  });

  test("the page: strict CSP with a nonce, escaped title, data that cannot close the script", () => {
    const html = previewHtml({ ok: true, title: "<m>", sql: "select 1", columns: [{ name: "x", type: "VARCHAR" }], rows: [["</script><script>alert(1)</script>"]], ms: 3, limit: 100 }, "N0NCE", "vscode-resource:");
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src vscode-resource: 'nonce-N0NCE'; script-src 'nonce-N0NCE';"/);
    assert.match(html, /<title>&#60;m&#62;<\/title>/);
    assert.equal(html.match(/<\/script>/g)?.length, 1, "only the page's own script element closes");
    assert.equal(html.match(/<script(?= |>)/g)?.length, 1);
    // The inlined comparator is the tested one.
    assert.ok(html.includes(compareCells.toString()));
  });
});
