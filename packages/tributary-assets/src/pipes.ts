/**
 * Dagster Pipes, the external-process side, written from the published protocol (version 0.1):
 *
 * - The orchestrator (Dagster's `PipesSubprocessClient`, `PipesK8sClient`, ...) sets two environment
 *   variables, `DAGSTER_PIPES_CONTEXT` and `DAGSTER_PIPES_MESSAGES`, each the base64 text of the
 *   zlib-compressed JSON of a params object (`encodePipesParam` / `decodePipesParam`).
 * - The context params name where the context payload is: `{"path": file}` (a JSON file) or
 *   `{"data": {...}}` (inline). The payload carries the asset keys (as `a/b` strings), run id,
 *   job name, partition key, retry number and the user's extras.
 * - The messages params name where messages go: `{"path": file}` (one JSON object a line,
 *   appended), `{"stdio": "stdout"|"stderr"}`, or `{"buffered_stdio": ...}` (written on close).
 * - Every message is `{"__dagster_pipes_version": "0.1", "method": ..., "params": ...}`; a session
 *   writes `opened` first and `closed` last (with `{"exception": ...}` when it failed).
 *
 * Node built-ins only: this ships in the runtime package users import.
 */
/// <reference types="node" />
import { appendFileSync, readFileSync, writeSync } from "node:fs";
import { deflateSync, inflateSync } from "node:zlib";

export const PIPES_PROTOCOL_VERSION = "0.1";
export const DAGSTER_PIPES_CONTEXT_ENV_VAR = "DAGSTER_PIPES_CONTEXT";
export const DAGSTER_PIPES_MESSAGES_ENV_VAR = "DAGSTER_PIPES_MESSAGES";

export type PipesMethod = "opened" | "closed" | "log" | "report_asset_materialization" | "report_asset_check" | "report_custom_message";

export interface PipesMessage {
  __dagster_pipes_version: string;
  method: PipesMethod;
  params: Record<string, unknown> | null;
}

/** What the orchestrator tells the external process (Dagster's `PipesContextData`). */
export interface PipesContextData {
  asset_keys: string[] | null;
  code_version_by_asset_key?: Record<string, string | null> | null;
  provenance_by_asset_key?: Record<string, unknown> | null;
  partition_key: string | null;
  partition_key_range?: { start: string; end: string } | null;
  partition_time_window?: { start: string; end: string } | null;
  run_id: string;
  job_name: string | null;
  retry_number: number;
  extras: Record<string, unknown>;
}

export type PipesMetadataType =
  | "__infer__" | "text" | "url" | "path" | "notebook" | "json" | "md" | "float" | "int" | "bool"
  | "dagster_run" | "asset" | "null" | "table" | "table_schema" | "table_column_lineage" | "timestamp";

const METADATA_TYPES: ReadonlySet<string> = new Set<PipesMetadataType>([
  "__infer__", "text", "url", "path", "notebook", "json", "md", "float", "int", "bool",
  "dagster_run", "asset", "null", "table", "table_schema", "table_column_lineage", "timestamp",
]);

export interface PipesMetadataValue {
  type: PipesMetadataType;
  raw_value: unknown;
}

export class DagsterPipesError extends Error {
  override name = "DagsterPipesError";
}

/** `base64(zlib(JSON))`, Dagster's `encode_param`. */
export function encodePipesParam(value: unknown): string {
  return deflateSync(Buffer.from(JSON.stringify(value), "utf8")).toString("base64");
}

/** The inverse of `encodePipesParam`; throws a `DagsterPipesError` naming `what` when the text is not one. */
export function decodePipesParam(text: string, what = "a Pipes param"): unknown {
  let json: string;
  try {
    json = inflateSync(Buffer.from(text, "base64")).toString("utf8");
  } catch (error) {
    throw new DagsterPipesError(`${what} is not base64 of zlib-compressed JSON (${(error as Error).message}).`);
  }
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new DagsterPipesError(`${what} does not hold JSON (${(error as Error).message}).`);
  }
}

/** Whether this process was launched by a Dagster Pipes client (the context variable is set). */
export function isDagsterPipesProcess(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return typeof env[DAGSTER_PIPES_CONTEXT_ENV_VAR] === "string" && env[DAGSTER_PIPES_CONTEXT_ENV_VAR] !== "";
}

/** Asset key segments -> Dagster's user string (`a/b`, with `/` and `\` inside a segment escaped). */
export function toPipesAssetKey(key: readonly string[]): string {
  return key.map((part) => part.replace(/[\\/]/g, (c) => `\\${c}`)).join("/");
}

