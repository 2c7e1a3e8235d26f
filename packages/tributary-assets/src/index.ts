/**
 * tributary-assets: the runtime users import to declare software-defined assets in TypeScript.
 *
 * ```ts
 * import { asset, job } from "tributary-assets";
 *
 * export const predictions = asset(
 *   { key: ["forecasting", "predicted_orders"], deps: ["fct_orders"], io: "table" },
 *   async ({ fct_orders }, ctx) => predict(fct_orders),
 * );
 * export const nightly = job({ name: "nightly", selection: "+predicted_orders", schedule: "@daily" });
 * ```
 *
 * Tiny on purpose: no dependencies, nothing of the language server. The Tributary language server
 * reads these calls statically; the runner imports the module and calls `fn`.
 */

/** An asset key as written: `"a/b"` (the path `["a","b"]`) or an array of segments. */
export type AssetKeyInput = string | readonly string[];

/** A dep: a key, or another asset definition (its key is used). */
export type AssetDep = AssetKeyInput | AssetDefinition<unknown>;

export interface AssetLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

/** The warehouse connection of the run (DuckDB in the embedded engine). */
export interface Warehouse {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<void>;
}

export interface AssetContext {
  runId: string;
  assetKey: string[];
  log: AssetLogger;
  warehouse: Warehouse;
  /** Attaches figures (row counts, metrics, ...) to this materialization. */
  metadata(values: Record<string, unknown>): void;
  /** Set when Dagster launched the asset through Pipes (`tributary run-asset`): what its context said. */
  dagster?: DagsterRunContext;
}

/** The Dagster Pipes context of a run launched by Dagster. */
export interface DagsterRunContext {
  runId: string;
  jobName: string | null;
  partitionKey: string | null;
  retryNumber: number;
  /** The `extras` the Dagster asset passed to its Pipes client. */
  extras: Record<string, unknown>;
}

export interface AssetOptions {
  key: AssetKeyInput;
  deps?: readonly AssetDep[];
  group?: string;
  /** `["daily"]`, or `{ team: "growth" }` (selected as `tag:team=growth`). */
  tags?: readonly string[] | Readonly<Record<string, string>>;
  /** Defaults to the JSDoc comment above the declaration (read by the language server). */
  description?: string;
  owners?: readonly string[];
  /** IO manager storing the returned value: `json` (default), `table`, or a registered name. */
  io?: "json" | "table" | (string & {});
  /** With `io: "table"`: the table's column names, for column-level lineage before the first run. */
  columns?: readonly string[];
  codeVersion?: string;
  metadata?: Record<string, unknown>;
  /** Checks run right after each materialization (Dagster's asset checks, dbt's tests). */
  checks?: readonly AssetCheckSpec[];
}

/** What a check's `fn` returns: `true` / `false`, or the verdict with details. */
export interface AssetCheckResult {
  passed: boolean;
  /** Failing rows or items found, shown next to the check. */
  failures?: number;
  message?: string;
}

export interface AssetCheckSpec<T = unknown> {
  /** Unique among the asset's checks; shown in the editor, the CLI and the history. */
  name: string;
  /** Receives the value the asset returned and the run context. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (value: T | any, ctx: AssetContext) => boolean | AssetCheckResult | Promise<boolean | AssetCheckResult>;
  /** Default true: a failure fails the asset and skips its downstream. `false`: a failure is a warning. */
  blocking?: boolean;
  description?: string;
}

/** Upstream values, keyed by the last key segment of each dep. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped so that `async ({ fct_orders }) => ...` needs no annotations
export type AssetInputs = Record<string, any>;

/** `I` is whatever the function declares for its inputs (by default, any record keyed by input name). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AssetFn<T = unknown, I = any> = (inputs: I, ctx: AssetContext) => T | Promise<T>;

export interface AssetDefinition<T = unknown> {
  kind: "asset";
  /** Normalised key segments. */
  key: string[];
  /** Normalised dep keys, in the order written. */
  deps: string[][];
  options: AssetOptions;
  fn: AssetFn<T>;
}

export interface JobOptions {
  name: string;
  /** A selection in Tributary's grammar, e.g. `"+predicted_orders"`, `"tag:daily"`, `"*order_forecast_model"`. */
  selection: string;
  /** Cron string (`"0 3 * * *"`) or a macro (`"@daily"`, `"@hourly"`, ...). */
  schedule?: string;
  /** IANA time zone of the schedule, e.g. `"Europe/Berlin"` (default: the machine's). */
  timezone?: string;
  description?: string;
}

export interface JobDefinition {
  kind: "job";
  name: string;
  selection: string;
  schedule?: string;
  timezone?: string;
  description?: string;
}

/** What an IO manager's `load` / `store` receive besides the key. */
export interface IOManagerContext {
  runId: string;
  assetKey: string[];
  log: AssetLogger;
  warehouse: Warehouse;
}

