/**
 * The single walk of a file's tree: finds the calls of the runtime's `asset`, `job` and `check`,
 * the declaration each sits in (name, JSDoc position, export), and hands them to their readers.
 * Subtrees whose text cannot hold such a call are skipped.
 */
import ts from "typescript";
import { readAsset } from "./assetDef";
import { readStandaloneCheck } from "./checkDefs";
import { readJob } from "./jobDef";
import { calleeKind } from "./moduleScope";
import type { DeclContext, ModuleScope } from "./moduleScope";
import { unwrap } from "./syntax";
import type { TsFile } from "./tsFile";

export function walkCalls(f: TsFile, scope: ModuleScope): void {
  const { text, sf } = f;
  const { assetNames, jobNames, checkNames, namespaceNames, topDecls } = scope;
  const callOf = (expr: ts.Expression | undefined): ts.CallExpression | undefined => {
    if (!expr) return undefined;
    const e = unwrap(expr);
    return ts.isCallExpression(e) && calleeKind(scope, e.expression) ? e : undefined;
  };

  const contexts = new Map<ts.CallExpression, DeclContext>();

  /** Where the JSDoc of each variable declaration sits (set when its statement is visited). */
  const declCommentPos = new Map<ts.VariableDeclaration, number>();

  // Pruning: a call of a binding lies inside a node only if the binding's name occurs in the
  // node's text range, so subtrees without any occurrence (most function bodies) are skipped.
  const hits: number[] = [];
  for (const name of new Set([...assetNames, ...jobNames, ...checkNames, ...namespaceNames])) {
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) hits.push(at);
  }
  hits.sort((a, b) => a - b);
  const mayContainCall = (node: ts.Node): boolean => {
    let lo = 0;
    let hi = hits.length;
    const pos = node.pos;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hits[mid] < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo < hits.length && hits[lo] < node.end;
  };

  const visit = (node: ts.Node): void => {
    if (!mayContainCall(node)) return;
    if (ts.isVariableDeclaration(node)) {
      const call = callOf(node.initializer);
      if (call && ts.isIdentifier(node.name)) {
        const top = topDecls.get(node);
        contexts.set(call, {
          localName: node.name.text,
          nameNode: node.name,
          commentPos: declCommentPos.get(node) ?? node.pos,
          directExport: top ? node.name.text : undefined,
          topLevel: top !== undefined,
        });
      }
    } else if (ts.isVariableStatement(node)) {
      // JSDoc sits before the statement for its first declaration, before the name otherwise.
      node.declarationList.declarations.forEach((d, i) => declCommentPos.set(d, i === 0 ? node.pos : d.pos));
    } else if (ts.isPropertyAssignment(node)) {
      const call = callOf(node.initializer);
      if (call) contexts.set(call, { commentPos: node.pos, topLevel: false });
    } else if (ts.isExportAssignment(node) && !node.isExportEquals) {
      const call = callOf(node.expression);
      if (call) contexts.set(call, { commentPos: node.pos, directExport: "default", topLevel: true });
    } else if (ts.isCallExpression(node)) {
      const kind = calleeKind(scope, node.expression);
      if (kind === "asset") readAsset(f, scope, node, contexts.get(node));
      else if (kind === "job") readJob(f, scope, node, contexts.get(node));
      else if (kind === "check") readStandaloneCheck(f, scope, node, contexts.get(node));
    }
    ts.forEachChild(node, visit);
  };

  ts.forEachChild(sf, visit);
}
