/**
 * Static reader of TypeScript asset files: `asset({...}, fn)` and `job({...})` calls of the
 * `tributary-assets` runtime, plus the file's import/export bindings so the linker can resolve
 * identifier deps across modules (see `resolveDeps.ts`).
 *
 * Pure and total: text in, facts out, never throws. One parse (TS 6 `createSourceFile`) and one
 * walk of the tree; files whose text does not mention `tributary-assets` are not parsed at all.
 */
import path from "node:path";
import ts from "typescript";
import { keyProblem } from "../../graph/keys";
import type { Severity, Span } from "../../protocol/types";
import type { TsAssetDef, TsDep, TsFacts, TsImport, TsJobDef, TsStandaloneCheck } from "../facts";

/** Maps an import specifier written in `fromFile` to an absolute file path, if it is one. */
export type ModuleResolver = (specifier: string, fromFile: string) => string | undefined;

export interface ReadTsAssetsOptions {
  /**
   * Parse even when the text does not mention `tributary-assets`, to learn the file's imports and
   * exports (barrel files re-exporting asset constants). Default false: such files are skipped.
   */
  parseWithoutTributary?: boolean;
}

export const TRIBUTARY_MODULE = "tributary-assets";

/** `tributary-assets` or a subpath of it (`tributary-assets/...`). */
export function isTributaryModule(specifier: string): boolean {
  return specifier === TRIBUTARY_MODULE || specifier.startsWith(TRIBUTARY_MODULE + "/");
}

