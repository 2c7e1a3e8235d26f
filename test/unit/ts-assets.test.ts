import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import type { Span } from "../../server/src/protocol/types";
import type { TsFacts } from "../../server/src/index/facts";
import { makeRelativeResolver, readTsAssets } from "../../server/src/index/ts/assets";
import { jsDocText } from "../../server/src/index/ts/syntax";
import { resolveTsRef } from "../../server/src/index/ts/resolveDeps";

const noResolve = () => undefined;
const read = (text: string, file = "/w/assets.ts") => readTsAssets(file, text, noResolve);

/** Span of the `nth` occurrence of `needle` in `text`, computed without TypeScript. */
function spanAt(text: string, needle: string, nth = 0): Span {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    assert.notEqual(at, -1, `"${needle}" #${nth} not in text`);
  }
  return { start: posAt(text, at), end: posAt(text, at + needle.length) };
}
function posAt(text: string, offset: number) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}
const codes = (f: TsFacts) => f.diagnostics.map((d) => d.code);

// The example of DESIGN.md §2, verbatim.
const DESIGN_EXAMPLE = [
  'import { asset } from "tributary-assets";',
  "",
  "/** Daily order forecast, trained on dbt's fct_orders. */",
  "export const orderForecastModel = asset(",
  '  { key: "order_forecast_model", deps: ["fct_orders"], group: "forecasting" },',
  "  async ({ fct_orders }, ctx) => {",
  "    ctx.log.info(`training on ${fct_orders.length} orders`);",
  "    return train(fct_orders); // stored by the IO manager (JSON by default)",
  "  },",
  ");",
  "",
  "export const predictedOrders = asset(",
  '  { key: ["forecasting", "predicted_orders"], deps: [orderForecastModel, "fct_orders"], io: "table" },',
  "  async ({ order_forecast_model, fct_orders }) => predict(order_forecast_model, fct_orders), // rows -> DuckDB table forecasting.predicted_orders",
  ");",
  "",
].join("\n");

void describe("readTsAssets: the DESIGN.md example", () => {
  const f = read(DESIGN_EXAMPLE);

  void test("reads both assets with their keys, deps and options", () => {
    assert.equal(f.importsTributary, true);
    assert.deepEqual(f.diagnostics, []);
    assert.equal(f.assets.length, 2);
    const [model, preds] = f.assets;
    assert.deepEqual(model.key, ["order_forecast_model"]);
    assert.equal(model.localName, "orderForecastModel");
    assert.equal(model.exportName, "orderForecastModel");
    assert.equal(model.group, "forecasting");
    assert.equal(model.description, "Daily order forecast, trained on dbt's fct_orders.");
    assert.deepEqual(model.deps.map((d) => (d.type === "key" ? d.key : d.name)), [["fct_orders"]]);
    assert.deepEqual(model.tags, []);
    assert.deepEqual(model.owners, []);
    assert.equal(model.io, undefined);

    assert.deepEqual(preds.key, ["forecasting", "predicted_orders"]);
    assert.equal(preds.exportName, "predictedOrders");
    assert.equal(preds.io, "table");
    assert.equal(preds.description, undefined);
    assert.deepEqual(
      preds.deps.map(({ span: _span, ...d }) => d),
      [
        { type: "ref", name: "orderForecastModel" },
        { type: "key", key: ["fct_orders"] },
      ],
    );
    assert.equal(preds.fnText, "async ({ order_forecast_model, fct_orders }) => predict(order_forecast_model, fct_orders)");
    assert.ok(model.fnText.startsWith("async ({ fct_orders }, ctx) => {"));
    assert.ok(model.fnText.endsWith("return train(fct_orders); // stored by the IO manager (JSON by default)\n  }"));
  });

  void test("exact spans of name, key, deps and call", () => {
    const [model, preds] = f.assets;
    assert.deepEqual(model.nameSpan, { start: { line: 3, character: 13 }, end: { line: 3, character: 31 } });
    assert.deepEqual(model.keySpan, { start: { line: 4, character: 9 }, end: { line: 4, character: 31 } });
    assert.deepEqual(model.deps[0].span, { start: { line: 4, character: 40 }, end: { line: 4, character: 52 } });
    assert.deepEqual(model.span, { start: { line: 3, character: 34 }, end: { line: 9, character: 1 } });
    assert.deepEqual(preds.nameSpan, spanAt(DESIGN_EXAMPLE, "predictedOrders"));
    assert.deepEqual(preds.keySpan, spanAt(DESIGN_EXAMPLE, '["forecasting", "predicted_orders"]'));
    assert.deepEqual(preds.deps[0].span, spanAt(DESIGN_EXAMPLE, "orderForecastModel", 1));
    assert.deepEqual(preds.deps[1].span, spanAt(DESIGN_EXAMPLE, '"fct_orders"', 1));
  });

  void test("imports and exports", () => {
    assert.deepEqual(f.imports, [{ local: "asset", imported: "asset", specifier: "tributary-assets" }]);
    assert.deepEqual(f.exports, [
      { exported: "orderForecastModel", local: "orderForecastModel" },
      { exported: "predictedOrders", local: "predictedOrders" },
    ]);
  });
});

