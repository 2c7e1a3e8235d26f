/** The extension's settings, read once into one typed value (extension/src/settings.ts). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readSettings, SERVER_START_SETTINGS, type ConfigurationLike } from "../../extension/src/settings";
import { USER_ONLY_SETTINGS, type Inspected } from "../../extension/src/userSettings";

const ROOT = path.resolve(__dirname, "../..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
};
const DECLARED = manifest.contributes.configuration.properties;

/** A configuration as VS Code gives it: manifest defaults, then user (global) and workspace values. */
function configuration(user: Record<string, unknown>, workspace: Record<string, unknown> = {}): ConfigurationLike & { keysRead: Set<string> } {
  const keysRead = new Set<string>();
  const defaults = (key: string) => DECLARED[`tributary.${key}`]?.default;
  return {
    keysRead,
    get<T>(key: string): T | undefined {
      keysRead.add(key);
      return (workspace[key] ?? user[key] ?? defaults(key)) as T | undefined;
    },
    inspect<T>(key: string): Inspected<T> | undefined {
      keysRead.add(key);
      return { defaultValue: defaults(key) as T, globalValue: user[key] as T | undefined, workspaceValue: workspace[key] as T | undefined };
    },
  };
}

describe("extension settings", () => {
  test("the defaults of the manifest", () => {
    assert.deepEqual(readSettings(configuration({})), {
      engine: "auto",
      runSchedules: false,
      lineageDepth: { upstream: 2, downstream: 2 },
      include: [],
      exclude: [],
      concurrency: 2,
    });
  });

  test("every setting the manifest declares is read, and nothing else", () => {
    const config = configuration({});
    readSettings(config);
    assert.deepEqual([...config.keysRead].map((k) => `tributary.${k}`).sort(), Object.keys(DECLARED).sort());
    for (const key of SERVER_START_SETTINGS) assert.ok(`tributary.${key}` in DECLARED, key);
  });

  test("user values are taken; a workspace cannot name an executable or turn schedules on", () => {
    const workspace = { dbtExecutable: "./evil.sh", nodePath: "./evil-node", runSchedules: true, engine: "dbt", concurrency: 4 };
    const fromWorkspace = readSettings(configuration({}, workspace));
    assert.equal(fromWorkspace.dbtExecutable, undefined);
    assert.equal(fromWorkspace.nodePath, undefined);
    assert.equal(fromWorkspace.runSchedules, false);
    assert.equal(fromWorkspace.engine, "dbt", "other settings may come from the workspace");
    assert.equal(fromWorkspace.concurrency, 4);
    const mine = readSettings(configuration({ dbtExecutable: "/opt/dbt/bin/dbt", nodePath: "/usr/bin/node", runSchedules: true }, workspace));
    assert.deepEqual([mine.dbtExecutable, mine.nodePath, mine.runSchedules], ["/opt/dbt/bin/dbt", "/usr/bin/node", true]);
    assert.deepEqual([...USER_ONLY_SETTINGS].sort(), ["dbtExecutable", "nodePath", "runSchedules"]);
  });

  test("a value of the wrong type or out of range falls back to its default", () => {
    const s = readSettings(configuration({ engine: "spark", "lineageDepth.upstream": -1, "lineageDepth.downstream": 1.5, include: "models/**", exclude: ["target/**", 3], concurrency: 0 }));
    assert.equal(s.engine, "auto");
    assert.deepEqual(s.lineageDepth, { upstream: 2, downstream: 2 });
    assert.deepEqual(s.include, []);
    assert.deepEqual(s.exclude, ["target/**"]);
    assert.equal(s.concurrency, undefined);
  });
});
