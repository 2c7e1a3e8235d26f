/**
 * dbt engine: one dbt step = one `dbt build` subprocess.
 *
 * - Spawned with an argument array (`shell: false`): selectors, paths and `--vars` are argv
 *   elements, never parts of a command string, so nothing in a model name can reach a shell.
 * - `--log-format json`: each stdout line is one dbt event
 *   (`{"info": {"name", "code", "level", "msg", "ts", "invocation_id", ...}, "data": {...}}`). Events
 *   carrying `data.node_info.unique_id` drive live per-node progress (see `handleEvent`); the
 *   human text of every non-debug event goes to `onLog`. Lines that are not JSON (dbt prints a few
 *   before its logger is configured; Python warnings and tracebacks on stderr) go to `onLog` as they are.
 * - After exit, `<project>/<target-path>/run_results.json` is authoritative for per-node status,
 *   timing, rows and messages; live events only fill in when it is missing.
 * - Exit codes (dbt-core's `ExitCodes`): 0 success, 1 some node or test failed (the results say
 *   which), 2 dbt itself failed (parse/compile errors, bad profile, bad flags, KeyboardInterrupt).
 * - Tests (`test.*`, `unit_test.*` unique ids that `dbt build` runs next to the models) are not node
 *   results: they are reported through `onLog` and in `tests`, and a test that ends `fail` or
 *   `error` fails the step (`error` is set) without changing the model's own result. `warn` does not.
 * - Cancel (`signal`): SIGINT to dbt's process group (dbt handles it like Ctrl-C: it cancels open
 *   queries, writes a partial run_results.json, exits 2), then SIGKILL to the group after
 *   `killGraceMs` (1 s) if dbt is still alive, and SIGKILL to any group member left behind once dbt
 *   has exited. On Windows there are no process groups: `taskkill /T /F` on the tree instead.
 * - A runner killed outright (SIGKILL) cannot cancel: a watchdog process (groupWatchdog.ts)
 *   interrupts, then kills dbt's group when the runner's pipe to it closes (POSIX).
 *
 * `runDbtStep` goes through named steps: the arguments (`dbtBuildArgs`), the process with its
 * watchdog and cancel (`runDbtProcess`), the output line by line (`DbtOutput`, events into
 * `NodeTracker`), run_results.json (`collectRunResults`), then each node's result and the step's
 * error (`judgeStep`).
 *
 * This module never opens the warehouse (DuckDB allows one writing process; dbt is that process
 * while it runs).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, readFileSync, statSync } from "node:fs";
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { readDbtProject } from "../index/dbt/project";
import { watchGroup } from "./groupWatchdog";

export interface DbtCliNode {
  /** Graph id of the node (what events and results are reported with). */
  id: string;
  /** dbt name (file name without extension for models and seeds). */
  name: string;
  resourceType: "model" | "seed" | "snapshot";
  /** dbt package (the project's `name:` for the project's own nodes). */
  packageName: string;
  /** Model version (`"2"` or `"v2"`) for versioned models. */
  version?: string;
}

export interface DbtNodeEvent {
  id: string;
  phase: "start" | "success" | "error" | "skipped";
  ms?: number;
  rows?: number;
  message?: string;
}

export interface DbtNodeResult {
  id: string;
  status: "success" | "error" | "skipped";
  ms?: number;
  rows?: number;
  message?: string;
}

/** A data test or unit test that `dbt build` ran next to the selected nodes. */
export interface DbtTestResult {
  /** dbt unique id, e.g. `test.jaffle.not_null_stg_orders_order_id.5a1b2c3d4e`. */
  uniqueId: string;
  name: string;
  status: "pass" | "warn" | "fail" | "error" | "skipped";
  /** Graph id of the node the test is attached to, when dbt said so (`attached_node`). */
  attachedTo?: string;
  failures?: number;
  ms?: number;
  message?: string;
  /** The test's compiled query (run_results.json `compiled_code`). */
  compiledSql?: string;
}

export interface DbtStepResult {
  /** dbt's exit code; null when it was killed by a signal or could not be started. */
  exitCode: number | null;
  cancelled: boolean;
  /** One result per input node, in input order. */
  results: DbtNodeResult[];
  tests: DbtTestResult[];
  /**
   * Set when the step failed as a whole: a node or test failed, dbt exited non-zero, dbt could
   * not be started, run_results.json was missing/malformed/stale, or the step was cancelled.
   */
  error?: string;
  /** Capped excerpt of the human-readable log (head and tail when long). */
  log: string;
  /** The exact argv passed to dbt (without the executable). */
  args: string[];
  runResultsPath: string;
  /** dbt's invocation id (from the logs or run_results.json). */
  invocationId?: string;
  pid?: number;
}

