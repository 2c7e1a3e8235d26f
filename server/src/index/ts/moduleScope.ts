/**
 * The pass over a file's top-level statements: its imports and exports (into the facts, so the
 * linker can resolve deps across modules) and the local names bound to the runtime's `asset`,
 * `job` and `check` (named, namespace and `require` bindings), which say what calls the walk reads.
 */
import ts from "typescript";
import type { TsImport } from "../facts";
import { boundNames, hasExportModifier, moduleExportNameText, unwrap } from "./syntax";
import type { TsFile } from "./tsFile";

export const TRIBUTARY_MODULE = "tributary-assets";

/** `tributary-assets` or a subpath of it (`tributary-assets/...`). */
export function isTributaryModule(specifier: string): boolean {
  return specifier === TRIBUTARY_MODULE || specifier.startsWith(TRIBUTARY_MODULE + "/");
}

export interface ModuleScope {
  assetNames: Set<string>;
  jobNames: Set<string>;
  checkNames: Set<string>;
  namespaceNames: Set<string>;
  /** Top-level variable declarations -> exported directly (`export const`). */
  topDecls: Map<ts.VariableDeclaration, boolean>;
  /** local name -> export names from `export { x as y }` / `export default x`. */
  localExports: Map<string, string[]>;
}

/** Where a call of the runtime sits. */
export interface DeclContext {
  /** Identifier the call is assigned to, or undefined (array/object element, default export). */
  localName?: string;
  /** Node to highlight as the asset's name. */
  nameNode?: ts.Node;
  /** Position whose leading comments may hold the JSDoc description. */
  commentPos: number;
  /** `export const x = asset(...)` -> "x"; `export default asset(...)` -> "default". */
  directExport?: string;
  /** The declaration is at module top level (so `export { x }` may refer to it). */
  topLevel: boolean;
}

