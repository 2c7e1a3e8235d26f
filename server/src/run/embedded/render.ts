/**
 * Renders dbt nodes (models, snapshots, hooks) to SQL with dbt's Jinja context, on nunjucks
 * (see jinja.ts for why nunjucks and what the dbt layer adds).
 *
 * One `DbtRenderer` serves one step: it owns the Jinja environment, the compiled templates, the
 * project's macros (parsed lazily, file by file, the first time one of a file's macros is called)
 * and the ephemeral CTE cache.
 *
 * Context: `ref` (one/two args, `v=`/`version=`), `source`, `config(...)` / `config.get` /
 * `config.require`, `var`, `env_var`, `this`, `model`, `target`, `is_incremental()`,
 * `should_full_refresh()`, `log`, `print`, `return`, `exceptions.*`, `adapter.dispatch` /
 * `adapter.quote` / `adapter.get_relation` / `adapter.get_columns_in_relation`, `run_query`,
 * `statement` call blocks + `load_result`, `load_relation`, `api.Relation.create`, `modules`
 * (`datetime`, `re`, `pytz`), `run_started_at`, `invocation_id`, `execute`, `flags`, `graph`
 * (empty), `tojson`/`fromjson`/`toyaml`/`fromyaml`, `local_md5`, `zip`, `set`, `namespace`,
 * `dict`, cross-database macros (crossdb.ts), the project's macros (unqualified and as
 * `<project>.name`) and installed packages' macros (as `<package>.name`).
 *
 * Database access while rendering (`run_query`, `statement`, `adapter.get_columns_in_relation`)
 * is synchronous in Jinja but asynchronous in DuckDB's Node API: the renderer reports what it
 * needs (`{ need }`), the engine runs it, caches the answer and renders again (each distinct query
 * runs once per node).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type nunjucks from "nunjucks";
import YAML from "yaml";
import { configKey, mergeConfig, normalizeConfig } from "../../dbt/config";
import { lookupVar } from "../../dbt/vars";
import { refArguments, sourceArguments } from "../../dbt/refs";
import { AgateTable } from "./agate";
import { CROSS_DB_MACROS } from "./crossdb";
import type { EmbeddedNode, RelationResolver } from "./nodes";
import { EmbeddedRenderError, UnsupportedFeatureError } from "./errors";
import { compileTemplate, createJinjaEnvironment, preprocess, withDbtJinja } from "./jinja";
import { arg, datetimeModule, isPlainObject, makeTuple, pyDatetimeFromDate, pyRepr, pyStr, pytzModule, reModule, splitArgs } from "./python";
import { DbtRelation, defaultAliasName, defaultDatabaseName, defaultSchemaName } from "./relation";
import { quoteIdent, type ColumnInfo, type RelationType, type Row } from "../warehouse";
import { injectCtes, stripTrailingSemicolon } from "./ctes";
import { DbtColumn, Namespace, sortKeys, strictObject } from "./contextObjects";
import { type MacroFile, PRIVATE_PREFIX, readMacroFile } from "./macroFiles";
import { DECISIVE, defaultMaterialization, prescanConfig, toArray } from "./nodeConfig";
import { type DataNeed, DbtCompilationError, NeedData, ReturnSignal, UpstreamFailed, describeError, isNeedData, rootCause } from "./renderErrors";

// ---------------------------------------------------------------- options and results

export interface RendererOptions {
  /** `vars`: the project's vars as dbt scopes them (server/src/dbt/vars.ts), as the index gives them. */
  project: { name: string; root: string; vars: Record<string, unknown> };
  target: { name: string; type: "duckdb"; schema: string; database: string; path: string; threads: number };
  cliVars: Record<string, unknown>;
  /** The project's and its installed packages' macro files (absolute), each with its package as the index knows it. */
  macroFiles: { file: string; package: string }[];
  relations: RelationResolver;
  fullRefresh: boolean;
  invocationId: string;
  runStartedAt: Date;
  /** `schema.identifier` (lower-cased) -> type; kept current by the engine. */
  catalog: Map<string, RelationType>;
  env?: Record<string, string | undefined>;
  log?(message: string, level: "debug" | "info" | "warn"): void;
  /** dbt `graph` context variable (default: empty maps). */
  graph?: Record<string, unknown>;
  /** Text of a model file when it differs from the disk (an unsaved editor); default: read the file. */
  readSource?(file: string): string | undefined;
}

export interface RenderedNode {
  node: EmbeddedNode;
  /** Final SQL (ephemeral CTEs injected). For seeds: empty. */
  sql: string;
  /** Effective config: node config overridden by in-file `config()` calls. */
  config: Record<string, unknown>;
  materialized: string;
  relation: DbtRelation;
  preHooks: string[];
  postHooks: string[];
  /** Relations referenced through ref/source (keys `schema.identifier`, lower-cased). */
  refKeys: string[];
  /** Node ids referenced through ref (ephemeral ones included, transitively). */
  refIds: string[];
}

export type RenderOutcome = { ok: true; value: RenderedNode } | { ok: false; need: DataNeed } | { ok: false; error: EmbeddedRenderError };

interface QueryAnswer {
  rows: Row[];
  columns: ColumnInfo[];
  rowsChanged?: number;
}

interface Frame {
  node: EmbeddedNode;
  config: Record<string, unknown>;
  relation: DbtRelation;
  ctes: Map<string, string>;
  refKeys: Set<string>;
  refIds: Set<string>;
  results: Map<string, unknown>;
  ephemeralChain: string[];
}

interface EphemeralCache {
  sql: string;
  ctes: [string, string][];
  refKeys: string[];
  refIds: string[];
}

// ---------------------------------------------------------------- the renderer

