/** vars: one scoping and lookup rule (server/src/dbt/vars.ts) for the index and the embedded renderer. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { lookupVar, scopeVars } from "../../server/src/dbt/vars";

const raw = {
  start: "2020-01-01",
  shared: "global",
  settings: { a: 1 },
  shop: { shared: "own", only_here: true },
  stripe: { stripe_schema: "raw_stripe" },
};

test("a project sees global vars with its own scope on top; another package's scope is left out; mapping-valued globals stay", () => {
  const scoped = scopeVars(raw, "shop", (name) => name === "stripe");
  assert.deepEqual(scoped.vars, { start: "2020-01-01", shared: "own", settings: { a: 1 }, only_here: true });
  assert.deepEqual(scoped.globals, { start: "2020-01-01", shared: "global", settings: { a: 1 } });
});

test("scoping vars that are scoped already changes nothing", () => {
  const once = scopeVars(raw, "shop", (name) => name === "stripe").vars;
  assert.deepEqual(scopeVars(once, "shop").vars, once);
});

test("lookupVar: the first layer that defines the name wins, a defined null/false counts, an undefined name gives undefined", () => {
  assert.deepEqual(lookupVar("x", { x: "cli" }, { x: "project" }), { value: "cli" });
  assert.deepEqual(lookupVar("x", {}, { x: false }), { value: false });
  assert.deepEqual(lookupVar("x", { y: 1 }, { x: null }), { value: null });
  assert.equal(lookupVar("x", {}, { y: 1 }), undefined);
  assert.equal(lookupVar("toString", {}, {}), undefined);
});