/** Reads the imports, exports and runtime bindings; `resolve` maps a specifier to a workspace file. */
export function readModuleScope(f: TsFile, resolve: (specifier: string) => string | undefined): ModuleScope {
  const { facts, sf } = f;
  const assetNames = new Set<string>();
  const jobNames = new Set<string>();
  const checkNames = new Set<string>();
  const namespaceNames = new Set<string>();
  /** Top-level variable declarations -> exported directly (`export const`). */
  const topDecls = new Map<ts.VariableDeclaration, boolean>();
  /** local name -> export names from `export { x as y }` / `export default x`. */
  const localExports = new Map<string, string[]>();
  const addLocalExport = (local: string, exported: string) => {
    const list = localExports.get(local);
    if (list) list.push(exported);
    else localExports.set(local, [exported]);
  };
  const addImport = (local: string, imported: string, from: string | undefined, specifier: string) => {
    const imp: TsImport = { local, imported, specifier };
    if (from !== undefined) imp.from = from;
    facts.imports.push(imp);
  };

  const bindTributary = (imported: string, local: string) => {
    if (imported === "asset") assetNames.add(local);
    else if (imported === "job") jobNames.add(local);
    else if (imported === "check") checkNames.add(local);
  };

  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt)) {
      if (!ts.isStringLiteral(stmt.moduleSpecifier)) continue;
      const specifier = stmt.moduleSpecifier.text;
      const tributary = isTributaryModule(specifier);
      if (tributary) facts.importsTributary = true;
      const clause = stmt.importClause;
      if (!clause || clause.isTypeOnly) continue;
      const from = tributary ? undefined : resolve(specifier);
      if (clause.name) addImport(clause.name.text, "default", from, specifier);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        addImport(bindings.name.text, "*", from, specifier);
        if (tributary) namespaceNames.add(bindings.name.text);
      } else if (bindings) {
        for (const el of bindings.elements) {
          if (el.isTypeOnly) continue;
          const imported = moduleExportNameText(el.propertyName ?? el.name);
          addImport(el.name.text, imported, from, specifier);
          if (tributary) bindTributary(imported, el.name.text);
        }
      }
    } else if (ts.isImportEqualsDeclaration(stmt)) {
      const ref = stmt.moduleReference;
      if (stmt.isTypeOnly || !ts.isExternalModuleReference(ref) || !ts.isStringLiteral(ref.expression)) continue;
      const specifier = ref.expression.text;
      const tributary = isTributaryModule(specifier);
      if (tributary) {
        facts.importsTributary = true;
        namespaceNames.add(stmt.name.text);
      }
      addImport(stmt.name.text, "*", tributary ? undefined : resolve(specifier), specifier);
      if (hasExportModifier(stmt)) facts.exports.push({ exported: stmt.name.text, local: stmt.name.text });
    } else if (ts.isExportDeclaration(stmt)) {
      if (stmt.isTypeOnly) continue;
      const specifier = stmt.moduleSpecifier && ts.isStringLiteral(stmt.moduleSpecifier) ? stmt.moduleSpecifier.text : undefined;
      if (specifier !== undefined) {
        if (isTributaryModule(specifier)) {
          facts.importsTributary = true;
          continue; // re-exporting the runtime defines no asset
        }
        const from = resolve(specifier);
        // Re-exports from modules that do not resolve to a workspace file cannot lead to an asset.
        if (!from) continue;
        const clause = stmt.exportClause;
        if (!clause) facts.exports.push({ exported: "*", local: "*", from });
        else if (ts.isNamespaceExport(clause)) facts.exports.push({ exported: moduleExportNameText(clause.name), local: "*", from });
        else
          for (const el of clause.elements) {
            if (el.isTypeOnly) continue;
            facts.exports.push({ exported: moduleExportNameText(el.name), local: moduleExportNameText(el.propertyName ?? el.name), from });
          }
      } else if (stmt.exportClause && ts.isNamedExports(stmt.exportClause)) {
        for (const el of stmt.exportClause.elements) {
          if (el.isTypeOnly) continue;
          const local = moduleExportNameText(el.propertyName ?? el.name);
          const exported = moduleExportNameText(el.name);
          facts.exports.push({ exported, local });
          addLocalExport(local, exported);
        }
      }
    } else if (ts.isExportAssignment(stmt)) {
      if (stmt.isExportEquals) continue;
      const expr = unwrap(stmt.expression);
      if (ts.isIdentifier(expr)) {
        facts.exports.push({ exported: "default", local: expr.text });
        addLocalExport(expr.text, "default");
      } else {
        // `export default asset(...)` and other anonymous defaults: `local: "default"` names the
        // anonymous value itself (an asset with `exportName: "default"` when it is one).
        facts.exports.push({ exported: "default", local: "default" });
      }
    } else if (ts.isVariableStatement(stmt)) {
      const exported = hasExportModifier(stmt);
      for (const decl of stmt.declarationList.declarations) {
        topDecls.set(decl, exported);
        if (exported) for (const n of boundNames(decl.name)) facts.exports.push({ exported: n, local: n });
        readRequireOfTributary(decl);
      }
    } else if (
      ts.isFunctionDeclaration(stmt) ||
      ts.isClassDeclaration(stmt) ||
      ts.isEnumDeclaration(stmt) ||
      ts.isModuleDeclaration(stmt)
    ) {
      if (!hasExportModifier(stmt) || !stmt.name || !ts.isIdentifier(stmt.name)) continue;
      if (ts.isModuleDeclaration(stmt) && stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) continue;
      const isDefault = stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword) ?? false;
      facts.exports.push({ exported: isDefault ? "default" : stmt.name.text, local: stmt.name.text });
    }
  }

  /** `const { asset, job: j } = require("tributary-assets")` / `const t = require("tributary-assets")`. */
  function readRequireOfTributary(decl: ts.VariableDeclaration) {
    const init = decl.initializer && unwrap(decl.initializer);
    if (!init || !ts.isCallExpression(init) || !ts.isIdentifier(init.expression) || init.expression.text !== "require") return;
    const arg = init.arguments[0];
    if (!arg || !ts.isStringLiteralLike(arg) || !isTributaryModule(arg.text)) return;
    facts.importsTributary = true;
    if (ts.isIdentifier(decl.name)) namespaceNames.add(decl.name.text);
    else if (ts.isObjectBindingPattern(decl.name))
      for (const el of decl.name.elements) {
        if (el.dotDotDotToken || !ts.isIdentifier(el.name)) continue;
        const prop = el.propertyName ?? el.name;
        if (ts.isIdentifier(prop) || ts.isStringLiteral(prop)) bindTributary(prop.text, el.name.text);
      }
  }

  return { assetNames, jobNames, checkNames, namespaceNames, topDecls, localExports };
}

/** Whether `callee` is the runtime's `asset`, `job` or `check` (a local name or `ns.asset`). */
export function calleeKind(scope: ModuleScope, callee: ts.Expression): "asset" | "job" | "check" | undefined {
  const { assetNames, jobNames, checkNames, namespaceNames } = scope;
  callee = unwrap(callee);
  if (ts.isIdentifier(callee)) {
    if (assetNames.has(callee.text)) return "asset";
    if (jobNames.has(callee.text)) return "job";
    if (checkNames.has(callee.text)) return "check";
    return undefined;
  }
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && namespaceNames.has(callee.expression.text)) {
    const name = callee.name.text;
    return name === "asset" || name === "job" || name === "check" ? name : undefined;
  }
  return undefined;
}

/** The name a definition is exported under (`export const x`, `export { x as y }`, `export default`). */
export function exportNameFor(scope: ModuleScope, ctx: DeclContext | undefined): string | undefined {
  const { localExports } = scope;
  if (!ctx) return undefined;
  if (ctx.directExport) return ctx.directExport;
  if (ctx.topLevel && ctx.localName) return localExports.get(ctx.localName)?.[0];
  return undefined;
}