void describe("readTsAssets: bindings of asset() and job()", () => {
  void test("aliased named imports; an unbound asset() does not count", () => {
    const text = [
      'import { asset as defineAsset, job as defineJob } from "tributary-assets";',
      "declare function asset(o: unknown, f: unknown): unknown;",
      'export const a = defineAsset({ key: "a" }, async () => 1);',
      'export const notOne = asset({ key: "not_an_asset" }, async () => 1);',
      'export const j = defineJob({ name: "nightly", selection: "a" });',
    ].join("\n");
    const f = read(text);
    assert.deepEqual(f.assets.map((a) => a.key), [["a"]]);
    assert.equal(f.jobs.length, 1);
    assert.equal(f.jobs[0].name, "nightly");
    assert.deepEqual(f.imports.map((i) => [i.local, i.imported]), [["defineAsset", "asset"], ["defineJob", "job"]]);
  });

  void test("namespace import, import = require, require() and subpaths", () => {
    const ns = read('import * as t from "tributary-assets";\nexport const a = t.asset({ key: "a" }, () => 1);\nexport const j = t.job({ name: "j", selection: "a" });\nexport const no = t.other({ key: "b" });');
    assert.deepEqual(ns.assets.map((a) => a.key), [["a"]]);
    assert.equal(ns.jobs.length, 1);
    assert.deepEqual(ns.imports, [{ local: "t", imported: "*", specifier: "tributary-assets" }]);

    const eq = read('import trib = require("tributary-assets");\nexport const a = trib.asset({ key: "a" }, () => 1);');
    assert.deepEqual(eq.assets.map((a) => a.key), [["a"]]);

    const req = read('const { asset: mk } = require("tributary-assets");\nexports.a = mk({ key: "a" }, () => 1);', "/w/x.cts");
    assert.deepEqual(req.assets.map((a) => a.key), [["a"]]);

    const sub = read('import { asset } from "tributary-assets/runtime";\nexport const a = asset({ key: "a" }, () => 1);');
    assert.equal(sub.importsTributary, true);
    assert.deepEqual(sub.assets.map((a) => a.key), [["a"]]);
  });

  void test("export ... from tributary-assets marks the file but binds nothing", () => {
    const f = read('export { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, () => 1);');
    assert.equal(f.importsTributary, true);
    assert.equal(f.assets.length, 0);
    assert.deepEqual(f.exports, [{ exported: "a", local: "a" }]);
  });

  void test("type-only imports bind nothing", () => {
    const f = read('import type { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, () => 1);');
    assert.equal(f.importsTributary, true);
    assert.equal(f.assets.length, 0);
  });

  void test("files not importing tributary-assets hold no assets", () => {
    const unrelated = 'function asset(o: object, f: () => void) { return o; }\nexport const a = asset({ key: "a" }, () => 1);';
    const f = read(unrelated);
    assert.equal(f.importsTributary, false);
    assert.deepEqual(f.assets, []);
    assert.deepEqual(f.diagnostics, []);
    // Mentioned only in a comment or another module's name: parsed, but still no binding.
    const mention = '// not from tributary-assets\nimport { asset } from "./my-assets";\nexport const a = asset({ key: "a" }, () => 1);';
    const g = read(mention);
    assert.equal(g.importsTributary, false);
    assert.deepEqual(g.assets, []);
    // Without the substring the file is not parsed at all: even broken syntax reports nothing.
    assert.deepEqual(read("export const = = ;").diagnostics, []);
  });
});

