/**
 * Regenerates docs/lineage-panel-fixture.png: the panel showing the example-shaped fixture in the
 * dark theme (`node --import tsx test/webview/screenshot.ts` after `node scripts/build.mjs`).
 */
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { exampleGraph } from "./fixtures";
import { startHarness } from "./harness";

async function main(): Promise<void> {
  const out = path.resolve(__dirname, "../../docs/lineage-panel-fixture.png");
  mkdirSync(path.dirname(out), { recursive: true });
  const harness = await startHarness();
  try {
    const panel = await harness.open({ theme: "dark", width: 1720, height: 520 });
    await panel.sendAndDraw(exampleGraph({ centre: ["forecast_vs_actual", "customers", "orders_snapshot"] }));
    await panel.page.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await harness.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
