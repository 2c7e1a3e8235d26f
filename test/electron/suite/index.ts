/**
 * Entry point @vscode/test-electron loads inside VS Code's extension host (bundled by
 * scripts/e2e-electron.mjs): a mocha run of the user's-day suite.
 */
import Mocha from "mocha";
import { defineUserDaySuite } from "./userDay";

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 180_000, color: true, reporter: "spec" });
  // Bind mocha's describe/it (imported from "mocha" by the suite) to this run, as `mocha` does per file.
  mocha.suite.emit("pre-require", globalThis, "userDay", mocha);
  defineUserDaySuite();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
