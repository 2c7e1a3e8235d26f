/** Ephemeral models inlined as CTEs, as dbt's compiler does. */

export function stripTrailingSemicolon(sql: string): string {
  return sql.replace(/;\s*$/, "").replace(/\s+$/, "");
}

/** Offset where the first SQL keyword starts (after whitespace and comments). */
function firstTokenOffset(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith("--", i)) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

/** dbt's `_inject_ctes_into_sql`: ephemeral CTEs go first, merged into an existing `with`. */
export function injectCtes(sql: string, ctes: Map<string, string>): string {
  if (!ctes.size) return sql;
  const defs = [...ctes.entries()].map(([name, body]) => `${name} as (\n${body}\n)`).join(", ");
  const at = firstTokenOffset(sql);
  const m = /^with(\s+recursive)?\b/i.exec(sql.slice(at));
  if (m) {
    const after = at + m[0].length;
    return `${sql.slice(0, after)} ${defs}, ${sql.slice(after).replace(/^\s+/, "")}`;
  }
  return `${sql.slice(0, at)}with ${defs}\n${sql.slice(at)}`;
}
