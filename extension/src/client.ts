/**
 * The language client: starts the Tributary server, restarts it when it crashes (saying so), and
 * answers "is the server up?" for the command table.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { readSettings } from "./settings";
import { trustHoverLinks } from "./hoverTrust";
import { GraphChangedNotification, type IndexStats, type InitializationOptions } from "../../server/src/protocol/requests";
import type { ServerPhase } from "./lineageFeed";

const MAX_RESTARTS = 5;

export class TributaryClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private restarts = 0;
  /** The server stopped for good (too many crashes, or disposed). */
  private stopped = false;
  /** The running server read the workspace (it sent its first graphChanged). */
  private indexed = false;
  private readonly graphChanged = new vscode.EventEmitter<IndexStats>();
  /** Fires after indexing, edits, file changes and runs (the server polls the run history). */
  readonly onGraphChanged = this.graphChanged.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  get languageClient(): LanguageClient | undefined {
    return this.running ? this.client : undefined;
  }

  /** Starting (or restarting after a crash), reading the workspace the first time, ready, or stopped for good. */
  get phase(): ServerPhase {
    if (this.running) return this.indexed ? "ready" : "indexing";
    return this.stopped ? "stopped" : "starting";
  }

  async start(): Promise<void> {
    const module = this.context.asAbsolutePath(path.join("dist", "server.js"));
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6019"] } },
    };
    const settings = readSettings(vscode.workspace.getConfiguration("tributary"));
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "sql" },
        { scheme: "file", language: "jinja-sql" },
        { scheme: "file", language: "yaml" },
        { scheme: "file", language: "typescript" },
        { scheme: "file", language: "python" },
      ],
      outputChannel: this.output,
      middleware: {
        provideHover: async (document, position, token, next) => trustHoverLinks(await next(document, position, token)),
      },
      initializationOptions: { include: settings.include, exclude: settings.exclude, trusted: vscode.workspace.isTrusted } satisfies InitializationOptions,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => {
          this.restarts++;
          if (this.restarts > MAX_RESTARTS) {
            this.stopped = true;
            void vscode.window.showErrorMessage(`The Tributary language server stopped ${MAX_RESTARTS} times; it will not be restarted. See the "Tributary" output.`, "Show Output").then((c) => c && this.output.show());
            return { action: CloseAction.DoNotRestart };
          }
          void vscode.window.showWarningMessage("The Tributary language server stopped unexpectedly and was restarted.");
          return { action: CloseAction.Restart };
        },
      },
    };
    this.client = new LanguageClient("tributary", "Tributary", serverOptions, clientOptions);
    this.client.onNotification(GraphChangedNotification, (stats) => {
      this.indexed = true;
      this.graphChanged.fire(stats);
    });
    // A (re)started server reads the workspace again before it answers anything useful.
    this.client.onDidChangeState((e) => {
      if (e.newState !== State.Running) this.indexed = false;
    });
    await this.client.start();
  }

  async restart(): Promise<void> {
    this.restarts = 0;
    this.stopped = false;
    if (this.client) await this.client.restart();
    else await this.start();
  }

  async dispose(): Promise<void> {
    this.stopped = true;
    this.graphChanged.dispose();
    await this.client?.stop();
  }
}
