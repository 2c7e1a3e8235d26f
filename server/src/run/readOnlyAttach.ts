/**
 * Quick read-only access to a warehouse file for the editor's SQL features (compiled SQL, preview):
 * one long-lived in-memory DuckDB instance ATTACHes the file read-only for the time of one use and
 * DETACHes it after, so nothing holds the file between uses (a run can open it for writing) and no
 * use pays for a new instance (about 2 ms instead of 10–90 ms). Uses are serialized.
 */
import { existsSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { quoteIdent, Warehouse } from "./warehouse";

const RESERVED = new Set(["memory", "system", "temp", "main"]);

export class ReadOnlyAttacher {
  private host: Promise<DuckDBInstance> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs `use` with `file` attached read-only as `name` (the target's database name, so
   * three-part names in compiled SQL resolve) and made current. `undefined` when the file does not
   * exist or cannot be attached (a run is writing it).
   */
  with<T>(file: string, name: string, use: (warehouse: Warehouse | undefined) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const warehouse = await this.attach(file, name).catch(() => undefined);
      try {
        return await use(warehouse);
      } finally {
        if (warehouse) await this.detach(warehouse, name);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    const host = this.host;
    this.host = undefined;
    void host?.then((h) => h.closeSync()).catch(() => undefined);
  }

  private alias(name: string): string {
    return quoteIdent(RESERVED.has(name.toLowerCase()) || !name ? "warehouse" : name);
  }

  private async attach(file: string, name: string): Promise<Warehouse | undefined> {
    if (!existsSync(file)) return undefined;
    const host = await (this.host ??= DuckDBInstance.create(":memory:"));
    const conn = await host.connect();
    try {
      await conn.run(`attach '${file.replace(/'/g, "''")}' as ${this.alias(name)} (read_only)`);
      await conn.run(`use ${this.alias(name)}`);
    } catch (e) {
      conn.closeSync();
      throw e;
    }
    return Warehouse.onConnection(file, host, conn);
  }

  private async detach(warehouse: Warehouse, name: string): Promise<void> {
    warehouse.close();
    const host = await this.host!;
    const conn = await host.connect();
    try {
      await conn.run(`detach database if exists ${this.alias(name)}`);
    } finally {
      conn.closeSync();
    }
  }
}
