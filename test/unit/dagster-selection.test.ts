/** Tributary selections -> Dagster's asset selection syntax, on the example's real graph. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { evaluateSelection, parseSelection, SELECTION_FUNCTION_NAMES, SELECTION_FUNCTIONS, type SelectionFunction } from "../../server/src/graph/selection";
import { WorkspaceIndex } from "../../server/src/index/workspace";
import { dagsterTags } from "../../server/src/export/dagster/model";
import { SelectionNotExportable, toDagsterSelection, type DagsterSelectionContext } from "../../server/src/export/dagster/selection";
import { EXAMPLE } from "../helpers/workspace";

const index = new WorkspaceIndex({ roots: [EXAMPLE] });
index.load();
const graph = index.graph;
const ctx: DagsterSelectionContext = {
  graph,
  roots: [EXAMPLE],
  groupOf: (id) => graph.get(id)?.group,
  tagsOf: (id) => dagsterTags(graph.get(id)?.tags ?? []),
  kindsOf: (id) => (graph.get(id)?.kind === "ts_asset" ? ["typescript"] : ["dbt", "duckdb"]),
};

/**
 * Dagster's selection semantics for the forms the translator writes (filters, `N+x+M`, `and`, `or`,
 * `not`, `roots()`, `sinks()`), so a translation can be checked by what it selects, not only its text.
 */
