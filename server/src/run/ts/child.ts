/**
 * The child process that runs one TS asset: registers the built-in IO managers (io.ts), loads the
 * user's module (transpiled on the fly), loads the inputs through the registered IO managers,
 * calls the asset function with `ctx`, stores the result through its IO manager.
 * It talks to the runner over Node's IPC channel (see protocol.ts) and exits when done.
 *
 * It dies with its runner: when the IPC channel closes or its parent changes (the runner was
 * killed), it exits at once. And it never writes for a run that no longer holds the warehouse
 * lock: before storing a value and before every statement on `ctx.warehouse`, it checks that its
 * runner is still its parent and that the lock file still names the run's token.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { installTsLoader } from "./loader";
import { BUILTIN_IO_MANAGERS, keyRelations, type BuiltinIOEnv, type Relation, type StepIOManager } from "./io";
import type { TsCheckOutcome, TsStepMessage, TsStepRequest } from "./protocol";
import { Warehouse } from "../warehouse";

interface RuntimeModule {
  isCheckDefinition?(x: unknown): boolean;
  registerIOManager(name: string, manager: StepIOManager): void;
  getIOManager(name: string): StepIOManager | undefined;
  isAssetDefinition(x: unknown): boolean;
}

interface AssetLike {
  key: string[];
  fn: (inputs: Record<string, unknown>, ctx: unknown) => unknown;
  options?: { checks?: { name: string; fn: (value: unknown, ctx: unknown) => unknown }[] };
}

const RUNTIME = path.join(__dirname, "index.js");

function send(message: TsStepMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

/** The exit code of a step whose runner is gone (nobody reads it; it tells `ps` watchers why). */
const RUNNER_GONE = 70;