void describe("readTsAssets: keys", () => {
  const src = (key: string) => `import { asset } from "tributary-assets";\nexport const x = asset({ key: ${key} }, async () => 1);\n`;

  void test("string, path string, array, template without substitutions", () => {
    assert.deepEqual(read(src('"orders"')).assets[0].key, ["orders"]);
    assert.deepEqual(read(src('"raw/shop/orders"')).assets[0].key, ["raw", "shop", "orders"]);
    assert.deepEqual(read(src('["raw", "orders"]')).assets[0].key, ["raw", "orders"]);
    assert.deepEqual(read(src("`raw/orders`")).assets[0].key, ["raw", "orders"]);
    assert.deepEqual(read(src('["a", "b"] as const')).assets[0].key, ["a", "b"]);
    // A separator inside an array segment would make ["a/b"] and ["a", "b"] one id (and a path): refused.
    assert.equal(read(src('["a/b"] as const')).assets[0].key, undefined);
  });

  void test("dynamic keys: undefined key and a warning at the key", () => {
    for (const k of ["name", "`raw/${name}`", '["raw", name]', 'prefix + "x"']) {
      const text = src(k);
      const f = read(text);
      assert.equal(f.assets.length, 1);
      assert.equal(f.assets[0].key, undefined, k);
      assert.deepEqual(f.assets[0].keySpan, spanAt(text, k));
      assert.deepEqual(
        f.diagnostics.map((d) => [d.code, d.severity, d.span]),
        [["ts-dynamic-key", "warning", spanAt(text, k)]],
      );
      assert.equal(f.diagnostics[0].file, "/w/assets.ts");
    }
    const spread = 'import { asset } from "tributary-assets";\nexport const x = asset({ ...base }, async () => 1);';
    assert.deepEqual(codes(read(spread)), ["ts-dynamic-key"]);
    const opts = 'import { asset } from "tributary-assets";\nexport const x = asset(options, async () => 1);';
    const g = read(opts);
    assert.deepEqual(g.diagnostics.map((d) => [d.code, d.span]), [["ts-dynamic-key", spanAt(opts, "options")]]);
  });

  void test("missing and invalid keys are errors", () => {
    const text = 'import { asset } from "tributary-assets";\nexport const x = asset({ group: "g" }, async () => 1);';
    const f = read(text);
    assert.equal(f.assets.length, 1);
    assert.equal(f.assets[0].key, undefined);
    assert.equal(f.assets[0].group, "g");
    assert.deepEqual(f.diagnostics.map((d) => [d.code, d.severity, d.span]), [["ts-missing-key", "error", spanAt(text, '{ group: "g" }')]]);
    assert.deepEqual(codes(read(src('""'))), ["ts-invalid-key"]);
    assert.deepEqual(codes(read(src("[]"))), ["ts-invalid-key"]);
    assert.deepEqual(codes(read(src('"a//b"'))), ["ts-invalid-key"]);
    assert.deepEqual(codes(read('import { asset } from "tributary-assets";\nasset();')), ["ts-missing-key", "ts-missing-fn"]);
  });
});

void describe("readTsAssets: deps", () => {
  void test("strings, arrays, identifiers, property access; spans exact", () => {
    const text = [
      'import { asset } from "tributary-assets";',
      'import * as models from "./models";',
      "export const x = asset(",
      '  { key: "x", deps: ["a/b", ["c", "d"], upstream, models.forecast, `e`] },',
      "  async () => 1,",
      ");",
    ].join("\n");
    const f = read(text);
    assert.deepEqual(f.diagnostics, []);
    assert.deepEqual(f.assets[0].deps, [
      { type: "key", key: ["a", "b"], span: spanAt(text, '"a/b"') },
      { type: "key", key: ["c", "d"], span: spanAt(text, '["c", "d"]') },
      { type: "ref", name: "upstream", span: spanAt(text, "upstream") },
      { type: "ref", name: "models.forecast", span: spanAt(text, "models.forecast") },
      { type: "key", key: ["e"], span: spanAt(text, "`e`") },
    ]);
  });

  void test("dynamic deps are info diagnostics and the rest is kept", () => {
    const text = 'import { asset } from "tributary-assets";\nexport const x = asset({ key: "x", deps: ["a", ...more, pick("b"), "c"] }, () => 1);';
    const f = read(text);
    assert.deepEqual(f.assets[0].deps.map((d) => d.type === "key" && d.key[0]), ["a", "c"]);
    assert.deepEqual(
      f.diagnostics.map((d) => [d.code, d.severity, d.span]),
      [
        ["ts-dynamic-dep", "info", spanAt(text, "...more")],
        ["ts-dynamic-dep", "info", spanAt(text, 'pick("b")')],
      ],
    );
    const whole = 'import { asset } from "tributary-assets";\nexport const x = asset({ key: "x", deps: computeDeps() }, () => 1);';
    const g = read(whole);
    assert.deepEqual(g.assets[0].deps, []);
    assert.deepEqual(g.diagnostics.map((d) => [d.code, d.span]), [["ts-dynamic-dep", spanAt(whole, "computeDeps()")]]);
  });

  void test("an inline asset() as a dep contributes its key", () => {
    const f = read('import { asset } from "tributary-assets";\nexport const x = asset({ key: "x", deps: [asset({ key: "inner" }, () => 1)] }, () => 2);');
    assert.deepEqual(f.assets[0].deps.map((d) => d.type === "key" && d.key), [["inner"]]);
    assert.deepEqual(f.assets.map((a) => a.key), [["x"], ["inner"]]);
  });
});

