/**
 * Graphs for the lineage panel's tests and benchmark: the example project's shape (seeds ->
 * staging -> fct_orders -> TS forecast -> dbt source -> forecast_vs_actual), with one asset of
 * each remaining kind added, and generated graphs of any size with groups and both technologies.
 */
import type { Plan } from "../../server/src/protocol/plan";
import type { AssetEdge, AssetKind, AssetNode, GraphData } from "../../server/src/protocol/types";
import type { StatusMap } from "../../server/src/protocol/status";
import type { GraphMessage } from "../../server/src/protocol/webview";

const WS = "/ws/jaffle-forecast";

function node(id: string, kind: AssetKind, file: string, extra: Partial<AssetNode> = {}): AssetNode {
  return { id, key: id.split("/"), kind, file: `${WS}/${file}`, tags: [], owners: [], alsoAt: [], ...extra };
}

function edge(from: string, to: string, origin: AssetEdge["origin"] = "sql"): AssetEdge {
  return { from, to, origin };
}

/** examples/jaffle-forecast as `tributary graph` reads it, plus a snapshot, an exposure and an external source. */
export function exampleData(): GraphData {
  const nodes: AssetNode[] = [
    node("raw_customers", "dbt_seed", "seeds/raw_customers.csv"),
    node("raw_orders", "dbt_seed", "seeds/raw_orders.csv"),
    node("raw_payments", "dbt_seed", "seeds/raw_payments.csv"),
    node("stg_customers", "dbt_model", "models/staging/stg_customers.sql", { materialized: "view" }),
    node("stg_orders", "dbt_model", "models/staging/stg_orders.sql", { materialized: "view" }),
    node("stg_payments", "dbt_model", "models/staging/stg_payments.sql", { materialized: "view" }),
    node("fct_orders", "dbt_model", "models/marts/fct_orders.sql", { group: "finance", materialized: "table", description: "One row per order with the amount paid by each payment method." }),
    node("customers", "dbt_model", "models/marts/customers.sql", { group: "finance", materialized: "table" }),
    node("order_forecast_model", "ts_asset", "assets/forecast.ts", { group: "forecasting", exportName: "orderForecastModel" }),
    node("forecasting/predicted_orders", "ts_asset", "assets/forecast.ts", { group: "forecasting", exportName: "predictedOrders", producedByTs: true, materialized: "table" }),
    node("forecast_vs_actual", "dbt_model", "models/forecasting/forecast_vs_actual.sql", { materialized: "table" }),
    // Not in the example: one asset of each other kind.
    node("orders_snapshot", "dbt_snapshot", "snapshots/orders_snapshot.sql"),
    node("stripe/charges", "dbt_source", "models/staging/sources.yml", { sourceName: "stripe" }),
    node("forecast_dashboard", "dbt_exposure", "models/forecasting/exposures.yml"),
  ];
  const edges: AssetEdge[] = [
    edge("raw_customers", "stg_customers"),
    edge("raw_orders", "stg_orders"),
    edge("raw_payments", "stg_payments"),
    edge("stripe/charges", "stg_payments"),
    edge("stg_orders", "fct_orders"),
    edge("stg_payments", "fct_orders"),
    edge("stg_customers", "customers"),
    edge("fct_orders", "customers"),
    edge("stg_orders", "orders_snapshot"),
    edge("fct_orders", "order_forecast_model", "ts"),
    edge("order_forecast_model", "forecasting/predicted_orders", "ts"),
    edge("fct_orders", "forecasting/predicted_orders", "ts"),
    edge("fct_orders", "forecast_vs_actual"),
    edge("forecasting/predicted_orders", "forecast_vs_actual"),
    edge("forecast_vs_actual", "forecast_dashboard", "yaml"),
  ];
  return { nodes, edges };
}

export function exampleStatuses(): StatusMap {
  return {
    raw_customers: { state: "fresh" },
    raw_orders: { state: "fresh" },
    raw_payments: { state: "fresh" },
    stg_customers: { state: "fresh" },
    stg_orders: { state: "fresh" },
    stg_payments: { state: "stale", detail: "code changed since the last materialization" },
    fct_orders: { state: "stale", detail: "upstream stg_payments is stale" },
    customers: { state: "fresh" },
    order_forecast_model: { state: "failed", detail: "TypeError: cannot read 'length'" },
    "forecasting/predicted_orders": { state: "missing" },
    forecast_vs_actual: { state: "running" },
    orders_snapshot: { state: "fresh" },
    "stripe/charges": { state: "fresh", detail: "external source" },
    forecast_dashboard: { state: "missing" },
  };
}

/** The whole example, centred on fct_orders with no depth limit hit. */
export function exampleGraph(overrides: Partial<GraphMessage> = {}): GraphMessage {
  return { method: "graph", data: exampleData(), centre: ["fct_orders"], truncated: [], statuses: exampleStatuses(), upstream: 9, downstream: 9, ...overrides };
}

