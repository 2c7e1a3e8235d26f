/**
 * Reading TypeScript syntax statically: expressions unwrapped, property names and object literals,
 * string and string-array literals, keys, dotted names, export modifiers and JSDoc text.
 */
import ts from "typescript";

/** Strips parentheses, `as`, `satisfies`, `!` and `<T>x` around an expression. */
export function unwrap(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e))
      e = e.expression;
    else return e;
  }
}

export function hasExportModifier(node: ts.Node): boolean {
  const mods = (node as { modifiers?: ts.NodeArray<ts.ModifierLike> }).modifiers;
  return mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

export function moduleExportNameText(n: ts.ModuleExportName): string {
  return n.text;
}

export function boundNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const out: string[] = [];
  for (const el of name.elements) if (!ts.isOmittedExpression(el)) out.push(...boundNames(el.name));
  return out;
}

export function propName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) {
    const e = unwrap(name.expression);
    if (ts.isStringLiteralLike(e)) return e.text;
  }
  return undefined;
}

/** Property name -> value node (later properties win); `opaque` when a spread/unknown member may set more. */
export interface ObjectProps {
  values: Map<string, ts.Expression>;
  opaque: boolean;
}

export function readProps(obj: ts.ObjectLiteralExpression): ObjectProps {
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
export function stringOf(node: ts.Expression | undefined): string | undefined {
  if (!node) return undefined;
  const e = unwrap(node);
  return ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) ? e.text : undefined;
}

export function stringArrayOf(node: ts.Expression | undefined): string[] | undefined {
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
export function readKey(node: ts.Expression): string[] | undefined {
  const s = stringOf(node);
  if (s !== undefined) return s.split("/");
  return stringArrayOf(node);
}

/** `x` -> "x", `ns.x` -> "ns.x", `a.b.c` -> "a.b.c"; anything else -> undefined. */
export function entityName(e: ts.Expression): string | undefined {
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