void describe("readTsAssets: metadata", () => {
  void test("tags (array and object form), owners, codeVersion, io, description option", () => {
    const text = [
      'import { asset } from "tributary-assets";',
      "/** From JSDoc (ignored: the option wins). */",
      "export const x = asset(",
      '  { key: "x", tags: { team: "growth", pii: "" }, owners: ["ana@example.com", "team:data"], codeVersion: "3", io: "json", description: "From the option" },',
      "  async () => 1,",
      ");",
      'export const y = asset({ key: "y", tags: ["daily", "core"] }, async () => 1);',
    ].join("\n");
    const [x, y] = read(text).assets;
    assert.deepEqual(x.tags, ["team=growth", "pii"]);
    assert.deepEqual(x.owners, ["ana@example.com", "team:data"]);
    assert.equal(x.codeVersion, "3");
    assert.equal(x.io, "json");
    assert.equal(x.description, "From the option");
    assert.deepEqual(y.tags, ["daily", "core"]);
  });

  void test("JSDoc descriptions: multi-line, tags stripped, only /** */ blocks, per declarator", () => {
    const text = [
      'import { asset } from "tributary-assets";',
      "",
      "/**",
      " * Customers with their lifetime value.",
      " *",
      " * Refreshed nightly.",
      " * @deprecated use clv_v2",
      " */",
      "// eslint-disable-next-line",
      'export const clv = asset({ key: "clv" }, async () => 1);',
      "",
      "/* a plain block comment */",
      'const plain = asset({ key: "plain" }, async () => 1);',
      "",
      "const first = asset({ key: \"first\" }, () => 1),",
      "  /** The second one. */",
      "  second = asset({ key: \"second\" }, () => 2);",
      "export const grouped = {",
      "  /** Inside an object. */",
      '  inner: asset({ key: "inner" }, () => 3),',
      "};",
    ].join("\n");
    const byKey = new Map(read(text).assets.map((a) => [a.key?.join("/"), a]));
    assert.equal(byKey.get("clv")?.description, "Customers with their lifetime value.\n\nRefreshed nightly.");
    assert.equal(byKey.get("plain")?.description, undefined);
    assert.equal(byKey.get("first")?.description, undefined);
    assert.equal(byKey.get("second")?.description, "The second one.");
    assert.equal(byKey.get("inner")?.description, "Inside an object.");
    assert.equal(jsDocText("/** one line */ x", 0), "one line");
    assert.equal(jsDocText("/** @internal */ x", 0), undefined);
  });
});

