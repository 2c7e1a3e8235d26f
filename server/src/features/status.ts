/**
 * Asset status for hovers and code lenses, read from the run history under `<root>/.tributary/`.
 * Statuses are computed lazily and cached until the graph or the history changes; `poll()` notices
 * runs written by other processes (the CLI, the extension's runner).
 */
import { lstatSync, statSync } from "node:fs";
import * as path from "node:path";
import type { WorkspaceIndex } from "../index/workspace";
import type { CheckSummary } from "../protocol/checks";
import type { AssetStatus, StatusSummary } from "../protocol/status";
import { checkSummaries } from "../run/checkStatus";
import { EVENTS_FILE, HISTORY_DIR, HistoryStore } from "../run/history";
import { currentCodeVersion } from "../run/runner";
import { computeStatus, describeStatus } from "../run/status";

export class StatusService {
  private store: HistoryStore | undefined;
  private statuses: Map<string, AssetStatus> | undefined;
  private readonly versions = new Map<string, { mtimeMs: number; id: string; version: string | undefined }>();
  private historySize = -1;

  constructor(
    private readonly roots: string[],
    private readonly index: () => WorkspaceIndex | undefined,
  ) {}

  /**
   * The workspace folder whose `.tributary/history` holds the runs (the first that has one). The
   * history comes with the repository too: only a regular file counts (a FIFO or a link to
   * /dev/zero there would hang the server's reads).
   */
  private historyRoot(): string | undefined {
    return this.roots.find((root) => {
      try {
        return lstatSync(path.join(root, HISTORY_DIR, EVENTS_FILE)).isFile();
      } catch {
        return false;
      }
    });
  }

  /** The history store, once a run was recorded. */
  history(): HistoryStore | undefined {
    if (!this.store) this.poll();
    return this.store;
  }

  invalidate(): void {
    this.statuses = undefined;
  }

  /** Re-reads the history when its file changed; true when statuses may have changed. */
  poll(): boolean {
    const root = this.historyRoot();
    if (!root) return false;
    const size = statSync(path.join(root, HISTORY_DIR, EVENTS_FILE)).size;
    if (size === this.historySize) return false;
    this.historySize = size;
    try {
      if (!this.store) this.store = HistoryStore.open(root, { markInterrupted: false });
      else this.store.reload();
    } catch {
      // An unreadable history (a directory, no permission) shows as no history; the CLI says why.
      return false;
    }
    this.statuses = undefined;
    return true;
  }

  status(id: string): AssetStatus | undefined {
    const index = this.index();
    if (!index) return undefined;
    if (!this.store) this.poll();
    if (!this.store) return undefined;
    this.statuses ??= computeStatus(index.graph, this.store, (asset) => this.codeVersion(index, asset));
    return this.statuses.get(id);
  }

  /** An asset's checks with their last results (empty when it has none). */
  readonly checks = (id: string): CheckSummary[] => {
    const index = this.index();
    const checks = index?.checks().byAsset.get(id);
    if (!checks?.length) return [];
    if (!this.store) this.poll();
    return checkSummaries(checks, this.store);
  };

  /** The one-line status hovers and lenses show. */
  readonly line = (id: string): StatusSummary | undefined => {
    const status = this.status(id);
    return status ? describeStatus(status) : undefined;
  };

  /** Code versions cached by file modification time, so a status refresh does not re-hash every model. */
  private codeVersion(index: WorkspaceIndex, id: string): string | undefined {
    const file = index.graph.get(id)?.file;
    if (!file) return undefined;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    const key = `${id}\u0000${file}`;
    const cached = this.versions.get(key);
    if (cached && cached.mtimeMs === mtimeMs) return cached.version;
    const version = currentCodeVersion(index, id);
    this.versions.set(key, { mtimeMs, id, version });
    return version;
  }
}