export interface DbtCliOptions {
  /** `"dbt"` or a path (the user's own setting, see `userDbtExecutable`); see `findDbtExecutable`. */
  executable: string;
  projectDir: string;
  profilesDir?: string;
  target?: string;
  /** Passed as `--vars '<json>'` (one argv element; JSON is YAML, which dbt parses). */
  vars?: Record<string, unknown>;
  /** dbt's `--target-path` (relative to the project). Also read: DBT_TARGET_PATH, dbt_project.yml `target-path`. */
  targetPath?: string;
  /** `target-path` of the project as the index read dbt_project.yml (absolute); read from the file when absent. */
  projectTargetPath?: string;
  /** The child's full environment (default `process.env`). PYTHONUNBUFFERED=1 is added when unset. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Time between SIGINT and SIGKILL on cancel (default 1000 ms). */
  killGraceMs?: number;
  onNodeEvent?(e: DbtNodeEvent): void;
  /** Human-readable text of each log line, for the output channel / step log. */
  onLog?(line: string): void;
  /** Called once dbt is running, with its pid (= its process group id on POSIX). */
  onSpawn?(pid: number): void;
  /**
   * Data and unit tests: `include` (default: `dbt build` runs them after their models),
   * `exclude` (`--exclude resource_type:test resource_type:unit_test`), `only` (`dbt test`).
   */
  tests?: "include" | "exclude" | "only";
}

/**
 * dbt `--select` values, one argv element per node.
 *
 * dbt's default selector method for a value without `/` is `fqn`, which matches a node whose
 * fqn leaf equals the value (`stg_orders`), but also any node whose fqn *starts* with the value
 * (a package or a top-level folder of that name) and same-named nodes of every installed package.
 * `package.name` is not unambiguous either: the fqn contains the model's folders
 * (`jaffle.staging.stg_orders`), so it would not match at all. So each node is selected as the
 * intersection `package:<package>,<name>`, which pins the package; versioned models use dbt's
 * `<name>.v<version>` form (`package:p,dim_customers.v2`). Data tests attached to the model are
 * still selected (indirect selection applies to both sides of the intersection, and tests live
 * in the model's package). The one remaining ambiguity: a node named like a top-level folder of
 * its own package also selects that folder.
 *
 * dbt splits each --select value on whitespace, so a name containing spaces cannot be selected
 * by dbt at all (dbt itself warns about such names); it is still passed as one argv element.
 */
export function dbtSelectors(nodes: DbtCliNode[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    const version = normalizeVersion(n.version);
    const leaf = version ? `${n.name}.v${version}` : n.name;
    const sel = n.packageName ? `package:${n.packageName},${leaf}` : leaf;
    if (!seen.has(sel)) {
      seen.add(sel);
      out.push(sel);
    }
  }
  return out;
}

/** The argv of the dbt invocation for `nodes` (without the executable). */
export function dbtBuildArgs(nodes: DbtCliNode[], options: Pick<DbtCliOptions, "projectDir" | "profilesDir" | "target" | "vars" | "targetPath" | "tests">): string[] {
  return [
    options.tests === "only" ? "test" : "build",
    "--select",
    ...dbtSelectors(nodes),
    ...(options.tests === "exclude" ? ["--exclude", "resource_type:test", "resource_type:unit_test"] : []),
    "--project-dir",
    options.projectDir,
    "--log-format",
    "json",
    ...(options.profilesDir ? ["--profiles-dir", options.profilesDir] : []),
    ...(options.target ? ["--target", options.target] : []),
    ...(options.targetPath ? ["--target-path", options.targetPath] : []),
    ...(options.vars ? ["--vars", JSON.stringify(options.vars)] : []),
  ];
}

/** dbt's unique id of a node: `model.<package>.<name>[.v<version>]`, `seed.…`, `snapshot.…`. */
export function dbtUniqueId(n: DbtCliNode): string {
  const version = normalizeVersion(n.version);
  return `${n.resourceType}.${n.packageName}.${n.name}${version ? `.v${version}` : ""}`;
}

/**
 * The dbt executable to run: `configured` (a path, `~/…` allowed, relative paths against
 * `baseDir` or the cwd; or a bare command name looked up on PATH), else `dbt` on the PATH of
 * `env`. Undefined when nothing executable is found. On Windows only `.exe`/`.com` files count
 * (a `.cmd`/`.bat` shim cannot be started without a shell).
 */
export function findDbtExecutable(env: NodeJS.ProcessEnv, configured?: string, baseDir?: string): string | undefined {
  const isWin = process.platform === "win32";
  const wanted = configured?.trim() || "dbt";
  const exts = isWin ? windowsExts(env) : [""];
  const candidates = (file: string) => (isWin && path.extname(file) ? [file, ...exts.map((e) => file + e)] : exts.map((e) => file + e));

  const expanded = wanted === "~" || wanted.startsWith("~/") || wanted.startsWith("~\\") ? path.join(homedir(), wanted.slice(1)) : wanted;
  if (path.isAbsolute(expanded) || expanded.includes("/") || (isWin && expanded.includes("\\"))) {
    const abs = path.resolve(baseDir ?? process.cwd(), expanded);
    return candidates(abs).find(isExecutableFile);
  }
  const pathVar = envGet(env, "PATH") ?? "";
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const base = path.resolve(dir.replace(/^"(.*)"$/, "$1"), expanded);
    const hit = candidates(base).find(isExecutableFile);
    if (hit) return hit;
  }
  return undefined;
}

