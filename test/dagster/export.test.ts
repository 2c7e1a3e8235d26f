/**
 * `tributary export dagster`: the generated code location compiles with Debian's python3, and its
 * structure, read back with Python's own parser (fixtures/inspect_definitions.py), has the graph's
 * keys, deps, job selections and schedules; the export is deterministic and `--check` catches drift.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { copyExample } from "../helpers/workspace";
import { PYTHON } from "../helpers/python";

const INSPECT = path.join(__dirname, "fixtures", "inspect_definitions.py");

interface Structure {
  dbt_keys: Record<string, string[]>;
  dbt_groups: Record<string, string>;
  assets: { function: string; key: string[]; deps: string[][]; group: string | null; kinds: string[]; checks: unknown[]; runs: string }[];
  external: { key: string[]; deps: string[][] }[];
  jobs: { var: string; name: string; selection: string }[];
  schedules: { name: string; job: string; cron: string; timezone: string | null }[];
  definitions: { assets: string[]; jobs: string[]; schedules: string[]; resources: string[] };
  dbt_assets: { function: string; translator: string }[];
  fallback_keys: Record<string, string[]>;
}

function python(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inspect(root: string): Structure {
  const r = python([INSPECT, path.join(root, "dagster", "tributary_dagster", "definitions.py")]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Structure;
}

function graphKeys(root: string): { key: string[]; kind: string; upstream: string[][] }[] {
  const r = runCli(root, ["graph", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { assets: { key: string[]; kind: string; upstream: string[][] }[] }).assets;
}

const sortKeys = (keys: string[][]) => keys.map((k) => k.join("/")).sort();

describe("tributary export dagster (the example)", () => {
  let ws: { root: string; dispose: () => void };
  let structure: Structure;
  before(() => {
    ws = copyExample();
    const r = runCli(ws.root, ["export", "dagster"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote a Dagster code location to dagster: pyproject\.toml, tributary_dagster\/__init__\.py, tributary_dagster\/definitions\.py/);
    structure = inspect(ws.root);
  });
  after(() => ws.dispose());

  test("every Python file compiles with python3 -m py_compile", () => {
    for (const file of ["tributary_dagster/__init__.py", "tributary_dagster/definitions.py"]) {
      const r = python(["-m", "py_compile", path.join(ws.root, "dagster", file)]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    }
  });

  test("pyproject names dagster, dagster-dbt and the profile's adapter, and points dagster dev at the module", () => {
    const r = python(["-c", "import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1],'rb'))))", path.join(ws.root, "dagster", "pyproject.toml")]);
    assert.equal(r.code, 0, r.stderr);
    const toml = JSON.parse(r.stdout) as { project: { dependencies: string[] }; tool: { dagster: { module_name: string; code_location_name: string } } };
    assert.deepEqual(toml.project.dependencies, ["dagster>=1.10", "dagster-dbt>=0.26", "dbt-duckdb"]);
    assert.deepEqual(toml.tool.dagster, { module_name: "tributary_dagster.definitions", code_location_name: "jaffle_forecast" });
  });

  test("round trip: the export's keys are the strings of `tributary graph --json`, for every asset", () => {
    const graph = graphKeys(ws.root);
    const exported = [...Object.values(structure.dbt_keys), ...structure.assets.map((a) => a.key), ...structure.external.map((e) => e.key)];
    assert.deepEqual([...new Set(sortKeys(exported))], sortKeys(graph.map((a) => a.key)));
    assert.equal(structure.dbt_keys["model.jaffle_forecast.fct_orders"].join("/"), "fct_orders");
    assert.equal(structure.dbt_keys["seed.jaffle_forecast.raw_orders"].join("/"), "raw_orders");
    // The dbt source the TS asset produces maps to the TS asset's key: one node in Dagster too.
    assert.deepEqual(structure.dbt_keys["source.jaffle_forecast.forecasting.predicted_orders"], ["forecasting", "predicted_orders"]);
    assert.deepEqual(structure.dbt_groups, { "model.jaffle_forecast.customers": "finance", "model.jaffle_forecast.fct_orders": "finance" });
  });

  test("each TS asset has its key, deps and group, the typescript kind, and runs run-asset through Pipes", () => {
    const graph = graphKeys(ws.root);
    const ts = graph.filter((a) => a.kind === "ts_asset");
    assert.deepEqual(sortKeys(structure.assets.map((a) => a.key)), sortKeys(ts.map((a) => a.key)));
    for (const asset of structure.assets) {
      const node = ts.find((a) => a.key.join("/") === asset.key.join("/"))!;
      assert.deepEqual(sortKeys(asset.deps), sortKeys(node.upstream), asset.key.join("/"));
      assert.deepEqual(asset.kinds, ["typescript"]);
      assert.equal(asset.group, "forecasting");
      assert.equal(asset.runs, `yield from run_ts_asset(context, pipes_subprocess_client, '${asset.key.join("/")}')`);
    }
    assert.deepEqual(structure.dbt_assets, [{ function: "jaffle_forecast_dbt_assets", translator: "TributaryDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))" }]);
    const text = readFileSync(path.join(ws.root, "dagster", "tributary_dagster", "definitions.py"), "utf8");
    assert.match(text, /command=\[NODE, TRIBUTARY_CLI, "run-asset", key, "--dir", str\(WORKSPACE\)\]/);
    assert.match(text, /^# from dagster_k8s import PipesK8sClient$/m, "the Kubernetes alternative is there, commented");
  });

  test("the job keeps its selection in Dagster's syntax and its schedule; Definitions wires everything", () => {
    assert.deepEqual(structure.jobs, [{ var: "forecast_job", name: "forecast_job", selection: '+key:"order_forecast_model"' }]);
    assert.deepEqual(structure.schedules, [{ name: "forecast_job_schedule", job: "forecast_job", cron: "0 0 * * *", timezone: null }]);
    assert.deepEqual(structure.definitions, {
      assets: ["jaffle_forecast_dbt_assets", "forecasting__predicted_orders", "order_forecast_model"],
      jobs: ["forecast_job"],
      schedules: ["forecast_job_schedule"],
      resources: ["dbt", "pipes_subprocess_client"],
    });
  });

  test("the translator's fallback rules (for nodes added after the export) are Tributary's key rules", () => {
    assert.deepEqual(structure.fallback_keys, {
      known: ["from", "table"],
      plain: ["plain"],
      versioned: ["m", "v2"],
      source: ["raw", "orders"],
      tributary_meta: ["marts", "x"],
      dagster_meta: ["warehouse", "y"],
    });
  });
});

describe("tributary export dagster: changes, --check, overrides and refusals", () => {
  let ws: { root: string; dispose: () => void };
  before(() => (ws = copyExample()));
  after(() => ws.dispose());

  test("the same workspace exports to the same bytes; --check fails after a change and passes after re-export", () => {
    assert.equal(runCli(ws.root, ["export", "dagster"]).code, 0);
    const file = path.join(ws.root, "dagster", "tributary_dagster", "definitions.py");
    const first = readFileSync(file, "utf8");
    assert.equal(runCli(ws.root, ["export", "dagster"]).code, 0);
    assert.equal(readFileSync(file, "utf8"), first);
    const ok = runCli(ws.root, ["export", "dagster", "--check"]);
    assert.equal(ok.code, 0, ok.stderr);

    const assetFile = path.join(ws.root, "assets", "forecast.ts");
    writeFileSync(assetFile, readFileSync(assetFile, "utf8").replace('schedule: "@daily",', 'schedule: "30 6 * * 1-5",\n  timezone: "Europe/Berlin",'));
    const stale = runCli(ws.root, ["export", "dagster", "--check"]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /The Dagster export is out of date; run 'tributary export dagster'/);
    assert.match(stale.stderr, /differs: dagster\/tributary_dagster\/definitions\.py/);
    assert.equal(readFileSync(file, "utf8"), first, "--check writes nothing");

    assert.equal(runCli(ws.root, ["export", "dagster"]).code, 0);
    assert.equal(runCli(ws.root, ["export", "dagster", "--check"]).code, 0);
    const schedules = inspect(ws.root).schedules;
    assert.deepEqual(schedules, [{ name: "forecast_job_schedule", job: "forecast_job", cron: "30 6 * * 1-5", timezone: "Europe/Berlin" }]);
  });

  test("meta.tributary.key and meta.dagster.asset_key in dbt YAML become the export's keys, as in the graph", () => {
    const schema = path.join(ws.root, "models", "marts", "schema.yml");
    writeFileSync(
      schema,
      readFileSync(schema, "utf8")
        .replace(/(  - name: fct_orders\n.*\n    config:\n      group: finance)/, "$1\n      meta:\n        tributary:\n          key: marts/fct_orders")
        .replace(/(  - name: customers\n.*\n    config:\n      group: finance)/, "$1\n      meta:\n        dagster:\n          asset_key: [warehouse, customers]"),
    );
    assert.equal(runCli(ws.root, ["export", "dagster"]).code, 0);
    const structure = inspect(ws.root);
    assert.deepEqual(structure.dbt_keys["model.jaffle_forecast.fct_orders"], ["marts", "fct_orders"]);
    assert.deepEqual(structure.dbt_keys["model.jaffle_forecast.customers"], ["warehouse", "customers"]);
    const graph = graphKeys(ws.root);
    assert.ok(graph.some((a) => a.key.join("/") === "marts/fct_orders") && graph.some((a) => a.key.join("/") === "warehouse/customers"));
    const exported = [...Object.values(structure.dbt_keys), ...structure.assets.map((a) => a.key), ...structure.external.map((e) => e.key)];
    assert.deepEqual([...new Set(sortKeys(exported))], sortKeys(graph.map((a) => a.key)));
    // The TS assets' deps follow the renamed key.
    assert.deepEqual(structure.assets.find((a) => a.key.join("/") === "order_forecast_model")!.deps, [["marts", "fct_orders"]]);
  });

  test("dbt sources nothing produces and exposures are external assets with their keys and deps", () => {
    const other = copyExample();
    try {
      const sources = path.join(other.root, "models", "forecasting", "sources.yml");
      writeFileSync(sources, readFileSync(sources, "utf8") + "  - name: feeds\n    tables:\n      - name: events\n");
      writeFileSync(
        path.join(other.root, "models", "marts", "exposures.yml"),
        "version: 2\nexposures:\n  - name: weekly_report\n    type: dashboard\n    owner:\n      name: Ops\n      email: ops@example.org\n    depends_on:\n      - ref('customers')\n",
      );
      assert.equal(runCli(other.root, ["export", "dagster"]).code, 0);
      const structure = inspect(other.root);
      assert.deepEqual(structure.external, [
        { key: ["exposure", "weekly_report"], deps: [["customers"]] },
        { key: ["feeds", "events"], deps: [] },
      ]);
      assert.deepEqual(structure.definitions.assets.at(-1), "*EXTERNAL_ASSETS");
      const graph = graphKeys(other.root);
      const exported = [...Object.values(structure.dbt_keys), ...structure.assets.map((a) => a.key), ...structure.external.map((e) => e.key)];
      assert.deepEqual([...new Set(sortKeys(exported))], sortKeys(graph.map((a) => a.key)));
      assert.equal(python(["-m", "py_compile", path.join(other.root, "dagster", "tributary_dagster", "definitions.py")]).code, 0);
    } finally {
      other.dispose();
    }
  });

  test("a job whose selection cannot be translated is refused with its place and reason, and nothing is written", () => {
    const other = copyExample();
    try {
      const assetFile = path.join(other.root, "assets", "forecast.ts");
      writeFileSync(assetFile, readFileSync(assetFile, "utf8") + '\nexport const catchUp = job({ name: "catch_up", selection: "+status:stale" });\n');
      const r = runCli(other.root, ["export", "dagster"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Nothing was exported to Dagster \(1 problem\):/);
      assert.match(r.stderr, /assets\/forecast\.ts:\d+:\d+: job 'catch_up': the selection '\+status:stale' cannot be exported to Dagster: 'status:stale' depends on Tributary's run history/);
      assert.equal(existsSync(path.join(other.root, "dagster")), false);
    } finally {
      other.dispose();
    }
  });
});

describe("tributary export dagster: a TypeScript-only workspace with checks", () => {
  test("asset keys that look like the file's own names get other Python names; a cycle is refused", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-export-"));
    try {
      writeFileSync(
        path.join(root, "a.ts"),
        [
          'import { asset, job } from "tributary-assets";',
          'export const a = asset({ key: "os" }, () => 1);',
          'export const b = asset({ key: "defs", deps: ["os"] }, () => 1);',
          'export const c = asset({ key: "nightly_schedule" }, () => 1);',
          'export const d = asset({ key: ["run", "ts", "asset"] }, () => 1);',
          'export const e = asset({ key: "run_ts_asset" }, () => 1);',
          'export const nightly = job({ name: "nightly", selection: "*", schedule: "@hourly" });',
          "",
        ].join("\n"),
      );
      assert.equal(runCli(root, ["export", "dagster"]).code, 0);
      const file = path.join(root, "dagster", "tributary_dagster", "definitions.py");
      const names = python(["-c", "import ast,json,sys; t=ast.parse(open(sys.argv[1]).read()); print(json.dumps([n.name if isinstance(n,(ast.FunctionDef,ast.ClassDef)) else n.targets[0].id for n in t.body if isinstance(n,(ast.FunctionDef,ast.ClassDef)) or (isinstance(n,ast.Assign) and isinstance(n.targets[0],ast.Name))]))", file]);
      assert.equal(names.code, 0, names.stderr);
      const defined = JSON.parse(names.stdout) as string[];
      assert.deepEqual(defined.filter((n, i) => defined.indexOf(n) !== i), [], "no name is defined twice");
      const structure = inspect(root);
      assert.deepEqual(structure.assets.map((a) => [a.function, a.key.join("/")]), [["defs_2", "defs"], ["nightly_schedule", "nightly_schedule"], ["os_2", "os"], ["run__ts__asset", "run/ts/asset"], ["run_ts_asset_2", "run_ts_asset"]]);
      assert.deepEqual(structure.schedules.map((s) => s.name), ["nightly_schedule"]);
      assert.deepEqual(structure.definitions.schedules, ["nightly_schedule_2"]);

      writeFileSync(path.join(root, "b.ts"), 'import { asset } from "tributary-assets";\nexport const x = asset({ key: "x", deps: ["y"] }, () => 1);\nexport const y = asset({ key: "y", deps: ["x"] }, () => 1);\n');
      const cyclic = runCli(root, ["export", "dagster"]);
      assert.equal(cyclic.code, 2);
      assert.match(cyclic.stderr, /b\.ts:2:\d+: the assets (x -> y|y -> x) form a cycle; Dagster's asset graph must have none/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("no dbt imports, each check becomes a check spec of its asset, and the file compiles", () => {
    const root = mkdtempSync(path.join(tmpdir(), "tributary-export-"));
    try {
      mkdirSync(path.join(root, "src"));
      writeFileSync(
        path.join(root, "src", "a.ts"),
        [
          'import { asset, job } from "tributary-assets";',
          'export const raw = asset({ key: ["ingest", "raw"], tags: { team: "growth" }, owners: ["data@example.org"] }, () => [{ x: 1 }]);',
          'export const clean = asset({ key: "clean", deps: [raw], group: "core", checks: [{ name: "not_empty", fn: (v: unknown[]) => v.length > 0 }, { name: "small", blocking: false, fn: () => true }] }, ({ raw }) => raw);',
          'export const hourly = job({ name: "hourly", selection: "tag:team=growth+", schedule: "15 * * * *", timezone: "America/New_York" });',
          "",
        ].join("\n"),
      );
      const r = runCli(root, ["export", "dagster", "--out", "orchestration"]);
      assert.equal(r.code, 0, r.stderr);
      const file = path.join(root, "orchestration", "tributary_dagster", "definitions.py");
      assert.equal(python(["-m", "py_compile", file]).code, 0);
      const text = readFileSync(file, "utf8");
      assert.doesNotMatch(text, /dagster_dbt/);
      const inspected = python([INSPECT, file]);
      assert.equal(inspected.code, 0, inspected.stderr);
      const structure = JSON.parse(inspected.stdout) as Structure;
      assert.deepEqual(
        structure.assets.map((a) => ({ key: a.key, deps: a.deps, group: a.group, checks: a.checks })),
        [
          { key: ["clean"], deps: [["ingest", "raw"]], group: "core", checks: [{ name: "not_empty", asset: ["clean"] }, { name: "small", asset: ["clean"] }] },
          { key: ["ingest", "raw"], deps: [], group: null, checks: [] },
        ],
      );
      assert.match(text, /dg\.AssetCheckSpec\("not_empty", asset=dg\.AssetKey\(\["clean"\]\), blocking=True\)/);
      assert.match(text, /dg\.AssetCheckSpec\("small", asset=dg\.AssetKey\(\["clean"\]\), blocking=False\)/);
      assert.match(text, /tags=\{"team": "growth"\},\n    owners=\["data@example\.org"\]/);
      assert.deepEqual(structure.jobs, [{ var: "hourly", name: "hourly", selection: 'tag:"team"="growth"+' }]);
      assert.deepEqual(structure.schedules, [{ name: "hourly_schedule", job: "hourly", cron: "15 * * * *", timezone: "America/New_York" }]);
      assert.deepEqual(structure.definitions.resources, ["pipes_subprocess_client"]);
      assert.match(text, /WORKSPACE = \(Path\(__file__\)\.resolve\(\)\.parent \/ "\.\.\/\.\."\)\.resolve\(\)/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
