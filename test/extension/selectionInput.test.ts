import assert from "node:assert/strict";
import { test } from "node:test";

import { describeSelectResult } from "../../extension/src/selectionResult";

test("live validation messages: errors with their column, empty matches, counts of assets and steps", () => {
  assert.deepEqual(describeSelectResult({ error: { column: 5, message: "column 5: expected a selector after 'and'" } }), { ok: false, message: "column 5: expected a selector after 'and'" });
  assert.deepEqual(describeSelectResult({ ids: [], steps: 0, dbtSteps: 0 }), { ok: false, message: "No asset matches this selection." });
  assert.deepEqual(describeSelectResult({ ids: ["a", "b", "c"], steps: 2, dbtSteps: 1 }), { ok: true, message: "3 assets · 2 steps (1 dbt invocation)" });
  assert.deepEqual(describeSelectResult({ ids: ["a"], steps: 1, dbtSteps: 0 }), { ok: true, message: "1 asset · 1 step (0 dbt invocations)" });
});
