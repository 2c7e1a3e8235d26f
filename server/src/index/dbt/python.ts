/**
 * dbt Python models (`models/**.py`): `dbt.ref("x")`, `dbt.ref("pkg", "x")`, `dbt.ref("x", v=2)`,
 * `dbt.source("s", "t")` and `dbt.config(materialized="table")` with literal string arguments, as
 * dbt itself requires for Python models. Comment lines are skipped.
 */
import type { JinjaExpr, RefCall, SourceCall, SqlFacts } from "../facts";
import { LineIndex } from "../lineIndex";

const CALL = /\bdbt\s*\.\s*(ref|source|config)\s*\(/g;
const ARG = /\s*(?:(\w+)\s*=\s*)?(?:("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(-?\d+(?:\.\d+)?)|(True|False))\s*(,|\))/y;

export function scanPythonModel(text: string, file: string): SqlFacts {
  const facts: SqlFacts = { refs: [], sources: [], config: {}, macroCalls: [], macros: [], snapshots: [], diagnostics: [] };
  const lines = new LineIndex(text);
  for (const match of text.matchAll(CALL)) {
    const start = match.index;
    const lineStart = text.lastIndexOf("\n", start) + 1;
    if (text.slice(lineStart, start).includes("#")) continue;
    const args: { expr: JinjaExpr; start: number; end: number }[] = [];
    const kwargs: Record<string, JinjaExpr> = {};
    ARG.lastIndex = start + match[0].length;
    let end = -1;
    for (let m = ARG.exec(text); m; m = ARG.exec(text)) {
      const valueStart = m.index + m[0].indexOf(m[2] ?? m[3] ?? m[4]);
      const raw = m[2] ?? m[3] ?? m[4];
      const expr: JinjaExpr = m[2] !== undefined ? { type: "string", value: raw.slice(1, -1).replace(/\\(.)/g, "$1") } : m[3] !== undefined ? { type: "number", value: Number(raw) } : { type: "bool", value: raw === "True" };
      if (m[1]) kwargs[m[1]] = expr;
      else args.push({ expr, start: valueStart, end: valueStart + raw.length });
      if (m[5] === ")") {
        end = ARG.lastIndex;
        break;
      }
    }
    if (match[1] === "config") {
      // Literal keyword arguments read before a non-literal one (a list, a call) still count.
      Object.assign(facts.config, kwargs);
      continue;
    }
    if (end < 0) {
      {
        facts.diagnostics.push({ file, span: lines.span(start, start + match[0].length), severity: "info", code: "dynamic-ref", message: `dbt.${match[1]}(...) in a Python model with non-literal arguments: not in the static graph.` });
      }
      continue;
    }
    const span = lines.span(start, end);
    if (match[1] === "ref" && args.length > 0) {
      const last = args[args.length - 1];
      const ref: RefCall = { args: args.map((a) => a.expr), kwargs, span, nameSpan: lines.span(last.start, last.end) };
      if (args.length > 1) ref.packageSpan = lines.span(args[0].start, args[0].end);
      facts.refs.push(ref);
    } else if (match[1] === "source" && args.length === 2) {
      const source: SourceCall = { args: args.map((a) => a.expr), kwargs, span, sourceSpan: lines.span(args[0].start, args[0].end), tableSpan: lines.span(args[1].start, args[1].end) };
      facts.sources.push(source);
    }
  }
  return facts;
}