/** Where dbt writes run_results.json for these options. */
export function runResultsPath(options: Pick<DbtCliOptions, "projectDir" | "targetPath" | "projectTargetPath" | "env">): string {
  const env = options.env ?? process.env;
  const target = options.targetPath || envGet(env, "DBT_TARGET_PATH") || envGet(env, "DBT_ENGINE_TARGET_PATH") || options.projectTargetPath || projectTargetPath(options.projectDir, env) || "target";
  return path.resolve(options.projectDir, target, "run_results.json");
}

export async function runDbtStep(nodes: DbtCliNode[], options: DbtCliOptions): Promise<DbtStepResult> {
  const args = dbtBuildArgs(nodes, options);
  const rrPath = runResultsPath(options);
  const log = new LogExcerpt();
  const emitLog = (line: string) => {
    log.push(line);
    try {
      options.onLog?.(line);
    } catch {
      // a throwing listener must not break the run
    }
  };
  const base = { args, runResultsPath: rrPath, tests: [] as DbtTestResult[] };

  if (nodes.length === 0) {
    // never spawn `dbt build` without a selection: it would build the whole project
    return { ...base, exitCode: null, cancelled: false, results: [], log: "" };
  }
  if (options.signal?.aborted) {
    const message = "cancelled before dbt started";
    return { ...base, exitCode: null, cancelled: true, error: "dbt build was cancelled", log: "", results: nodes.map((n) => ({ id: n.id, status: "skipped", message })) };
  }

  const tracker = new NodeTracker(nodes, options.onNodeEvent);
  const output = new DbtOutput(tracker, emitLog);
  const before = statOrUndefined(rrPath);

  const run = await runDbtProcess(args, options, output, emitLog);
  if (run.kind === "not-spawned") return finishWithoutRun(nodes, base, log, spawnErrorMessage(options.executable, run.error));
  const { exit, pid, cancelled } = run;
  if (exit.spawnError !== undefined) return finishWithoutRun(nodes, { ...base, pid }, log, spawnErrorMessage(options.executable, exit.spawnError));

  const collected = collectRunResults(rrPath, before, output.invocationId, tracker, emitLog);
  const { results, error } = judgeStep(nodes, options, { exit, cancelled, collected, tracker, errorTail: (n) => output.errorTail(n), rrPath });

  // final events for nodes whose outcome the logs did not (or differently) report
  for (const r of results) tracker.finalize(r);

  return {
    ...base,
    exitCode: exit.code,
    cancelled,
    results,
    tests: collected.tests,
    error,
    log: log.text(),
    invocationId: collected.invocationId,
    pid,
  };
}

// ---------------------------------------------------------------------------------------------
// the dbt process

interface DbtExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process never ran (ENOENT, EACCES). */
  spawnError?: unknown;
}

type DbtProcessRun = { kind: "not-spawned"; error: unknown } | { kind: "ran"; exit: DbtExit; pid: number | undefined; cancelled: boolean };

/**
 * Spawns dbt in its own process group under the watchdog, feeds its output to `output` line by
 * line, cancels it on `options.signal` (SIGINT to the group, SIGKILL after the grace time), and
 * waits until it exited (and, after a cancel, until its group is gone).
 */
