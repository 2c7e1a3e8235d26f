/**
 * DuckDB's own SQL parser, on an in-memory database that never touches a file: `json_serialize_sql`
 * turns SQL into its parse tree, `json_deserialize_sql` turns a (modified) tree back into SQL.
 * Parsing runs no query, so it is safe on any text.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

export type ParseTree = Record<string, unknown>;

export class SqlParser {
  private connection: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> | undefined;

  private connect() {
    return (this.connection ??= (async () => {
      const instance = await DuckDBInstance.create(":memory:", { enable_external_access: "false" });
      return { instance, conn: await instance.connect() };
    })());
  }

  /** The parse tree (`{error: true, error_message, position}` when DuckDB rejects the SQL). */
  async parse(sql: string): Promise<ParseTree> {
    const { conn } = await this.connect();
    const reader = await conn.runAndReadAll("select json_serialize_sql($1::varchar)", [sql]);
    return JSON.parse(String(reader.getRowsJS()[0][0])) as ParseTree;
  }

  /** Parse trees of many statements in one round trip (same order). */
  async parseMany(sqls: string[]): Promise<ParseTree[]> {
    if (sqls.length === 0) return [];
    const { conn } = await this.connect();
    const values = sqls.map((_, i) => `($${i + 1}::varchar, ${i})`).join(", ");
    const reader = await conn.runAndReadAll(`select json_serialize_sql(s) from (values ${values}) as t(s, i) order by i`, sqls);
    return reader.getRowsJS().map((r) => JSON.parse(String(r[0])) as ParseTree);
  }

  /** SQL text of a parse tree. */
  async unparse(tree: ParseTree): Promise<string> {
    const { conn } = await this.connect();
    const reader = await conn.runAndReadAll("select json_deserialize_sql($1::json)", [JSON.stringify(tree)]);
    return String(reader.getRowsJS()[0][0]);
  }

  close(): void {
    const pending = this.connection;
    this.connection = undefined;
    void pending?.then(({ instance, conn }) => {
      conn.closeSync();
      instance.closeSync();
    }).catch(() => undefined);
  }
}
