/** The small objects of the renderer's Jinja context: namespaces, columns, strict objects, and JSON helpers. */
import { UnsupportedFeatureError } from "./errors";
import { isPlainObject } from "./python";
import { quoteIdent } from "../warehouse";

/** The value of `namespace(...)`: attributes that `{% set ns.x = ... %}` may change. */
export class Namespace {
  constructor(values: Record<string, unknown>) {
    Object.assign(this, values);
  }
}

/** A column as `adapter.get_columns_in_relation` and `api.Column.create` return it. */
export class DbtColumn {
  constructor(
    readonly name: string,
    readonly dtype: string,
  ) {}
  get column(): string {
    return this.name;
  }
  get data_type(): string {
    return this.dtype;
  }
  get quoted(): string {
    return quoteIdent(this.name);
  }
  is_string(): boolean {
    return /char|text|string/i.test(this.dtype);
  }
  is_number(): boolean {
    return /int|float|double|decimal|numeric|real/i.test(this.dtype);
  }
  is_numeric(): boolean {
    return /decimal|numeric/i.test(this.dtype);
  }
  is_float(): boolean {
    return /float|double|real/i.test(this.dtype);
  }
  is_integer(): boolean {
    return /int/i.test(this.dtype);
  }
  string_size(): number {
    return 255;
  }
  toString(): string {
    return `<Column ${this.name} (${this.dtype})>`;
  }
}

/** Namespaces (`adapter`, `dbt`, `<package>`) are not dicts: no Python dict methods on them. */
class MacroNamespace {}

/** Object whose unknown members fail with an "unsupported" error naming `prefix.member`. */
export function strictObject<T extends object>(prefix: string, members: T, hint?: string): T {
  const target = Object.assign(Object.create(MacroNamespace.prototype) as object, members) as T;
  return new Proxy(target, {
    get(target, prop, receiver) {
      if (typeof prop !== "string" || prop in target) return Reflect.get(target, prop, receiver);
      if (prop === "then" || prop === "toJSON" || prop === "constructor" || prop === "length" || prop === "__keywords") return undefined;
      return () => {
        throw new UnsupportedFeatureError(`${prefix}.${prop}`, `\`${prefix}.${prop}\` is not implemented by the embedded engine${hint ? ` (${hint})` : ""}`);
      };
    },
  });
}

/** A value with its mapping keys sorted, at every depth (`tojson(sort_keys=True)`). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}