async function runDbtProcess(args: string[], options: DbtCliOptions, output: DbtOutput, emitLog: (line: string) => void): Promise<DbtProcessRun> {
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  if (envGet(env, "PYTHONUNBUFFERED") === undefined) env.PYTHONUNBUFFERED = "1";

  const isWin = process.platform === "win32";
  let child: ChildProcess;
  try {
    child = spawn(options.executable, args, {
      cwd: options.projectDir,
      env,
      shell: false,
      detached: !isWin, // own process group, so cancel reaches dbt's children too
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
  } catch (e) {
    return { kind: "not-spawned", error: e };
  }

  const pid = child.pid;
  // dbt's group is its own (detached): without the runner it would run on, and write after the next run took the lock.
  const watchdog = !isWin && pid !== undefined ? watchGroup(pid, options.killGraceMs ?? 1000) : undefined;
  let cancelled = false;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;

  const signalGroup = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    if (isWin) {
      if (sig === "SIGKILL") {
        try {
          spawn("taskkill", ["/pid", String(pid), "/T", "/F"], { stdio: "ignore", windowsHide: true, shell: false }).on("error", () => undefined);
        } catch {
          child.kill();
        }
      } else child.kill(sig);
      return;
    }
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  const onAbort = () => {
    if (cancelled || exited) return;
    cancelled = true;
    emitLog("Cancelling dbt (SIGINT)…");
    signalGroup("SIGINT");
    killTimer = setTimeout(() => {
      if (!exited) {
        emitLog(`dbt did not stop within ${options.killGraceMs ?? 1000} ms: killing it`);
        signalGroup("SIGKILL");
      }
    }, options.killGraceMs ?? 1000);
  };

  const done = new Promise<DbtExit>((resolve) => {
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let closeTimer: NodeJS.Timeout | undefined;
    const settle = (r: DbtExit) => {
      if (settled) return;
      settled = true;
      if (closeTimer) clearTimeout(closeTimer);
      resolve(r);
    };
    child.once("error", (err) => {
      // ENOENT / EACCES: the process never ran
      if (pid === undefined || !exitInfo) settle({ code: null, signal: null, spawnError: err });
    });
    child.once("exit", (code, signal) => {
      exited = true;
      exitInfo = { code, signal };
      if (killTimer) clearTimeout(killTimer);
      if (cancelled && !isWin && pid !== undefined && groupAlive(pid)) signalGroup("SIGKILL"); // leftovers of dbt
      // 'close' waits for stdio; a grandchild holding the pipes must not hang the step
      closeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle(exitInfo!);
      }, 2000);
    });
    child.once("close", (code, signal) => settle(exitInfo ?? { code, signal }));
  });

  for (const [stream, name] of [
    [child.stdout, "stdout"],
    [child.stderr, "stderr"],
  ] as const) {
    if (stream) readLines(stream, (line) => output.line(line, name));
  }

  if (pid !== undefined) {
    try {
      options.onSpawn?.(pid);
    } catch {
      // ignore listener errors
    }
  }
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let exit: DbtExit;
  try {
    exit = await done;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
  if (cancelled && !isWin && pid !== undefined) await waitGroupGone(pid, 300);
  watchdog?.stop();
  return { kind: "ran", exit, pid, cancelled };
}

/** Calls `onLine` for every line of `stream` (UTF-8, split on "\n"), the unterminated last one included. */
function readLines(stream: Readable, onLine: (line: string) => void): void {
  const decoder = new StringDecoder("utf8");
  let buf = "";
  stream.on("data", (chunk: Buffer) => {
    buf += decoder.write(chunk);
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
  });
  stream.on("end", () => {
    buf += decoder.end();
    if (buf) onLine(buf);
    buf = "";
  });
  stream.on("error", () => undefined);
}

// ---------------------------------------------------------------------------------------------
// the step's outcome

interface CollectedResults {
  read: RunResultsRead;
  /** Node results from run_results.json, by node id. */
  byId: Map<string, DbtNodeResult>;
  tests: DbtTestResult[];
  invocationId: string | undefined;
}

/**
 * Reads this invocation's run_results.json: node results by node id and the tests' results
 * (without the file, the tests the live events reported). Nodes outside the step are logged.
 */
function collectRunResults(rrPath: string, before: Stats | undefined, invocationId: string | undefined, tracker: NodeTracker, emitLog: (line: string) => void): CollectedResults {
  const rr = readRunResults(rrPath, before, invocationId);
  if (rr.invocationId && !invocationId) invocationId = rr.invocationId;
  const byId = new Map<string, DbtNodeResult>();
  const tests: DbtTestResult[] = [];
  const extra: string[] = [];
  if (rr.ok) {
    for (const r of rr.results) {
      const uid = typeof r.unique_id === "string" ? r.unique_id : "";
      if (isTestId(uid)) {
        tests.push(testFromRunResult(uid, r, tracker));
        continue;
      }
      const id = tracker.idFor(uid);
      if (!id) {
        if (uid) extra.push(uid);
        continue;
      }
      byId.set(id, nodeFromRunResult(id, r));
    }
    if (extra.length) emitLog(`dbt also ran nodes outside this step: ${extra.join(", ")}`);
  } else {
    tests.push(...tracker.liveTests());
  }
  return { read: rr, byId, tests, invocationId };
}

/**
 * Each node's result (run_results.json first, then the live events, then what the exit says) and
 * the step's error: cancelled, dbt itself failed (exit code 2, a signal), no usable
 * run_results.json, or failed nodes and tests.
 */
function judgeStep(
  nodes: DbtCliNode[],
  options: Pick<DbtCliOptions, "tests">,
  s: { exit: DbtExit; cancelled: boolean; collected: CollectedResults; tracker: NodeTracker; errorTail: (n: number) => string; rrPath: string },
): { results: DbtNodeResult[]; error: string | undefined } {
  const { exit, cancelled, tracker, errorTail, rrPath } = s;
  const { read: rr, byId, tests } = s.collected;
  const exitCode = exit.code;
  const stepErrors: string[] = [];
  let fallbackMessage: string | undefined;
  if (cancelled) {
    stepErrors.push("dbt build was cancelled");
  } else if (exitCode !== 0 && exitCode !== 1) {
    const what = exitCode === null ? `dbt was killed by ${exit.signal ?? "a signal"}` : `dbt failed (exit code ${exitCode})`;
    const tail = errorTail(15);
    fallbackMessage = tail ? `${what}: ${tail}` : what;
    stepErrors.push(fallbackMessage);
  } else if (!rr.ok) {
    const m = exitCode === 0 ? `dbt exited 0 but ${rr.problem}` : `dbt failed (exit code 1) and ${rr.problem}`;
    const tail = exitCode === 0 ? "" : errorTail(15);
    fallbackMessage = tail ? `${m}: ${tail}` : m;
    stepErrors.push(fallbackMessage);
  }

  // (`dbt test` builds nothing)
  const results: DbtNodeResult[] = options.tests === "only" ? [] : nodes.map((n) => {
    const fromFile = byId.get(n.id);
    if (fromFile) return fromFile;
    const live = tracker.liveResult(n.id);
    if (live) return live;
    if (cancelled) return { id: n.id, status: "skipped", message: "cancelled" };
    if (fallbackMessage) return { id: n.id, status: "error", message: fallbackMessage };
    return { id: n.id, status: "error", message: `dbt reported no result for ${dbtUniqueId(n)} in ${rrPath} (its selector ${dbtSelectors([n])[0]} matched nothing?)` };
  });

  if (!cancelled) {
    const failedNodes = results.filter((r) => r.status === "error");
    const failedTests = tests.filter((t) => t.status === "fail" || t.status === "error");
    if (!fallbackMessage && (failedNodes.length || failedTests.length || exitCode !== 0)) {
      const parts: string[] = [];
      if (failedNodes.length) parts.push(`${plural(failedNodes.length, "node")} failed (${failedNodes.map((r) => r.id).join(", ")})`);
      if (failedTests.length) parts.push(`${plural(failedTests.length, "test")} failed (${failedTests.map((t) => t.name).join(", ")})`);
      if (!parts.length) parts.push(`dbt exited with code ${exitCode}${errorTail(5) ? `: ${errorTail(5)}` : ""}`);
      stepErrors.push(`dbt build: ${parts.join("; ")}`);
    }
  }
  return { results, error: stepErrors.length ? stepErrors.join("\n") : undefined };
}

// ---------------------------------------------------------------------------------------------
// log events

/**
 * dbt's output, line by line: JSON events (stdout) go to the tracker and their text (debug
 * excepted) to the log; other lines go to the log as they are. Error-level events and stderr are
 * kept for failure messages.
 */
class DbtOutput {
  invocationId: string | undefined;
  private readonly errorEvents: string[] = [];
  private readonly stderrLines: string[] = [];

  constructor(
    private readonly tracker: NodeTracker,
    private readonly emitLog: (line: string) => void,
  ) {}

  line(raw: string, stream: "stdout" | "stderr"): void {
    const line = raw.replace(/\r$/, "");
    if (!line.trim()) return;
    const ev = stream === "stdout" ? parseEvent(line) : undefined;
    if (!ev) {
      this.emitLog(line);
      if (stream === "stderr") keepRecent(this.stderrLines, line);
      return;
    }
    if (ev.info.invocation_id && !this.invocationId) this.invocationId = String(ev.info.invocation_id);
    const level = String(ev.info.level ?? "info");
    const msg = stripAnsi(String(ev.info.msg ?? ""));
    if (level !== "debug") this.emitLog(formatLine(ev.info.ts, msg));
    if (level === "error" && msg.trim()) keepRecent(this.errorEvents, msg.trim());
    this.tracker.handleEvent(ev);
  }

  /** The last `n` error-level events, or else the last `n` lines of stderr. */
  errorTail(n: number): string {
    return lastLines(this.errorEvents, n) || lastLines(this.stderrLines, n);
  }
}

function keepRecent(list: string[], line: string): void {
  list.push(line);
  if (list.length > 200) list.splice(0, list.length - 100);
}

interface DbtEvent {
  info: { name?: string; code?: string; level?: string; msg?: string; ts?: string; invocation_id?: string; [k: string]: unknown };
  data: Record<string, unknown>;
}

function parseEvent(line: string): DbtEvent | undefined {
  const t = line.trim();
  if (!t.startsWith("{")) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (!isObj(v) || !isObj(v.info) || typeof v.info.name !== "string") return undefined;
    return { info: v.info as DbtEvent["info"], data: isObj(v.data) ? v.data : {} };
  } catch {
    return undefined;
  }
}

