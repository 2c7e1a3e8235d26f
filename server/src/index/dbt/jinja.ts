/**
 * A fast, tolerant scanner of dbt SQL + Jinja files (models, snapshots, macros, analyses, tests).
 *
 * It does not render anything: it finds what the linker needs (`ref`, `source`, `config`, calls of
 * other macros, macro / test / materialization / snapshot blocks) and reports Jinja syntax problems.
 *
 * How it works (one pass, no regex over the whole file):
 * - the text between tags is skipped with `indexOf("{")`;
 * - `{# ... #}` comments are skipped with `indexOf("#}")`, `{% raw %}` bodies by searching for the
 *   `{% endraw %}` tag; refs inside either do not count. SQL comments are not special: dbt renders
 *   Jinja inside `-- depends_on: {{ ref('x') }}`, so that ref counts;
 * - inside `{{ }}` / `{% %}` a small lexer produces tokens into reusable typed arrays. Like Jinja's
 *   own lexer it honours strings and bracket balancing, so `'{{ this }}'` in a string or `}}`
 *   closing a nested dict do not end the tag;
 * - calls are found on the token stream: `name(` and `pkg.name(` (see `scanCalls` in jinja/calls.ts);
 *   `ref` / `source` / `config` / `var` arguments are turned into symbolic `JinjaExpr` values;
 * - block tags are kept on a stack to report unbalanced blocks and to attribute everything found
 *   inside a top-level `macro` / `test` / `materialization` / `snapshot` block to that block instead
 *   of the file. Blocks nested inside such a block (including nested macros) belong to it.
 *
 * Tolerance: after any error the scan goes on. A tag left open is ended at the next tag opener
 * (`{{`, `{%`, `{#` cannot appear inside a tag outside a string) or at the end of the file; a string
 * left open on a line that contains the tag's closer (`}}` / `%}`) is cut there. Everything found
 * before (and after) the problem is kept.
 *
 * The parts (server/src/index/dbt/jinja/): `lexer.ts` (tags into tokens), `expressions.ts` (tokens
 * into `JinjaExpr` values and conditions), `calls.ts` (ref / source / config / var / macro calls),
 * `scanner.ts` (the main loop, blocks, definitions, bound names; `scanSql`), and what the linker
 * asks of the values found: `values.ts` (their strings), `truth.ts` (conditions, `enabled`),
 * `exprTrees.ts` (parameters substituted, `not` / `and` / `or`). Builtin names: ../builtins.ts.
 */
export { scanSql } from "./jinja/scanner";
export { literalValue, resolveJinjaExpr, resolveJinjaTuples, resolveJinjaValues } from "./jinja/values";
export type { JinjaBindings } from "./jinja/exprTrees";
export { evalEnabled, jinjaTruth } from "./jinja/values";
export { andExpr, notExpr, orExpr, substituteParams, usesParams, usesVars } from "./jinja/exprTrees";
