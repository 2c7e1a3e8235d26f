/** The built `tributary` CLI, run as users run it: a real process in a workspace folder. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const CLI = path.resolve(__dirname, "../../packages/tributary-assets/dist/cli.js");

export function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
