import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AssetGraph } from "../../server/src/graph/graph";
import {
  describeSelectionError,
  evaluateSelection,
  parseSelection,
  selectAssets,
  SELECTION_FUNCTION_NAMES,
  SELECTION_FUNCTIONS,
  type SelectionFunctionName,
  type EvaluateOptions,
  type SelectionAst,
  type SelectionError,
  type StatusLookup,
} from "../../server/src/graph/selection";
import type { AssetState } from "../../server/src/protocol/status";
import type { AssetKind, AssetNode } from "../../server/src/protocol/types";

type NodeInit = Partial<AssetNode> & { kind: AssetKind };

function node(id: string, init: NodeInit): AssetNode {
  return { id, key: id.split("/"), tags: [], owners: [], alsoAt: [], ...init };
}

/**
 * The example workspace (jaffle shop + forecasting) with metadata for every attribute.
 * Files live under /ws: the dbt project in /ws/jaffle, TS assets in /ws/src.
 */
function exampleGraph(): AssetGraph {
  const g = new AssetGraph();
  const dbt = (id: string, kind: AssetKind, file: string, extra: Partial<AssetNode> = {}): void =>
    g.addNode(node(id, { kind, project: "jaffle", dbtName: id.split("/")[0], file: `/ws/jaffle/${file}`, ...extra }));
  dbt("raw_customers", "dbt_seed", "seeds/raw_customers.csv");
  dbt("raw_orders", "dbt_seed", "seeds/raw_orders.csv");
  dbt("raw_payments", "dbt_seed", "seeds/raw_payments.csv");
  dbt("stg_customers", "dbt_model", "models/staging/stg_customers.sql", { tags: ["staging"], group: "staging" });
  dbt("stg_orders", "dbt_model", "models/staging/stg_orders.sql", { tags: ["staging"], group: "staging" });
  dbt("stg_payments", "dbt_model", "models/staging/stg_payments.sql", { tags: ["staging"], group: "staging" });
  dbt("stg_events", "dbt_model", "models/staging/stg_events.sql", { tags: ["staging"], group: "staging" });
  dbt("fct_orders", "dbt_model", "models/marts/fct_orders.sql", {
    tags: ["marts", "nightly"],
    group: "marts",
    owners: ["team:analytics"],
  });
  dbt("customers", "dbt_model", "models/marts/customers.sql", { tags: ["marts"], group: "marts" });
  dbt("forecast_vs_actual", "dbt_model", "models/marts/forecast_vs_actual.sql", { tags: ["marts", "nightly-ml"] });
  dbt("dim_customers/v2", "dbt_model", "models/marts/dim_customers_v2.sql", { dbtName: "dim_customers", version: "v2" });
  dbt("orders_snapshot", "dbt_snapshot", "snapshots/orders_snapshot.sql");
  dbt("app/events", "dbt_source", "models/staging/sources.yml", { dbtName: "events", sourceName: "app" });
  dbt("weekly_dashboard", "dbt_exposure", "models/exposures.yml");
  g.addNode(
    node("order_forecast_model", {
      kind: "ts_asset",
      file: "/ws/src/assets/forecast.ts",
      group: "forecasting",
      tags: ["tier=gold", "ml"],
      owners: ["ana@example.com"],
    }),
  );
  g.addNode(
    node("forecasting/predicted_orders", {
      kind: "ts_asset",
      file: "/ws/src/assets/forecast.ts",
      group: "forecasting",
      tags: ["tier=silver"],
    }),
  );
  const edges: [string, string][] = [
    ["raw_customers", "stg_customers"],
    ["raw_orders", "stg_orders"],
    ["raw_payments", "stg_payments"],
    ["app/events", "stg_events"],
    ["stg_orders", "fct_orders"],
    ["stg_payments", "fct_orders"],
    ["stg_customers", "customers"],
    ["fct_orders", "customers"],
    ["customers", "dim_customers/v2"],
    ["raw_orders", "orders_snapshot"],
    ["customers", "weekly_dashboard"],
    ["fct_orders", "order_forecast_model"],
    ["order_forecast_model", "forecasting/predicted_orders"],
    ["fct_orders", "forecasting/predicted_orders"],
    ["forecasting/predicted_orders", "forecast_vs_actual"],
    ["fct_orders", "forecast_vs_actual"],
  ];
  for (const [from, to] of edges) assert.ok(g.addEdge({ from, to, origin: "sql" }), `${from} -> ${to}`);
  return g;
}

