/** Hover markdown is trusted for the server's own command links only. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HOVER_TRUST, trustHoverLinks } from "../../extension/src/hoverTrust";

/** The part of vscode.MarkdownString the trust is set on (the extension host's class is not loadable here). */
class Markdown {
  isTrusted?: boolean | { readonly enabledCommands: readonly string[] };
  constructor(public value: string) {}
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
}

describe("hover trust", () => {
  test("each markdown part of a hover may run exactly the run-job and open-check-query commands", () => {
    const parts = [new Markdown("[▶ Run job](command:tributary.runJob?%5B%22nightly%22%5D)"), "plain text", { language: "sql", value: "select 1" }];
    const hover = trustHoverLinks({ contents: parts });
    assert.deepEqual((hover!.contents[0] as Markdown).isTrusted, { enabledCommands: ["tributary.runJob", "tributary.openCheckQuery"] });
    assert.equal(HOVER_TRUST.enabledCommands.includes("tributary.materialize"), false, "no command that runs assets from a link");
    assert.equal("isTrusted" in (hover!.contents[2] as object), false, "a code block is left as it is");
    assert.equal(trustHoverLinks(undefined), undefined);
  });
});