void describe("readTsAssets: names and exports", () => {
  void test("export { x as y }, export default x, anonymous assets", () => {
    const text = [
      'import { asset } from "tributary-assets";',
      'const a = asset({ key: "a" }, () => 1);',
      'const b = asset({ key: "b" }, () => 1);',
      'const c = asset({ key: "c" }, () => 1);',
      'export const list = [asset({ key: "in_array" }, () => 1)];',
      "export { a as renamed, b };",
      "export default c;",
      "function f() {",
      '  const a = asset({ key: "nested" }, () => 1);',
      "  return a;",
      "}",
    ].join("\n");
    const f = read(text);
    const by = new Map(f.assets.map((x) => [x.key?.join("/"), x]));
    assert.equal(by.get("a")?.exportName, "renamed");
    assert.equal(by.get("a")?.localName, "a");
    assert.equal(by.get("b")?.exportName, "b");
    assert.equal(by.get("c")?.exportName, "default");
    const arr = by.get("in_array");
    assert.equal(arr?.localName, undefined);
    assert.equal(arr?.exportName, undefined);
    assert.deepEqual(arr?.nameSpan, { start: { line: 4, character: 21 }, end: { line: 4, character: 26 } }); // the callee
    const nested = by.get("nested");
    assert.equal(nested?.localName, "a");
    assert.equal(nested?.exportName, undefined); // not the top-level `a`
    assert.deepEqual(f.exports, [
      { exported: "list", local: "list" },
      { exported: "renamed", local: "a" },
      { exported: "b", local: "b" },
      { exported: "default", local: "c" },
    ]);
  });

  void test("export default asset(...), wrappers, all export forms", () => {
    const resolve = (s: string) => (s.startsWith("./") ? `/w/${s.slice(2)}.ts` : undefined);
    const text = [
      'import { asset } from "tributary-assets";',
      'import def, { one as uno, type T } from "./one";',
      'import * as ns from "./two";',
      'import lodash from "lodash";',
      'export { x as y } from "./three";',
      'export * from "./four";',
      'export * as five from "./five";',
      'export { z } from "some-package";',
      "export function helper() {}",
      "export class Thing {}",
      "export default asset({ key: \"dflt\" }, () => 1) satisfies unknown;",
      'export const w = (asset({ key: "wrapped" }, () => 1) as unknown);',
    ].join("\n");
    const f = readTsAssets("/w/assets.ts", text, resolve);
    assert.deepEqual(f.imports, [
      { local: "asset", imported: "asset", specifier: "tributary-assets" },
      { local: "def", imported: "default", from: "/w/one.ts", specifier: "./one" },
      { local: "uno", imported: "one", from: "/w/one.ts", specifier: "./one" },
      { local: "ns", imported: "*", from: "/w/two.ts", specifier: "./two" },
      { local: "lodash", imported: "default", specifier: "lodash" },
    ]);
    assert.deepEqual(f.exports, [
      { exported: "y", local: "x", from: "/w/three.ts" },
      { exported: "*", local: "*", from: "/w/four.ts" },
      { exported: "five", local: "*", from: "/w/five.ts" },
      { exported: "helper", local: "helper" },
      { exported: "Thing", local: "Thing" },
      { exported: "default", local: "default" },
      { exported: "w", local: "w" },
    ]);
    const by = new Map(f.assets.map((x) => [x.key?.join("/"), x]));
    assert.equal(by.get("dflt")?.exportName, "default");
    assert.equal(by.get("dflt")?.localName, undefined);
    assert.equal(by.get("wrapped")?.exportName, "w");
    assert.deepEqual(by.get("wrapped")?.nameSpan, { start: { line: 11, character: 13 }, end: { line: 11, character: 14 } });
  });
});

void describe("readTsAssets: jobs", () => {
  void test("name, selection, schedule with spans of the string literals", () => {
    const text = [
      'import { asset, job } from "tributary-assets";',
      "/** Nightly forecast refresh. */",
      "export const nightly = job({",
      '  name: "nightly_forecast",',
      '  selection: "*order_forecast_model",',
      '  schedule: "0 3 * * *",',
      '  timezone: "Europe/Berlin",',
      "});",
      'const hourly = job({ name: `hourly`, selection: "tag:hourly", description: "Every hour" });',
      "export { hourly as everyHour };",
    ].join("\n");
    const f = read(text);
    assert.deepEqual(f.diagnostics, []);
    const [n, h] = f.jobs;
    assert.equal(n.name, "nightly_forecast");
    assert.deepEqual(n.nameSpan, spanAt(text, '"nightly_forecast"'));
    assert.equal(n.selection, "*order_forecast_model");
    assert.deepEqual(n.selectionSpan, { start: { line: 4, character: 13 }, end: { line: 4, character: 36 } });
    assert.equal(n.schedule, "0 3 * * *");
    assert.deepEqual(n.scheduleSpan, spanAt(text, '"0 3 * * *"'));
    assert.equal(n.timezone, "Europe/Berlin");
    assert.equal(n.description, "Nightly forecast refresh.");
    assert.equal(n.localName, "nightly");
    assert.equal(n.exportName, "nightly");
    assert.deepEqual(n.span, { start: spanAt(text, "job({", 0).start, end: spanAt(text, "})", 0).end });
    assert.equal(h.name, "hourly");
    assert.equal(h.schedule, undefined);
    assert.equal(h.scheduleSpan, undefined);
    assert.equal(h.description, "Every hour");
    assert.equal(h.exportName, "everyHour");
  });

  void test("dynamic and missing job fields", () => {
    const text = 'import { job } from "tributary-assets";\nexport const j = job({ name: "j", selection: sel });\nexport const k = job({ selection: "a" });';
    const f = read(text);
    assert.equal(f.jobs[0].selection, undefined);
    assert.deepEqual(f.diagnostics.map((d) => [d.code, d.span]), [
      ["ts-dynamic-job", spanAt(text, "sel", 1)],
      ["ts-job-missing-name", spanAt(text, '{ selection: "a" }')],
    ]);
  });
});

