/**
 * dbt's internal cross-database macros (`dbt.dateadd`, `dbt.type_string()`, `current_timestamp()`
 * ...) rendered for DuckDB, as dbt-duckdb renders them. They are reachable unqualified, as
 * `dbt.<name>`, and through `adapter.dispatch('<name>', 'dbt')`. A project macro of the same
 * name wins, as in dbt.
 */
import { arg, splitArgs, strOf } from "./python";

type Macro = (...args: unknown[]) => unknown;

function a(args: unknown[]) {
  return splitArgs(args);
}

export const CROSS_DB_MACROS: Record<string, Macro> = {
  current_timestamp: () => "now()",
  current_timestamp_backcompat: () => "current_timestamp::timestamp",
  current_timestamp_in_utc_backcompat: () => "current_timestamp::timestamp",
  snapshot_get_time: () => "now()",
  dateadd: (...args) => {
    const x = a(args);
    return `date_add(${strOf(arg(x, 2, "from_date_or_timestamp"))}, interval (${strOf(arg(x, 1, "interval"))}) ${strOf(arg(x, 0, "datepart"))})`;
  },
  datediff: (...args) => {
    const x = a(args);
    return `date_diff('${strOf(arg(x, 2, "datepart"))}', ${strOf(arg(x, 0, "first_date"))}::timestamp, ${strOf(arg(x, 1, "second_date"))}::timestamp )`;
  },
  date_trunc: (...args) => {
    const x = a(args);
    return `date_trunc('${strOf(arg(x, 0, "datepart"))}', ${strOf(arg(x, 1, "date"))})`;
  },
  last_day: (...args) => {
    const x = a(args);
    const part = strOf(arg(x, 1, "datepart"));
    return `cast(date_trunc('${part}', ${strOf(arg(x, 0, "date"))}) + interval 1 ${part} - interval 1 day as date)`;
  },
  date: (...args) => {
    const x = a(args);
    const p = (i: number, n: string) => String(arg(x, i, n)).padStart(2, "0");
    return `date '${String(arg(x, 0, "year")).padStart(4, "0")}-${p(1, "month")}-${p(2, "day")}'`;
  },
  type_string: () => "VARCHAR",
  type_timestamp: () => "TIMESTAMP",
  type_float: () => "FLOAT",
  type_numeric: () => "NUMERIC(28,6)",
  type_bigint: () => "BIGINT",
  type_int: () => "INTEGER",
  type_boolean: () => "BOOLEAN",
  safe_cast: (...args) => {
    const x = a(args);
    return `try_cast(${strOf(arg(x, 0, "field"))} as ${strOf(arg(x, 1, "type"))})`;
  },
  cast: (...args) => {
    const x = a(args);
    return `cast(${strOf(arg(x, 0, "field"))} as ${strOf(arg(x, 1, "type"))})`;
  },
  concat: (...args) => {
    const fields = arg<unknown>(a(args), 0, "fields", []);
    return `concat(${(Array.isArray(fields) ? fields : [fields]).map(strOf).join(", ")})`;
  },
  hash: (...args) => `md5(cast(${strOf(arg(a(args), 0, "field"))} as VARCHAR))`,
  split_part: (...args) => {
    const x = a(args);
    return `string_split(${strOf(arg(x, 0, "string_text"))}, ${strOf(arg(x, 1, "delimiter_text"))})[${strOf(arg(x, 2, "part_number"))}]`;
  },
  listagg: (...args) => {
    const x = a(args);
    const delim = arg<unknown>(x, 1, "delimiter_text", "','");
    const order = arg<unknown>(x, 2, "order_by_clause", null);
    const limit = arg<unknown>(x, 3, "limit_num", null);
    const agg = `string_agg(${strOf(arg(x, 0, "measure"))}, ${strOf(delim)}${order ? " " + strOf(order) : ""})`;
    return limit ? `array_to_string(list_slice(list(${strOf(arg(x, 0, "measure"))}${order ? " " + strOf(order) : ""}), 1, ${strOf(limit)}), ${strOf(delim)})` : agg;
  },
  any_value: (...args) => `any_value(${strOf(arg(a(args), 0, "expression"))})`,
  bool_or: (...args) => `bool_or(${strOf(arg(a(args), 0, "expression"))})`,
  length: (...args) => `length(${strOf(arg(a(args), 0, "expression"))})`,
  position: (...args) => {
    const x = a(args);
    return `position(${strOf(arg(x, 0, "substring_text"))} in ${strOf(arg(x, 1, "string_text"))})`;
  },
  replace: (...args) => {
    const x = a(args);
    return `replace(${strOf(arg(x, 0, "field"))}, ${strOf(arg(x, 1, "old_chars"))}, ${strOf(arg(x, 2, "new_chars"))})`;
  },
  right: (...args) => {
    const x = a(args);
    return `right(${strOf(arg(x, 0, "string_text"))}, ${strOf(arg(x, 1, "length_expression"))})`;
  },
  escape_single_quotes: (...args) => strOf(arg(a(args), 0, "expression")).replace(/'/g, "''"),
  string_literal: (...args) => `'${strOf(arg(a(args), 0, "value"))}'`,
  cast_bool_to_text: (...args) => `cast(${strOf(arg(a(args), 0, "field"))} as VARCHAR)`,
  except: () => "except",
  intersect: () => "intersect",
  array_construct: (...args) => {
    const x = a(args);
    const inputs = arg<unknown[]>(x, 0, "inputs", []);
    return `[${(inputs ?? []).map(strOf).join(", ")}]`;
  },
  array_append: (...args) => {
    const x = a(args);
    return `list_append(${strOf(arg(x, 0, "array"))}, ${strOf(arg(x, 1, "new_element"))})`;
  },
  array_concat: (...args) => {
    const x = a(args);
    return `list_concat(${strOf(arg(x, 0, "array_1"))}, ${strOf(arg(x, 1, "array_2"))})`;
  },
};
