import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  asset,
  getIOManager,
  inputName,
  isAssetDefinition,
  isJobDefinition,
  job,
  registerIOManager,
  toAssetKey,
  type AssetContext,
  type IOManager,
} from "../../packages/tributary-assets/src/index";

void describe("tributary-assets: asset()", () => {
  void test("normalises keys and deps", () => {
    const model = asset({ key: "order_forecast_model", deps: ["fct_orders"], group: "forecasting" }, async () => ({ w: 1 }));
    assert.equal(model.kind, "asset");
    assert.deepEqual(model.key, ["order_forecast_model"]);
    assert.deepEqual(model.deps, [["fct_orders"]]);
    assert.equal(model.options.group, "forecasting");

    const keyArray = ["forecasting", "predicted_orders"] as const;
    const preds = asset({ key: keyArray, deps: [model, "raw/shop/orders", ["a", "b"]], io: "table" }, async () => []);
    assert.deepEqual(preds.key, ["forecasting", "predicted_orders"]);
    assert.deepEqual(preds.deps, [["order_forecast_model"], ["raw", "shop", "orders"], ["a", "b"]]);
    assert.equal(preds.options.io, "table");
    // Copies: mutating the definition does not touch what the user passed.
    preds.key.push("x");
    assert.deepEqual(keyArray, ["forecasting", "predicted_orders"]);
    preds.deps[0].push("y");
    assert.deepEqual(model.key, ["order_forecast_model"]);
  });

  void test("the function receives inputs and context as typed", async () => {
    const logs: string[] = [];
    const ctx: AssetContext = {
      runId: "r1",
      assetKey: ["x"],
      log: { info: (m) => logs.push(m), warn: () => {}, error: () => {}, debug: () => {} },
      warehouse: { query: async () => [], run: async () => {} },
      metadata: () => {},
    };
    const a = asset({ key: "x", deps: ["raw/orders"] }, async ({ orders }, c) => {
      c.log.info(`got ${orders.length}`);
      return orders.length as number;
    });
    assert.equal(await a.fn({ [inputName(a.deps[0])]: [1, 2, 3] }, ctx), 3);
    assert.deepEqual(logs, ["got 3"]);
  });

  void test("validation errors name the problem", () => {
    const fn = () => 1;
    assert.throws(() => asset(undefined as never, fn), { name: "TypeError", message: /options object/ });
    assert.throws(() => asset({} as never, fn), { name: "TypeError", message: /`key` is required/ });
    assert.throws(() => asset({ key: "" }, fn), { name: "TypeError", message: /empty/ });
    assert.throws(() => asset({ key: [] }, fn), { name: "TypeError", message: /must not be empty/ });
    assert.throws(() => asset({ key: "a//b" }, fn), { name: "TypeError", message: /empty segments/ });
    assert.throws(() => asset({ key: 42 as never }, fn), { name: "TypeError", message: /got number/ });
    assert.throws(() => asset({ key: ["a", 1] as never }, fn), { name: "TypeError", message: /only strings/ });
    assert.throws(() => asset({ key: "a" }, undefined as never), { name: "TypeError", message: /asset function.*"a"/ });
    assert.throws(() => asset({ key: "a", deps: "b" as never }, fn), { name: "TypeError", message: /`deps` must be an array/ });
    assert.throws(() => asset({ key: "a", deps: ["ok", undefined as never] }, fn), { name: "TypeError", message: /deps\[1\].*import cycles/ });
    assert.throws(() => asset({ key: "a", deps: [""] }, fn), { name: "TypeError", message: /deps\[0\]/ });
    assert.throws(() => asset({ key: "a", owners: [1] as never }, fn), { name: "TypeError", message: /owners/ });
    assert.throws(() => asset({ key: "a", tags: "x" as never }, fn), { name: "TypeError", message: /tags/ });
    assert.doesNotThrow(() => asset({ key: "a", tags: { team: "data" }, owners: ["me"] }, fn));
  });

  void test("toAssetKey and inputName", () => {
    assert.deepEqual(toAssetKey("a/b/c"), ["a", "b", "c"]);
    assert.throws(() => toAssetKey(["a/b"]), /path separator/);
    assert.throws(() => toAssetKey("/a", "my key"), { message: /^my key/ });
    assert.equal(inputName(["forecasting", "predicted_orders"]), "predicted_orders");
  });
});

void describe("tributary-assets: job()", () => {
  void test("keeps the given fields only", () => {
    const j = job({ name: "nightly", selection: "*order_forecast_model", schedule: "@daily" });
    assert.deepEqual(j, { kind: "job", name: "nightly", selection: "*order_forecast_model", schedule: "@daily" });
    const k = job({ name: "k", selection: "tag:x", schedule: "0 3 * * *", timezone: "Europe/Berlin", description: "d" });
    assert.deepEqual(k, { kind: "job", name: "k", selection: "tag:x", schedule: "0 3 * * *", timezone: "Europe/Berlin", description: "d" });
  });

  void test("validation", () => {
    assert.throws(() => job({ selection: "x" } as never), { name: "TypeError", message: /`name` is required/ });
    assert.throws(() => job({ name: "j", selection: " " }), { name: "TypeError", message: /`selection` is required/ });
    assert.throws(() => job({ name: "j", selection: "x", schedule: 5 as never }), { name: "TypeError", message: /`schedule` must be a string/ });
  });
});