/** Stores an asset's returned value and loads it for downstream assets (Dagster's IOManager). */
export interface IOManager {
  load(key: string[], ctx: IOManagerContext): Promise<unknown>;
  store(
    key: string[],
    value: unknown,
    ctx: IOManagerContext,
  ): Promise<{ rows?: number; metadata?: Record<string, unknown> } | void>;
}

// ---------------------------------------------------------------- asset()

/**
 * Declares an asset: `key` names it, `deps` are the assets it reads, `fn` computes it from the
 * deps' values (passed by the last segment of each dep's key) and returns the value to store.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function asset<T, I = any>(options: AssetOptions, fn: AssetFn<T, I>): AssetDefinition<T> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError("asset(): the first argument must be an options object with a `key`.");
  }
  if (options.key === undefined || options.key === null) {
    throw new TypeError('asset(): `key` is required (a string like "a/b" or an array of strings).');
  }
  const key = toAssetKey(options.key, "asset(): `key`");
  if (typeof fn !== "function") {
    throw new TypeError(`asset(): the asset function (second argument) is missing for "${key.join("/")}".`);
  }
  const what = `asset("${key.join("/")}")`;
  if (options.deps !== undefined && !Array.isArray(options.deps)) {
    throw new TypeError(`${what}: \`deps\` must be an array.`);
  }
  const deps = (options.deps ?? []).map((dep, i) => {
    if (isAssetDefinition(dep)) return [...dep.key];
    if (dep === undefined || dep === null) {
      throw new TypeError(`${what}: \`deps[${i}]\` is ${String(dep)} (an imported asset used before it was defined? check for import cycles).`);
    }
    return toAssetKey(dep as AssetKeyInput, `${what}: \`deps[${i}]\``);
  });
  checkStrings(options.owners, `${what}: \`owners\``);
  checkChecks(options.checks, what);
  if (Array.isArray(options.tags)) checkStrings(options.tags, `${what}: \`tags\``);
  else if (options.tags !== undefined && (options.tags === null || typeof options.tags !== "object")) {
    throw new TypeError(`${what}: \`tags\` must be an array of strings or an object of strings.`);
  }
  return { kind: "asset", key, deps, options, fn };
}

/** `"a/b"` -> `["a","b"]`; arrays are copied. Throws a TypeError naming `what` when invalid. */
export function toAssetKey(input: AssetKeyInput, what = "asset key"): string[] {
  let key: string[];
  if (typeof input === "string") key = input.split("/");
  else if (Array.isArray(input)) key = [...input];
  else throw new TypeError(`${what} must be a string like "a/b" or an array of strings, got ${describe(input)}.`);
  if (key.length === 0) throw new TypeError(`${what} must not be empty.`);
  for (const seg of key) {
    if (typeof seg !== "string") throw new TypeError(`${what} must contain only strings, got ${describe(seg)}.`);
    if (seg === "") throw new TypeError(`${what} must not be empty or contain empty segments (got ${JSON.stringify(input)}).`);
    // The server's keyProblem (graph/keys.ts), repeated here: this package imports none of the server.
    if (seg === "." || seg === ".." || /[/\\\0]/.test(seg)) throw new TypeError(`${what} segments may not be '.', '..' or contain a path separator (got ${JSON.stringify(input)}).`);
  }
  return key;
}

/** The name under which an upstream's value is passed to an asset function: its key's last segment. */
export function inputName(key: readonly string[]): string {
  return key[key.length - 1];
}

// ---------------------------------------------------------------- job()

/** Declares a named selection of assets, optionally on a cron schedule. */
export function job(options: JobOptions): JobDefinition {
  if (options === null || typeof options !== "object") {
    throw new TypeError("job(): the argument must be an options object with `name` and `selection`.");
  }
  if (typeof options.name !== "string" || options.name === "") throw new TypeError("job(): `name` is required (a non-empty string).");
  const what = `job("${options.name}")`;
  if (typeof options.selection !== "string" || options.selection.trim() === "") {
    throw new TypeError(`${what}: \`selection\` is required (a selection string such as "+my_asset").`);
  }
  const def: JobDefinition = { kind: "job", name: options.name, selection: options.selection };
  for (const field of ["schedule", "timezone", "description"] as const) {
    const value = options[field];
    if (value === undefined) continue;
    if (typeof value !== "string") throw new TypeError(`${what}: \`${field}\` must be a string.`);
    def[field] = value;
  }
  return def;
}

// ---------------------------------------------------------------- check()

export interface CheckOptions {
  /** The asset checked: its definition or its key. */
  asset: AssetDep;
  name: string;
  /** Default true: a failure fails the asset and skips its downstream. `false`: a failure is a warning. */
  blocking?: boolean;
  description?: string;
}