const START_EVENTS = new Set(["NodeStart", "LogStartLine"]);
const RESULT_EVENTS = new Set(["LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogNodeNoOpResult"]);
const SKIP_EVENTS = new Set(["SkippingDetails", "LogSkipBecauseError"]);

/** Maps dbt unique ids to node ids and turns events into (deduplicated) node events. */
class NodeTracker {
  private readonly byUid = new Map<string, string>();
  private readonly byLooseKey = new Map<string, string | null>(); // resource.name[.vN] -> id, null when ambiguous
  private readonly byName = new Map<string, string | null>(); // alias/name -> id (for events without node_info)
  private readonly started = new Set<string>();
  private readonly emitted = new Map<string, DbtNodeEvent["phase"]>();
  private readonly live = new Map<string, DbtNodeResult>();
  private readonly tests = new Map<string, DbtTestResult>();

  constructor(
    nodes: DbtCliNode[],
    private readonly onNodeEvent?: (e: DbtNodeEvent) => void,
  ) {
    for (const n of nodes) {
      this.byUid.set(dbtUniqueId(n), n.id);
      const loose = looseKey(n.resourceType, n.name, normalizeVersion(n.version));
      this.byLooseKey.set(loose, this.byLooseKey.has(loose) ? null : n.id);
      this.byName.set(n.name, this.byName.has(n.name) ? null : n.id);
    }
  }

