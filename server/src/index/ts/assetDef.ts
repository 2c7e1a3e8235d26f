/**
 * `asset({ key, deps, ... }, fn)`: the definition read statically, its key, its deps (keys, asset
 * constants, inline assets), its options (group, io, columns, code version, description, tags,
 * owners, checks) and its JSDoc.
 */
import ts from "typescript";
import { keyProblem } from "../../graph/keys";
import type { TsAssetDef, TsDep } from "../facts";
import { readChecks } from "./checkDefs";
import { calleeKind, exportNameFor } from "./moduleScope";
import type { DeclContext, ModuleScope } from "./moduleScope";
import { entityName, jsDocText, propName, readKey, readProps, stringArrayOf, stringOf, unwrap } from "./syntax";
import type { ObjectProps } from "./syntax";
import type { TsFile } from "./tsFile";

export function readAsset(f: TsFile, scope: ModuleScope, call: ts.CallExpression, ctx: DeclContext | undefined): void {
  const { facts, text, sf, spanOf, diag } = f;
  const callee = unwrap(call.expression);
  const def: TsAssetDef = {
    span: spanOf(call),
    nameSpan: spanOf(ctx?.nameNode ?? callee),
    localName: ctx?.localName,
    exportName: exportNameFor(scope, ctx),
    deps: [],
    tags: [],
    owners: [],
    fnText: call.arguments[1] ? call.arguments[1].getText(sf) : "",
  };
  if (!def.localName) delete def.localName;
  if (!def.exportName) delete def.exportName;

  const optionsArg = call.arguments[0];
  const opts = optionsArg && unwrap(optionsArg);
  if (!opts) {
    diag(callee, "error", "ts-missing-key", "asset() needs an options object with a `key`.");
  } else if (!ts.isObjectLiteralExpression(opts)) {
    diag(opts, "warning", "ts-dynamic-key", "The asset options are not an object literal, so the key cannot be read statically.");
  } else {
    const props = readProps(opts);
    readAssetKey(f, def, opts, props);
    readAssetOptions(f, scope, def, props);
  }
  if (!call.arguments[1]) diag(callee, "error", "ts-missing-fn", "asset() needs the asset function as its second argument.");
  if (def.description === undefined) {
    const doc = jsDocText(text, ctx?.commentPos ?? call.pos);
    if (doc) def.description = doc;
  }
  facts.assets.push(def);
}

/** The `key` option: a string (`"a/b"`) or an array of strings, checked against the key rule. */
function readAssetKey(f: TsFile, def: TsAssetDef, opts: ts.ObjectLiteralExpression, props: ObjectProps): void {
  const { spanOf, diag } = f;
  const keyNode = props.values.get("key");
  if (keyNode) {
    def.keySpan = spanOf(keyNode);
    const key = readKey(keyNode);
    if (key === undefined) {
      diag(keyNode, "warning", "ts-dynamic-key", "This asset key is computed at run time, so Tributary cannot place the asset in the lineage graph. Write it as a string or an array of strings.");
    } else if (keyProblem(key)) {
      diag(keyNode, "error", "ts-invalid-key", `This asset key is not valid: ${keyProblem(key)}.`);
    } else def.key = key;
  } else if (props.opaque) {
    diag(opts, "warning", "ts-dynamic-key", "The asset key may come from a spread or computed property, so it cannot be read statically.");
  } else {
    diag(opts, "error", "ts-missing-key", "asset() options need a `key` (a string like \"a/b\" or an array of strings).");
  }
}

/** The other options: deps, group, io, columns, code version, description, tags, owners, checks. */
function readAssetOptions(f: TsFile, scope: ModuleScope, def: TsAssetDef, props: ObjectProps): void {
  const depsNode = props.values.get("deps");
  if (depsNode) def.deps = readDeps(f, scope, depsNode);

  const group = stringOf(props.values.get("group"));
  if (group !== undefined) def.group = group;
  const io = stringOf(props.values.get("io"));
  if (io !== undefined) def.io = io;
  const columns = stringArrayOf(props.values.get("columns"));
  if (columns) def.columns = columns;
  const codeVersion = stringOf(props.values.get("codeVersion"));
  if (codeVersion !== undefined) def.codeVersion = codeVersion;
  const description = stringOf(props.values.get("description"));
  if (description !== undefined) def.description = description;
  def.tags = readTags(props.values.get("tags"));
  def.owners = stringArrayOf(props.values.get("owners")) ?? [];
  const checksNode = props.values.get("checks");
  if (checksNode) def.checks = readChecks(f, checksNode);
}

function readDeps(f: TsFile, scope: ModuleScope, node: ts.Expression): TsDep[] {
  const { spanOf, diag } = f;
  const deps: TsDep[] = [];
  const list = unwrap(node);
  if (!ts.isArrayLiteralExpression(list)) {
    diag(node, "info", "ts-dynamic-dep", "These deps are computed at run time; Tributary cannot draw their edges. Write an array of keys or asset constants.");
    return deps;
  }
  for (const el of list.elements) {
    const e = unwrap(el);
    const key = readKey(e);
    if (key !== undefined) {
      if (keyProblem(key)) diag(el, "error", "ts-invalid-key", `This dep key is not valid: ${keyProblem(key)}.`);
      else deps.push({ type: "key", key, span: spanOf(el) });
      continue;
    }
    const ref = entityName(e);
    if (ref !== undefined) {
      deps.push({ type: "ref", name: ref, span: spanOf(el) });
      continue;
    }
    // An inline `asset(...)` as a dep: its key is the dep.
    if (ts.isCallExpression(e) && calleeKind(scope, e.expression) === "asset") {
      const inner = unwrap(e.arguments[0] ?? e);
      const keyNode = ts.isObjectLiteralExpression(inner) ? readProps(inner).values.get("key") : undefined;
      const innerKey = keyNode && readKey(keyNode);
      if (innerKey && innerKey.length > 0 && !innerKey.includes("")) {
        deps.push({ type: "key", key: innerKey, span: spanOf(el) });
        continue;
      }
    }
    diag(el, "info", "ts-dynamic-dep", "This dep is computed at run time; Tributary cannot draw its edge. Use a key string, a key array or an asset constant.");
  }
  return deps;
}

function readTags(node: ts.Expression | undefined): string[] {
  if (!node) return [];
  const e = unwrap(node);
  if (ts.isObjectLiteralExpression(e)) {
    const tags: string[] = [];
    for (const p of e.properties) {
      if (!ts.isPropertyAssignment(p)) continue;
      const name = propName(p.name);
      const value = stringOf(p.initializer);
      if (name === undefined || value === undefined) continue;
      tags.push(value === "" ? name : `${name}=${value}`);
    }
    return tags;
  }
  return stringArrayOf(e) ?? [];
}
