/**
 * How dbt reads the arguments of `ref()` and `source()`, for any representation of an argument
 * (the scanner's expressions and token ranges, the renderer's values): one rule for the index and
 * the embedded renderer.
 */

/** A call's arguments: positional ones in order, keyword ones by name. */
export interface CallArguments<T> {
  pos: readonly T[];
  kw: Readonly<Record<string, T>>;
}

export interface RefArguments<T> {
  name: T | undefined;
  /** The project or package: the first of two positional arguments, or `package=`. */
  package: T | undefined;
  version: T | undefined;
}

/**
 * `ref('model')`, `ref('package', 'model')`, the model as `name=` / `model_name=`, the package as
 * `package=`, the version as `v=` / `version=`.
 */
export function refArguments<T>(args: CallArguments<T>): RefArguments<T> {
  const [first, second] = args.pos;
  const twoPositional = args.pos.length >= 2;
  return {
    name: twoPositional ? second : (first ?? args.kw.name ?? args.kw.model_name),
    package: twoPositional ? first : args.kw.package,
    version: args.kw.v ?? args.kw.version,
  };
}

export interface SourceArguments<T> {
  source: T | undefined;
  table: T | undefined;
}

/** `source('source', 'table')`, either argument also as `source_name=` / `table_name=`. */
export function sourceArguments<T>(args: CallArguments<T>): SourceArguments<T> {
  return {
    source: args.pos[0] !== undefined ? args.pos[0] : args.kw.source_name,
    table: args.pos[1] !== undefined ? args.pos[1] : args.kw.table_name,
  };
}