  idFor(uid: string): string | undefined {
    if (!uid) return undefined;
    const exact = this.byUid.get(uid);
    if (exact) return exact;
    // same resource type and name in another package spelling: accept only when unambiguous
    const m = /^(model|seed|snapshot)\.[^.]+\.(.+?)(?:\.v([^.]+))?$/.exec(uid);
    if (!m) return undefined;
    return this.byLooseKey.get(looseKey(m[1], m[2], m[3])) ?? undefined;
  }

  handleEvent(ev: DbtEvent): void {
    const name = ev.info.name ?? "";
    const d = ev.data;
    const nodeInfo = isObj(d.node_info) ? d.node_info : undefined;
    const uid = typeof nodeInfo?.unique_id === "string" ? nodeInfo.unique_id : "";

    if (isTestId(uid)) {
      if (name === "LogTestResult") {
        const status = String(d.status ?? "");
        const t: DbtTestResult = {
          uniqueId: uid,
          name: typeof d.name === "string" ? d.name : String(nodeInfo?.node_name ?? uid),
          status: normalizeTestStatus(status),
          failures: typeof d.num_failures === "number" ? d.num_failures : undefined,
          ms: secondsToMs(d.execution_time),
        };
        if (typeof d.attached_node === "string" && d.attached_node) t.attachedTo = this.idFor(d.attached_node) ?? undefined;
        this.tests.set(uid, { ...this.tests.get(uid), ...t });
      } else if (name === "RunResultError" && typeof d.msg === "string") {
        const t = this.tests.get(uid);
        if (t) t.message = d.msg.trim();
      }
      return;
    }

    let id = this.idFor(uid);
    if (!id && SKIP_EVENTS.has(name)) {
      // LogSkipBecauseError has no node_info: match the relation (alias) to a node name
      const rel = typeof d.relation === "string" ? d.relation : typeof d.node_name === "string" ? d.node_name : "";
      id = this.byName.get(rel) ?? undefined;
    }
    if (!id) return;

    if (START_EVENTS.has(name)) {
      if (!this.started.has(id) && !this.emitted.has(id)) {
        this.started.add(id);
        this.emit({ id, phase: "start" });
      }
      return;
    }
    if (RESULT_EVENTS.has(name)) {
      const status = String(d.status ?? "").toLowerCase();
      const failed = status === "error" || String(nodeInfo?.node_status ?? "") === "error";
      const resultMessage = typeof d.result_message === "string" ? d.result_message : typeof d.status === "string" ? d.status : undefined;
      const r: DbtNodeResult = { id, status: failed ? "error" : "success", ms: secondsToMs(d.execution_time) };
      const rows = failed ? undefined : rowsFromMessage(resultMessage);
      if (rows !== undefined) r.rows = rows;
      this.record(r);
      return;
    }
    if (name === "NodeFinished") {
      const rr = isObj(d.run_result) ? d.run_result : {};
      const r = nodeFromRunResult(id, rr);
      this.record(r);
      return;
    }
    if (SKIP_EVENTS.has(name)) {
      this.record({ id, status: "skipped" });
      return;
    }
    if (name === "RunResultError" && typeof d.msg === "string") {
      const cur = this.live.get(id);
      if (cur && cur.status === "error" && !cur.message) cur.message = d.msg.trim();
      else if (!cur) this.live.set(id, { id, status: "error", message: d.msg.trim() });
    }
  }

  private record(r: DbtNodeResult): void {
    const prev = this.live.get(r.id);
    // merge: a later event of the same outcome may add rows/ms/message (NodeFinished after LogModelResult)
    const merged: DbtNodeResult = prev && prev.status === r.status ? { ...prev, ...definedOnly(r) } : r;
    this.live.set(r.id, merged);
    if (this.emitted.get(r.id) !== merged.status) this.emit({ ...merged, phase: merged.status });
  }

  liveResult(id: string): DbtNodeResult | undefined {
    return this.live.get(id);
  }

  liveTests(): DbtTestResult[] {
    return [...this.tests.values()];
  }

  liveTest(uid: string): DbtTestResult | undefined {
    return this.tests.get(uid);
  }

  /** Emits the final outcome of a node unless the logs already reported that outcome. */
  finalize(r: DbtNodeResult): void {
    if (this.emitted.get(r.id) === r.status) return;
    this.emit({ ...r, phase: r.status });
  }

