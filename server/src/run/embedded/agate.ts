/**
 * What `run_query()` / `load_result()['table']` return in dbt is an agate Table; this is the
 * subset models and macros use: `table.rows`, `table.columns[0].values()`,
 * `table.columns['name'].values()`, `table.column_names`, `row[0]`, `row['col']`, `row.col`.
 */
import { makeTuple } from "./python";
import type { ColumnInfo, Row } from "../warehouse";

export class AgateColumn {
  constructor(
    readonly name: string,
    readonly data_type: string,
    private readonly data: unknown[],
  ) {}
  values(): unknown[] {
    return makeTuple([...this.data]);
  }
  values_distinct(): unknown[] {
    return makeTuple([...new Set(this.data)]);
  }
  values_without_nulls(): unknown[] {
    return makeTuple(this.data.filter((x) => x !== null && x !== undefined));
  }
  get length(): number {
    return this.data.length;
  }
  toString(): string {
    return `<agate.Column: ${this.name}>`;
  }
}

function makeRow(names: string[], values: unknown[]): unknown[] {
  const row = [...values];
  const defs: PropertyDescriptorMap = {};
  names.forEach((n, i) => {
    if (!/^\d+$/.test(n) && !(n in Array.prototype)) defs[n] = { value: values[i], enumerable: false };
  });
  defs.keys = { value: () => [...names], enumerable: false };
  defs.values = { value: () => [...values], enumerable: false };
  defs.items = { value: () => names.map((n, i) => makeTuple([n, values[i]])), enumerable: false };
  defs.dict = { value: () => Object.fromEntries(names.map((n, i) => [n, values[i]])), enumerable: false };
  defs.get = { value: (k: string, d: unknown = null) => (names.includes(k) ? values[names.indexOf(k)] : d), enumerable: false };
  Object.defineProperties(row, defs);
  return row;
}

export class AgateTable {
  readonly column_names: string[];
  readonly column_types: string[];
  readonly rows: unknown[][];
  readonly columns: AgateColumn[] & Record<string, AgateColumn>;

  constructor(rows: Row[], columns: ColumnInfo[]) {
    this.column_names = columns.map((c) => c.name);
    this.column_types = columns.map((c) => c.type);
    this.rows = rows.map((r) => makeRow(this.column_names, this.column_names.map((n) => r[n])));
    const cols = columns.map((c) => new AgateColumn(c.name, c.type, rows.map((r) => r[c.name])));
    const byName: PropertyDescriptorMap = {};
    for (const c of cols) if (!/^\d+$/.test(c.name) && !(c.name in Array.prototype)) byName[c.name] = { value: c, enumerable: false };
    this.columns = Object.defineProperties(cols, byName) as AgateColumn[] & Record<string, AgateColumn>;
  }
  get length(): number {
    return this.rows.length;
  }
  /** `{% for row in run_query(...) %}` iterates the rows. */
  [Symbol.iterator](): Iterator<unknown[]> {
    return this.rows[Symbol.iterator]();
  }
  print_table(): string {
    return "";
  }
  toString(): string {
    return `<agate.Table: ${this.rows.length} rows>`;
  }
}
