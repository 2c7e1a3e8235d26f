/**
 * The fast YAML path (js-yaml events turned into the `yaml` package's nodes) must give exactly
 * what the `yaml` package gives — same values, styles and ranges — or step aside for it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { isAlias, isMap, isScalar, isSeq, parseDocument, visit } from "yaml";
import type { Document } from "yaml";
import { prng } from "../../bench/prng";
import { fastParseDocument } from "../../server/src/index/dbt/fastYaml";
import { lineParseDocument } from "../../server/src/index/dbt/lineYaml";
import { deref, TextPositions } from "../../server/src/index/dbt/yamlFile";
import { parsePropertiesYaml } from "../../server/src/index/dbt/yaml";

const ROOT = path.resolve(__dirname, "../..");

/**
 * Every node in document order with what the readers use: kind, style, value, flow, ranges. A
 * block scalar's trailing blank lines fall inside its range in one parser and not the other; the
 * readers trim them (`contentEnd`), so its end is compared trimmed.
 */
function dump(text: string, node: unknown, out: string[] = []): string[] {
  const anchor = (node as { anchor?: string } | null)?.anchor;
  if (anchor) out.push(`anchor ${anchor}`);
  if (node == null) out.push("none");
  else if (isAlias(node)) out.push(`alias ${node.source} @${node.range?.[0]}-${node.range?.[1]}`);
  else if (isScalar(node)) {
    let end = node.range?.[1] ?? -1;
    if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") while (end > 0 && /\s/.test(text[end - 1])) end--;
    out.push(`scalar ${node.type} ${typeof node.value} ${String(node.value)} @${node.range?.[0]}-${end}`);
  }
  else if (isMap(node) || isSeq(node)) {
    out.push(`${isMap(node) ? "map" : "seq"} flow=${Boolean(node.flow)} @${node.range?.[0]}${node.flow ? `-${node.range?.[1]}` : ""}`);
    for (const item of node.items as unknown[]) {
      if (isMap(node)) {
        const pair = item as { key: unknown; value: unknown };
        dump(text, pair.key, out);
        dump(text, pair.value, out);
      } else dump(text, item, out);
    }
    out.push("end");
  } else out.push("other");
  return out;
}

function yamlPackage(text: string) {
  return parseDocument(text, { prettyErrors: false, merge: true, logLevel: "silent", uniqueKeys: true });
}

/** "fallback", or "same" when the fast path answered exactly as the `yaml` package; else what differs. */
function compare(text: string, parse: (text: string) => Document.Parsed | undefined = fastParseDocument): string {
  const fast = parse(text);
  if (!fast) return "fallback";
  const slow = yamlPackage(text);
  const problems = [...slow.errors, ...slow.warnings];
  if (problems.length > 0) return `fast path accepted what the yaml package reports: ${problems[0].message}`;
  const a = dump(text, fast.contents);
  const b = dump(text, slow.contents);
  const at = a.findIndex((line, i) => line !== b[i]);
  return at === -1 && a.length === b.length ? "same" : `node ${at}: fast ${a[at]} / yaml ${b[at]}`;
}

function corpus(): [string, string][] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== "node_modules" && e.name !== "target") walk(full);
      else if (/\.ya?ml$/.test(e.name)) files.push(full);
    }
  };
  walk(path.join(ROOT, "examples"));
  walk(path.join(ROOT, "test/fixtures/yaml"));
  return files.map((f) => [path.relative(ROOT, f), readFileSync(f, "utf8")]);
}

const EDGE_CASES = [
  "a: |\n  x\n  y\nb: >-\n  folded\n\n  more\nc: |+ # keep\n  k\n\nd: 1\n",
  "a:\nb: ~\nc: null\nd: ''\ne: \"\"\n",
  "a: 1\r\nb:\r\n  - x\r\n  - 'y'\r\n",
  "---\na: 1\n...\n",
  "- - a\n  - b\n- c\n",
  "a: [1, 2, {b: c}]  # trailing\nd: {e: [f]}\n",
  "key with spaces: v\n'quoted key': w\n\"dq\": x\n",
  "a: multi\n  line\n  plain\nb: 0o17\nc: 0x1F\nd: 1e3\ne: .inf\nf: -.5\ng: 1_000\nh: +12\ni: 2020-01-01\nj: yes\nk: True\nl: 1.50\n",
  "# only a comment\n",
  "",
  "a: \"esc \\\" \\n \\u00e9\"\nb: 'it''s'\n",
  "é: ü\nemoji: \"😀\"\n",
  "a:\n    b: 1\n    c:\n  d: 2\n",
  "a: [1,\n  2,\n  3,]\n",
  "a: {}\nb: []\nc: {  }\n",
  "a:   \n  # comment\n  b: 1\n",
  "a: x # c\n  # more\nb: y\n",
];

