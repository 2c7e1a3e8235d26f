/**
 * A process group that dies with this process. A subprocess started in its own process group
 * (dbt: so that cancel reaches its children) outlives a runner killed with SIGKILL. A tiny
 * watchdog process holds a pipe from the runner: when the pipe closes without a "done" (the runner
 * died), it interrupts the group (SIGINT, as Ctrl-C: dbt cancels its queries), then kills it
 * after `graceMs`. The watchdog sits in a session of its own and ignores SIGHUP/SIGINT, so closing
 * the terminal does not take it down before it has done its job. POSIX only.
 */
import { spawn } from "node:child_process";

const WATCHDOG = `
const pgid = Number(process.argv[1]);
const graceMs = Number(process.argv[2]);
for (const s of ["SIGHUP", "SIGINT", "SIGTERM"]) process.on(s, () => undefined);
let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (text += d));
process.stdin.on("error", () => undefined);
process.stdin.on("close", () => {
  if (text.includes("done")) process.exit(0);
  const signal = (sig) => { try { process.kill(-pgid, sig); return true; } catch { return false; } };
  if (!signal("SIGINT")) process.exit(0);
  setTimeout(() => { signal("SIGKILL"); process.exit(0); }, graceMs);
});
`;

export interface GroupWatchdog {
  /** The group ended normally (or was cancelled by this process): the watchdog leaves without killing. */
  stop(): void;
}

export function watchGroup(pgid: number, graceMs = 2000): GroupWatchdog {
  if (process.platform === "win32") return { stop: () => undefined };
  let child: ReturnType<typeof spawn> | undefined;
  try {
    child = spawn(process.execPath, ["-e", WATCHDOG, String(pgid), String(graceMs)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
      // In VS Code's extension host process.execPath is Electron's: run it as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
    });
  } catch {
    return { stop: () => undefined };
  }
  child.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      child.stdin?.end("done\n");
    },
  };
}
