/**
 * Asset checks read statically: an asset's `checks: [...]` and `check({ asset, name }, fn)`
 * declared apart from its asset.
 */
import ts from "typescript";
import type { TsAssetDef, TsStandaloneCheck } from "../facts";
import { exportNameFor } from "./moduleScope";
import type { DeclContext, ModuleScope } from "./moduleScope";
import { entityName, readKey, readProps, stringOf, unwrap } from "./syntax";
import type { TsFile } from "./tsFile";

/** `checks: [{ name: "x", fn, blocking: false }]`: names read statically; the runner calls `fn`. */
export function readChecks(f: TsFile, node: ts.Expression): NonNullable<TsAssetDef["checks"]> {
  const { spanOf, diag } = f;
  const list = unwrap(node);
  const out: NonNullable<TsAssetDef["checks"]> = [];
  if (!ts.isArrayLiteralExpression(list)) {
    diag(node, "info", "ts-dynamic-check", "The asset's `checks` are not an array literal, so they cannot be read statically.");
    return out;
  }
  for (const el of list.elements) {
    const obj = unwrap(el);
    const props = ts.isObjectLiteralExpression(obj) ? readProps(obj) : undefined;
    const nameNode = props?.values.get("name");
    const name = stringOf(nameNode);
    if (!props || name === undefined || name === "") {
      diag(el, "warning", "ts-dynamic-check", "Each check needs a `name` written as a string, so Tributary can list it.");
      continue;
    }
    const check: NonNullable<TsAssetDef["checks"]>[number] = { name, span: spanOf(el), nameSpan: spanOf(nameNode!) };
    const blocking = props.values.get("blocking");
    if (blocking && unwrap(blocking).kind === ts.SyntaxKind.FalseKeyword) check.blocking = false;
    const description = stringOf(props.values.get("description"));
    if (description !== undefined) check.description = description;
    if (!props.values.get("fn")) diag(el, "error", "ts-missing-fn", `Check \`${name}\` needs an \`fn\` returning whether it passed.`);
    out.push(check);
  }
  return out;
}

/** `check({ asset: scores, name: "in_range", blocking: false }, fn)`: a check declared apart from its asset. */
export function readStandaloneCheck(f: TsFile, scope: ModuleScope, call: ts.CallExpression, ctx: DeclContext | undefined): void {
  const { facts, spanOf, diag } = f;
  const callee = unwrap(call.expression);
  const opts = call.arguments[0] && unwrap(call.arguments[0]);
  const props = opts && ts.isObjectLiteralExpression(opts) ? readProps(opts) : undefined;
  const nameNode = props?.values.get("name");
  const name = stringOf(nameNode);
  const assetNode = props?.values.get("asset");
  if (!props || !nameNode || !name || !assetNode) {
    diag(opts ?? callee, "warning", "ts-dynamic-check", "check() needs an options object with `asset` and `name` written statically, so Tributary can list it.");
    return;
  }
  const target = unwrap(assetNode);
  const key = readKey(target);
  const ref = key === undefined ? entityName(target) : undefined;
  if (!key && !ref) {
    diag(assetNode, "warning", "ts-dynamic-check", "The check's `asset` should be an asset constant or a key.");
    return;
  }
  const def: TsStandaloneCheck = { name, span: spanOf(call), nameSpan: spanOf(nameNode), asset: key ? { type: "key", key, span: spanOf(assetNode) } : { type: "ref", name: ref!, span: spanOf(assetNode) } };
  const blocking = props.values.get("blocking");
  if (blocking && unwrap(blocking).kind === ts.SyntaxKind.FalseKeyword) def.blocking = false;
  const description = stringOf(props.values.get("description"));
  if (description !== undefined) def.description = description;
  const exportName = exportNameFor(scope, ctx);
  if (exportName) def.exportName = exportName;
  else diag(callee, "warning", "ts-check-not-exported", `Check \`${name}\` is not exported: export it so the runner can find it.`);
  if (!call.arguments[1]) diag(callee, "error", "ts-missing-fn", `check() needs the check function as its second argument.`);
  (facts.checks ??= []).push(def);
}
