/**
 * Executables and background daemons come only from the user's own settings:
 * the manifest scopes them to the machine (VS Code then ignores workspace values) and lists them
 * as restricted, and the extension reads them through one function that ignores workspace values.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { USER_ONLY_SETTINGS, userSetting, userValue } from "../../extension/src/userSettings";

const ROOT = path.resolve(__dirname, "../..");
const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
};

describe("user-only settings", () => {
  test("dbtExecutable, nodePath and runSchedules are machine-scoped and restricted in untrusted workspaces", () => {
    assert.deepEqual([...USER_ONLY_SETTINGS].sort(), ["dbtExecutable", "nodePath", "runSchedules"]);
    for (const key of USER_ONLY_SETTINGS) {
      const property = manifest.contributes.configuration.properties[`tributary.${key}`];
      assert.ok(property, key);
      assert.equal(property.scope, "machine", `${key}: workspace settings must not override it`);
      assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`tributary.${key}`), key);
    }
  });

  test("a workspace or folder value is never used, the user's is", () => {
    assert.equal(userValue({ defaultValue: "", workspaceValue: "./evil.sh" }), "");
    assert.equal(userValue({ defaultValue: false, workspaceFolderValue: true }), false);
    assert.equal(userValue({ defaultValue: "", globalValue: "/opt/dbt/bin/dbt", workspaceValue: "./evil.sh" }), "/opt/dbt/bin/dbt");
    const config = { inspect: <T>(key: string) => ({ defaultValue: undefined, workspaceValue: (key === "runSchedules" ? true : "./evil") as T }) };
    assert.equal(userSetting(config, "runSchedules"), undefined);
    assert.equal(userSetting(config, "dbtExecutable"), undefined);
  });

  test("the extension reads those settings only through userSetting", () => {
    const dir = path.join(ROOT, "extension/src");
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".ts") && n !== "userSettings.ts")) {
      const text = readFileSync(path.join(dir, name), "utf8");
      for (const key of USER_ONLY_SETTINGS) {
        assert.doesNotMatch(text, new RegExp(`\\.(get|inspect)(<[^>]*>)?\\(\\s*["'\`](tributary\\.)?${key}["'\`]`), `${name} reads ${key} directly`);
      }
    }
  });
});