void describe("tributary-assets: guards", () => {
  void test("isAssetDefinition / isJobDefinition", () => {
    const a = asset({ key: "a" }, () => 1);
    const j = job({ name: "j", selection: "a" });
    assert.equal(isAssetDefinition(a), true);
    assert.equal(isAssetDefinition(j), false);
    assert.equal(isJobDefinition(j), true);
    assert.equal(isJobDefinition(a), false);
    // Structural: a definition made by another copy of the module still counts.
    assert.equal(isAssetDefinition({ kind: "asset", key: ["a"], deps: [], options: { key: "a" }, fn: () => 1 }), true);
    for (const x of [null, undefined, 1, "asset", { kind: "asset" }, { kind: "job", name: 1 }]) {
      assert.equal(isAssetDefinition(x), false);
      assert.equal(isJobDefinition(x), false);
    }
  });
});

void describe("tributary-assets: IO manager registry", () => {
  const g = globalThis as { __tributaryIOManagers?: Map<string, IOManager> };
  afterEach(() => {
    delete g.__tributaryIOManagers;
  });
  const manager = (tag: string): IOManager => ({
    load: async () => tag,
    store: async () => ({ rows: 1 }),
  });

  void test("registers on globalThis.__tributaryIOManagers and replaces by name", async () => {
    registerIOManager("s3", manager("first"));
    assert.ok(g.__tributaryIOManagers instanceof Map);
    assert.equal(await g.__tributaryIOManagers.get("s3")?.load(["x"], undefined as never), "first");
    registerIOManager("s3", manager("second"));
    assert.equal(g.__tributaryIOManagers.size, 1);
    assert.equal(await getIOManager("s3")?.load(["x"], undefined as never), "second");
    assert.equal(getIOManager("missing"), undefined);
  });

  void test("shares a registry created by someone else (the runner)", () => {
    const existing = new Map<string, IOManager>();
    g.__tributaryIOManagers = existing;
    registerIOManager("parquet", manager("p"));
    assert.ok(existing.has("parquet"));
  });

  void test("rejects bad registrations", () => {
    assert.throws(() => registerIOManager("", manager("x")), { name: "TypeError", message: /name/ });
    assert.throws(() => registerIOManager("bad", { load: async () => 1 } as never), { name: "TypeError", message: /load.*store/ });
    assert.equal(g.__tributaryIOManagers?.has("bad") ?? false, false);
  });
});

void describe("tributary-assets: the DESIGN.md example type-checks and runs", () => {
  // Stand-ins for the example's user functions.
  const train = (rows: unknown[]) => ({ trainedOn: rows.length });
  const predict = (model: { trainedOn: number }, rows: unknown[]) => rows.map((r) => ({ r, n: model.trainedOn }));

  /** Daily order forecast, trained on dbt's fct_orders. */
  const orderForecastModel = asset(
    { key: "order_forecast_model", deps: ["fct_orders"], group: "forecasting" },
    async ({ fct_orders }, ctx) => {
      ctx.log.info(`training on ${fct_orders.length} orders`);
      return train(fct_orders); // stored by the IO manager (JSON by default)
    },
  );

  const predictedOrders = asset(
    { key: ["forecasting", "predicted_orders"], deps: [orderForecastModel, "fct_orders"], io: "table" },
    async ({ order_forecast_model, fct_orders }) => predict(order_forecast_model, fct_orders), // rows -> DuckDB table forecasting.predicted_orders
  );

  void test("inputs by last key segment", async () => {
    const ctx = { log: { info: () => {} } } as unknown as AssetContext;
    const model = await orderForecastModel.fn({ fct_orders: [1, 2] }, ctx);
    const inputs = Object.fromEntries(predictedOrders.deps.map((d) => [inputName(d), d[0] === "fct_orders" ? [1, 2] : model]));
    assert.deepEqual(Object.keys(inputs), ["order_forecast_model", "fct_orders"]);
    assert.deepEqual(await predictedOrders.fn(inputs, ctx), [
      { r: 1, n: 2 },
      { r: 2, n: 2 },
    ]);
  });
});

void describe("tributary-assets: asset() checks", () => {
  void test("checks are kept as written; a malformed check is a TypeError naming the asset and the check", () => {
    const fn = (rows: unknown[]) => rows.length > 0;
    const a = asset({ key: "a", checks: [{ name: "not_empty", fn }, { name: "soft", blocking: false, fn: () => true }] }, () => [1]);
    assert.deepEqual(a.options.checks?.map((c) => [c.name, c.blocking]), [["not_empty", undefined], ["soft", false]]);
    assert.throws(() => asset({ key: "b", checks: [{ name: "", fn }] }, () => 1), /asset\("b"\): `checks\[0\]\.name` must be a non-empty string/);
    // @ts-expect-error -- blocking is a boolean
    assert.throws(() => asset({ key: "c", checks: [{ name: "x", fn, blocking: "yes" }] }, () => 1), /check "x": `blocking` is true or false/);
    assert.throws(() => asset({ key: "d", checks: [{ name: "x", fn }, { name: "x", fn }] }, () => 1), /two checks are named "x"/);
  });
});