export function scriptKindOf(file: string): ts.ScriptKind {
  const lower = file.toLowerCase();
  if (lower.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (lower.endsWith(".jsx")) return ts.ScriptKind.JSX;
  if (lower.endsWith(".js") || lower.endsWith(".mjs") || lower.endsWith(".cjs")) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS; // .ts, .mts, .cts and anything else
}

function emptyFacts(): TsFacts {
  return { importsTributary: false, assets: [], jobs: [], imports: [], exports: [], diagnostics: [] };
}

// ---------------------------------------------------------------- module resolution

const SCRIPT_EXTS = [".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx"];
const JS_TO_TS: Record<string, string[]> = {
  ".js": [".ts", ".tsx"],
  ".jsx": [".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
};

/**
 * The default resolver for relative (and absolute) specifiers: `./x` -> `x.ts` / `x.mts` /
 * `x.cts` / `x.tsx` / `x/index.ts`..., `./x.js` -> `x.ts` (TS's ESM convention), `./x.ts` as is.
 * Bare specifiers (packages) resolve to `undefined`; tsconfig `paths` are not consulted.
 * `fileExists` must be false for directories; callers may cache it.
 */
export function makeRelativeResolver(fileExists: (p: string) => boolean): ModuleResolver {
  return (specifier, fromFile) => {
    const isRelative = specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../");
    if (!isRelative && !path.isAbsolute(specifier)) return undefined;
    const base = path.resolve(path.dirname(fromFile), specifier);
    const ext = path.extname(base).toLowerCase();
    const candidates: string[] = [];
    const rewrites = JS_TO_TS[ext];
    if (rewrites) for (const r of rewrites) candidates.push(base.slice(0, base.length - ext.length) + r);
    if (SCRIPT_EXTS.includes(ext)) candidates.push(base);
    for (const e of [".ts", ".mts", ".cts", ".tsx"]) candidates.push(base + e);
    for (const e of [".ts", ".mts", ".cts", ".tsx"]) candidates.push(path.join(base, "index" + e));
    for (const c of candidates) {
      try {
        if (fileExists(c)) return c;
      } catch {
        // a failing probe is a missing file
      }
    }
    return undefined;
  };
}

// ---------------------------------------------------------------- the reader

interface DeclContext {
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

/**
 * Reads the asset and job definitions, imports and exports of one TypeScript file.
 * `resolveModule` maps import specifiers to absolute paths (see `makeRelativeResolver`).
 */
export function readTsAssets(
  file: string,
  text: string,
  resolveModule: ModuleResolver,
  options: ReadTsAssetsOptions = {},
): TsFacts {
  if (!options.parseWithoutTributary && !text.includes(TRIBUTARY_MODULE)) return emptyFacts();
  try {
    return read(file, text, resolveModule);
  } catch (err) {
    const facts = emptyFacts();
    facts.diagnostics.push({
      file,
      span: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: "error",
      message: `Tributary could not read this file: ${err instanceof Error ? err.message : String(err)}`,
      code: "ts-internal",
    });
    return facts;
  }
}

function read(file: string, text: string, resolveModule: ModuleResolver): TsFacts {
  const sf = ts.createSourceFile(
    file,
    text,
    // JSDoc is read from comment ranges on demand; skipping JSDoc parsing saves parse time.
    { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
    false,
    scriptKindOf(file),
  );
  const facts = emptyFacts();
  const diagnostics = facts.diagnostics;

  const posOf = (offset: number) => sf.getLineAndCharacterOfPosition(Math.max(0, Math.min(offset, text.length)));
  const spanOfRange = (start: number, end: number): Span => ({ start: posOf(start), end: posOf(end) });
  const spanOf = (node: ts.Node): Span => spanOfRange(node.getStart(sf), node.getEnd());
  const diag = (node: ts.Node | Span, severity: Severity, code: string, message: string) => {
    diagnostics.push({ file, span: "kind" in node ? spanOf(node) : node, severity, code, message });
  };

  // Syntax errors (the parser recovers; everything readable is still returned).
  const parseDiagnostics = (sf as unknown as { parseDiagnostics?: readonly ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  for (const d of parseDiagnostics) {
    const start = d.start ?? 0;
    diagnostics.push({
      file,
      span: spanOfRange(start, start + (d.length ?? 0)),
      severity: "error",
      code: "ts-syntax",
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    });
  }

  // ------------------------------------------------------------ pass over top-level statements

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
  const resolve = (specifier: string): string | undefined => {
    try {
      return resolveModule(specifier, file);
    } catch {
      return undefined;
    }
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

  // Files that do not import the runtime still report imports/exports (parseWithoutTributary).
  if (assetNames.size === 0 && jobNames.size === 0 && checkNames.size === 0 && namespaceNames.size === 0) return facts;

  // ------------------------------------------------------------ the single walk

  const calleeKind = (callee: ts.Expression): "asset" | "job" | "check" | undefined => {
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
  };
  const callOf = (expr: ts.Expression | undefined): ts.CallExpression | undefined => {
    if (!expr) return undefined;
    const e = unwrap(expr);
    return ts.isCallExpression(e) && calleeKind(e.expression) ? e : undefined;
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
      const kind = calleeKind(node.expression);
      if (kind === "asset") readAsset(node, contexts.get(node));
      else if (kind === "job") readJob(node, contexts.get(node));
      else if (kind === "check") readStandaloneCheck(node, contexts.get(node));
    }
    ts.forEachChild(node, visit);
  };

  const exportNameFor = (ctx: DeclContext | undefined): string | undefined => {
    if (!ctx) return undefined;
    if (ctx.directExport) return ctx.directExport;
    if (ctx.topLevel && ctx.localName) return localExports.get(ctx.localName)?.[0];
    return undefined;
  };

  function readAsset(call: ts.CallExpression, ctx: DeclContext | undefined) {
    const callee = unwrap(call.expression);
    const def: TsAssetDef = {
      span: spanOf(call),
      nameSpan: spanOf(ctx?.nameNode ?? callee),
      localName: ctx?.localName,
      exportName: exportNameFor(ctx),
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

      const depsNode = props.values.get("deps");
      if (depsNode) def.deps = readDeps(depsNode);

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
      if (checksNode) def.checks = readChecks(checksNode);
    }
    if (!call.arguments[1]) diag(callee, "error", "ts-missing-fn", "asset() needs the asset function as its second argument.");
    if (def.description === undefined) {
      const doc = jsDocText(text, ctx?.commentPos ?? call.pos);
      if (doc) def.description = doc;
    }
    facts.assets.push(def);
  }

  /** `checks: [{ name: "x", fn, blocking: false }]`: names read statically; the runner calls `fn`. */
  function readChecks(node: ts.Expression): NonNullable<TsAssetDef["checks"]> {
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
  function readStandaloneCheck(call: ts.CallExpression, ctx: DeclContext | undefined) {
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
    const exportName = exportNameFor(ctx);
    if (exportName) def.exportName = exportName;
    else diag(callee, "warning", "ts-check-not-exported", `Check \`${name}\` is not exported: export it so the runner can find it.`);
    if (!call.arguments[1]) diag(callee, "error", "ts-missing-fn", `check() needs the check function as its second argument.`);
    (facts.checks ??= []).push(def);
  }

  function readJob(call: ts.CallExpression, ctx: DeclContext | undefined) {
    const callee = unwrap(call.expression);
    const def: TsJobDef = { span: spanOf(call) };
    if (ctx?.localName) def.localName = ctx.localName;
    const exportName = exportNameFor(ctx);
    if (exportName) def.exportName = exportName;
    const optionsArg = call.arguments[0];
    const opts = optionsArg && unwrap(optionsArg);
    if (!opts || !ts.isObjectLiteralExpression(opts)) {
      diag(opts ?? callee, "info", "ts-dynamic-job", "The job options are not an object literal, so the job cannot be read statically.");
    } else {
      const props = readProps(opts);
      const field = (name: "name" | "selection" | "schedule") => {
        const node = props.values.get(name);
        if (!node) return;
        const value = stringOf(node);
        if (value === undefined) {
          diag(node, "info", "ts-dynamic-job", `The job's \`${name}\` is computed at run time, so it cannot be read statically.`);
          return;
        }
        def[name] = value;
        def[`${name}Span`] = spanOf(node);
      };
      field("name");
      field("selection");
      field("schedule");
      const timezone = stringOf(props.values.get("timezone"));
      if (timezone !== undefined) def.timezone = timezone;
      const description = stringOf(props.values.get("description"));
      if (description !== undefined) def.description = description;
      if (!props.values.has("name") && !props.opaque) diag(opts, "error", "ts-job-missing-name", "job() options need a `name`.");
      if (!props.values.has("selection") && !props.opaque) diag(opts, "error", "ts-job-missing-selection", "job() options need a `selection`.");
    }
    if (def.description === undefined) {
      const doc = jsDocText(text, ctx?.commentPos ?? call.pos);
      if (doc) def.description = doc;
    }
    facts.jobs.push(def);
  }

  function readDeps(node: ts.Expression): TsDep[] {
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
      if (ts.isCallExpression(e) && calleeKind(e.expression) === "asset") {
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

  ts.forEachChild(sf, visit);
  return facts;
}

// ---------------------------------------------------------------- syntax helpers

/** Strips parentheses, `as`, `satisfies`, `!` and `<T>x` around an expression. */
function unwrap(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e))
      e = e.expression;
    else return e;
  }
}

function hasExportModifier(node: ts.Node): boolean {
  const mods = (node as { modifiers?: ts.NodeArray<ts.ModifierLike> }).modifiers;
  return mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

function moduleExportNameText(n: ts.ModuleExportName): string {
  return n.text;
}

function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const out: string[] = [];
  for (const el of name.elements) if (!ts.isOmittedExpression(el)) out.push(...boundNames(el.name));
  return out;
}

function propName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) {
    const e = unwrap(name.expression);
    if (ts.isStringLiteralLike(e)) return e.text;
  }
  return undefined;
}

/** Property name -> value node (later properties win); `opaque` when a spread/unknown member may set more. */
function readProps(obj: ts.ObjectLiteralExpression): { values: Map<string, ts.Expression>; opaque: boolean } {
  const values = new Map<string, ts.Expression>();
  let opaque = false;
  for (const p of obj.properties) {
    if (ts.isPropertyAssignment(p)) {
      const name = propName(p.name);
      if (name === undefined) opaque = true;
      else values.set(name, p.initializer);
    } else if (ts.isShorthandPropertyAssignment(p)) {
      values.set(p.name.text, p.name); // a variable: dynamic for string-valued options
    } else if (ts.isSpreadAssignment(p)) {
      opaque = true;
      // a later spread may override earlier literals; keep what we have (best effort)
    }
  }
  return { values, opaque };
}

/** A string literal or a template literal without substitutions. */
function stringOf(node: ts.Expression | undefined): string | undefined {
  if (!node) return undefined;
  const e = unwrap(node);
  return ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) ? e.text : undefined;
}

function stringArrayOf(node: ts.Expression | undefined): string[] | undefined {
  if (!node) return undefined;
  const e = unwrap(node);
  if (!ts.isArrayLiteralExpression(e)) return undefined;
  const out: string[] = [];
  for (const el of e.elements) {
    const s = stringOf(el);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/** `"a/b"` -> ["a","b"]; `["a","b"]` -> ["a","b"]; anything else -> undefined. */
function readKey(node: ts.Expression): string[] | undefined {
  const s = stringOf(node);
  if (s !== undefined) return s.split("/");
  return stringArrayOf(node);
}

/** `x` -> "x", `ns.x` -> "ns.x", `a.b.c` -> "a.b.c"; anything else -> undefined. */
function entityName(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.name)) {
    const left = entityName(unwrap(e.expression));
    return left === undefined ? undefined : `${left}.${e.name.text}`;
  }
  return undefined;
}

/**
 * The text of the last `/** ... *\/` comment among the leading comments at `pos`, without the
 * comment markers and without block tags (`@param`, `@deprecated`, ...).
 */
export function jsDocText(text: string, pos: number): string | undefined {
  const ranges = ts.getLeadingCommentRanges(text, pos);
  if (!ranges) return undefined;
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i];
    if (r.kind !== ts.SyntaxKind.MultiLineCommentTrivia) continue;
    const raw = text.slice(r.pos, r.end);
    if (!raw.startsWith("/**") || raw === "/**/") continue;
    const lines = raw
      .slice(3, -2)
      .split(/\r\n|\r|\n/)
      .map((l) => l.replace(/^\s*\*? ?/, "").trimEnd());
    const body: string[] = [];
    for (const l of lines) {
      if (/^@\w/.test(l.trimStart())) break;
      body.push(l);
    }
    const out = body.join("\n").trim();
    return out === "" ? undefined : out;
  }
  return undefined;
}