export class DbtRenderer {
  readonly env: nunjucks.Environment;
  private templates = new Map<string, nunjucks.Template>();
  private macroFiles: MacroFile[] = [];
  /** package -> macro name -> file */
  private macroIndex = new Map<string, Map<string, MacroFile>>();
  /** package -> macro name -> callable stub */
  private stubs = new Map<string, Record<string, (...args: unknown[]) => unknown>>();
  private frames: Frame[] = [];
  private pendingNeed: DataNeed | undefined;
  private ephemeralCache = new Map<string, EphemeralCache>();
  /** Final configs of nodes rendered in this step, by id. */
  readonly renderedConfigs = new Map<string, Record<string, unknown>>();
  private prescanCache = new Map<string, Record<string, unknown>>();
  /** Answers of `run_query` / `statement` (cleared after each node by the engine). */
  readonly queryCache = new Map<string, QueryAnswer>();
  /** Columns by relation key (invalidated by the engine when a relation is rebuilt). */
  readonly columnsCache = new Map<string, ColumnInfo[]>();
  private globals: Record<string, unknown>;
  private readonly rootPkg: string;
  private readonly vars: Record<string, unknown>;

  constructor(readonly opts: RendererOptions) {
    this.env = createJinjaEnvironment();
    this.rootPkg = opts.project.name;
    this.vars = opts.project.vars ?? {};
    this.globals = (this.env as unknown as { globals: Record<string, unknown> }).globals;
    this.loadMacroIndex();
    this.installGlobals();
  }

  // ------------------------------------------------------------ macros

  private loadMacroIndex(): void {
    for (const entry of this.opts.macroFiles) {
      const file = readMacroFile(entry.file, entry.package);
      this.macroFiles.push(file);
      let idx = this.macroIndex.get(entry.package);
      if (!idx) this.macroIndex.set(entry.package, (idx = new Map()));
      for (const n of file.names) idx.set(n, file); // later definitions win, as dbt's last-parsed
    }
    for (const [pkg, idx] of this.macroIndex) {
      const ns: Record<string, (...args: unknown[]) => unknown> = {};
      for (const name of idx.keys()) ns[name] = this.makeStub(pkg, name);
      this.stubs.set(pkg, ns);
    }
  }

  private makeStub(pkg: string, name: string): (...args: unknown[]) => unknown {
    const stub = (...args: unknown[]) => this.callMacro(pkg, name, args);
    Object.defineProperty(stub, "name", { value: name });
    return stub;
  }

  private loadMacroFile(file: MacroFile): Record<string, (...args: unknown[]) => unknown> {
    if (file.exports) return file.exports;
    if (file.error) throw file.error;
    try {
      let src = preprocess(readFileSync(file.path, "utf8"), { macroFile: true });
      // nunjucks does not export macros whose name starts with "_" (dbt_utils._is_relation...):
      // re-export them under a public alias, at the end so no line moves.
      const priv = file.names.filter((n) => n.startsWith("_"));
      if (priv.length) src += priv.map((n) => `{% set ${PRIVATE_PREFIX}${n} = ${n} %}`).join("");
      const tmpl = compileTemplate(this.env, src, file.path);
      const ctx = { ...(this.stubs.get(file.pkg) ?? {}) };
      let exported: Record<string, (...args: unknown[]) => unknown> | undefined;
      let err: unknown;
      withDbtJinja(() =>
        (tmpl as unknown as { getExported(c: object, f: null, cb: (e: unknown, r: Record<string, (...args: unknown[]) => unknown>) => void): void }).getExported(ctx, null, (e, r) => {
          err = e;
          exported = r;
        }),
      );
      if (err) throw err;
      const out: Record<string, (...args: unknown[]) => unknown> = { ...(exported ?? {}) };
      for (const n of priv) out[n] = out[`${PRIVATE_PREFIX}${n}`];
      file.exports = out;
      return file.exports;
    } catch (e) {
      file.error = e;
      throw e;
    }
  }

  private callMacro(pkg: string, name: string, args: unknown[]): unknown {
    const file = this.macroIndex.get(pkg)?.get(name);
    if (!file) throw new UnsupportedFeatureError(`${pkg}.${name}`, `macro \`${pkg}.${name}\` is not defined`);
    let fn: ((...a: unknown[]) => unknown) | undefined;
    try {
      fn = this.loadMacroFile(file)[name];
    } catch (e) {
      throw this.describeMacroFileError(file, name, e);
    }
    if (typeof fn !== "function") throw new UnsupportedFeatureError(`${pkg}.${name}`, `macro \`${name}\` of ${file.path} could not be loaded`);
    try {
      const out = fn(...args);
      return out === undefined || out === null ? "" : typeof out === "string" ? out : String(out);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.value;
      if (e instanceof Error && !(e instanceof NeedData)) {
        const stack = ((e as Error & { dbtMacroStack?: string[] }).dbtMacroStack ??= []);
        stack.push(`${name} (${file.path})`);
      }
      throw e;
    }
  }

  private describeMacroFileError(file: MacroFile, name: string, e: unknown): Error {
    if (e instanceof EmbeddedRenderError) return e;
    const described = describeError(e, file.path, "compile", "macro file");
    return new EmbeddedRenderError(`${described.message} (while loading macro \`${name}\`)`, file.path, described.line, described.construct, described.unsupported);
  }

  /**
   * The package defining macro `name`: `namespace` when given, else the root project, else the
   * first installed package that has it (how dbt finds an unqualified generic test).
   */
  macroPackage(name: string, namespace?: string): string | undefined {
    if (namespace) return this.macroIndex.get(namespace)?.has(name) ? namespace : undefined;
    if (this.macroIndex.get(this.rootPkg)?.has(name)) return this.rootPkg;
    for (const [pkg, idx] of this.macroIndex) if (idx.has(name)) return pkg;
    return undefined;
  }