  private emit(e: DbtNodeEvent): void {
    if (e.phase !== "start") this.emitted.set(e.id, e.phase);
    const clean: DbtNodeEvent = { id: e.id, phase: e.phase };
    if (e.ms !== undefined) clean.ms = e.ms;
    if (e.rows !== undefined) clean.rows = e.rows;
    if (e.message !== undefined) clean.message = e.message;
    try {
      this.onNodeEvent?.(clean);
    } catch {
      // a throwing listener must not break the run
    }
  }
}

// ---------------------------------------------------------------------------------------------
// run_results.json

type RunResultsRead = { ok: true; results: Record<string, unknown>[]; invocationId?: string } | { ok: false; problem: string; invocationId?: string };

function readRunResults(file: string, before: Stats | undefined, invocationId: string | undefined): RunResultsRead {
  const after = statOrUndefined(file);
  if (!after) return { ok: false, problem: `${file} is missing` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return { ok: false, problem: `${file} is not valid JSON (${(e as Error).message})` };
  }
  if (!isObj(parsed) || !Array.isArray(parsed.results)) return { ok: false, problem: `${file} is malformed (no results array)` };
  const meta = isObj(parsed.metadata) ? parsed.metadata : {};
  const fileInvocation = typeof meta.invocation_id === "string" ? meta.invocation_id : undefined;
  if (invocationId && fileInvocation && fileInvocation !== invocationId) {
    return { ok: false, problem: `${file} was written by another dbt invocation (${fileInvocation}, this run is ${invocationId})` };
  }
  if (!(invocationId && fileInvocation) && before && before.mtimeMs === after.mtimeMs && before.size === after.size && before.ino === after.ino) {
    return { ok: false, problem: `${file} was not rewritten by this run (stale)` };
  }
  return { ok: true, results: parsed.results.filter(isObj), invocationId: fileInvocation };
}

function nodeFromRunResult(id: string, r: Record<string, unknown>): DbtNodeResult {
  const status = String(r.status ?? "").toLowerCase();
  const mapped: DbtNodeResult["status"] =
    status === "skipped" ? "skipped" : status === "success" || status === "pass" || status === "warn" || status === "no-op" || status === "ok" ? "success" : "error";
  const out: DbtNodeResult = { id, status: mapped };
  const ms = secondsToMs(r.execution_time) ?? msFromTiming(r.timing);
  if (ms !== undefined) out.ms = ms;
  if (mapped === "success") {
    const ar = isObj(r.adapter_response) ? r.adapter_response : {};
    const rows = typeof ar.rows_affected === "number" && ar.rows_affected >= 0 ? ar.rows_affected : rowsFromMessage(typeof r.message === "string" ? r.message : typeof ar._message === "string" ? ar._message : undefined);
    if (rows !== undefined) out.rows = rows;
  }
  const message = typeof r.message === "string" ? r.message.trim() : "";
  if (mapped !== "success" && message) out.message = message;
  else if (mapped === "success" && status === "warn" && message) out.message = message;
  else if (mapped === "error" && !message) out.message = `dbt status: ${status || "unknown"}`;
  return out;
}

function testFromRunResult(uid: string, r: Record<string, unknown>, tracker: NodeTracker): DbtTestResult {
  const live = tracker.liveTest(uid);
  const name = live?.name ?? uid.split(".")[2] ?? uid;
  const t: DbtTestResult = { uniqueId: uid, name, status: normalizeTestStatus(String(r.status ?? "")) };
  if (live?.attachedTo) t.attachedTo = live.attachedTo;
  if (typeof r.failures === "number") t.failures = r.failures;
  const ms = secondsToMs(r.execution_time);
  if (ms !== undefined) t.ms = ms;
  if (typeof r.message === "string" && r.message.trim()) t.message = r.message.trim();
  else if (live?.message) t.message = live.message;
  if (typeof r.compiled_code === "string" && r.compiled_code.trim()) t.compiledSql = r.compiled_code;
  return t;
}

// ---------------------------------------------------------------------------------------------
// helpers

function finishWithoutRun(nodes: DbtCliNode[], base: { args: string[]; runResultsPath: string; tests: DbtTestResult[]; pid?: number }, log: LogExcerpt, message: string): DbtStepResult {
  log.push(message);
  return { ...base, exitCode: null, cancelled: false, error: message, log: log.text(), results: nodes.map((n) => ({ id: n.id, status: "error", message })) };
}

function spawnErrorMessage(executable: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return `dbt executable not found: ${executable} (install dbt, or set tributary.dbtExecutable in your user settings / TRIBUTARY_DBT_EXECUTABLE)`;
  if (code === "EACCES") return `dbt executable is not executable: ${executable}`;
  return `could not start dbt (${executable}): ${(e as Error)?.message ?? String(e)}`;
}

function isTestId(uid: string): boolean {
  return uid.startsWith("test.") || uid.startsWith("unit_test.");
}