void describe("readTsAssets: syntax errors and robustness", () => {
  void test("reports syntax errors and keeps the assets before and after", () => {
    const text = [
      'import { asset } from "tributary-assets";',
      'export const before = asset({ key: "before" }, () => 1);',
      "export const broken = (;",
      'export const after = asset({ key: "after", deps: [before] }, () => 2);',
    ].join("\n");
    const f = read(text);
    assert.deepEqual(f.assets.map((a) => a.key), [["before"], ["after"]]);
    assert.deepEqual(f.assets[1].deps.map((d) => d.type === "ref" && d.name), ["before"]);
    const syntax = f.diagnostics.filter((d) => d.code === "ts-syntax");
    assert.ok(syntax.length >= 1);
    assert.equal(syntax[0].severity, "error");
    assert.equal(syntax[0].span.start.line, 2);
    assert.deepEqual(syntax[0].span, spanAt(text, ";", 2)); // "Expression expected." at the `;`
    assert.match(syntax[0].message, /expected/i);
  });

  void test("an unterminated call still yields the asset", () => {
    const f = read('import { asset } from "tributary-assets";\nexport const a = asset({ key: "a", deps: ["x"] }, async () => {');
    assert.deepEqual(f.assets.map((a) => a.key), [["a"]]);
    assert.ok(codes(f).includes("ts-syntax"));
  });

  void test("never throws", () => {
    const throwing = () => {
      throw new Error("boom");
    };
    for (const text of ["tributary-assets", "\u0000\uffff tributary-assets \ud800", 'import { asset } from "./x"; // tributary-assets', '"tributary-assets"'.repeat(1000)]) {
      const f = readTsAssets("/w/a.ts", text, throwing);
      assert.equal(typeof f.importsTributary, "boolean");
    }
    const f = readTsAssets("/w/a.ts", 'import { asset } from "tributary-assets";\nimport { b } from "./b";\nexport const a = asset({ key: "a" }, () => 1);', throwing);
    assert.deepEqual(f.assets.map((a) => a.key), [["a"]]);
    assert.equal(f.imports[1].from, undefined);
  });

  void test(".tsx files parse as TSX", () => {
    const f = read('import { asset } from "tributary-assets";\nexport const a = asset({ key: "a" }, () => <div>{"x"}</div>);', "/w/a.tsx");
    assert.deepEqual(f.diagnostics, []);
    assert.equal(f.assets[0].fnText, '() => <div>{"x"}</div>');
  });
});

void describe("makeRelativeResolver", () => {
  const files = new Set(["/w/a.ts", "/w/m.mts", "/w/c.cts", "/w/dir/index.ts", "/w/v.tsx", "/w/plain.js"]);
  const resolve = makeRelativeResolver((p) => files.has(p));
  void test("extensions, .js rewrites, index files, bare specifiers", () => {
    assert.equal(resolve("./a", "/w/x.ts"), "/w/a.ts");
    assert.equal(resolve("./a.js", "/w/x.ts"), "/w/a.ts");
    assert.equal(resolve("./a.ts", "/w/x.ts"), "/w/a.ts");
    assert.equal(resolve("../a", "/w/sub/x.ts"), "/w/a.ts");
    assert.equal(resolve("./m.mjs", "/w/x.ts"), "/w/m.mts");
    assert.equal(resolve("./m", "/w/x.ts"), "/w/m.mts");
    assert.equal(resolve("./c.cjs", "/w/x.ts"), "/w/c.cts");
    assert.equal(resolve("./dir", "/w/x.ts"), "/w/dir/index.ts");
    assert.equal(resolve("./dir/index.js", "/w/x.ts"), "/w/dir/index.ts");
    assert.equal(resolve("./v.js", "/w/x.ts"), "/w/v.tsx");
    assert.equal(resolve("./plain.js", "/w/x.ts"), "/w/plain.js");
    assert.equal(resolve("./missing", "/w/x.ts"), undefined);
    assert.equal(resolve("lodash", "/w/x.ts"), undefined);
    assert.equal(resolve("tributary-assets", "/w/x.ts"), undefined);
  });
});