  /** The macro `name` as seen from the root project (project macro > dbt internal). */
  private rootMacro(name: string): ((...args: unknown[]) => unknown) | undefined {
    return this.stubs.get(this.rootPkg)?.[name];
  }

  private dispatch(...args: unknown[]): (...args: unknown[]) => unknown {
    const a = splitArgs(args);
    const name = String(arg(a, 0, "macro_name"));
    const ns = arg<string | null>(a, 1, "macro_namespace", null);
    const legacy = a.kw.packages; // dbt < 1.0: adapter.dispatch(name, packages=[...])
    const namespaces = Array.isArray(legacy) && legacy.length ? legacy.map(String) : ns ? [String(ns)] : [this.rootPkg, "dbt"];
    const searched: string[] = [];
    for (const n of namespaces) {
      for (const candidate of [`duckdb__${name}`, `default__${name}`]) {
        searched.push(`${n}.${candidate}`);
        const stub = this.stubs.get(n)?.[candidate];
        if (stub) return stub;
      }
      if (n === "dbt") {
        const internal = this.internalMacros();
        for (const candidate of [`duckdb__${name}`, `default__${name}`, name]) {
          if (typeof internal[candidate] === "function") return internal[candidate] as (...args: unknown[]) => unknown;
        }
      }
    }
    const message = `In dispatch: No macro named '${name}' found within namespace: '${namespaces.join("', '")}'\n    Searched for: ${searched.map((x) => `'${x}'`).join(", ")}`;
    const missing = namespaces.filter((n) => n !== "dbt" && !this.stubs.has(n));
    if (namespaces.includes("dbt") || missing.length === namespaces.length) {
      const construct = `adapter.dispatch('${name}'${ns ? `, '${ns}'` : ""})`;
      throw new UnsupportedFeatureError(construct, missing.length ? `${message} (is the package '${missing[0]}' installed? run \`dbt deps\`)` : message);
    }
    throw new DbtCompilationError(message);
  }

  private internalCache: Record<string, unknown> | undefined;
  private internalMacros(): Record<string, unknown> {
    if (this.internalCache) return this.internalCache;
    const m: Record<string, unknown> = { ...CROSS_DB_MACROS };
    m.is_incremental = () => this.isIncremental();
    m.should_full_refresh = () => this.shouldFullRefresh();
    m.run_query = (sql: unknown) => this.runQuery(pyStr(sql));
    m.statement = (...args: unknown[]) => this.statement(args);
    m.noop_statement = (...args: unknown[]) => {
      const a = splitArgs(args);
      const name = arg<string | null>(a, 0, "name", null);
      if (name) this.frame.results.set(String(name), { response: { code: arg(a, 1, "message", "OK"), rows_affected: arg(a, 3, "res", 0) }, data: [], table: null });
      return "";
    };
    m.load_result = (name: unknown) => this.frame.results.get(String(name)) ?? null;
    m.store_result = (...args: unknown[]) => {
      const a = splitArgs(args);
      this.frame.results.set(String(arg(a, 0, "name")), { response: arg(a, 1, "response"), table: arg(a, 2, "agate_table", null), data: [] });
      return "";
    };
    m.load_relation = (rel: unknown) => this.getRelation(rel instanceof DbtRelation ? rel : undefined);
    m.generate_schema_name = (custom: unknown) => defaultSchemaName(this.opts.target.schema, custom);
    m.generate_alias_name = (...args: unknown[]) => {
      const a = splitArgs(args);
      const node = arg<Record<string, unknown> | null>(a, 1, "node", null);
      return defaultAliasName(String(node?.name ?? ""), arg(a, 0, "custom_alias_name", null), node?.version ? String(node.version) : undefined);
    };
    m.generate_database_name = (custom: unknown) => defaultDatabaseName(this.opts.target.database, custom);
    m.default__generate_schema_name = m.generate_schema_name;
    m.default__generate_alias_name = m.generate_alias_name;
    m.default__generate_database_name = m.generate_database_name;
    m.get_where_subquery = (rel: unknown) => rel;
    m.set_sql_header = (...args: unknown[]) => {
      const caller = splitArgs(args).kw.caller as (() => unknown) | undefined;
      if (caller) mergeConfig(this.frame.config, { sql_header: pyStr(caller()) });
      return "";
    };
    m.get_columns_in_relation = (rel: unknown) => this.columnsIn(rel);
    m.get_columns_in_query = (sql: unknown) => this.runQueryRaw(`select * from (${pyStr(sql)}) as __dbt_sbq where false limit 0`).columns.map((c) => c.name);
    m.incremental_validate_on_schema_change = (v: unknown, def: unknown = "ignore") => (["ignore", "fail", "append_new_columns", "sync_all_columns"].includes(String(v)) ? v : def);
    this.internalCache = m;
    return m;
  }

  // ------------------------------------------------------------ globals

  private get frame(): Frame {
    const f = this.frames[this.frames.length - 1];
    if (!f) throw new DbtCompilationError("no model is being rendered");
    return f;
  }