const graph = exampleGraph();
const ALL = [...graph.nodes.keys()].sort();

function sel(text: string, status?: StatusLookup | EvaluateOptions, options?: EvaluateOptions, g: AssetGraph = graph): string[] {
  const result = selectAssets(text, g, status, options);
  if (!result.ok) assert.fail(`${text}: ${describeSelectionError(result.error, text)}`);
  return [...result.ids].sort();
}

function parseError(text: string): SelectionError {
  const result = parseSelection(text);
  assert.equal(result.ok, false, `expected a syntax error for ${JSON.stringify(text)}`);
  return (result as { ok: false; error: SelectionError }).error;
}

function ast(text: string): SelectionAst {
  const result = parseSelection(text);
  if (!result.ok) assert.fail(describeSelectionError(result.error, text));
  return result.ast;
}

const sorted = (ids: string[]): string[] => [...ids].sort();

describe("selection: keys and names", () => {
  test("bare key", () => {
    assert.deepEqual(sel("fct_orders"), ["fct_orders"]);
  });

  test("multi-segment key, bare, double- and single-quoted", () => {
    assert.deepEqual(sel("forecasting/predicted_orders"), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel('"forecasting/predicted_orders"'), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("'forecasting/predicted_orders'"), ["forecasting/predicted_orders"]);
  });

  test("a bare name falls back to the last key segment", () => {
    assert.deepEqual(sel("predicted_orders"), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("events"), ["app/events"]);
  });

  test("a bare name falls back to the dbt name (versioned model)", () => {
    assert.deepEqual(sel("dim_customers"), ["dim_customers/v2"]);
  });

  test("an exact key wins over the fallback", () => {
    const g = exampleGraph();
    g.addNode(node("predicted_orders", { kind: "dbt_model" }));
    assert.deepEqual(sel("predicted_orders", undefined, undefined, g), ["predicted_orders"]);
  });

  test("key: matches the full key only, quoted or not", () => {
    assert.deepEqual(sel("key:predicted_orders"), []);
    assert.deepEqual(sel('key:"forecasting/predicted_orders"'), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("key:forecasting/predicted_orders"), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("KEY:fct_orders"), ["fct_orders"]);
  });

  test("key: wildcards match across segments", () => {
    assert.deepEqual(sel("key:forecasting/*"), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("key:*"), ALL);
    assert.deepEqual(sel("key:*orders"), ["fct_orders", "forecasting/predicted_orders", "raw_orders", "stg_orders"]);
    assert.deepEqual(sel("key:stg*"), ["stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel('key:"*/v2"'), ["dim_customers/v2"]);
  });

  test("bare wildcards", () => {
    assert.deepEqual(sel("stg_*"), ["stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel("*_orders"), ["fct_orders", "forecasting/predicted_orders", "raw_orders", "stg_orders"]);
    assert.deepEqual(sel("fct*orders"), ["fct_orders"]);
    assert.deepEqual(sel("*"), ALL);
    assert.deepEqual(sel('"stg_*"'), ["stg_customers", "stg_events", "stg_orders", "stg_payments"]);
  });

  test("a bare wildcard falls back to last segments when no full key matches", () => {
    assert.deepEqual(sel("predicted_*"), ["forecasting/predicted_orders"]);
  });

  test("names that merely start with a keyword are names", () => {
    const g = new AssetGraph();
    for (const id of ["order", "android", "notebook", "and"]) g.addNode(node(id, { kind: "dbt_model" }));
    assert.deepEqual(sel("order android notebook", undefined, undefined, g), ["android", "notebook", "order"]);
    assert.deepEqual(sel('"and"', undefined, undefined, g), ["and"]);
    assert.deepEqual(sel("key:and", undefined, undefined, g), ["and"]);
  });

  test("a selector that matches nothing is an empty set, not an error", () => {
    assert.deepEqual(sel("no_such_model"), []);
    assert.deepEqual(sel("tag:nothing or group:nobody"), []);
  });
});

describe("selection: attributes", () => {
  test("tag:x (dbt tags and TS tag keys)", () => {
    assert.deepEqual(sel("tag:staging"), ["stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel("tag:tier"), ["forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("tag:ml"), ["order_forecast_model"]);
  });

  test("tag:x=y", () => {
    assert.deepEqual(sel("tag:tier=gold"), ["order_forecast_model"]);
    assert.deepEqual(sel('tag:"tier=silver"'), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("tag:tier=bronze"), []);
  });

  test("tag wildcards", () => {
    assert.deepEqual(sel("tag:nightly*"), ["fct_orders", "forecast_vs_actual"]);
    assert.deepEqual(sel("tag:tier=*"), ["forecasting/predicted_orders", "order_forecast_model"]);
  });

  test("group:x", () => {
    assert.deepEqual(sel("group:forecasting"), ["forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("group:marts"), ["customers", "fct_orders"]);
  });

  test("owner:x, with and without the team: prefix, and wildcards", () => {
    assert.deepEqual(sel("owner:analytics"), ["fct_orders"]);
    assert.deepEqual(sel("owner:team:analytics"), ["fct_orders"]);
    assert.deepEqual(sel("owner:ana@example.com"), ["order_forecast_model"]);
    assert.deepEqual(sel("owner:*@example.com"), ["order_forecast_model"]);
  });

  test("kind: every value and alias, case-insensitive", () => {
    const byKind = (k: AssetKind | AssetKind[]): string[] => {
      const kinds = Array.isArray(k) ? k : [k];
      return ALL.filter((id) => kinds.includes(graph.get(id)!.kind));
    };
    assert.deepEqual(sel("kind:ts"), byKind("ts_asset"));
    assert.deepEqual(sel("kind:dbt"), byKind(["dbt_model", "dbt_seed", "dbt_snapshot", "dbt_source", "dbt_exposure"]));
    assert.deepEqual(sel("kind:model"), byKind("dbt_model"));
    assert.deepEqual(sel("kind:seed"), ["raw_customers", "raw_orders", "raw_payments"]);
    assert.deepEqual(sel("kind:snapshot"), ["orders_snapshot"]);
    assert.deepEqual(sel("kind:source"), ["app/events"]);
    assert.deepEqual(sel("kind:exposure"), ["weekly_dashboard"]);
    assert.deepEqual(sel("KIND:TS"), byKind("ts_asset"));
    assert.deepEqual(sel("kind:dbt_snapshot"), ["orders_snapshot"]);
    assert.deepEqual(sel("kind:ts_asset"), byKind("ts_asset"));
  });

  test("path: relative to a root, prefix on whole segments", () => {
    const staging = ["app/events", "stg_customers", "stg_events", "stg_orders", "stg_payments"];
    assert.deepEqual(sel("path:models/staging", { root: "/ws/jaffle" }), staging);
    assert.deepEqual(sel("path:models/staging/", { root: "/ws/jaffle/" }), staging);
    assert.deepEqual(sel("path:./models/staging", { root: "/ws/jaffle" }), staging);
    assert.deepEqual(sel("path:models/stag", { root: "/ws/jaffle" }), []);
    assert.deepEqual(sel("path:models/staging/stg_orders.sql", { root: "/ws/jaffle" }), ["stg_orders"]);
    assert.deepEqual(sel("path:jaffle/seeds", { root: "/ws" }), ["raw_customers", "raw_orders", "raw_payments"]);
    assert.deepEqual(sel("path:src", { root: "/ws" }), ["forecasting/predicted_orders", "order_forecast_model"]);
  });

  test("path: several roots, the absolute path, no root", () => {
    const roots = { root: ["/ws", "/ws/jaffle"] };
    assert.deepEqual(sel("path:snapshots", roots), ["orders_snapshot"]);
    assert.deepEqual(sel("path:src/assets", roots), ["forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("path:/ws/jaffle/snapshots"), ["orders_snapshot"]);
    assert.deepEqual(sel("path:snapshots"), []);
  });

  test("path: wildcards match the whole path or a directory prefix", () => {
    const opts = { root: "/ws/jaffle" };
    assert.deepEqual(sel("path:models/*/fct_*", opts), ["fct_orders"]);
    assert.deepEqual(sel("path:models/*", opts), [
      "app/events",
      "customers",
      "dim_customers/v2",
      "fct_orders",
      "forecast_vs_actual",
      "stg_customers",
      "stg_events",
      "stg_orders",
      "stg_payments",
      "weekly_dashboard",
    ]);
    assert.deepEqual(sel("path:*.csv", opts), ["raw_customers", "raw_orders", "raw_payments"]);
    assert.deepEqual(sel("path:mod*s/marts", opts), ["customers", "dim_customers/v2", "fct_orders", "forecast_vs_actual"]);
  });

  test("path: Windows separators", () => {
    const g = new AssetGraph();
    g.addNode(node("stg_a", { kind: "dbt_model", file: "C:\\ws\\proj\\models\\staging\\stg_a.sql" }));
    g.addNode(node("fct_b", { kind: "dbt_model", file: "C:\\ws\\proj\\models\\marts\\fct_b.sql" }));
    assert.deepEqual(sel("path:models/staging", { root: "C:\\ws\\proj" }, undefined, g), ["stg_a"]);
    assert.deepEqual(sel('path:"models\\marts"', { root: "C:\\ws\\proj\\" }, undefined, g), ["fct_b"]);
  });

  test("status: through the callback; without one nothing has a status", () => {
    const statuses: Record<string, AssetState> = {
      fct_orders: "stale",
      customers: "stale",
      order_forecast_model: "failed",
      stg_orders: "fresh",
      raw_orders: "running",
    };
    const status: StatusLookup = (id) => statuses[id];
    assert.deepEqual(sel("status:stale", status), ["customers", "fct_orders"]);
    assert.deepEqual(sel("status:failed", status), ["order_forecast_model"]);
    assert.deepEqual(sel("status:fresh", status), ["stg_orders"]);
    assert.deepEqual(sel("status:running", status), ["raw_orders"]);
    assert.deepEqual(sel("STATUS:Stale", { status }), ["customers", "fct_orders"]);
    assert.deepEqual(sel("status:missing", (id) => (statuses[id] ? undefined : "missing")).length, ALL.length - 5);
    assert.deepEqual(sel("status:stale"), []);
    // the options form and the 4th argument both work
    assert.deepEqual(sel("status:stale and path:models/marts", status, { root: "/ws/jaffle" }), ["customers", "fct_orders"]);
  });
});

describe("selection: layers", () => {
  const upFct = ["fct_orders", "raw_orders", "raw_payments", "stg_orders", "stg_payments"];
  const downFct = ["customers", "dim_customers/v2", "fct_orders", "forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model", "weekly_dashboard"];

  test("+x all upstream", () => {
    assert.deepEqual(sel("+fct_orders"), upFct);
    assert.deepEqual(sel("+forecasting/predicted_orders"), sorted([...upFct, "order_forecast_model", "forecasting/predicted_orders"]));
    assert.deepEqual(sel('+"forecasting/predicted_orders"'), sorted([...upFct, "order_forecast_model", "forecasting/predicted_orders"]));
  });

  test("n+x: n layers up", () => {
    assert.deepEqual(sel("1+fct_orders"), ["fct_orders", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel("2+fct_orders"), upFct);
    assert.deepEqual(sel("0+fct_orders"), ["fct_orders"]);
  });

  test("x+ and x+n downstream", () => {
    assert.deepEqual(sel("fct_orders+"), downFct);
    assert.deepEqual(sel("fct_orders+1"), ["customers", "fct_orders", "forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("raw_orders+2"), ["fct_orders", "orders_snapshot", "raw_orders", "stg_orders"]);
  });

  test("+x+ and n+x+m", () => {
    assert.deepEqual(sel("+stg_orders+"), sorted([...downFct, "raw_orders", "stg_orders"]));
    assert.deepEqual(sel("1+stg_orders+1"), ["fct_orders", "raw_orders", "stg_orders"]);
    const a = ast("2+x+3");
    assert.equal(a.type, "layers");
    assert.deepEqual(a.type === "layers" && [a.up, a.down], [2, 3]);
  });

  test("@x: x, its descendants, and all their ancestors", () => {
    // descendants of stg_customers: customers, dim_customers/v2, weekly_dashboard; their ancestors add
    // raw_customers, fct_orders and everything upstream of fct_orders
    assert.deepEqual(
      sel("@stg_customers"),
      sorted(["stg_customers", "customers", "dim_customers/v2", "weekly_dashboard", "raw_customers", ...upFct]),
    );
    assert.deepEqual(sel("@forecast_vs_actual"), sorted([...upFct, "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"]));
  });

  test("legacy *x and x* are +x and x+ (the seed's \"*order_forecast_model\")", () => {
    assert.deepEqual(sel("*order_forecast_model"), sorted([...upFct, "order_forecast_model"]));
    // inside quotes `*` is a wildcard: keys ending in order_forecast_model
    assert.deepEqual(sel('"*order_forecast_model"'), ["order_forecast_model"]);
    assert.deepEqual(sel("order_forecast_model*"), ["forecast_vs_actual", "forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("*fct_orders*"), sorted([...new Set([...upFct, ...downFct])]));
    assert.deepEqual(sel("*order_forecast_model"), sel("+order_forecast_model"));
    assert.deepEqual(sel("*key:fct_orders"), upFct);
  });

  test("* rule: a wildcard unless at the edge of a bare token next to a letter or digit", () => {
    const stg = ast("stg_*");
    assert.equal(stg.type, "name");
    assert.equal(stg.type === "name" && stg.pattern, "stg_*");
    const up = ast("*order_forecast_model");
    assert.equal(up.type, "layers");
    assert.deepEqual(up.type === "layers" && [up.up, up.down, up.operand], ["all", undefined, { type: "name", pattern: "order_forecast_model", quoted: false, range: { offset: 1, length: 20 } }]);
    const down = ast("order_forecast_model*");
    assert.deepEqual(down.type === "layers" && [down.up, down.down], [undefined, "all"]);
    const ends = ast("*_orders");
    assert.equal(ends.type === "name" && ends.pattern, "*_orders");
    const starStg = ast("*stg_*");
    assert.equal(starStg.type === "layers" && starStg.operand.type === "name" && starStg.operand.pattern, "stg_*");
    assert.deepEqual(sel("*stg_*"), ["app/events", "raw_customers", "raw_orders", "raw_payments", "stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    // `*` followed by `+` is not the last character of the token: a wildcard, then downstream
    const wildPlus = ast("fct_orders*+");
    assert.equal(wildPlus.type === "layers" && wildPlus.operand.type === "name" && wildPlus.operand.pattern, "fct_orders*");
    assert.deepEqual(sel("fct_orders*+"), downFct);
    // in attribute values `*` is always a wildcard
    const tagStar = ast("tag:nightly*");
    assert.equal(tagStar.type, "attribute");
  });

  test("layers on attributes, groups and functions", () => {
    assert.deepEqual(sel("+tag:ml"), sorted([...upFct, "order_forecast_model"]));
    assert.deepEqual(sel("+(stg_orders or stg_customers)"), ["raw_customers", "raw_orders", "stg_customers", "stg_orders"]);
    assert.deepEqual(sel("roots(+fct_orders)+1"), ["orders_snapshot", "raw_orders", "raw_payments", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel("tag:staging+1"), ["customers", "fct_orders", "stg_customers", "stg_events", "stg_orders", "stg_payments"]);
  });
});

describe("selection: operators and functions", () => {
  test("and / or / not, case-insensitive", () => {
    assert.deepEqual(sel("kind:dbt and tag:marts"), ["customers", "fct_orders", "forecast_vs_actual"]);
    assert.deepEqual(sel("tag:marts and not customers"), ["fct_orders", "forecast_vs_actual"]);
    assert.deepEqual(sel("not kind:dbt"), ["forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("fct_orders or customers"), ["customers", "fct_orders"]);
    assert.deepEqual(sel("tag:marts AND NOT customers"), ["fct_orders", "forecast_vs_actual"]);
    assert.deepEqual(sel("fct_orders OR customers"), ["customers", "fct_orders"]);
    assert.deepEqual(sel("Not not fct_orders"), ["fct_orders"]);
  });

  test("space- and comma-separated lists are unions", () => {
    assert.deepEqual(sel("fct_orders customers"), ["customers", "fct_orders"]);
    assert.deepEqual(sel("fct_orders,customers"), ["customers", "fct_orders"]);
    assert.deepEqual(sel("fct_orders , customers  raw_orders"), ["customers", "fct_orders", "raw_orders"]);
  });

  test("precedence: not > and > union", () => {
    // raw_orders ∪ (raw_payments ∩ staging)
    assert.deepEqual(sel("raw_orders raw_payments and tag:staging"), ["raw_orders"]);
    assert.deepEqual(sel("raw_orders or raw_payments and tag:staging"), ["raw_orders"]);
    assert.deepEqual(sel("raw_orders, raw_payments and tag:staging"), ["raw_orders"]);
    assert.deepEqual(sel("(raw_orders raw_payments) and kind:seed"), ["raw_orders", "raw_payments"]);
    // (not customers) ∪ fct_orders
    assert.deepEqual(sel("not customers, fct_orders"), ALL.filter((id) => id !== "customers"));
    // not binds tighter than and
    assert.deepEqual(sel("not tag:marts and kind:model"), ["dim_customers/v2", "stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    // layers bind tighter than not
    assert.deepEqual(sel("kind:seed and not +stg_orders"), ["raw_customers", "raw_payments"]);
    const a = ast("a b and c");
    assert.equal(a.type, "or");
    assert.equal(a.type === "or" && a.operands[1].type, "and");
  });

  test("and / or after a comma, nested parentheses", () => {
    assert.deepEqual(sel("fct_orders, not kind:dbt"), ["fct_orders", "forecasting/predicted_orders", "order_forecast_model"]);
    assert.deepEqual(sel("((fct_orders or (customers)) and tag:marts)"), ["customers", "fct_orders"]);
    assert.deepEqual(sel("(fct_orders) customers"), ["customers", "fct_orders"]);
  });

  test("roots(sel) and sinks(sel)", () => {
    assert.deepEqual(sel("roots(+fct_orders)"), ["raw_orders", "raw_payments"]);
    assert.deepEqual(sel("sinks(+fct_orders)"), ["fct_orders"]);
    assert.deepEqual(sel("sinks(kind:ts)"), ["forecasting/predicted_orders"]);
    assert.deepEqual(sel("roots(kind:ts)"), ["order_forecast_model"]);
    assert.deepEqual(sel("ROOTS (tag:staging)"), ["stg_customers", "stg_events", "stg_orders", "stg_payments"]);
    assert.deepEqual(sel("sinks(fct_orders+) and kind:dbt"), ["dim_customers/v2", "forecast_vs_actual", "weekly_dashboard"]);
  });

  // One expected result per table entry: a function added to SELECTION_FUNCTIONS without one here does not compile.
  const FUNCTION_RESULTS: Record<SelectionFunctionName, { of: string; selects: string[] }> = {
    roots: { of: "+fct_orders", selects: ["raw_orders", "raw_payments"] },
    sinks: { of: "fct_orders+", selects: ["dim_customers/v2", "forecast_vs_actual", "weekly_dashboard"] },
  };
  for (const name of SELECTION_FUNCTION_NAMES) {
    test(`the table's function ${name}() parses (any case, spaces before '(') and evaluates through its entry`, () => {
      const { of, selects } = FUNCTION_RESULTS[name];
      for (const text of [`${name}(${of})`, `${name.toUpperCase()} (${of})`]) {
        const parsed = ast(text);
        assert.equal(parsed.type === "function" && parsed.name, name, text);
        assert.deepEqual(sel(text), selects, text);
      }
      assert.deepEqual([...SELECTION_FUNCTIONS[name].evaluate(new Set(sel(of)), graph)].sort(), selects);
      assert.deepEqual(sel(`${name}(${of})+1`), sel(`(${selects.map((id) => JSON.stringify(id)).join(" ")})+1`), "layers apply to a call");
      assert.deepEqual(sel(name), [], `'${name}' without '(' is an asset name`);
    });
  }

  test("an unknown function's error names every function of the table", () => {
    const error = parseError("foo(x)");
    const names = SELECTION_FUNCTION_NAMES as readonly string[];
    assert.ok(names.length >= 2);
    for (const name of names) {
      assert.match(error.message, new RegExp(`\\b${name}\\b`), error.message);
      assert.match(error.expected, new RegExp(`\\b${name}\\b`), error.expected);
    }
  });

  test("evaluateSelection works on a parsed AST and never mutates the graph", () => {
    const parsed = parseSelection("+fct_orders");
    assert.ok(parsed.ok);
    const before = graph.edges.length;
    const ids = evaluateSelection(parsed.ast, graph);
    assert.ok(ids instanceof Set);
    assert.deepEqual([...ids].sort(), ["fct_orders", "raw_orders", "raw_payments", "stg_orders", "stg_payments"]);
    assert.equal(graph.edges.length, before);
  });
});

describe("selection: errors", () => {
  const cases: { text: string; column: number; message: string; expected?: string; line?: number }[] = [
    { text: "", column: 1, message: "the selection is empty", expected: "a selector" },
    { text: "   ", column: 4, message: "the selection is empty" },
    { text: "fct_orders and", column: 15, message: "expected a selector after 'and'", expected: "a selector" },
    { text: "fct_orders AND", column: 15, message: "expected a selector after 'AND'" },
    { text: "a and or b", column: 7, message: "expected a selector after 'and'" },
    { text: "a or", column: 5, message: "expected a selector after 'or'" },
    { text: "a,,b", column: 3, message: "expected a selector after ','" },
    { text: "a, ", column: 4, message: "expected a selector after ','" },
    { text: "not", column: 4, message: "expected a selector after 'not'" },
    { text: "and x", column: 1, message: "expected a selector before 'and'" },
    { text: "(a or b", column: 8, message: "unclosed '(' opened at column 1", expected: "')'" },
    { text: "x (a or b", column: 10, message: "unclosed '(' opened at column 3" },
    { text: "roots(a b", column: 10, message: "unclosed '(' opened at column 6" },
    { text: "()", column: 2, message: "expected a selector after '('" },
    { text: "roots()", column: 7, message: "expected a selector after '('" },
    { text: "a )", column: 3, message: "unexpected ')'" },
    { text: "tga:x", column: 1, message: "unknown attribute 'tga' (expected one of key, tag, group, kind, owner, path, status, test_name, test_type)" },
    { text: "x and Tga:x", column: 7, message: "unknown attribute 'Tga'" },
    { text: "kind:foo", column: 6, message: "unknown kind 'foo' (expected one of dbt, ts, model, seed, snapshot, source, exposure)" },
    { text: "status:old", column: 8, message: "unknown status 'old' (expected one of missing, fresh, stale, failed, running)" },
    { text: "tag:", column: 5, message: "expected a value after 'tag:'" },
    { text: "tag: x", column: 5, message: "expected a value after 'tag:'" },
    { text: "a not b", column: 3, message: "'not' directly after a selector" },
    { text: "x+y", column: 3, message: "unexpected 'y' after 'x+'" },
    { text: "x+2b", column: 4, message: "unexpected 'b' after 'x+2'" },
    { text: "@+x", column: 2, message: "'@' already selects all ancestors" },
    { text: "@x+", column: 3, message: "'@' already selects all descendants" },
    { text: "+", column: 2, message: "expected a selector after '+'" },
    { text: "2+ x", column: 3, message: "expected a selector after '2+'" },
    { text: "@", column: 2, message: "expected a selector after '@'" },
    { text: '"abc', column: 5, message: "unterminated string: the \" opened at column 1 is never closed" },
    { text: "key:'a/b", column: 9, message: "opened at column 5" },
    { text: '""', column: 1, message: "empty name between quotes" },
    { text: "foo(x)", column: 1, message: "unknown function 'foo' (expected roots or sinks)" },
    { text: "a/b:c", column: 4, message: "unexpected ':' after 'a/b'" },
    { text: "=x", column: 1, message: "unexpected '=' (expected a selector)" },
    { text: "a and\n  or b", column: 3, line: 2, message: "expected a selector after 'and'" },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.text)} -> column ${c.column}: ${c.message}`, () => {
      const error = parseError(c.text);
      assert.equal(error.column, c.column, JSON.stringify(error));
      assert.ok(error.message.includes(c.message), `message: ${error.message}`);
      if (c.expected !== undefined) assert.equal(error.expected, c.expected);
      assert.equal(error.line, c.line ?? 1);
      if (!c.text.includes("\n")) assert.equal(error.offset, c.column - 1);
    });
  }

  test("the error length covers the offending token", () => {
    assert.deepEqual(pick(parseError("tga:x")), { offset: 0, length: 3 });
    assert.deepEqual(pick(parseError("a and kind:foo")), { offset: 11, length: 3 });
    assert.deepEqual(pick(parseError("a and")), { offset: 5, length: 0 });
  });

  test("deep nesting is an error, not a stack overflow", () => {
    const text = "(".repeat(5000) + "a" + ")".repeat(5000);
    const error = parseError(text);
    assert.ok(error.message.includes("nested deeper"));
    assert.deepEqual(sel("(((((fct_orders)))))"), ["fct_orders"]);
  });

  test("selectAssets returns the error; describeSelectionError points at it", () => {
    const result = selectAssets("fct_orders and", graph);
    assert.equal(result.ok, false);
    const error = (result as { ok: false; error: SelectionError }).error;
    assert.equal(describeSelectionError(error), "column 15: expected a selector after 'and'");
    assert.equal(
      describeSelectionError(parseError("a and kind:foo"), "a and kind:foo"),
      "column 12: unknown kind 'foo' (expected one of dbt, ts, model, seed, snapshot, source, exposure)\n  a and kind:foo\n             ^^^",
    );
    assert.ok(describeSelectionError(parseError("a and\n or"), "a and\n or").startsWith("line 2, column 2:"));
  });
});

function pick(e: SelectionError): { offset: number; length: number } {
  return { offset: e.offset, length: e.length };
}