function normalizeTestStatus(s: string): DbtTestResult["status"] {
  const v = s.toLowerCase();
  if (v === "pass" || v === "success") return "pass";
  if (v === "warn") return "warn";
  if (v === "fail") return "fail";
  if (v === "skipped") return "skipped";
  return "error";
}

function normalizeVersion(v: string | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v).trim().replace(/^v/i, "");
  return s || undefined;
}

function looseKey(resourceType: string, name: string, version: string | undefined): string {
  return `${resourceType}\u0000${name}\u0000${version ?? ""}`;
}

function secondsToMs(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
}

function msFromTiming(timing: unknown): number | undefined {
  if (!Array.isArray(timing)) return undefined;
  let start = Infinity;
  let end = -Infinity;
  for (const t of timing) {
    if (!isObj(t)) continue;
    const s = Date.parse(String(t.started_at ?? ""));
    const e = Date.parse(String(t.completed_at ?? ""));
    if (Number.isFinite(s)) start = Math.min(start, s);
    if (Number.isFinite(e)) end = Math.max(end, e);
  }
  return Number.isFinite(start) && Number.isFinite(end) && end >= start ? end - start : undefined;
}

/** Row counts in adapter status messages: `INSERT 100`, `INSERT 0 100`, `SELECT 42`, `CREATE TABLE (42)`. */
function rowsFromMessage(msg: string | undefined): number | undefined {
  if (!msg) return undefined;
  const m = /^(?:INSERT|SELECT|UPDATE|DELETE|MERGE|COPY|CREATE TABLE)\s+(?:\d+\s+)?\(?(\d+)\)?$/i.exec(msg.trim());
  return m ? Number(m[1]) : undefined;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stripAnsi(s: string): string {
  return s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

/** dbt's text log format: `HH:MM:SS  message`. */
function formatLine(ts: unknown, msg: string): string {
  const d = typeof ts === "string" ? new Date(ts) : undefined;
  if (!d || Number.isNaN(d.getTime())) return msg;
  const hh = String(d.getHours()).padStart(2, "0");
  const mm = String(d.getMinutes()).padStart(2, "0");
  const ss = String(d.getSeconds()).padStart(2, "0");
  return `${hh}:${mm}:${ss}  ${msg}`;
}

function lastLines(lines: string[], n: number): string {
  // drop dbt's bare "Encountered an error:" header when the detail follows
  const useful = lines.map((l) => l.replace(/^Encountered an error:\s*/, "").trim()).filter(Boolean);
  return useful.slice(-n).join("\n");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function envGet(env: NodeJS.ProcessEnv, key: string): string | undefined {
  if (env[key] !== undefined) return env[key];
  if (process.platform !== "win32") return undefined;
  const k = Object.keys(env).find((x) => x.toUpperCase() === key.toUpperCase());
  return k === undefined ? undefined : env[k];
}

function windowsExts(env: NodeJS.ProcessEnv): string[] {
  const all = (envGet(env, "PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").split(";").map((e) => e.trim().toLowerCase());
  const spawnable = all.filter((e) => e === ".exe" || e === ".com");
  return spawnable.length ? spawnable : [".exe"];
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `target-path:` of dbt_project.yml (deprecated in dbt, still honoured), read as the index reads the file. */
function projectTargetPath(projectDir: string, env: Record<string, string | undefined>): string | undefined {
  const file = path.join(projectDir, "dbt_project.yml");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  return readDbtProject(file, text, () => undefined, env).targetPath;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGroupGone(pgid: number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  while (groupAlive(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** Head and tail of a long log, with a marker for what was left out. */
class LogExcerpt {
  private readonly head: string[] = [];
  private tail: string[] = [];
  private omitted = 0;
  constructor(
    private readonly maxHead = 200,
    private readonly maxTail = 800,
    private readonly maxLine = 4000,
  ) {}
  push(line: string): void {
    const l = line.length > this.maxLine ? `${line.slice(0, this.maxLine)}… (${line.length - this.maxLine} more characters)` : line;
    if (this.head.length < this.maxHead) {
      this.head.push(l);
      return;
    }
    this.tail.push(l);
    if (this.tail.length > this.maxTail * 2) {
      this.omitted += this.tail.length - this.maxTail;
      this.tail = this.tail.slice(-this.maxTail);
    }
  }
  text(): string {
    let tail = this.tail;
    let omitted = this.omitted;
    if (tail.length > this.maxTail) {
      omitted += tail.length - this.maxTail;
      tail = tail.slice(-this.maxTail);
    }
    return [...this.head, ...(omitted ? [`… ${omitted} log lines omitted …`] : []), ...tail].join("\n");
  }
}

/**
 * The dbt executable the user chose: the VS Code user/machine setting `tributary.dbtExecutable`
 * (passed down by the extension) or the shell's TRIBUTARY_DBT_EXECUTABLE. Never a file in the
 * repository: opening or running a workspace must not run a program that workspace names.
 */
export function userDbtExecutable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TRIBUTARY_DBT_EXECUTABLE?.trim() || undefined;
}