export interface CheckDefinition {
  kind: "check";
  name: string;
  assetKey: string[];
  blocking: boolean;
  description?: string;
  fn: AssetCheckSpec["fn"];
}

/**
 * Declares a check apart from its asset (export it): it runs right after each materialization of
 * the asset, on the value the asset returned, like the asset's own `checks`.
 */
export function check(options: CheckOptions, fn: AssetCheckSpec["fn"]): CheckDefinition {
  if (options === null || typeof options !== "object") throw new TypeError("check(): the first argument must be an options object with `asset` and `name`.");
  if (typeof options.name !== "string" || options.name === "") throw new TypeError("check(): `name` is required (a non-empty string).");
  const what = `check("${options.name}")`;
  if (options.asset === undefined || options.asset === null) throw new TypeError(`${what}: \`asset\` is required (an asset definition or a key).`);
  const assetKey = isAssetDefinition(options.asset) ? [...options.asset.key] : toAssetKey(options.asset as AssetKeyInput, `${what}: \`asset\``);
  if (typeof fn !== "function") throw new TypeError(`${what}: the check function (second argument) is missing.`);
  const def: CheckDefinition = { kind: "check", name: options.name, assetKey, blocking: options.blocking !== false, fn };
  if (options.description !== undefined) def.description = options.description;
  return def;
}

export function isCheckDefinition(x: unknown): x is CheckDefinition {
  if (x === null || typeof x !== "object") return false;
  const d = x as Partial<CheckDefinition>;
  return d.kind === "check" && typeof d.name === "string" && Array.isArray(d.assetKey) && typeof d.fn === "function";
}

// ---------------------------------------------------------------- guards

export function isAssetDefinition(x: unknown): x is AssetDefinition {
  if (x === null || typeof x !== "object") return false;
  const d = x as Partial<AssetDefinition>;
  return d.kind === "asset" && Array.isArray(d.key) && Array.isArray(d.deps) && typeof d.fn === "function";
}

export function isJobDefinition(x: unknown): x is JobDefinition {
  if (x === null || typeof x !== "object") return false;
  const d = x as Partial<JobDefinition>;
  return d.kind === "job" && typeof d.name === "string" && typeof d.selection === "string";
}

// ---------------------------------------------------------------- IO managers

type Registry = Map<string, IOManager>;

/** The registry lives on globalThis so that the runner finds it even when it loads another copy of this module. */
function registry(): Registry {
  const g = globalThis as typeof globalThis & { __tributaryIOManagers?: Registry };
  if (!(g.__tributaryIOManagers instanceof Map)) g.__tributaryIOManagers = new Map();
  return g.__tributaryIOManagers;
}

/**
 * Registers an IO manager under `name` (use it with `io: name`); a later registration under the
 * same name replaces the earlier one, so user code may override `json` and `table` (the runner
 * registers those built-ins the same way before it loads the asset's module).
 */
export function registerIOManager(name: string, manager: IOManager): void {
  if (typeof name !== "string" || name === "") throw new TypeError("registerIOManager(): `name` must be a non-empty string.");
  if (!manager || typeof manager.load !== "function" || typeof manager.store !== "function") {
    throw new TypeError(`registerIOManager("${name}"): the manager needs \`load\` and \`store\` functions.`);
  }
  registry().set(name, manager);
}

/** The IO manager registered under `name`, if any. */
export function getIOManager(name: string): IOManager | undefined {
  return registry().get(name);
}

// ---------------------------------------------------------------- helpers

function checkStrings(list: unknown, what: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) throw new TypeError(`${what} must be an array of strings.`);
}

function checkChecks(checks: unknown, what: string): void {
  if (checks === undefined) return;
  if (!Array.isArray(checks)) throw new TypeError(`${what}: \`checks\` must be an array of { name, fn }.`);
  const names = new Set<string>();
  checks.forEach((c: Partial<AssetCheckSpec> | null, i) => {
    if (!c || typeof c.name !== "string" || c.name === "") throw new TypeError(`${what}: \`checks[${i}].name\` must be a non-empty string.`);
    if (typeof c.fn !== "function") throw new TypeError(`${what}: check "${c.name}" needs an \`fn\` function.`);
    if (c.blocking !== undefined && typeof c.blocking !== "boolean") throw new TypeError(`${what}: check "${c.name}": \`blocking\` is true or false.`);
    if (names.has(c.name)) throw new TypeError(`${what}: two checks are named "${c.name}".`);
    names.add(c.name);
  });
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x;
}

// ---------------------------------------------------------------- Dagster Pipes

export {
  DagsterPipesError,
  decodePipesParam,
  encodePipesParam,
  isDagsterPipesProcess,
  openDagsterPipes,
  PipesSession,
  type PipesContextData,
  type PipesMessage,
} from "./pipes";
