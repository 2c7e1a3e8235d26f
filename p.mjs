import { DuckDBInstance } from "@duckdb/node-api";
const inst = await DuckDBInstance.create(":memory:");
const c = await inst.connect();
for (const sql of process.argv.slice(2)) {
const r = await c.runAndReadAll("select json_serialize_sql($1::varchar)", [sql]);
const strip = (o) => JSON.stringify(o, (k, v) => (["query_location","sample","at_clause","order_bys","filter","export_state","catalog","schema","distinct","is_operator","modifiers","named_param_map","aggregate_handling","having","qualify","group_sets","group_expressions","where_clause"].includes(k) ? undefined : v));
console.log(sql, "\n", strip(JSON.parse(r.getRowsJS()[0][0])).slice(0, 1500), "\n");
}
