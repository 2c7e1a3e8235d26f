/**
 * For the benches' child processes (pasted into their `node -e` scripts): the CPU time of the
 * main thread, which does the indexing, apart from the JIT's and the GC's helper threads. On an
 * idle machine with a core to spare it is about the wall time; a machine busy with other work
 * inflates it least of the three figures.
 */
export const MAIN_THREAD_CPU = `
    function mainThreadMs() {
      try {
        const f = require("node:fs").readFileSync("/proc/self/task/" + process.pid + "/stat", "utf8").split(") ")[1].split(" ");
        return (Number(f[11]) + Number(f[12])) * 10;
      } catch {
        return undefined;
      }
    }`;
