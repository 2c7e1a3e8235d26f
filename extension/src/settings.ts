/**
 * The extension's settings, read in one place into one typed value. Pure (no `vscode` import):
 * callers pass `vscode.workspace.getConfiguration("tributary")`, tests pass a plain object.
 * Executables and background work come from the user's own settings only (userSettings.ts).
 */
import { userSetting, type Inspected } from "./userSettings";

export interface TributarySettings {
  /** Engine for dbt steps; `auto` lets the runner choose. */
  engine: "auto" | "embedded" | "dbt";
  /** User-only: the dbt executable, when not `dbt` on PATH. */
  dbtExecutable?: string;
  /** User-only: the Node executable for the runner and the daemon (default: VS Code's). */
  nodePath?: string;
  /** User-only: run job() schedules while a trusted workspace is open. */
  runSchedules: boolean;
  lineageDepth: { upstream: number; downstream: number };
  /** Globs added to tributary.json's include / exclude; the language server takes them at start. */
  include: string[];
  exclude: string[];
  /** Steps that may run at once. */
  concurrency?: number;
}

/** What this module needs of a `WorkspaceConfiguration`. */
export interface ConfigurationLike {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): Inspected<T> | undefined;
}

/** Settings that the language server reads when it starts: changing one asks for a restart. */
export const SERVER_START_SETTINGS = ["include", "exclude"] as const;

const ENGINES = new Set(["auto", "embedded", "dbt"]);

function wholeNumber(value: unknown, min: number): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= min ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Reads every setting once; a value of the wrong type falls back to its default. */
export function readSettings(config: ConfigurationLike): TributarySettings {
  const engine = config.get<string>("engine");
  const settings: TributarySettings = {
    engine: engine && ENGINES.has(engine) ? (engine as TributarySettings["engine"]) : "auto",
    runSchedules: userSetting(config, "runSchedules") === true,
    lineageDepth: {
      upstream: wholeNumber(config.get("lineageDepth.upstream"), 0) ?? 2,
      downstream: wholeNumber(config.get("lineageDepth.downstream"), 0) ?? 2,
    },
    include: strings(config.get("include")),
    exclude: strings(config.get("exclude")),
  };
  const dbt = userSetting(config, "dbtExecutable");
  if (dbt) settings.dbtExecutable = dbt;
  const node = userSetting(config, "nodePath");
  if (node) settings.nodePath = node;
  const concurrency = wholeNumber(config.get("concurrency"), 1);
  if (concurrency !== undefined) settings.concurrency = concurrency;
  return settings;
}