/** Dagster's user string -> key segments (`\x` de-escapes to `x`). */
export function fromPipesAssetKey(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\" && i + 1 < text.length) current += text[++i];
    else if (ch === "/") {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  if (current) parts.push(current);
  return parts;
}

/** `{ rows: 3, note: "x" }` -> Pipes metadata entries (`{type, raw_value}`); values already in that shape pass through. */
export function pipesMetadata(values: Record<string, unknown>): Record<string, PipesMetadataValue> {
  const out: Record<string, PipesMetadataValue> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (isTypedMetadata(value)) out[key] = { type: value.type, raw_value: jsonSafe(value.raw_value) };
    else out[key] = { type: "__infer__", raw_value: jsonSafe(value) };
  }
  return out;
}

function isTypedMetadata(value: unknown): value is PipesMetadataValue {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && keys.includes("type") && keys.includes("raw_value") && METADATA_TYPES.has(String((value as PipesMetadataValue).type));
}

/** Values JSON can carry: bigints (DuckDB counts) become numbers when exact, else strings; dates ISO strings. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value ?? null, (_key, v: unknown) => {
      if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      return v;
    }),
  ) as unknown;
}

// ---------------------------------------------------------------- params, context, channel

function asParams(value: unknown, variable: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new DagsterPipesError(`${variable} must decode to a JSON object, got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}.`);
  }
  return value as Record<string, unknown>;
}

/** Dagster's default context loader: `{"path": file}` or `{"data": {...}}`. */
export function loadPipesContext(params: Record<string, unknown>): PipesContextData {
  let data: unknown;
  if ("path" in params) {
    if (typeof params.path !== "string") throw new DagsterPipesError(`The Pipes context "path" must be a string.`);
    try {
      data = JSON.parse(readFileSync(params.path, "utf8")) as unknown;
    } catch (error) {
      throw new DagsterPipesError(`Could not read the Pipes context file ${params.path}: ${(error as Error).message}`);
    }
  } else if ("data" in params) {
    data = params.data;
  } else {
    throw new DagsterPipesError(`Invalid Pipes context params: expected a "path" or "data" key, got ${JSON.stringify(Object.keys(params))}.`);
  }
  const context = asParams(data, "The Pipes context");
  if (typeof context.run_id !== "string") throw new DagsterPipesError("The Pipes context has no run_id.");
  return {
    asset_keys: Array.isArray(context.asset_keys) ? context.asset_keys.map(String) : null,
    code_version_by_asset_key: (context.code_version_by_asset_key as PipesContextData["code_version_by_asset_key"]) ?? null,
    provenance_by_asset_key: (context.provenance_by_asset_key as PipesContextData["provenance_by_asset_key"]) ?? null,
    partition_key: typeof context.partition_key === "string" ? context.partition_key : null,
    partition_key_range: (context.partition_key_range as PipesContextData["partition_key_range"]) ?? null,
    partition_time_window: (context.partition_time_window as PipesContextData["partition_time_window"]) ?? null,
    run_id: context.run_id,
    job_name: typeof context.job_name === "string" ? context.job_name : null,
    retry_number: typeof context.retry_number === "number" ? context.retry_number : 0,
    extras: context.extras && typeof context.extras === "object" && !Array.isArray(context.extras) ? (context.extras as Record<string, unknown>) : {},
  };
}

export interface PipesChannel {
  write(message: PipesMessage): void;
  close(): void;
}

/** Dagster's default message writer: a file (one message a line), stdout/stderr, or buffered stdio. */
export function openPipesChannel(params: Record<string, unknown>): PipesChannel {
  const line = (message: PipesMessage) => JSON.stringify(message) + "\n";
  const stream = (value: unknown, key: string): number => {
    if (value === "stdout") return 1;
    if (value === "stderr") return 2;
    throw new DagsterPipesError(`Invalid Pipes messages params: "${key}" must be "stdout" or "stderr", got ${JSON.stringify(value)}.`);
  };
  if ("path" in params) {
    if (typeof params.path !== "string") throw new DagsterPipesError(`The Pipes messages "path" must be a string.`);
    const file = params.path;
    return { write: (m) => appendFileSync(file, line(m)), close: () => undefined };
  }
  if ("stdio" in params) {
    const fd = stream(params.stdio, "stdio");
    return { write: (m) => writeAll(fd, line(m)), close: () => undefined };
  }
  if ("buffered_stdio" in params) {
    const fd = stream(params.buffered_stdio, "buffered_stdio");
    const buffer: string[] = [];
    return { write: (m) => buffer.push(line(m)), close: () => writeAll(fd, buffer.splice(0).join("")) };
  }
  throw new DagsterPipesError(`Invalid Pipes messages params: expected a "path", "stdio" or "buffered_stdio" key, got ${JSON.stringify(Object.keys(params))}.`);
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
}

// ---------------------------------------------------------------- session

export type PipesLogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

export interface PipesException {
  message: string;
  stack: string[];
  name: string | null;
  cause: PipesException | null;
  context: PipesException | null;
}

