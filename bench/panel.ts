/**
 * `npm run bench -- panel`: the lineage panel in headless Chromium (Debian's chromium,
 * playwright-core), on generated graphs of 50, 500 and 5,000 assets. Prints one JSON line:
 *   firstPaint50Ms / firstPaint500Ms / firstPaint5000Ms  median time from the panel receiving
 *       the `graph` message to the drawn SVG (the frame showing it painted); 5,000 assets open as
 *       a grouped overview
 *   longestTaskMs  the longest main-thread task (PerformanceObserver `longtask`) in any measured
 *       run, from posting the graph until it is drawn; 0 when no task took over 50 ms
 * plus extra fields: the same for a panel that just booted (`cold…`: the graph arrives right after
 * `ready`, while the layout worker is still starting; `coldFirstPaint50Ms` is the main-thread
 * layout's paint, `coldElkPaint50Ms` ELK's drawing that replaces it), ELK's share, what was drawn,
 * and the machine's conditions; and for 2,000 assets drawn flat (the grouping turned off):
 *   flat2000LongestTaskMs  the longest main-thread task from posting the graph to the flat drawing
 *   flat2000WorstFrameMs   the slowest frame while ELK lays the 2,000 assets out in the worker
 * Options: --runs=N (default 3).
 */
import { cpus, loadavg } from "node:os";
import { generatedGraph } from "../test/webview/fixtures";
import { startHarness, type Harness } from "../test/webview/harness";

const args = process.argv.slice(2);
const RUNS = Math.max(1, Number(args.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? 3));
const SIZES = [50, 500, 5000] as const;

interface Run {
  ms: number;
  /** The first paint: the main-thread layout's when the worker was still loading, else ELK's drawing. */
  firstMs: number;
  longestTask: number;
  elk: number;
  items: number;
  groups: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** One fresh panel page; the graph is posted once the worker is warm, or right after `ready` when `cold`. */
async function measure(harness: Harness, fixture: string, cold: boolean): Promise<Run> {
  const p = await harness.open({ width: 1280, height: 800 });
  try {
    if (!cold) await p.page.waitForFunction(() => document.body.dataset.layoutWarm === "true", null, { timeout: 60_000 });
    await p.load(fixture);
    const seq = await p.renderSeq();
    const posted = await p.postLoaded();
    await p.waitForDraw(seq, 120_000);
    const ms = Number(await p.page.evaluate(() => document.body.dataset.renderMs));
    const quick = await p.page.evaluate(() => document.body.dataset.quickPaintMs);
    const timings = JSON.parse(await p.page.evaluate(() => document.body.dataset.renderTimings ?? "{}")) as { elk?: number };
    const tasks = await p.longTasks(posted);
    return {
      ms,
      firstMs: quick === undefined ? ms : Number(quick),
      longestTask: Math.max(0, ...tasks.map((t) => t.duration)),
      elk: timings.elk ?? 0,
      items: await p.page.locator("g.node").count(),
      groups: await p.page.locator("g.group").count(),
    };
  } finally {
    await p.page.close();
  }
}

/** 2,000 assets: the overview, then all of them flat; how long the page's tasks and frames take meanwhile. */
async function measureFlat2000(harness: Harness, fixture: string): Promise<{ longestTask: number; worstFrame: number }> {
  const p = await harness.open({ width: 1280, height: 800 });
  try {
    await p.page.waitForFunction(() => document.body.dataset.layoutWarm === "true", null, { timeout: 60_000 });
    await p.load(fixture);
    let seq = await p.renderSeq();
    const posted = await p.postLoaded();
    await p.waitForDraw(seq, 120_000);
    seq = await p.renderSeq();
    await p.page.click('button[data-action="group"]');
    const frames: number[] = [];
    while ((await p.page.evaluate(() => document.body.dataset.busy)) === "true" && frames.length < 200) {
      const t = performance.now();
      await p.page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
      frames.push(performance.now() - t);
    }
    await p.waitForDraw(seq, 120_000);
    const tasks = await p.longTasks(posted);
    return { longestTask: Math.max(0, ...tasks.map((t) => t.duration)), worstFrame: Math.max(0, ...frames) };
  } finally {
    await p.page.close();
  }
}

async function main(): Promise<void> {
  const harness = await startHarness();
  const before = loadavg();
  try {
    const fixtures = Object.fromEntries(SIZES.map((n) => [n, harness.addFixture(`bench-${n}`, generatedGraph(n))]));
    const warm: Record<number, Run[]> = {};
    const cold: Record<number, Run[]> = {};
    // Interleave sizes so that a passing load on the machine does not hit one size only.
    for (let run = 0; run < RUNS; run++) {
      for (const n of SIZES) {
        (warm[n] ??= []).push(await measure(harness, fixtures[n], false));
        (cold[n] ??= []).push(await measure(harness, fixtures[n], true));
      }
    }
    const flat: { longestTask: number; worstFrame: number }[] = [];
    const fixture2000 = harness.addFixture("bench-2000", generatedGraph(2000));
    for (let run = 0; run < RUNS; run++) flat.push(await measureFlat2000(harness, fixture2000));
    const all = SIZES.flatMap((n) => warm[n]);
    const result = {
      firstPaint50Ms: round(median(warm[50].map((r) => r.ms))),
      firstPaint500Ms: round(median(warm[500].map((r) => r.ms))),
      firstPaint5000Ms: round(median(warm[5000].map((r) => r.ms))),
      longestTaskMs: round(Math.max(...all.map((r) => r.longestTask))),
      // Cold: the first paint (a main-thread layout while ELK loads, for up to 200 assets) and ELK's drawing.
      coldFirstPaint50Ms: round(median(cold[50].map((r) => r.firstMs))),
      coldElkPaint50Ms: round(median(cold[50].map((r) => r.ms))),
      coldFirstPaint500Ms: round(median(cold[500].map((r) => r.ms))),
      coldFirstPaint5000Ms: round(median(cold[5000].map((r) => r.ms))),
      coldLongestTaskMs: round(Math.max(...SIZES.flatMap((n) => cold[n]).map((r) => r.longestTask))),
      elk50Ms: round(median(warm[50].map((r) => r.elk))),
      elk500Ms: round(median(warm[500].map((r) => r.elk))),
      elk5000Ms: round(median(warm[5000].map((r) => r.elk))),
      flat2000LongestTaskMs: round(median(flat.map((f) => f.longestTask))),
      flat2000WorstFrameMs: round(median(flat.map((f) => f.worstFrame))),
      drawn5000: { groups: warm[5000][0].groups, assets: warm[5000][0].items },
      runs: RUNS,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadavgBefore: before.map(round),
      loadavgAfter: loadavg().map(round),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await harness.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
