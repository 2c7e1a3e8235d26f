/**
 * What a render throws and how it is reported: the project's own compilation errors, a skipped
 * upstream, a database answer needed first, and the description of any failure by file, line and
 * construct.
 */
import { DBT_ENGINE_HINT, EmbeddedRenderError, UnsupportedFeatureError } from "./errors";
import { JinjaPreprocessError } from "./jinja";

/** A dbt compilation error raised by the project itself (missing var, unknown ref, raise_compiler_error). */
export class DbtCompilationError extends Error {}

/** Thrown by `return(...)` inside a macro: the macro's value. */
export class ReturnSignal {
  constructor(readonly value: unknown) {}
}

/** A ref() to a node that failed earlier in the step: the node is skipped. */
export class UpstreamFailed extends Error {
  constructor(readonly upstreamId: string) {
    super(`upstream '${upstreamId}' did not succeed`);
  }
}

/** Thrown from inside a render when the database must answer first. */
export class NeedData extends Error {
  constructor(readonly need: DataNeed) {
    super("embedded engine: database access needed while rendering");
  }
}

export type DataNeed =
  | { kind: "query"; sql: string }
  | { kind: "columns"; schema: string; identifier: string };

export function isNeedData(e: unknown): boolean {
  return e instanceof NeedData;
}

export function rootCause(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < 10; i++) {
    const c = (cur as { cause?: unknown })?.cause;
    if (c === undefined || c === null || c === cur) break;
    cur = c;
  }
  return cur;
}

function cleanCallee(name: string): string {
  return name.replace(/\["([^"]+)"\]/g, ".$1").replace(/\(\)$/, "");
}

/** Turns anything thrown while compiling/rendering into an error naming file, line and construct. */
export function describeError(e: unknown, file: string, stage: "compile" | "render", what: string): EmbeddedRenderError {
  if (e instanceof EmbeddedRenderError) return e;
  const cause = rootCause(e);
  if (cause instanceof EmbeddedRenderError) {
    if (cause.file === file) return cause;
    // Raised in another file (a macro file, an ephemeral model): say where it was used from.
    const at = typeof (e as { lineno?: unknown })?.lineno === "number" ? `:${(e as { lineno: number }).lineno + (stage === "render" ? 1 : 0)}` : "";
    return new EmbeddedRenderError(`${cause.message} [used from ${what} ${file}${at}]`, cause.file, cause.line, cause.construct, cause.unsupported);
  }
  const rawMsg = e instanceof Error ? e.message : String(e);
  // nunjucks errors carry lineno/colno: 1-based from the parser, 0-based from a render.
  let line: number | undefined;
  let column: number | undefined;
  const shift = stage === "render" ? 1 : 0;
  const withPos = [e, (e as { cause?: unknown })?.cause].find((x) => typeof (x as { lineno?: unknown })?.lineno === "number") as { lineno: number; colno?: number } | undefined;
  if (withPos) {
    line = withPos.lineno + shift;
    column = typeof withPos.colno === "number" ? withPos.colno + shift : undefined;
  } else {
    const pos = /\[Line (\d+)(?:, Column (\d+))?\]/.exec(rawMsg);
    if (pos) {
      line = Number(pos[1]) + shift;
      column = pos[2] !== undefined ? Number(pos[2]) + shift : undefined;
    }
  }
  if (cause instanceof JinjaPreprocessError) line = cause.line;
  const detail = (cause instanceof Error ? cause.message : rawMsg)
    .replace(/^\([^)]*\)( \[Line [^\]]*\])?\s*/, "")
    .replace(/^(Template render error: )?(Error: )?/, "")
    .trim();
  const macroStack = (cause as { dbtMacroStack?: string[] })?.dbtMacroStack;
  const where = `${file}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ""}` : ""}`;
  const inMacro = macroStack?.length ? ` (in macro ${macroStack.join(" <- ")})` : "";

  if (cause instanceof DbtCompilationError) {
    return new EmbeddedRenderError(`Compilation Error in ${what} ${where}${inMacro}: ${cause.message}`, file, line, undefined, false, undefined, column);
  }
  let construct: string;
  let explanation: string;
  if (cause instanceof UnsupportedFeatureError) {
    construct = cause.construct;
    explanation = cause.message;
  } else if (cause instanceof JinjaPreprocessError) {
    construct = cause.construct;
    explanation = cause.message;
  } else {
    const call = /Unable to call `([^`]+)`, which is (undefined or falsey|not a function)/.exec(detail);
    const tag = /unknown block tag: (\w+)/.exec(detail);
    if (call) {
      construct = `${cleanCallee(call[1])}()`;
      explanation = call[2] === "not a function"
        ? `\`${cleanCallee(call[1])}\` is not callable here`
        : `\`${cleanCallee(call[1])}\` is not defined: neither a macro of this project or of an installed package, nor a dbt function the embedded engine implements`;
    } else if (tag) {
      construct = `{% ${tag[1]} %}`;
      explanation = `the Jinja tag \`${tag[1]}\` is not supported`;
    } else if (stage === "compile" || /parse|unexpected|expected/i.test(detail)) {
      construct = "Jinja syntax";
      explanation = detail;
    } else {
      construct = "Jinja expression";
      explanation = detail;
    }
  }
  return new EmbeddedRenderError(
    `${where}: the embedded engine cannot render ${construct} in ${what} ${file.split(/[\\/]/).pop()}${inMacro}: ${explanation}. ${DBT_ENGINE_HINT}`,
    file,
    line,
    construct,
    true,
    undefined,
    column,
  );
}
