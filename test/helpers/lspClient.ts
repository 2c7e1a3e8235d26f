/** A real LSP client over stdio for protocol tests: spawns the built server and speaks JSON-RPC. */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { after, before } from "node:test";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import type { PublishDiagnosticsParams } from "vscode-languageserver-protocol";
import { URI } from "vscode-uri";
import { GraphChangedNotification } from "../../server/src/protocol/requests";
import { copyExample } from "./workspace";

export const SERVER = path.resolve(__dirname, "../../dist/server.js");

export class LspClient {
  readonly connection: MessageConnection;
  /** Latest diagnostics per absolute file path (messages as plain text). */
  readonly diagnostics = new Map<string, { message: string; code?: string | number; severity?: number; range: { start: { line: number; character: number }; end: { line: number; character: number } } }[]>();
  readonly stderr: string[] = [];
  /** What the server logged (window/logMessage), in order. */
  readonly logs: string[] = [];
  /** The server's answer to `initialize`. */
  initializeResult: { capabilities: Record<string, unknown>; serverInfo?: { name: string; version?: string } } | undefined;
  /** Answers to `sendRaw` requests (ids starting "raw-"), read off the server's stdout. */
  readonly rawAnswers = new Map<string, { result?: unknown; error?: { code: number; message: string } }>();
  private stdoutBytes = Buffer.alloc(0);
  private listeners: (() => void)[] = [];
  /** How many times the server said the graph changed (the first is the end of indexing). */
  graphChanges = 0;
  private exited = false;

  private constructor(readonly child: ChildProcess) {
    this.connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.connection.onNotification("textDocument/publishDiagnostics", (params: PublishDiagnosticsParams) => {
      const plain = params.diagnostics.map((d) => ({ ...d, message: typeof d.message === "string" ? d.message : d.message.value }));
      this.diagnostics.set(URI.parse(params.uri).fsPath, plain);
      this.notify();
    });
    this.connection.onNotification(GraphChangedNotification, () => {
      this.graphChanges++;
      this.notify();
    });
    this.connection.onNotification("window/logMessage", (params: { message: string }) => {
      this.logs.push(params.message);
      this.notify();
    });
    this.connection.onNotification(() => this.notify());
    this.connection.onRequest("client/registerCapability", () => null);
    this.connection.onRequest("workspace/configuration", () => []);
    child.stderr!.on("data", (d: Buffer) => this.stderr.push(d.toString()));
    child.stdout!.on("data", (chunk: Buffer) => this.readRawAnswers(chunk));
    child.on("exit", () => {
      this.exited = true;
      this.notify();
    });
    this.connection.listen();
  }

  /**
   * `initializationOptions`: what the extension sends (e.g. `{ trusted: true }` for the SQL features).
   * `beforeInitialized`: runs between the initialize answer and the `initialized` notification (the server indexes on the latter).
   */
  static async start(root: string, initializationOptions?: Record<string, unknown>, beforeInitialized?: (client: LspClient) => void): Promise<LspClient> {
    const child = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const client = new LspClient(child);
    client.initializeResult = await client.connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: URI.file(root).toString(),
      workspaceFolders: [{ uri: URI.file(root).toString(), name: path.basename(root) }],
      capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } },
      initializationOptions,
    });
    beforeInitialized?.(client);
    await client.connection.sendNotification("initialized", {});
    return client;
  }

  /** Starts the server and waits until the first index is built. */
  static async ready(root: string, timeoutMs = 60_000, initializationOptions?: Record<string, unknown>): Promise<LspClient> {
    const client = await LspClient.start(root, initializationOptions);
    await client.waitFor(() => client.graphChanges > 0, timeoutMs, "first index");
    return client;
  }

  get alive(): boolean {
    return !this.exited;
  }

  private notify(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** Waits until `check` holds, re-checking after every message from the server. */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = "condition"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (this.exited) throw new Error(`server exited while waiting for ${what}: ${this.stderr.join("")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Writes JSON-RPC messages to the server in one write, so it reads them together (a request and
   * its `$/cancelRequest` back to back, which a client sending them one by one cannot promise).
   * Request ids must start with "raw-"; their answers arrive in `rawAnswers`.
   */
  sendRaw(messages: object[]): void {
    const frames = messages.map((m) => {
      const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...m }), "utf8");
      return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, "ascii"), body]);
    });
    this.child.stdin!.write(Buffer.concat(frames));
  }

  private readRawAnswers(chunk: Buffer): void {
    this.stdoutBytes = Buffer.concat([this.stdoutBytes, chunk]);
    for (;;) {
      const headerEnd = this.stdoutBytes.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.stdoutBytes.subarray(0, headerEnd).toString("ascii"))?.[1]);
      if (this.stdoutBytes.length < headerEnd + 4 + length) return;
      const body = this.stdoutBytes.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8");
      this.stdoutBytes = this.stdoutBytes.subarray(headerEnd + 4 + length);
      const message = JSON.parse(body) as { id?: unknown; result?: unknown; error?: { code: number; message: string } };
      if (typeof message.id === "string" && message.id.startsWith("raw-")) {
        this.rawAnswers.set(message.id, { result: message.result, error: message.error });
        this.notify();
      }
    }
  }

  open(file: string, text: string, languageId = file.endsWith(".sql") ? "sql" : file.endsWith(".ts") ? "typescript" : "yaml"): Promise<void> {
    return this.connection.sendNotification("textDocument/didOpen", { textDocument: { uri: URI.file(file).toString(), languageId, version: 1, text } });
  }

  change(file: string, version: number, text: string): Promise<void> {
    return this.connection.sendNotification("textDocument/didChange", { textDocument: { uri: URI.file(file).toString(), version }, contentChanges: [{ text }] });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      try {
        await Promise.race([this.connection.sendRequest("shutdown"), new Promise((r) => setTimeout(r, 2000))]);
        await this.connection.sendNotification("exit");
      } catch {
        // the server may be gone already
      }
    }
    this.connection.dispose();
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

export function uri(file: string): string {
  return URI.file(file).toString();
}

/** The served copy of one `describe` block (see `serveCopy`). */
export interface ServedCopy {
  readonly client: LspClient;
  readonly root: string;
}

/**
 * For the tests of one `describe`: a fresh copy of the example (or of `source`), `prepare` run on
 * it, and the real server over stdio on it once it has indexed; stopped and removed after them.
 */
export function serveCopy(options: { source?: string; prepare?: (root: string) => void; initializationOptions?: Record<string, unknown> } = {}): ServedCopy {
  let ws: { root: string; dispose: () => void } | undefined;
  let client: LspClient | undefined;
  before(async () => {
    ws = copyExample(options.source);
    options.prepare?.(ws.root);
    client = await LspClient.ready(ws.root, 60_000, options.initializationOptions);
  });
  after(async () => {
    await client?.stop();
    ws?.dispose();
  });
  return {
    get client(): LspClient {
      if (!client) throw new Error("the server is not started (serveCopy is used outside its describe's tests)");
      return client;
    },
    get root(): string {
      if (!ws) throw new Error("the copy is not made (serveCopy is used outside its describe's tests)");
      return ws.root;
    },
  };
}
