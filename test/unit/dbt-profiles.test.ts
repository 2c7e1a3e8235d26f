import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { findProfilesFile, readProfiles, renderEnvVars } from "../../server/src/index/dbt/profiles";

const FILE = "/ws/proj/profiles.yml";

const PROFILES = `config:
  send_anonymous_usage_stats: false

jaffle_shop:
  target: "{{ env_var('DBT_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('DUCKDB_PATH', 'jaffle_shop.duckdb') }}"
      schema: main
      threads: "{{ env_var('DBT_THREADS', 4) | int }}"
      extensions: [httpfs, parquet]
    prod:
      type: duckdb
      path: "md:prod_db"
      schema: "{{ env_var('PROD_SCHEMA') }}"
      database: prod_db
      threads: 8
    ci:
      type: duckdb
      path: /tmp/ci.duckdb
      schema: "ci_{{ var('run_id') }}"

other_profile:
  outputs:
    default:
      type: postgres
      host: localhost
      dbname: analytics
      schema: public
      threads: 2
`;

void test("target from the profile's target: with env_var default; duckdb settings; threads | int", () => {
  const r = readProfiles(PROFILES, FILE, "jaffle_shop", undefined, {});
  assert.deepEqual(r, { target: "dev", type: "duckdb", path: "jaffle_shop.duckdb", schema: "main", threads: 4, diagnostics: [] });
});

void test("env_var values come from the environment when set", () => {
  const r = readProfiles(PROFILES, FILE, "jaffle_shop", undefined, { DBT_TARGET: "prod", PROD_SCHEMA: "analytics" });
  assert.deepEqual(r, { target: "prod", type: "duckdb", path: "md:prod_db", schema: "analytics", database: "prod_db", threads: 8, diagnostics: [] });
  const dev = readProfiles(PROFILES, FILE, "jaffle_shop", undefined, { DUCKDB_PATH: "/data/x.duckdb", DBT_THREADS: "16" });
  assert.equal(dev.path, "/data/x.duckdb");
  assert.equal(dev.threads, 16);
});

void test("an explicit target wins over the profile's target:", () => {
  const r = readProfiles(PROFILES, FILE, "jaffle_shop", "ci", { DBT_TARGET: "prod" });
  assert.equal(r.target, "ci");
  assert.equal(r.path, "/tmp/ci.duckdb");
  // other Jinja is kept as text
  assert.equal(r.schema, "ci_{{ var('run_id') }}");
  assert.deepEqual(r.diagnostics, []);
});

void test("no target: -> dbt's `default` target; other adapters' database names", () => {
  const r = readProfiles(PROFILES, FILE, "other_profile", undefined, {});
  assert.deepEqual(r, { target: "default", type: "postgres", schema: "public", database: "analytics", threads: 2, diagnostics: [] });
});

void test("env_var without value or default: kept as written, with a warning at the value", () => {
  const r = readProfiles(PROFILES, FILE, "jaffle_shop", "prod", {});
  assert.equal(r.schema, "{{ env_var('PROD_SCHEMA') }}");
  assert.equal(r.diagnostics.length, 1);
  const [d] = r.diagnostics;
  assert.equal(d.code, "env-var-missing");
  assert.equal(d.severity, "warning");
  assert.deepEqual(d.span, { start: { line: 15, character: 15 }, end: { line: 15, character: 43 } });
});

void test("unknown profile or target -> warnings, no throw", () => {
  const p = readProfiles(PROFILES, FILE, "nope", undefined, {});
  assert.equal(p.type, undefined);
  assert.deepEqual(p.diagnostics.map((d) => d.code), ["profile-not-found"]);
  const t = readProfiles(PROFILES, FILE, "jaffle_shop", "staging", {});
  assert.equal(t.target, "staging");
  assert.equal(t.type, undefined);
  assert.deepEqual(t.diagnostics.map((d) => d.code), ["profile-target-not-found"]);
});

void test("malformed profiles.yml -> yaml-syntax error at its position", () => {
  const r = readProfiles("p:\n  outputs:\n    dev: {type: duckdb\n  target: dev\n", FILE, "p", undefined, {});
  const syntax = r.diagnostics.filter((d) => d.code === "yaml-syntax");
  assert.ok(syntax.length >= 1);
  assert.equal(syntax[0].severity, "error");
  assert.equal(syntax[0].span.start.line, 3);
  assert.deepEqual(readProfiles("", FILE, "p", undefined, {}).diagnostics.map((d) => d.code), ["profile-not-found"]);
});

void test("renderEnvVars: defaults, numbers, filters, whitespace control, other Jinja left", () => {
  assert.deepEqual(renderEnvVars("{{ env_var('A') }}", { A: "x" }), { text: "x", complete: true, missing: [] });
  assert.deepEqual(renderEnvVars('{{env_var("A", "d")}}/db', {}), { text: "d/db", complete: true, missing: [] });
  assert.deepEqual(renderEnvVars("{{- env_var('N', 3) | as_number -}}", {}), { text: "3", complete: true, missing: [] });
  assert.deepEqual(renderEnvVars("{{ env_var('U') | upper }}", { U: "ab" }), { text: "AB", complete: true, missing: [] });
  assert.deepEqual(renderEnvVars("{{ env_var('M') }}", {}), { text: "{{ env_var('M') }}", complete: false, missing: ["M"] });
  assert.deepEqual(renderEnvVars("{{ target.name }}_x", {}), { text: "{{ target.name }}_x", complete: false, missing: [] });
  assert.deepEqual(renderEnvVars("{{ env_var('A') | weird }}", { A: "1" }), { text: "{{ env_var('A') | weird }}", complete: false, missing: [] });
  assert.deepEqual(renderEnvVars("plain", {}), { text: "plain", complete: true, missing: [] });
});

void test("findProfilesFile: project folder, then DBT_PROFILES_DIR, then ~/.dbt", () => {
  const root = path.resolve("/ws/proj");
  const home = path.resolve("/home/me");
  const env = { HOME: home, DBT_PROFILES_DIR: "../conf" };
  const inProject = path.join(root, "profiles.yml");
  const inDir = path.resolve("/ws/conf/profiles.yml");
  const inHome = path.join(home, ".dbt", "profiles.yml");
  const has = (...present: string[]) => (p: string) => present.includes(p);
  assert.equal(findProfilesFile(root, env, has(inProject, inDir, inHome)), inProject);
  assert.equal(findProfilesFile(root, env, has(inDir, inHome)), inDir);
  assert.equal(findProfilesFile(root, env, has(inHome)), inHome);
  assert.equal(findProfilesFile(root, { HOME: home }, has(inDir, inHome)), inHome);
  assert.equal(findProfilesFile(root, env, has()), undefined);
  assert.equal(findProfilesFile(root, { HOME: home, DBT_PROFILES_DIR: "/etc/dbt" }, has(path.resolve("/etc/dbt/profiles.yml"))), path.resolve("/etc/dbt/profiles.yml"));
});