/** Throws unless this step's run may still write: its runner is alive and holds the warehouse lock. */
function assertMayWrite(request: TsStepRequest): void {
  let why: string | undefined;
  if (!process.connected || process.ppid !== request.runnerPid) why = "its runner has stopped";
  else {
    let token: unknown;
    try {
      token = (JSON.parse(readFileSync(request.lock.file, "utf8")) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    if (token !== request.lock.token) why = "another process removed or took over the warehouse lock";
  }
  if (why) throw new Error(`The run no longer holds the warehouse lock (${why}): nothing was written.`);
}

function dieWithRunner(runnerPid: number): void {
  process.once("disconnect", () => process.exit(RUNNER_GONE));
  // The channel's close is noticed only when the event loop turns; the parent pid is checked too.
  setInterval(() => {
    if (process.ppid !== runnerPid) process.exit(RUNNER_GONE);
  }, 500).unref();
}

async function run(request: TsStepRequest): Promise<void> {
  dieWithRunner(request.runnerPid);
  installTsLoader(RUNTIME, request.cacheDir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = require(RUNTIME) as RuntimeModule;
  let warehouse: Warehouse | undefined;
  const openWarehouse = async () => (warehouse ??= await Warehouse.open(request.warehousePath));
  const log = (level: "debug" | "info" | "warn" | "error") => (message: string) => void send({ type: "log", level, message: String(message) });
  const metadata: Record<string, unknown> = {};
  const lazyWarehouse = {
    query: async (sql: string, params?: unknown[]) => {
      assertMayWrite(request); // a query may write too
      return (await openWarehouse()).query(sql, params as never);
    },
    run: async (sql: string, params?: unknown[]) => {
      assertMayWrite(request);
      await (await openWarehouse()).run(sql, params as never);
    },
  };
  const ctx = {
    runId: request.runId,
    assetKey: request.key,
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    warehouse: lazyWarehouse,
    metadata: (values: Record<string, unknown>) => Object.assign(metadata, values),
    dagster: request.dagster,
  };
  const started = performance.now();
  try {
    // The built-ins first, registered like a user's: the user's module may replace them.
    const relations = keyRelations(request);
    const env: BuiltinIOEnv = {
      storageDir: request.storageDir,
      warehouse: openWarehouse,
      relationOf: (key) => needRelation(relations.get(key.join("/")), key),
      assertMayWrite: () => assertMayWrite(request),
    };
    for (const [name, builtin] of Object.entries(BUILTIN_IO_MANAGERS)) runtime.registerIOManager(name, builtin.create(env));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(request.file) as Record<string, unknown>;
    const definition = findAsset(module, request, runtime);
    if (request.checksOnly) {
      const value = await ioManager(runtime, request.output.io).load(request.key, ctx);
      await send({ type: "done", metadata: plainMetadata(metadata), ms: performance.now() - started, checks: await runChecks(checksOf(definition, request, runtime), value, ctx) });
      return;
    }
    const inputs: Record<string, unknown> = {};
    for (const input of request.inputs) inputs[input.name] = await ioManager(runtime, input.io).load(input.key, { ...ctx, assetKey: input.key });
    const value = await definition.fn(inputs, ctx);
    assertMayWrite(request);
    const stored = await ioManager(runtime, request.output.io).store(request.key, value, ctx);
    Object.assign(metadata, stored?.metadata ?? {});
    const checks = request.runChecks === false ? undefined : await runChecks(checksOf(definition, request, runtime), value, ctx);
    await send({ type: "done", rows: stored?.rows, metadata: plainMetadata(metadata), ms: performance.now() - started, checks });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    await send({ type: "error", message: e.message, stack: e.stack });
  } finally {
    warehouse?.close();
  }
}

/** Calls each of the asset's checks on its value: `true`/`false` or `{ passed, failures, message }`; a throw is an error. */
async function runChecks(checks: { name: string; fn: (value: unknown, ctx: unknown) => unknown; blocking?: boolean }[], value: unknown, ctx: unknown): Promise<TsCheckOutcome[]> {
  const out: TsCheckOutcome[] = [];
  for (const check of checks) {
    const blocking = check.blocking === false ? { blocking: false } : {};
    const t0 = performance.now();
    try {
      const r = await check.fn(value, ctx);
      if (typeof r === "boolean") out.push({ name: check.name, passed: r, ms: performance.now() - t0, ...blocking });
      else if (r && typeof r === "object" && typeof (r as { passed?: unknown }).passed === "boolean") {
        const v = r as { passed: boolean; failures?: unknown; message?: unknown };
        const outcome: TsCheckOutcome = { name: check.name, passed: v.passed, ms: performance.now() - t0, ...blocking };
        if (typeof v.failures === "number") outcome.failures = v.failures;
        if (typeof v.message === "string") outcome.message = v.message;
        out.push(outcome);
      } else {
        out.push({ name: check.name, passed: false, ms: performance.now() - t0, error: `the check returned ${JSON.stringify(r) ?? String(r)}, not true/false or { passed }`, ...blocking });
      }
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      out.push({ name: check.name, passed: false, ms: performance.now() - t0, error: e.stack ?? e.message, ...blocking });
    }
  }
  return out;
}

/** The asset's own `checks`, then the `check()` definitions the runner named (loaded from their modules). */
function checksOf(definition: AssetLike, request: TsStepRequest, runtime: RuntimeModule): { name: string; fn: (value: unknown, ctx: unknown) => unknown }[] {
  const out = [...(definition.options?.checks ?? [])];
  for (const ref of request.externalChecks ?? []) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const value = (require(ref.file) as Record<string, unknown>)[ref.exportName];
    if (!runtime.isCheckDefinition?.(value)) {
      out.push({ name: ref.exportName, fn: () => { throw new Error(`${path.basename(ref.file)} does not export a check() named '${ref.exportName}'`); } });
      continue;
    }
    out.push(value as { name: string; fn: (value: unknown, ctx: unknown) => unknown });
  }
  return out;
}

function findAsset(module: Record<string, unknown>, request: TsStepRequest, runtime: RuntimeModule): AssetLike {
  const byName = request.exportName ? module[request.exportName] : undefined;
  if (byName && runtime.isAssetDefinition(byName)) return byName as AssetLike;
  const wanted = request.key.join("/");
  for (const value of Object.values(module)) {
    if (runtime.isAssetDefinition(value) && (value as AssetLike).key.join("/") === wanted) return value as AssetLike;
  }
  throw new Error(`${path.basename(request.file)} does not export the asset '${wanted}'${request.exportName ? ` (looked for the export '${request.exportName}')` : ""}.`);
}

/** Metadata as JSON can carry it over IPC and into the history: bigints (DuckDB counts) become numbers when exact, else strings. */
function plainMetadata(values: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(values, (_key, v: unknown) => (typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v))) as Record<string, unknown>;
}

function needRelation(relation: Relation | undefined, key: string[]): Relation {
  if (!relation) throw new Error(`No warehouse table is known for '${key.join("/")}'.`);
  return relation;
}

function ioManager(runtime: RuntimeModule, name: string): StepIOManager {
  const manager = runtime.getIOManager(name);
  if (!manager) throw new Error(`No IO manager named '${name}' is registered (call registerIOManager("${name}", ...) in a module the asset file imports).`);
  return manager;
}

process.once("message", (request: TsStepRequest) => {
  void run(request).finally(() => {
    process.removeAllListeners("disconnect");
    process.disconnect?.();
  });
});