function evaluateDagster(text: string, c: DagsterSelectionContext): Set<string> {
  let pos = 0;
  const all = () => new Set(c.graph.nodes.keys());
  const ws = () => {
    while (/\s/.test(text[pos] ?? "")) pos++;
  };
  const word = (w: string) => {
    ws();
    if (text.startsWith(w, pos) && !/[A-Za-z_]/.test(text[pos + w.length] ?? "")) {
      pos += w.length;
      return true;
    }
    return false;
  };
  const quoted = () => {
    assert.equal(text[pos], '"', `quote expected at ${pos} in ${text}`);
    const end = text.indexOf('"', pos + 1);
    const value = text.slice(pos + 1, end);
    pos = end + 1;
    return value;
  };
  const glob = (p: string, v: string | undefined) => v !== undefined && new RegExp(`^${p.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s").test(v);
  const or = (): Set<string> => {
    let out = and();
    while (word("or")) out = new Set([...out, ...and()]);
    return out;
  };
  const and = (): Set<string> => {
    let out = not();
    while (word("and")) {
      const other = not();
      out = new Set([...out].filter((id) => other.has(id)));
    }
    return out;
  };
  const not = (): Set<string> => {
    if (word("not")) {
      const excluded = not();
      return new Set([...all()].filter((id) => !excluded.has(id)));
    }
    return traversal();
  };
  const depth = (): number => {
    const m = /^\d+/.exec(text.slice(pos));
    if (!m) return Infinity;
    pos += m[0].length;
    return Number(m[0]);
  };
  const traversal = (): Set<string> => {
    ws();
    let up: number | undefined;
    const m = /^(\d*)\+/.exec(text.slice(pos));
    if (m) {
      up = m[1] ? Number(m[1]) : Infinity;
      pos += m[0].length;
    }
    const base = primary();
    const out = new Set(base);
    if (up !== undefined) for (const id of c.graph.reach(base, "up", up)) out.add(id);
    if (text[pos] === "+") {
      pos++;
      for (const id of c.graph.reach(base, "down", depth())) out.add(id);
    }
    return out;
  };
  const primary = (): Set<string> => {
    ws();
    if (text[pos] === "(") {
      pos++;
      const inner = or();
      ws();
      assert.equal(text[pos], ")");
      pos++;
      return inner;
    }
    const fn = /^(roots|sinks)\(/.exec(text.slice(pos));
    if (fn) {
      pos += fn[0].length;
      const inner = or();
      ws();
      pos++;
      return new Set([...inner].filter((id) => !(fn[1] === "roots" ? c.graph.upstream(id) : c.graph.downstream(id)).some((n) => inner.has(n))));
    }
    const attr = /^([a-z_]+):/.exec(text.slice(pos));
    assert.ok(attr, `a filter expected at ${pos} in ${text}`);
    pos += attr[0].length;
    const value = quoted();
    let tagValue = "";
    if (attr[1] === "tag" && text[pos] === "=") {
      pos++;
      tagValue = quoted();
    }
    const test = (id: string): boolean => {
      switch (attr[1]) {
        case "key":
          return glob(value, id);
        case "group":
          return c.groupOf(id) === value;
        case "kind":
          return c.kindsOf(id).includes(value);
        case "tag":
          return c.tagsOf(id)[value] === tagValue;
        default:
          throw new Error(`unknown filter ${attr[1]}`);
      }
    };
    return new Set([...all()].filter(test));
  };
  const result = or();
  ws();
  assert.equal(pos, text.length, `unparsed rest of ${text}: ${text.slice(pos)}`);
  return result;
}

function translate(text: string): string {
  const parsed = parseSelection(text);
  assert.ok(parsed.ok, text);
  return toDagsterSelection(parsed.ast, ctx);
}

describe("job selections in Dagster's syntax", () => {
  const cases: [string, string][] = [
    ["*order_forecast_model", '+key:"order_forecast_model"'],
    ["+order_forecast_model", '+key:"order_forecast_model"'],
    ["2+forecast_vs_actual", '2+key:"forecast_vs_actual"'],
    ["fct_orders+1", 'key:"fct_orders"+1'],
    ["@order_forecast_model", '+(key:"order_forecast_model"+)'],
    ["predicted_orders", 'key:"forecasting/predicted_orders"'],
    ['key:"forecasting/*"', 'key:"forecasting/*"'],
    ["stg_*", 'key:"stg_*"'],
    ["fct_orders+ and group:forecasting", '(key:"fct_orders"+) and group:"forecasting"'],
    ["group:finance or tag:forecasting", 'group:"finance" or tag:"forecasting"'],
    ["not kind:dbt", 'not kind:"dbt"'],
    ["kind:ts", 'kind:"typescript"'],
    ["kind:seed", '(key:"raw_customers" or key:"raw_orders" or key:"raw_payments")'],
    ["path:models/staging", '(key:"stg_customers" or key:"stg_orders" or key:"stg_payments")'],
    ["roots(+forecast_vs_actual)", 'roots(+key:"forecast_vs_actual")'],
    ["sinks(kind:ts) , customers", 'sinks(kind:"typescript") or key:"customers"'],
  ];
  for (const [tributary, dagster] of cases) {
    test(`${tributary}  ->  ${dagster}`, () => assert.equal(translate(tributary), dagster));
  }

  test("each translation selects in Dagster exactly what the selection selects in Tributary", () => {
    const more = [
      "not (fct_orders+ or tag:forecasting)",
      "+forecast_vs_actual and not kind:dbt",
      "@stg_orders",
      "@stg_orders and (group:finance, kind:ts)",
      "roots(+predicted_orders) or sinks(stg_*+)",
      "1+forecasting/predicted_orders+1",
      "kind:seed+2 and not path:models/marts",
    ];
    for (const text of [...cases.map(([t]) => t), ...more]) {
      const parsed = parseSelection(text);
      assert.ok(parsed.ok, text);
      const ours = [...evaluateSelection(parsed.ast, graph, { root: EXAMPLE })].sort();
      const theirs = [...evaluateDagster(toDagsterSelection(parsed.ast, ctx), ctx)].sort();
      assert.ok(ours.length > 0 || text.startsWith("not"), `${text} should select something in the example`);
      assert.deepEqual(theirs, ours, `${text} -> ${toDagsterSelection(parsed.ast, ctx)}`);
    }
  });

  for (const name of SELECTION_FUNCTION_NAMES) {
    test(`the table's function ${name}() is written as its Dagster name and selects the same assets`, () => {
      const { dagster } = SELECTION_FUNCTIONS[name] as SelectionFunction;
      assert.ok(dagster, `${name} has a Dagster name`);
      const text = `not ${name}(+forecast_vs_actual)`;
      const out = translate(text);
      assert.equal(out, `not ${dagster}(+key:"forecast_vs_actual")`);
      const parsed = parseSelection(text);
      assert.ok(parsed.ok);
      assert.deepEqual([...evaluateDagster(out, ctx)].sort(), [...evaluateSelection(parsed.ast, graph)].sort());
    });
  }

  test("not / and over a union of groups or calls keeps the union in parentheses", () => {
    for (const text of ["not ((stg_orders or stg_payments) or (fct_orders or customers))", "not (roots(+fct_orders) or sinks(+fct_orders))", "(roots(+fct_orders) sinks(stg_*+)) and kind:dbt"]) {
      const out = translate(text);
      const parsed = parseSelection(text);
      assert.ok(parsed.ok);
      assert.deepEqual([...evaluateDagster(out, ctx)].sort(), [...evaluateSelection(parsed.ast, graph)].sort(), `${text} -> ${out}`);
    }
    assert.equal(translate("not (roots(+fct_orders) or sinks(+fct_orders))"), 'not (roots(+key:"fct_orders") or sinks(+key:"fct_orders"))');
  });

  test("a selection function without a Dagster name in the table is refused with its place", () => {
    const table = SELECTION_FUNCTIONS as unknown as Record<string, SelectionFunction>;
    table.loners = { argument: "selection", summary: "members without any edge", evaluate: (selected, g) => new Set([...selected].filter((id) => g.upstream(id).length + g.downstream(id).length === 0)) };
    try {
      const parsed = parseSelection("loners(*)");
      assert.ok(parsed.ok && parsed.ast.type === "function", "one table entry is enough to parse");
      assert.deepEqual([...evaluateSelection(parsed.ast, graph)], [], "and to evaluate (every asset of the example has an edge)");
      assert.throws(() => translate("fct_orders or loners(kind:ts)"), (e: unknown) => e instanceof SelectionNotExportable && /'loners\(\.\.\.\)' at column 15 has no Dagster equivalent/.test(e.message));
    } finally {
      delete table.loners;
    }
  });

  test("status: depends on Tributary's history and is refused with the reason", () => {
    assert.throws(() => translate("+status:stale"), (e: unknown) => e instanceof SelectionNotExportable && /'status:stale' depends on Tributary's run history/.test(e.message));
  });

  test("a filter that selects nothing is refused (Dagster has no empty selection)", () => {
    assert.throws(() => translate("owner:nobody"), /'owner:nobody' selects no asset/);
  });

  test("tag:k also selects k=v in Tributary, so every value present becomes a Dagster alternative", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-tags-"));
    try {
      writeFileSync(
        path.join(root, "a.ts"),
        'import { asset } from "tributary-assets";\nexport const a = asset({ key: "a", tags: { team: "growth" } }, () => 1);\nexport const b = asset({ key: "b", tags: ["team"] }, () => 1);\nexport const c = asset({ key: "c", tags: ["other"] }, () => 1);\n',
      );
      const tagged = new WorkspaceIndex({ roots: [root] });
      tagged.load();
      const tctx: DagsterSelectionContext = { graph: tagged.graph, roots: [root], groupOf: () => undefined, tagsOf: (id) => dagsterTags(tagged.graph.get(id)?.tags ?? []), kindsOf: () => ["typescript"] };
      const parsed = parseSelection("tag:team");
      assert.ok(parsed.ok);
      assert.equal(toDagsterSelection(parsed.ast, tctx), '(tag:"team" or tag:"team"="growth")');
      const exact = parseSelection("tag:team=growth");
      assert.ok(exact.ok);
      assert.equal(toDagsterSelection(exact.ast, tctx), 'tag:"team"="growth"');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("Dagster tags: list tags get an empty value, k=v a value, invalid ones are left out", () => {
    assert.deepEqual(dagsterTags(["daily", "team=growth", "has space", "x=" + "v".repeat(64)]), { daily: "", team: "growth" });
  });
});