/** One Pipes connection: `opened` is written when it opens, `closed` by `close()` (idempotent). */
export class PipesSession {
  private closed = false;
  private readonly materialized = new Set<string>();

  constructor(
    readonly context: PipesContextData,
    private readonly channel: PipesChannel,
  ) {
    this.write("opened", { extras: {} });
  }

  /** The single asset key in scope (as a Dagster user string), or the given one after checking it is in scope. */
  resolveAssetKey(assetKey: string | undefined, method: string): string {
    const keys = this.context.asset_keys;
    if (keys && keys.length > 0) {
      if (assetKey !== undefined && !keys.includes(assetKey)) throw new DagsterPipesError(`Invalid asset key for ${method}: expected one of ${JSON.stringify(keys)}, got '${assetKey}'.`);
      if (assetKey === undefined) {
        if (keys.length !== 1) throw new DagsterPipesError(`${method} without an asset key is undefined: this step targets ${keys.length} assets.`);
        return keys[0];
      }
    }
    if (assetKey === undefined) throw new DagsterPipesError(`${method} without an asset key is undefined: this step targets no asset.`);
    return assetKey;
  }

  log(level: PipesLogLevel, message: string): void {
    this.write("log", { message, level });
  }

  reportAssetMaterialization(report: { assetKey?: string; metadata?: Record<string, unknown>; dataVersion?: string } = {}): void {
    const assetKey = this.resolveAssetKey(report.assetKey, "report_asset_materialization");
    if (this.materialized.has(assetKey)) throw new DagsterPipesError(`The asset '${assetKey}' was already reported as materialized in this session.`);
    const metadata = report.metadata && Object.keys(report.metadata).length > 0 ? pipesMetadata(report.metadata) : null;
    this.write("report_asset_materialization", { asset_key: assetKey, data_version: report.dataVersion ?? null, metadata });
    this.materialized.add(assetKey);
  }

  reportAssetCheck(report: { checkName: string; passed: boolean; severity?: "ERROR" | "WARN"; metadata?: Record<string, unknown>; assetKey?: string }): void {
    const assetKey = this.resolveAssetKey(report.assetKey, "report_asset_check");
    const metadata = report.metadata && Object.keys(report.metadata).length > 0 ? pipesMetadata(report.metadata) : null;
    this.write("report_asset_check", { asset_key: assetKey, check_name: report.checkName, passed: report.passed, metadata, severity: report.severity ?? "ERROR" });
  }

  reportCustomMessage(payload: unknown): void {
    this.write("report_custom_message", { payload: jsonSafe(payload) });
  }

  /** Writes `closed` (with the exception when the work failed) and releases the channel. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.write("closed", error === undefined ? {} : { exception: pipesException(error) });
    this.closed = true;
    this.channel.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private write(method: PipesMethod, params: Record<string, unknown> | null): void {
    if (this.closed) throw new DagsterPipesError(`Cannot send '${method}' after the Pipes session is closed.`);
    this.channel.write({ __dagster_pipes_version: PIPES_PROTOCOL_VERSION, method, params });
  }
}

export function pipesException(error: unknown, depth = 0): PipesException {
  const e = error instanceof Error ? error : new Error(String(error));
  const stack = (e.stack ?? "").split("\n").slice(1).map((l) => l.trim()).filter(Boolean);
  const cause = depth < 5 && e.cause !== undefined ? pipesException(e.cause, depth + 1) : null;
  return { message: e.message, stack, name: e.name || null, cause, context: null };
}

/**
 * Opens the Pipes session Dagster asked for through the environment; undefined when the process
 * was not launched by Dagster. Throws a `DagsterPipesError` on malformed params.
 */
export function openDagsterPipes(env: Readonly<Record<string, string | undefined>> = process.env): PipesSession | undefined {
  if (!isDagsterPipesProcess(env)) return undefined;
  const contextParams = asParams(decodePipesParam(env[DAGSTER_PIPES_CONTEXT_ENV_VAR]!, DAGSTER_PIPES_CONTEXT_ENV_VAR), DAGSTER_PIPES_CONTEXT_ENV_VAR);
  const raw = env[DAGSTER_PIPES_MESSAGES_ENV_VAR];
  if (!raw) throw new DagsterPipesError(`${DAGSTER_PIPES_CONTEXT_ENV_VAR} is set but ${DAGSTER_PIPES_MESSAGES_ENV_VAR} is not.`);
  const messagesParams = asParams(decodePipesParam(raw, DAGSTER_PIPES_MESSAGES_ENV_VAR), DAGSTER_PIPES_MESSAGES_ENV_VAR);
  const context = loadPipesContext(contextParams);
  return new PipesSession(context, openPipesChannel(messagesParams));
}
