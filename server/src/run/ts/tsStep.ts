/**
 * Runs one TS asset in a child Node process (never in the caller's process: a user's function may
 * block, crash or leak, and the VS Code extension host must stay clean). Cancel kills the child.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { TsCheckOutcome, TsStepMessage, TsStepRequest } from "./protocol";

export interface TsStepResult {
  status: "success" | "error" | "cancelled";
  ms: number;
  rows?: number;
  metadata?: Record<string, unknown>;
  error?: string;
  /** Everything the asset logged, in order. */
  log: string[];
  /** The asset's checks, when they ran. */
  checks?: TsCheckOutcome[];
}

export interface TsStepOptions {
  signal?: AbortSignal;
  onLog?(level: string, message: string): void;
  /** The `node` executable for the child (a setting in VS Code); default: this process's. */
  nodePath?: string;
}

/** The bundled child entry: beside the running bundle, or the repository's build when run from source. */
export function tsStepScript(): string {
  const candidates = [path.join(__dirname, "ts-step.js"), path.resolve(__dirname, "../../../../packages/tributary-assets/dist/ts-step.js")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`The TS step runner is not built (looked for ${candidates.join(", ")}); run 'npm run build'.`);
  return found;
}

export function runTsStep(request: Omit<TsStepRequest, "type">, options: TsStepOptions = {}): Promise<TsStepResult> {
  const started = performance.now();
  const log: string[] = [];
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve({ status: "cancelled", ms: 0, log });
      return;
    }
    const child = fork(tsStepScript(), [], {
      execPath: options.nodePath,
      execArgv: ["--enable-source-maps"],
      cwd: path.dirname(request.file),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let settled = false;
    let outcome: TsStepResult | undefined;
    const stderr: string[] = [];
    const finish = (result: TsStepResult) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => {
      child.kill("SIGKILL");
      finish({ status: "cancelled", ms: performance.now() - started, log, error: "cancelled" });
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const record = (level: string, message: string) => {
      log.push(`[${level}] ${message}`);
      options.onLog?.(level, message);
    };
    child.stdout!.on("data", (d: Buffer) => record("stdout", d.toString().trimEnd()));
    child.stderr!.on("data", (d: Buffer) => {
      stderr.push(d.toString());
      record("stderr", d.toString().trimEnd());
    });
    child.on("message", (message: TsStepMessage) => {
      if (message.type === "log") record(message.level, message.message);
      else if (message.type === "done") outcome = { status: "success", ms: message.ms, rows: message.rows, metadata: message.metadata, log, ...(message.checks ? { checks: message.checks } : {}) };
      else if (message.type === "error") outcome = { status: "error", ms: performance.now() - started, error: message.stack ?? message.message, log };
    });
    child.on("error", (error) => finish({ status: "error", ms: performance.now() - started, error: `could not start the TS step: ${error.message}`, log }));
    child.on("exit", (code, signal) => {
      if (outcome) finish(outcome);
      else finish({ status: "error", ms: performance.now() - started, error: `the TS step process exited (${signal ?? `code ${code}`}) before finishing${stderr.length ? `:\n${stderr.join("").slice(-2000)}` : ""}`, log });
    });
    child.send({ type: "run", ...request } satisfies TsStepRequest);
  });
}
