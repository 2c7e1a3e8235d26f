/**
 * dbt's language as the index reads it and as the embedded renderer runs it must agree: the
 * names the scanner never takes for macro calls are the renderer's context, and the methods it
 * takes for value methods are those the renderer implements on Python values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { NOT_MACROS, NOT_PACKAGES, VALUE_METHODS } from "../../server/src/dbt/builtins";
import { pythonValueMethods } from "../../server/src/run/embedded/python";
import { rendererGlobals } from "../../server/src/run/embedded/render";

const globals = rendererGlobals();

/** dbt's own macros (the `dbt` namespace): a project may override them, so their calls are reported for the linker to resolve. */
const DBT_MACROS = new Set(Object.keys(globals.dbt as object));

/** Context names deliberately left out of the scanner's lists, each with why. */
const EXCLUDED: Record<string, string> = {
  __dbt_setattr: "written by the renderer's own preprocessing of `{% set x.y = ... %}`, never by a project",
  dbt: "`dbt.<macro>(` names dbt's own macros and is reported as written",
};

function kindOf(value: unknown): "function" | "object" | "value" {
  if (typeof value === "function") return "function";
  return value !== null && typeof value === "object" ? "object" : "value";
}

void test("the renderer's context has functions and objects to compare (the list is read from the real context)", () => {
  const kinds = Object.values(globals).map(kindOf);
  assert.ok(kinds.filter((k) => k === "function").length > 20);
  assert.ok(kinds.filter((k) => k === "object").length > 5);
  assert.ok(DBT_MACROS.has("generate_schema_name"));
});

void test("every function of the renderer's context is a name the scanner never reports as a macro call", () => {
  const drift = Object.entries(globals)
    .filter(([name, value]) => kindOf(value) === "function" && !NOT_MACROS.has(name) && !DBT_MACROS.has(name) && !(name in EXCLUDED))
    .map(([name]) => name);
  assert.deepEqual(drift, [], "add these to NOT_MACROS in server/src/dbt/builtins.ts, or to EXCLUDED here with the reason");
});

void test("every object of the renderer's context is a head the scanner never takes for a macro package", () => {
  const drift = Object.entries(globals)
    .filter(([name, value]) => kindOf(value) === "object" && !NOT_PACKAGES.has(name) && !(name in EXCLUDED))
    .map(([name]) => name);
  assert.deepEqual(drift, [], "add these to NOT_PACKAGES in server/src/dbt/builtins.ts, or to EXCLUDED here with the reason");
});

void test("every exclusion names a name the renderer still defines", () => {
  for (const name of Object.keys(EXCLUDED)) assert.ok(name in globals, `${name} is no longer in the renderer's context: drop it from EXCLUDED`);
});

void test("every Python value method the renderer implements is a value method to the scanner", () => {
  const methods = pythonValueMethods();
  assert.ok(methods.includes("items") && methods.includes("upper") && methods.includes("strftime"));
  assert.deepEqual(methods.filter((m) => !VALUE_METHODS.has(m)), [], "add these to VALUE_METHODS in server/src/dbt/builtins.ts");
});
