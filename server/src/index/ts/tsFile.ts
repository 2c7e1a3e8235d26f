/**
 * One TypeScript file being read: its syntax tree (syntax errors reported, the parser recovers),
 * the facts found so far, and the spans and diagnostics the readers give.
 */
import ts from "typescript";
import type { Severity, Span } from "../../protocol/types";
import type { TsFacts } from "../facts";

export interface TsFile {
  readonly file: string;
  readonly text: string;
  readonly sf: ts.SourceFile;
  readonly facts: TsFacts;
  spanOfRange(start: number, end: number): Span;
  spanOf(node: ts.Node): Span;
  diag(node: ts.Node | Span, severity: Severity, code: string, message: string): void;
}

export function scriptKindOf(file: string): ts.ScriptKind {
  const lower = file.toLowerCase();
  if (lower.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (lower.endsWith(".jsx")) return ts.ScriptKind.JSX;
  if (lower.endsWith(".js") || lower.endsWith(".mjs") || lower.endsWith(".cjs")) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS; // .ts, .mts, .cts and anything else
}

export function emptyFacts(): TsFacts {
  return { importsTributary: false, assets: [], jobs: [], imports: [], exports: [], diagnostics: [] };
}

export function parseTsFile(file: string, text: string): TsFile {
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

  return { file, text, sf, facts, spanOfRange, spanOf, diag };
}