/** Anchors and aliases as large projects write them (shared column lists, repeated tests). */
const ANCHORED = [
  "a: &x {b: 1}\nc: *x\n",
  "cols:\n  - &id\n    name: id\n    tests: [unique]\n  - &ts name: ts\nagain:\n  - *id   # same column\n  - *ts\n",
  "a: &q 'quoted'\nb: [*q, &n 1, *n]\nc: &s\n  - x\nd: *s\n",
  "a: &x 1\nb: &x 2\nc: *x\n",
];

describe("fast YAML path", () => {
  test("real-world dbt files and edge cases parse to the same nodes as with the yaml package", () => {
    const files = corpus();
    assert.ok(files.length >= 7, "the corpus holds the example project and the fixtures");
    for (const [name, text] of files) assert.equal(compare(text), "same", name);
    for (const text of EDGE_CASES) assert.ok(["same", "fallback"].includes(compare(text)), `${JSON.stringify(text)}: ${compare(text)}`);
    assert.equal(compare(EDGE_CASES[0]), "same", "block scalars take the fast path");
    for (const text of ANCHORED) assert.equal(compare(text), "same", JSON.stringify(text));
  });

  test("merge keys, aliases without their anchor, anchored empty values, tags, duplicate keys, several documents, tab indentation, lone CR and syntax errors go to the yaml package", () => {
    for (const text of [
      "a: *x\nb: &x 1\n",
      "a: &x\nb: 1\n",
      "base: &b\n  x: 1\nm:\n  <<: *b\n",
      "m:\n  <<: {x: 1}\n  y: 2\n",
      "a: !!str 1\n",
      "a: 1\na: 2\n",
      "a: 1\n---\nb: 2\n",
      "a:\n\tb: 1\n",
      "a: 1\rb: 2\n",
      "a: 'unterminated\n",
      "a: b: c\n",
      "- \n- a\n",
      "a: {b}\n",
    ]) {
      assert.equal(fastParseDocument(text), undefined, JSON.stringify(text));
    }
    // and the yaml package's diagnostics still come out
    const dup = parsePropertiesYaml("models:\n  - name: a\n    description: x\n    description: y\n", "/p/m.yml");
    assert.ok(dup.diagnostics.some((d) => d.code === "duplicate-entry" && d.span.start.line === 3));
    const broken = parsePropertiesYaml("models:\n  - name: 'a\n", "/p/m.yml");
    assert.ok(broken.diagnostics.some((d) => d.code === "yaml-syntax" && d.severity === "error"));
  });

  test("random edits of real files: the fast path either agrees with the yaml package or steps aside", () => {
    const files = corpus();
    const random = prng(11);
    const alphabet = " \n:-#'\"[]{},|>&*!?%@`\ta0é\r";
    const tally = { same: 0, fallback: 0 };
    for (let i = 0; i < 4000; i++) {
      const [name, original] = files[Math.floor(random() * files.length)];
      let text = original;
      for (let e = 0, n = 1 + Math.floor(random() * 3); e < n; e++) {
        const at = Math.floor(random() * text.length);
        const ch = alphabet[Math.floor(random() * alphabet.length)];
        const op = random();
        text = op < 0.33 ? text.slice(0, at) + text.slice(at + 1) : op < 0.66 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      if (random() < 0.2) text = text.slice(0, Math.floor(random() * text.length));
      const result = compare(text);
      assert.ok(result === "same" || result === "fallback", `${name} edited: ${result}\n${JSON.stringify(text)}`);
      tally[result as "same" | "fallback"]++;
    }
    assert.ok(tally.same > 1000 && tally.fallback > 100, `both paths exercised: ${JSON.stringify(tally)}`);
  });

  test("property files read the same through either path", () => {
    const text = readFileSync(path.join(ROOT, "test/fixtures/yaml/realistic-properties.yml"), "utf8");
    const fast = parsePropertiesYaml(text, "/p/models/props.yml");
    // A merge key anywhere sends the whole file to the yaml package; the facts must not change.
    const slow = parsePropertiesYaml(`${text}\nx-unused: &unused {a: 1}\nx-merged: {<<: *unused}\n`, "/p/models/props.yml");
    assert.ok(fastParseDocument(text), "the file takes the fast path");
    assert.equal(fastParseDocument(`${text}\nx-unused: &unused {a: 1}\nx-merged: {<<: *unused}\n`), undefined, "the merge key sends it to the yaml package");
    assert.deepEqual(fast, slow);
    assert.equal(fast.models[0].name, "stg_payments");
    assert.deepEqual(fast.models[0].constraintDeps?.map((d) => d.args), [["stg_customers"]]);
  });
});

/** Every node with its full range (block collections' ends too), to hold the line reader to the js-yaml path exactly. */
function fullDump(node: unknown, out: string[] = []): string[] {
  if (node == null) {
    out.push("none");
    return out;
  }
  const n = node as { range?: number[]; anchor?: string; items?: unknown[]; type?: string; source?: string; flow?: boolean };
  out.push(`${(node as object).constructor.name} ${n.anchor ?? ""} ${n.type ?? ""} ${String(n.flow)} ${JSON.stringify(n.range)} ${isScalar(node) ? JSON.stringify(node.value) : ""} ${n.source ?? ""}`);
  for (const item of n.items ?? []) {
    if (isMap(node)) {
      fullDump((item as { key: unknown }).key, out);
      fullDump((item as { value: unknown }).value, out);
    } else fullDump(item, out);
  }
  return out;
}

const MULTI_LINE = [
  "models:\n  - name: a\n    description: The source date relevant to the field (e.g. x =\n      y means z)\n  - name: b\n",
  "a: first\n  second\n\n  after a blank\n\n\n  two blanks\nb: 1\n",
  "- item\n  continued - with dash\n- next `x` [x] {y} &z *w 'q\n",
  "a: x # a comment ends it\nb: y\n  # an indented comment\nc: z\n",
  "a: >\n  folded\n  text\n\n  para\nb: |-\n  lit\n    more\nc: 1\n",
  "a: 'one\n  two'\nb: \"x\n\n  y  \n   # not a comment\"\nc:\n  - 'it''s\n    folded' # c\n",
  "models:\n  - name: m\n    config:\n      tags:\n        [\"a\", \"b\"]\n    description:\n      Written on the line\n      below its key\n    columns:\n      -\n        name: c\n",
  "a: 1\nb: spaces after the last line break\n   ",
];

/** `<<: *anchor` merge keys, as large dbt projects share column lists. */
const MERGED = [
  "base: &b\n  x: 1\nm:\n  <<: *b\n",
  "cols:\n  - &c\n    name: id\n    tests: [unique]\n  - <<: *c\n    name: id2\n    description: overrides nothing but adds\n",
  "a: &x\n  k: 1\n  z: 3\nb:\n  j: 2\n  <<: *x\n  k: 5\n",
];

describe("line YAML reader", () => {
  test("real-world dbt files, edge cases and multi-line plain scalars: the same nodes as the yaml package, or a step aside", () => {
    const files = corpus();
    let taken = 0;
    for (const [name, text] of files) {
      const result = compare(text, lineParseDocument);
      assert.ok(result === "same" || result === "fallback", `${name}: ${result}`);
      if (result === "same") taken++;
    }
    assert.ok(taken >= files.length - 2, `the line reader takes the dbt files (${taken} of ${files.length})`);
    for (const text of [...EDGE_CASES, ...ANCHORED, ...MULTI_LINE]) {
      const result = compare(text, lineParseDocument);
      assert.ok(result === "same" || result === "fallback", `${JSON.stringify(text)}: ${result}`);
    }
    // (ANCHORED[1] anchors a key, `- &ts name: ts`, and ANCHORED[2] has aliases in a flow sequence: those go to the next parser.)
    for (const text of [...ANCHORED.filter((_, i) => i !== 1 && i !== 2), ...MULTI_LINE, ...MERGED]) assert.equal(compare(text, lineParseDocument), "same", JSON.stringify(text));
    // The merge applies as the `yaml` package applies it (explicit keys win, whatever their place).
    for (const text of MERGED) assert.deepEqual(lineParseDocument(text)!.toJS(), parseDocument(text, { merge: true }).toJS(), JSON.stringify(text));
  });

  test("where both answer, the line reader builds exactly the js-yaml path's nodes (block collection ends included)", () => {
    let both = 0;
    for (const text of [...corpus().map(([, t]) => t), ...EDGE_CASES, ...ANCHORED, ...MULTI_LINE]) {
      const line = lineParseDocument(text);
      const fast = fastParseDocument(text);
      if (!line || !fast) continue;
      both++;
      assert.deepEqual(fullDump(line.contents), fullDump(fast.contents), JSON.stringify(text.slice(0, 200)));
    }
    assert.ok(both >= 10);
  });

  test("aliases stand for the node their anchor names last before them, as when found by walking the document", () => {
    const texts = [
      ...ANCHORED,
      "a: &x 1\nb: *x\nc: &x\n  d: 2\ne: *x\nf:\n  - &y {g: 1}\n  - *y\n",
      // column lists shared between source tables, one anchor redefined on the way (large projects' shape)
      "tables:\n  - name: t0\n    columns:\n      - &c\n        name: c\n      - &d\n        name: d\n  - name: t1\n    columns:\n      - *c\n      - *d\n  - name: t2\n    columns:\n      - &c\n        name: c2\n      - *c\n      - *d\n",
      ...corpus().map(([, t]) => t),
    ];
    let aliases = 0;
    for (const text of texts) {
      const doc = lineParseDocument(text);
      if (!doc) continue;
      const y = { doc, text, file: "/p/a.yml", pos: new TextPositions(text), diagnostics: [] };
      // Expected: walking the document in order, the last node anchored with the alias's name.
      const expected: unknown[] = [];
      const latest = new Map<string, unknown>();
      visit(doc, {
        Node: (_k, node) => {
          if (isAlias(node)) expected.push(latest.get(node.source));
          else if (node.anchor) latest.set(node.anchor, node);
        },
      });
      const found: unknown[] = [];
      visit(doc, { Alias: (_k, node) => void found.push(deref(y, node)) });
      assert.equal(found.length, expected.length);
      found.forEach((n, i) => assert.ok(n !== undefined && n === expected[i], `${JSON.stringify(text.slice(0, 120))}: alias ${i}`));
      aliases += found.length;
    }
    assert.ok(aliases >= 8, `aliases checked: ${aliases}`);
  });

  test("what it does not read goes to the next parser", () => {
    for (const text of [
      "a: *x\nb: &x 1\n", "a: &x\nb: 1\n", "m:\n  <<: {x: 1}\n", "m:\n  <<: [*a]\n", "m:\n  '<<': *b\n", "b: &b {x: 1}\nm:\n  <<: *b\n  <<: *b\n", "a: !!str 1\n", "a: 1\na: 2\n",
      "a: 1\n---\nb: 2\n", "a:\n\tb: 1\n", "a: 1\rb: 2\n", "a: 'unterminated\n", "a: b: c\n", "- \n- a\n", "a: {b}\n",
      "a: 'x\ny'\n", "a: \"x\\ty\n  z\"\n", "a: |2\n   x\n", "a: >\n  x\n    more indented\n", "? k\n: v\n", "- &a k: v\n", "a: [1,\n  2]\n", "", "a: |\n  at the end\n   ",
    ]) {
      assert.equal(lineParseDocument(text), undefined, JSON.stringify(text));
    }
  });

  test("random edits of real files: the line reader agrees with the yaml package or steps aside", () => {
    const files = [...corpus(), ...[...MULTI_LINE, ...MERGED].map((t, i) => [`plain${i}`, t] as [string, string])];
    const random = prng(23);
    const alphabet = " \n:-#'\"[]{},|>&*!?%@`\ta0é\r";
    const tally = { same: 0, fallback: 0 };
    for (let i = 0; i < 4000; i++) {
      const [name, original] = files[Math.floor(random() * files.length)];
      let text = original;
      for (let e = 0, n = 1 + Math.floor(random() * 3); e < n; e++) {
        const at = Math.floor(random() * text.length);
        const ch = alphabet[Math.floor(random() * alphabet.length)];
        const op = random();
        text = op < 0.33 ? text.slice(0, at) + text.slice(at + 1) : op < 0.66 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      if (random() < 0.2) text = text.slice(0, Math.floor(random() * text.length));
      const result = compare(text, lineParseDocument);
      assert.ok(result === "same" || result === "fallback", `${name} edited: ${result}\n${JSON.stringify(text)}`);
      tally[result as "same" | "fallback"]++;
    }
    assert.ok(tally.same > 1000 && tally.fallback > 100, `both paths exercised: ${JSON.stringify(tally)}`);
  });
});