  private installGlobals(): void {
    const g = this.globals;
    const internal = this.internalMacros();
    const t = this.opts.target;
    const targetObj = { name: t.name, schema: t.schema, type: "duckdb", database: t.database, dbname: t.database, path: t.path, threads: t.threads, profile_name: this.rootPkg, target_name: t.name, user: "" };

    const ref = (...args: unknown[]) => this.ref(args);
    const source = (...args: unknown[]) => this.source(args);
    const config = Object.assign((...args: unknown[]) => this.config(args), {
      get: (...args: unknown[]) => {
        const a = splitArgs(args);
        const key = configKey(String(arg(a, 0, "name")));
        const v = this.frame.config[key];
        return v === undefined ? arg(a, 1, "default", null) : v;
      },
      require: (name: unknown) => {
        const key = configKey(String(name));
        if (!(key in this.frame.config)) throw new DbtCompilationError(`Required config '${name}' was not found in the config of ${this.frame.node.name}`);
        return this.frame.config[key];
      },
      set: (k: unknown, v: unknown) => {
        mergeConfig(this.frame.config, { [String(k)]: v });
        return "";
      },
      persist_relation_docs: () => false,
      persist_column_docs: () => false,
      meta_get: (k: unknown, d: unknown = null) => ((this.frame.config.meta as Record<string, unknown> | undefined)?.[String(k)] ?? d),
    });
    const varFn = (...args: unknown[]) => this.variable(args);
    const env_var = (...args: unknown[]) => {
      const a = splitArgs(args);
      const name = String(arg(a, 0, "var"));
      const env = this.opts.env ?? process.env;
      const v = env[name];
      if (v !== undefined) return v;
      if (a.pos.length > 1 || "default" in a.kw) return arg(a, 1, "default");
      throw new DbtCompilationError(`Env var required but not provided: '${name}'`);
    };
    const log = (...args: unknown[]) => {
      const a = splitArgs(args);
      this.emitLog(pyStr(arg(a, 0, "msg")), arg(a, 1, "info", false) ? "info" : "debug");
      return "";
    };
    const adapter = strictObject(
      "adapter",
      {
        dispatch: (...args: unknown[]) => this.dispatch(...args),
        type: () => "duckdb",
        quote: (s: unknown) => quoteIdent(pyStr(s)),
        quote_as_configured: (s: unknown) => quoteIdent(pyStr(s)),
        quote_seed_column: (s: unknown) => quoteIdent(pyStr(s)),
        get_relation: (...args: unknown[]) => {
          const a = splitArgs(args);
          return this.getRelation(new DbtRelation(arg(a, 0, "database"), String(arg(a, 1, "schema")), String(arg(a, 2, "identifier"))));
        },
        already_exists: (schema: unknown, name: unknown) => !!this.getRelation(new DbtRelation(undefined, String(schema), String(name))),
        get_columns_in_relation: (rel: unknown) => this.columnsIn(rel),
        get_columns_in_table: (schema: unknown, identifier: unknown) => this.columnsIn(new DbtRelation(undefined, pyStr(schema), pyStr(identifier))),
        check_schema_exists: (...args: unknown[]) => {
          const a = splitArgs(args);
          const schema = String(arg(a, 1, "schema")).toLowerCase();
          return [...this.opts.catalog.keys()].some((k) => k.startsWith(schema + ".")) || this.runQueryRaw(`select 1 from information_schema.schemata where lower(schema_name) = '${schema.replace(/'/g, "''")}'`).rows.length > 0;
        },
        list_relations_without_caching: (rel: unknown) => {
          const schema = rel instanceof DbtRelation ? rel.schema : String(rel);
          const r = this.runQueryRaw(`select table_schema, table_name, table_type from information_schema.tables where lower(table_schema) = lower('${String(schema).replace(/'/g, "''")}')`);
          return r.rows.map((x) => new DbtRelation(undefined, String(x.table_schema), String(x.table_name), x.table_type === "VIEW" ? "view" : "table"));
        },
        get_missing_columns: (from: unknown, to: unknown) => {
          const toNames = new Set((this.columnsIn(to) as DbtColumn[]).map((c) => c.name.toLowerCase()));
          return (this.columnsIn(from) as DbtColumn[]).filter((c) => !toNames.has(c.name.toLowerCase()));
        },
        config: { model: null },
      },
      "use the dbt engine for macros that call adapter methods",
    );
    const api = {
      Relation: {
        create: (...args: unknown[]) => {
          const a = splitArgs(args);
          return new DbtRelation(arg(a, 0, "database"), arg(a, 1, "schema"), String(arg(a, 2, "identifier") ?? ""), arg(a, 3, "type"));
        },
      },
      Column: {
        create: (name: unknown, dtype: unknown) => new DbtColumn(String(name), String(dtype)),
      },
    };
    const exceptions = strictObject("exceptions", {
      raise_compiler_error: (msg: unknown) => {
        throw new DbtCompilationError(pyStr(msg));
      },
      raise_not_implemented: (msg: unknown) => {
        throw new DbtCompilationError(pyStr(msg));
      },
      raise_database_error: (msg: unknown) => {
        throw new DbtCompilationError(pyStr(msg));
      },
      warn: (msg: unknown) => {
        this.emitLog(pyStr(msg), "warn");
        return "";
      },
      raise_fail_fast_error: (msg: unknown) => {
        throw new DbtCompilationError(pyStr(msg));
      },
    });
    const dbtNs = strictObject("dbt", { ...internal }, "not one of the dbt macros the embedded engine implements");
    const returnFn = (v: unknown) => {
      throw new ReturnSignal(v);
    };

    Object.assign(g, internal, {
      True: true,
      False: false,
      None: null,
      ref,
      source,
      config,
      var: varFn,
      env_var,
      log,
      print: log,
      return: returnFn,
      adapter,
      api,
      exceptions,
      target: targetObj,
      project_name: this.rootPkg,
      dbt_version: "1.9.0",
      invocation_id: this.opts.invocationId,
      run_started_at: pyDatetimeFromDate(this.opts.runStartedAt),
      execute: true,
      flags: { FULL_REFRESH: this.opts.fullRefresh, WHICH: "run", STORE_FAILURES: false, WARN_ERROR: false, USE_COLORS: false, FAIL_FAST: false },
      graph: this.opts.graph ?? { nodes: {}, sources: {}, macros: {}, exposures: {}, metrics: {}, groups: {}, semantic_models: {} },
      selected_resources: [],
      modules: { datetime: datetimeModule, re: reModule, pytz: pytzModule },
      builtins: { ref, source, config },
      dbt: dbtNs,
      tojson: (...args: unknown[]) => {
        const a = splitArgs(args);
        const v = arg(a, 0, "value");
        const sort = arg(a, 1, "sort_keys", false);
        return JSON.stringify(sort ? sortKeys(v) : v, (_k, x) => (typeof x === "bigint" ? Number(x) : x));
      },
      fromjson: (...args: unknown[]) => {
        const a = splitArgs(args);
        try {
          return JSON.parse(pyStr(arg(a, 0, "string")));
        } catch {
          return arg(a, 1, "default", null);
        }
      },
      toyaml: (v: unknown) => YAML.stringify(v),
      fromyaml: (...args: unknown[]) => {
        const a = splitArgs(args);
        try {
          return YAML.parse(pyStr(arg(a, 0, "value")));
        } catch {
          return arg(a, 1, "default", null);
        }
      },
      local_md5: (s: unknown) => createHash("md5").update(pyStr(s)).digest("hex"),
      zip: (...args: unknown[]) => {
        const lists = splitArgs(args).pos.map((l) => (Array.isArray(l) ? l : []));
        const n = lists.length ? Math.min(...lists.map((l) => l.length)) : 0;
        return Array.from({ length: n }, (_, i) => makeTuple(lists.map((l) => l[i])));
      },
      zip_strict: (...args: unknown[]) => (g.zip as (...a: unknown[]) => unknown)(...args),
      set: (v: unknown) => [...new Set(Array.isArray(v) ? v : [])],
      set_strict: (v: unknown) => [...new Set(Array.isArray(v) ? v : [])],
      namespace: (...args: unknown[]) => new Namespace(splitArgs(args).kw),
      dict: (...args: unknown[]) => {
        const { pos, kw } = splitArgs(args);
        const out: Record<string, unknown> = {};
        for (const p of pos) {
          if (isPlainObject(p)) Object.assign(out, p);
          else if (Array.isArray(p)) for (const pair of p) if (Array.isArray(pair)) out[String(pair[0])] = pair[1];
        }
        return Object.assign(out, kw);
      },
      try_or_compiler_error: (msg: unknown, fn: unknown, ...rest: unknown[]) => {
        try {
          return (fn as (...a: unknown[]) => unknown)(...rest);
        } catch {
          throw new DbtCompilationError(pyStr(msg));
        }
      },
      diff_of_two_dicts: (a: Record<string, unknown>, b: Record<string, unknown>) => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(a ?? {})) if (!(k in (b ?? {}))) out[k] = v;
        return out;
      },
      __dbt_setattr: (obj: unknown, key: string, value: unknown) => {
        if (obj === null || typeof obj !== "object") throw new DbtCompilationError(`cannot assign attribute '${key}' on ${pyRepr(obj)}`);
        (obj as Record<string, unknown>)[key] = value;
        return "";
      },
    });
    // Package namespaces, then the root project's macros unqualified (they win over dbt's).
    for (const [pkg, ns] of this.stubs) {
      if (pkg === "dbt") Object.assign(dbtNs, ns);
      else g[pkg] = strictObject(pkg, { ...ns }, `no macro by that name in package '${pkg}'`);
    }
    Object.assign(g, this.stubs.get(this.rootPkg) ?? {});
  }

  // ------------------------------------------------------------ dbt functions

  private ref(args: unknown[]): DbtRelation {
    const call = refArguments(splitArgs(args));
    const name = pyStr(call.name);
    const pkg = call.package === undefined ? undefined : pyStr(call.package);
    const version = call.version === undefined || call.version === null ? undefined : pyStr(call.version);
    const f = this.frame;
    const r = this.opts.relations.ref(name, pkg, version);
    if (!r) {
      const what = `${pkg ? `'${pkg}', ` : ""}'${name}'${version ? `, v=${version}` : ""}`;
      throw new DbtCompilationError(`${f.node.resourceType} '${f.node.name}' depends on a node named ${what} which was not found`);
    }
    if (r.kind === "relation") {
      const rel = new DbtRelation(r.database ?? this.opts.target.database, r.schema, r.identifier, this.opts.catalog.get(`${r.schema}.${r.identifier}`.toLowerCase()), !!r.database && r.database !== this.opts.target.database);
      f.refKeys.add(rel.key);
      return rel;
    }
    const node = r.node;
    f.refIds.add(node.id);
    if (this.failedIds.has(node.id)) throw new UpstreamFailed(node.id);
    const cfg = r.kind === "ephemeral" ? { ...this.effectiveConfig(node), materialized: "ephemeral" } : this.effectiveConfig(node);
    if (cfg.materialized === "ephemeral") return this.inlineEphemeral(node, cfg);
    const rel = this.relationFor(node, cfg);
    f.refKeys.add(rel.key);
    return rel;
  }

  private source(args: unknown[]): DbtRelation {
    const call = sourceArguments(splitArgs(args));
    const sourceName = pyStr(call.source);
    const tableName = pyStr(call.table);
    const r = this.opts.relations.source(sourceName, tableName);
    if (!r) throw new DbtCompilationError(`${this.frame.node.resourceType} '${this.frame.node.name}' depends on a source named '${sourceName}.${tableName}' which was not found`);
    const rel = new DbtRelation(r.database ?? this.opts.target.database, r.schema, r.identifier, this.opts.catalog.get(`${r.schema}.${r.identifier}`.toLowerCase()), !!r.database && r.database !== this.opts.target.database);
    this.frame.refKeys.add(rel.key);
    return rel;
  }

  private config(args: unknown[]): string {
    const a = splitArgs(args);
    for (const p of a.pos) if (isPlainObject(p)) mergeConfig(this.frame.config, p);
    mergeConfig(this.frame.config, a.kw);
    return "";
  }

  private variable(args: unknown[]): unknown {
    const a = splitArgs(args);
    const name = pyStr(arg(a, 0, "var_name"));
    const found = lookupVar(name, this.opts.cliVars, this.vars);
    if (found) return found.value;
    if (a.pos.length > 1 || "default" in a.kw) return arg(a, 1, "default");
    const supplied = { ...this.vars, ...this.opts.cliVars };
    throw new DbtCompilationError(`Required var '${name}' not found in config:\nVars supplied to ${this.frames.at(-1)?.node.name ?? "<unknown>"} = ${JSON.stringify(supplied)}`);
  }

  private shouldFullRefresh(): boolean {
    const fr = this.frame.config.full_refresh;
    if (fr === true || fr === false) return fr;
    return this.opts.fullRefresh;
  }

  private isIncremental(): boolean {
    const f = this.frame;
    if (f.config.materialized !== "incremental") return false;
    if (this.shouldFullRefresh()) return false;
    return this.opts.catalog.get(f.relation.key) === "table";
  }

  private getRelation(rel: DbtRelation | undefined): DbtRelation | null {
    if (!rel || !rel.schema) return null;
    const type = this.opts.catalog.get(rel.key);
    return type ? new DbtRelation(rel.database ?? this.opts.target.database, rel.schema, rel.identifier, type, rel.renderDatabase) : null;
  }

  private columnsIn(rel: unknown): DbtColumn[] {
    if (!(rel instanceof DbtRelation)) throw new DbtCompilationError(`get_columns_in_relation expects a relation, got ${pyRepr(rel)}`);
    if (rel.type === "cte") {
      throw new UnsupportedFeatureError("adapter.get_columns_in_relation(<ephemeral model>)", "column introspection of an ephemeral model");
    }
    const key = rel.key;
    const cached = this.columnsCache.get(key);
    if (cached) return cached.map((c) => new DbtColumn(c.name, c.type));
    this.pendingNeed = { kind: "columns", schema: rel.schema ?? this.opts.target.schema, identifier: rel.identifier };
    throw new NeedData(this.pendingNeed);
  }

  private runQueryRaw(sql: string): QueryAnswer {
    const hit = this.queryCache.get(sql);
    if (hit) return hit;
    this.pendingNeed = { kind: "query", sql };
    throw new NeedData(this.pendingNeed);
  }

  private runQuery(sql: string): AgateTable {
    const r = this.runQueryRaw(sql);
    return new AgateTable(r.rows, r.columns);
  }

  private statement(args: unknown[]): string {
    const a = splitArgs(args);
    const name = arg<string | null>(a, 0, "name", null);
    const fetch = !!arg(a, 1, "fetch_result", false);
    const caller = a.kw.caller as (() => unknown) | undefined;
    const sql = caller ? pyStr(caller()) : "";
    if (!sql.trim()) return "";
    const r = this.runQueryRaw(sql);
    if (name) {
      const table = new AgateTable(r.rows, r.columns);
      this.frame.results.set(String(name), {
        response: { code: "OK", rows_affected: r.rowsChanged ?? r.rows.length, _message: "OK" },
        data: fetch ? table.rows.map((row) => makeTuple([...row])) : [],
        table: fetch ? table : null,
      });
    }
    return "";
  }

  // ------------------------------------------------------------ relations and configs

  /** The config a node will run with: its merged config + literal in-file config (prescan), or the final one if rendered. */
  effectiveConfig(node: EmbeddedNode): Record<string, unknown> {
    const done = this.renderedConfigs.get(node.id);
    if (done) return done;
    let pre = this.prescanCache.get(node.file);
    if (!pre) {
      try {
        pre = node.file.endsWith(".sql") ? prescanConfig(readFileSync(node.file, "utf8")) : {};
      } catch {
        pre = {};
      }
      this.prescanCache.set(node.file, pre);
    }
    const cfg = normalizeConfig(node.config);
    mergeConfig(cfg, pre);
    if (!cfg.materialized) cfg.materialized = defaultMaterialization(node);
    return cfg;
  }

  /** Node dict passed to `generate_*_name` macros and exposed as `model`. */
  nodeDict(node: EmbeddedNode, cfg: Record<string, unknown>, rel?: DbtRelation): Record<string, unknown> {
    const rt = node.resourceType;
    const rel2 = node.file.startsWith(this.opts.project.root) ? node.file.slice(this.opts.project.root.length).replace(/^[\\/]/, "") : node.file;
    return {
      name: node.name,
      alias: rel?.identifier ?? cfg.alias ?? node.name,
      schema: rel?.schema ?? this.opts.target.schema,
      database: rel?.database ?? this.opts.target.database,
      unique_id: `${rt}.${this.rootPkg}.${node.name}`,
      resource_type: rt,
      package_name: this.rootPkg,
      original_file_path: rel2,
      path: rel2,
      fqn: [this.rootPkg, ...rel2.replace(/\.(sql|csv|ya?ml)$/, "").split(/[\\/]/).slice(1)],
      config: cfg,
      tags: toArray(cfg.tags),
      meta: cfg.meta ?? {},
      language: "sql",
      version: cfg.version ?? null,
    };
  }

  /** dbt's relation for a node: `generate_schema_name` / `generate_alias_name` / `generate_database_name` (project overrides honoured). */
  relationFor(node: EmbeddedNode, cfg: Record<string, unknown>): DbtRelation {
    const materialized = String(cfg.materialized ?? defaultMaterialization(node));
    if (materialized === "ephemeral") return new DbtRelation(undefined, undefined, `__dbt__cte__${node.name}`, "cte");
    const dict = this.nodeDict(node, cfg);
    const t = this.opts.target;
    const call = (name: string, custom: unknown, fallback: () => string): string => {
      const override = this.rootMacro(name);
      if (!override) return fallback();
      const pushed = this.frames.length === 0 || this.frames[this.frames.length - 1].node !== node;
      if (pushed) this.frames.push(this.namingFrame(node, cfg));
      try {
        return withDbtJinja(() => pyStr(override(custom === undefined ? null : custom, dict))).trim();
      } finally {
        if (pushed) this.frames.pop();
      }
    };
    let schema: string;
    let database: string;
    if (node.resourceType === "snapshot" && cfg.target_schema) {
      schema = String(cfg.target_schema);
      database = cfg.target_database ? String(cfg.target_database) : t.database;
    } else {
      schema = call("generate_schema_name", cfg.schema, () => defaultSchemaName(t.schema, cfg.schema));
      database = call("generate_database_name", cfg.database, () => defaultDatabaseName(t.database, cfg.database));
    }
    const identifier = call("generate_alias_name", cfg.alias, () => defaultAliasName(node.name, cfg.alias, cfg.version == null ? undefined : String(cfg.version)));
    const type = materialized === "view" ? "view" : "table";
    return new DbtRelation(database, schema, identifier, type, database !== t.database);
  }

  private namingFrame(node: EmbeddedNode, cfg: Record<string, unknown>): Frame {
    return { node, config: cfg, relation: new DbtRelation(this.opts.target.database, this.opts.target.schema, node.name), ctes: new Map(), refKeys: new Set(), refIds: new Set(), results: new Map(), ephemeralChain: [] };
  }

  private inlineEphemeral(node: EmbeddedNode, cfg: Record<string, unknown>): DbtRelation {
    const f = this.frame;
    const cteName = `__dbt__cte__${node.name}`;
    const rel = new DbtRelation(undefined, undefined, cteName, "cte");
    if (f.ctes.has(cteName)) return rel;
    if (f.ephemeralChain.includes(node.id)) throw new DbtCompilationError(`ephemeral models form a cycle: ${[...f.ephemeralChain, node.id].join(" -> ")}`);
    let cached = this.ephemeralCache.get(node.id);
    if (!cached) {
      const inner: Frame = {
        node,
        config: cfg,
        relation: rel,
        ctes: new Map(),
        refKeys: new Set(),
        refIds: new Set(),
        results: new Map(),
        ephemeralChain: [...f.ephemeralChain, f.node.id],
      };
      let tmpl: nunjucks.Template;
      try {
        tmpl = this.loadTemplate(node);
      } catch (e) {
        throw describeError(e, node.file, "compile", "ephemeral model");
      }
      let sql: string;
      try {
        sql = this.renderInFrame(inner, tmpl);
      } catch (e) {
        const root = rootCause(e);
        if (e instanceof NeedData || e instanceof ReturnSignal || root instanceof NeedData || root instanceof EmbeddedRenderError || root instanceof UpstreamFailed) throw e;
        throw describeError(e, node.file, "render", "ephemeral model");
      }
      cached = { sql: stripTrailingSemicolon(sql), ctes: [...inner.ctes.entries()], refKeys: [...inner.refKeys], refIds: [...inner.refIds] };
      this.ephemeralCache.set(node.id, cached);
    }
    for (const [n, s] of cached.ctes) if (!f.ctes.has(n)) f.ctes.set(n, s);
    f.ctes.set(cteName, cached.sql);
    for (const k of cached.refKeys) f.refKeys.add(k);
    for (const k of cached.refIds) f.refIds.add(k);
    return rel;
  }

  // ------------------------------------------------------------ templates and rendering

  private loadTemplate(node: EmbeddedNode): nunjucks.Template {
    const key = `${node.resourceType}:${node.name}:${node.file}`;
    let t = this.templates.get(key);
    if (t) return t;
    let src: string;
    if (node.resourceType === "snapshot" && /\.ya?ml$/i.test(node.file)) {
      const relation = node.config.relation;
      if (typeof relation !== "string") throw new DbtCompilationError(`snapshot '${node.name}' defined in YAML has no 'relation' config`);
      src = `select * from {{ ${relation.replace(/^\s*\{\{|\}\}\s*$/g, "")} }}`;
    } else {
      src = node.sql ?? this.opts.readSource?.(node.file) ?? readFileSync(node.file, "utf8");
    }
    const pre = preprocess(src, node.resourceType === "snapshot" ? { snapshotName: node.name } : {});
    t = compileTemplate(this.env, pre, node.file);
    this.templates.set(key, t);
    return t;
  }

  private renderInFrame(frame: Frame, tmpl: nunjucks.Template): string {
    const g = this.globals;
    const prevThis = g.this;
    const prevModel = g.model;
    this.frames.push(frame);
    g.this = frame.relation;
    g.model = this.nodeDict(frame.node, frame.config, frame.relation);
    try {
      return withDbtJinja(() => tmpl.render({}));
    } finally {
      this.frames.pop();
      g.this = prevThis;
      g.model = prevModel;
    }
  }

  /**
   * Renders a model or snapshot to its final SQL (and its hooks), or says which database answer it
   * needs first, or describes why it cannot be rendered.
   */
  renderNode(node: EmbeddedNode): RenderOutcome {
    // Logs are kept until the render is final: a render that stops for a database answer is
    // repeated, and its log() calls with it.
    this.logBuffer = [];
    const out = this.renderNodeOnce(node);
    const logs = this.logBuffer;
    this.logBuffer = undefined;
    if (out.ok || "error" in out) for (const [m, level] of logs) this.opts.log?.(m, level);
    return out;
  }

  private logBuffer: [string, "debug" | "info" | "warn"][] | undefined;
  private emitLog(message: string, level: "debug" | "info" | "warn"): void {
    if (this.logBuffer) this.logBuffer.push([message, level]);
    else this.opts.log?.(message, level);
  }

  /** Nodes that failed (or were skipped) in this step: a ref() to one of them skips the node. */
  readonly failedIds = new Set<string>();

  private renderNodeOnce(node: EmbeddedNode): RenderOutcome {
    this.pendingNeed = undefined;
    let tmpl: nunjucks.Template;
    try {
      tmpl = this.loadTemplate(node);
    } catch (e) {
      return { ok: false, error: describeError(e, node.file, "compile", node.resourceType) };
    }
    const base = normalizeConfig(node.config);
    if (!base.materialized) base.materialized = defaultMaterialization(node);
    let cfg = base;
    // Render; when in-file config changes the relation or the materialization, render again
    // knowing them (so `this` and `is_incremental()` see the final values). The other keys are
    // set again by the template's own config() calls.
    for (let attempt = 0; attempt < 3; attempt++) {
      let relation: DbtRelation;
      try {
        relation = this.relationFor(node, cfg);
      } catch (e) {
        return this.failure(e, node);
      }
      const frame: Frame = { node, config: { ...cfg }, relation, ctes: new Map(), refKeys: new Set(), refIds: new Set(), results: new Map(), ephemeralChain: [] };
      let sql: string;
      let pre: string[];
      let post: string[];
      try {
        sql = this.renderInFrame(frame, tmpl);
        if (!frame.config.materialized) frame.config.materialized = defaultMaterialization(node);
        const finalRel = this.relationFor(node, frame.config);
        if ((finalRel.key !== relation.key || frame.config.materialized !== cfg.materialized) && attempt < 2) {
          cfg = { ...base };
          for (const k of DECISIVE) if (frame.config[k] !== undefined) cfg[k] = frame.config[k];
          this.ephemeralCache.clear();
          continue;
        }
        frame.relation = finalRel;
        pre = toArray(frame.config.pre_hook).map((h) => this.renderHook(frame, h));
        post = toArray(frame.config.post_hook).map((h) => this.renderHook(frame, h));
      } catch (e) {
        return this.failure(e, node);
      }
      const materialized = String(frame.config.materialized);
      this.renderedConfigs.set(node.id, frame.config);
      return {
        ok: true,
        value: {
          node,
          sql: injectCtes(stripTrailingSemicolon(sql), frame.ctes),
          config: frame.config,
          materialized,
          relation: frame.relation,
          preHooks: pre.filter((h) => h.trim()),
          postHooks: post.filter((h) => h.trim()),
          refKeys: [...frame.refKeys],
          refIds: [...frame.refIds],
        },
      };
    }
    return { ok: false, error: new EmbeddedRenderError(`${node.file}: the model's config did not settle`, node.file, undefined, undefined, false) };
  }

  /** Relation and config of a seed (no rendering; project naming macros honoured). */
  seedInfo(node: EmbeddedNode): { ok: true; relation: DbtRelation; config: Record<string, unknown> } | { ok: false; error: EmbeddedRenderError } {
    const cfg = normalizeConfig(node.config);
    cfg.materialized = "seed";
    this.frames.push(this.namingFrame(node, cfg));
    try {
      const relation = this.relationFor(node, { ...cfg, materialized: "table" });
      this.renderedConfigs.set(node.id, cfg);
      return { ok: true, relation, config: cfg };
    } catch (e) {
      const f = this.failure(e, node);
      return { ok: false, error: "error" in f ? f.error : new EmbeddedRenderError(String(e), node.file, undefined, undefined, false) };
    } finally {
      this.frames.pop();
    }
  }

  private hookTemplates = new Map<string, nunjucks.Template>();
  private renderHook(frame: Frame, hook: unknown): string {
    const text = isPlainObject(hook) ? pyStr(hook.sql) : pyStr(hook);
    if (!text.includes("{{") && !text.includes("{%")) return text;
    let t = this.hookTemplates.get(text);
    if (!t) this.hookTemplates.set(text, (t = compileTemplate(this.env, preprocess(text), frame.node.file)));
    return this.renderInFrame(frame, t);
  }

  private failure(e: unknown, node: EmbeddedNode): { ok: false; need: DataNeed } | { ok: false; error: EmbeddedRenderError } {
    const need = this.pendingNeed;
    if (need && (isNeedData(e) || isNeedData((e as { cause?: unknown })?.cause))) {
      this.pendingNeed = undefined;
      return { ok: false, need };
    }
    this.pendingNeed = undefined;
    const root = rootCause(e);
    if (root instanceof UpstreamFailed) return { ok: false, error: new EmbeddedRenderError(`skipped: upstream '${root.upstreamId}' did not succeed`, node.file, undefined, undefined, false, root.upstreamId) };
    return { ok: false, error: describeError(e, node.file, "render", node.resourceType) };
  }

  /** Answers a data need (called by the engine after querying DuckDB). */
  answer(need: DataNeed, answer: QueryAnswer): void {
    if (need.kind === "query") this.queryCache.set(need.sql, answer);
    else this.columnsCache.set(`${need.schema}.${need.identifier}`.toLowerCase(), answer.columns);
  }

  /** Forget cached database answers about a relation that was just rebuilt, and per-node query answers. */
  invalidate(relationKey?: string): void {
    this.queryCache.clear();
    if (relationKey) this.columnsCache.delete(relationKey);
  }
}

/**
 * The names the renderer's Jinja context defines before any macro is loaded (nunjucks' own
 * globals included), with their values: the list the index's scanner must agree with.
 */
export function rendererGlobals(): Record<string, unknown> {
  const renderer = new DbtRenderer({
    project: { name: "project", root: "/", vars: {} },
    target: { name: "dev", type: "duckdb", schema: "main", database: "warehouse", path: ":memory:", threads: 1 },
    cliVars: {},
    macroFiles: [],
    relations: { ref: () => undefined, source: () => undefined },
    fullRefresh: false,
    invocationId: "",
    runStartedAt: new Date(0),
    catalog: new Map(),
  });
  return { ...(renderer.env as unknown as { globals: Record<string, unknown> }).globals };
}

