/**
 * Checks in the language server: hovers and code lenses list an asset's dbt tests with their last
 * results (not run, then passed / failed with the failing row count after CLI runs); a failed
 * check's lens opens its query; `tributary/checks` and `tributary/statuses` carry them.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ChecksRequest, StatusesRequest } from "../../server/src/protocol/requests";
import { serveCopy, uri } from "../helpers/lspClient";
import { runCli } from "../helpers/cli";

const FAILING = path.resolve(__dirname, "../runner/fixtures/checks-failing");

describe("checks in the language server", () => {
  const served = serveCopy();

  const hoverText = async (file: string) =>
    (await served.client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri: uri(file) }, position: { line: 0, character: 1 } }))?.contents.value ?? "";
  const lensTitles = async (file: string) =>
    (await served.client.request<{ command: { title: string; command: string; arguments?: unknown[] } }[]>("textDocument/codeLens", { textDocument: { uri: uri(file) } })).map((l) => l.command);

  test("not run, then passed after a run, then failed with its row count and query", async () => {
    const fct = path.join(served.root, "models/marts/fct_orders.sql");
    const first = await hoverText(fct);
    assert.match(first, /\*\*Checks:\*\* 0\/5 checks passed · 5 not run/);
    assert.match(first, /○ `not_null_fct_orders_order_id` — not run/);
    assert.ok((await lensTitles(fct)).some((c) => c.title === "0/5 checks passed · 5 not run"));

    const ok = runCli(served.root, ["materialize", "+fct_orders"]);
    assert.equal(ok.code, 0, ok.stderr);
    await waitFor(async () => /\*\*Checks:\*\* 4\/5 checks passed · 1 not run/.test(await hoverText(fct)), "passed checks in the hover");
    assert.match(await hoverText(fct), /✓ `unique_fct_orders_order_id` — passed/);
    // relationships reads stg_customers, which +fct_orders does not build: not run.
    assert.match(await hoverText(fct), /○ `relationships_fct_orders_customer_id__customer_id__ref_stg_customers_` — skipped/);

    cpSync(FAILING, served.root, { recursive: true });
    const changed = ["models/marts/schema.yml", "tests/generic/is_positive.sql", "macros/at_least.sql", "tests/assert_no_returned_orders.sql"];
    await served.client.connection.sendNotification("workspace/didChangeWatchedFiles", { changes: changed.map((f, i) => ({ uri: uri(path.join(served.root, f)), type: i === 0 ? 2 : 1 })) });
    const bad = runCli(served.root, ["materialize", "fct_orders"]);
    assert.equal(bad.code, 1);
    const failedName = "accepted_values_fct_orders_status__placed__shipped__completed__return_pending";
    await waitFor(async () => new RegExp(`✗ \`${failedName}\` — failed, 1 failing row · \\[open the failing query\\]\\(command:tributary\\.openCheckQuery`).test(await hoverText(fct)), "the failure in the hover");
    // The server reads the history as the run writes it: wait for the run's last results.
    await waitFor(async () => (await lensTitles(fct)).some((c) => c.command === "tributary.openCheckQuery" && /4\/7 checks passed · 1 failed · 2 warned$/.test(c.title)), "the lens with every result");
    const lens = (await lensTitles(fct)).find((c) => c.command === "tributary.openCheckQuery")!;
    // Over the test in the YAML file: its own result, opening its query.
    const yml = path.join(served.root, "models/marts/schema.yml");
    const ymlLenses = await lensTitles(yml);
    const onTest = ymlLenses.find((c) => c.title.startsWith(`✗ ${failedName}`));
    assert.deepEqual([onTest?.title, onTest?.command], [`✗ ${failedName} — failed, 1 failing row`, "tributary.openCheckQuery"]);
    assert.ok(ymlLenses.some((c) => c.title === "⚠ is_positive_fct_orders_amount — warned, 6 failing rows (warn)"), JSON.stringify(ymlLenses.map((c) => c.title)));
    const { checks } = await served.client.connection.sendRequest(ChecksRequest, { checkId: lens.arguments![0] as string });
    assert.equal(checks.length, 1);
    assert.equal(checks[0].name, failedName);
    assert.match(checks[0].compiledSql!, /value_field not in/);
    const statuses = await served.client.connection.sendRequest(StatusesRequest, { ids: ["fct_orders"] });
    assert.deepEqual({ ...statuses.fct_orders.checks, text: undefined }, { total: 7, passed: 4, failed: 1, warned: 2, other: 0, text: undefined });
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