/** What the planner makes of materializing forecast_vs_actual with upstream: dbt, TS, TS, dbt. */
export function examplePlan(): Plan {
  return {
    selection: ["raw_orders", "raw_payments", "stripe/charges", "stg_orders", "stg_payments", "fct_orders", "order_forecast_model", "forecasting/predicted_orders", "forecast_vs_actual"],
    steps: [
      { id: "step-1", kind: "dbt", assets: ["raw_orders", "raw_payments", "stg_orders", "stg_payments", "fct_orders"], project: "jaffle_forecast", dependsOn: [], parallelGroup: 0 },
      { id: "step-2", kind: "ts", assets: ["order_forecast_model"], dependsOn: ["step-1"], parallelGroup: 1 },
      { id: "step-3", kind: "ts", assets: ["forecasting/predicted_orders"], dependsOn: ["step-2"], parallelGroup: 2 },
      { id: "step-4", kind: "dbt", assets: ["forecast_vs_actual"], project: "jaffle_forecast", dependsOn: ["step-3"], parallelGroup: 3 },
    ],
    inputs: [],
    external: ["stripe/charges"],
    skipped: [],
  };
}

const TIERS = 5;

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    s ^= s >>> 13;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * A lineage graph of `n` assets in about n / 100 groups: layers of models fed by seeds and
 * sources, TS assets (10%) reading models and producing tables that models read, exposures at the
 * end; about 1.6 upstream edges per asset, mostly from the previous few layers of the same group,
 * some (12%) from a neighbouring group of the tier before (groups form five tiers: sources and
 * staging, intermediate, marts, ML, reporting).
 */
export function generateData(n: number, seed = 1): GraphData {
  const rnd = random(seed);
  const groups = Math.max(1, Math.round(n / 100));
  const nodes: AssetNode[] = [];
  const edges: AssetEdge[] = [];
  const byGroup: string[][] = Array.from({ length: groups }, () => []);
  const kindOf = new Map<string, AssetKind>();
  for (let i = 0; i < n; i++) {
    const g = i % groups;
    const members = byGroup[g];
    const r = rnd();
    const kind: AssetKind = members.length < 3 ? (r < 0.6 ? "dbt_seed" : "dbt_source")
      : r < 0.1 ? "ts_asset" : r < 0.13 ? "dbt_snapshot" : r < 0.15 ? "dbt_exposure" : "dbt_model";
    const domain = `domain_${String(g).padStart(2, "0")}`;
    const id = kind === "dbt_source" ? `src_${domain}/table_${i}` : `${kind === "ts_asset" ? "ts" : kind.replace("dbt_", "")}_${domain}_${i}`;
    const file = kind === "ts_asset" ? `/ws/assets/${domain}/asset_${i}.ts` : `/ws/models/${domain}/${id.replace("/", "_")}.sql`;
    // Most assets declare their group; the rest are grouped by folder.
    kindOf.set(id, kind);
    nodes.push({ id, key: id.split("/"), kind, file, tags: [], owners: [], alsoAt: [], ...(rnd() < 0.85 ? { group: domain } : {}) });
    if (members.length >= 3 && kind !== "dbt_seed" && kind !== "dbt_source") {
      const parents = new Set<string>();
      const count = kind === "dbt_exposure" ? 1 : 1 + (rnd() < 0.6 ? 1 : 0);
      for (let k = 0; k < count; k++) parents.add(members[Math.max(0, members.length - 1 - Math.floor(rnd() * Math.min(members.length, 12)))]);
      // Some edges cross groups: from a neighbouring group of the tier before (staging feeds marts, ...).
      const tier = Math.floor((g * TIERS) / groups);
      if (tier > 0 && rnd() < 0.12) {
        const perTier = groups / TIERS;
        const near = Math.floor((tier - 1) * perTier + ((g % perTier) + Math.floor(rnd() * 5) - 2 + perTier) % perTier);
        const other = byGroup[Math.min(groups - 1, Math.max(0, near))];
        if (other.length) parents.add(other[Math.floor(rnd() * other.length)]);
      }
      for (const p of parents) {
        const fromKind = kindOf.get(p)!;
        if (fromKind === "dbt_exposure") continue;
        edges.push({ from: p, to: id, origin: kind === "ts_asset" || fromKind === "ts_asset" ? "ts" : "sql" });
      }
    }
    members.push(id);
  }
  return { nodes, edges };
}

export function generateStatuses(data: GraphData, seed = 2): StatusMap {
  const rnd = random(seed);
  const states = ["fresh", "fresh", "fresh", "fresh", "stale", "missing", "failed"] as const;
  return Object.fromEntries(data.nodes.map((n) => [n.id, { state: states[Math.floor(rnd() * states.length)] }]));
}

/** A generated graph sent as the full workspace graph. */
export function generatedGraph(n: number, seed = 1): GraphMessage {
  const data = generateData(n, seed);
  return { method: "graph", data, centre: [], truncated: [], statuses: generateStatuses(data), full: true };
}