void describe("resolveTsRef", () => {
  const sources: Record<string, string> = {
    "/w/base.ts": [
      'import { asset } from "tributary-assets";',
      'export const orders = asset({ key: "orders" }, () => 1);',
      'const hidden = asset({ key: "hidden" }, () => 1);',
      'const renamedLocal = asset({ key: "renamed" }, () => 1);',
      'const dflt = asset({ key: "dflt" }, () => 1);',
      "export { renamedLocal as publicName };",
      "export default dflt;",
    ].join("\n"),
    "/w/reexport.ts": 'export { orders as ordersAgain, publicName } from "./base";\n// tributary-assets barrel',
    "/w/barrel/index.ts": 'export * from "../base";\nexport * as nested from "../base";\nimport d from "../base";\nexport { d as theDefault };',
    "/w/anon.ts": 'import { asset } from "tributary-assets";\nexport default asset({ key: "anon" }, () => 1);',
    "/w/cycle1.ts": 'export * from "./cycle2";',
    "/w/cycle2.ts": 'export * from "./cycle1";',
    "/w/user.ts": [
      'import { asset } from "tributary-assets";',
      'import { orders, publicName as pn } from "./base";',
      'import { ordersAgain } from "./reexport";',
      'import * as barrel from "./barrel";',
      'import base from "./base";',
      'import anon from "./anon";',
      'import { ghost } from "./cycle1";',
      'import { missing } from "./nowhere";',
      'const local = asset({ key: "local" }, () => 1);',
      "export const user = asset({ key: \"user\", deps: [local, orders, pn, ordersAgain, barrel.orders, barrel.nested.publicName, barrel.theDefault, base, anon, ghost, missing, barrel.hidden] }, () => 1);",
    ].join("\n"),
  };
  const resolver = makeRelativeResolver((p) => p in sources);
  const cache = new Map<string, TsFacts>();
  const facts = (file: string) => {
    if (!(file in sources)) return undefined;
    let f = cache.get(file);
    if (!f) {
      f = readTsAssets(file, sources[file], resolver, { parseWithoutTributary: true });
      cache.set(file, f);
    }
    return f;
  };
  const keyOf = (name: string) => {
    const r = resolveTsRef(name, "/w/user.ts", facts);
    return r && `${path.basename(r.file)}:${r.asset.key?.join("/")}`;
  };

  void test("local constants, named, renamed, re-exported, namespace, default imports", () => {
    assert.equal(keyOf("local"), "user.ts:local");
    assert.equal(keyOf("orders"), "base.ts:orders");
    assert.equal(keyOf("pn"), "base.ts:renamed");
    assert.equal(keyOf("ordersAgain"), "base.ts:orders");
    assert.equal(keyOf("barrel.orders"), "base.ts:orders");
    assert.equal(keyOf("barrel.nested.publicName"), "base.ts:renamed");
    assert.equal(keyOf("barrel.theDefault"), "base.ts:dflt");
    assert.equal(keyOf("base"), "base.ts:dflt");
    assert.equal(keyOf("anon"), "anon.ts:anon");
  });

  void test("unexported names, cycles and unknown modules resolve to undefined", () => {
    assert.equal(keyOf("barrel.hidden"), undefined);
    assert.equal(keyOf("ghost"), undefined); // export * cycle terminates
    assert.equal(keyOf("missing"), undefined);
    assert.equal(keyOf("nope"), undefined);
    assert.equal(keyOf("orders.deeper"), undefined);
  });

  void test("barrels without the tributary-assets substring need parseWithoutTributary", () => {
    const plain = (file: string) => (file in sources ? readTsAssets(file, sources[file], resolver) : undefined);
    assert.equal(resolveTsRef("barrel.orders", "/w/user.ts", plain), undefined);
    assert.equal(resolveTsRef("ordersAgain", "/w/user.ts", plain)?.asset.key?.[0], "orders"); // mentions the module in a comment
  });
});
