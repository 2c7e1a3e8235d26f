import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendLines, JsonlReader, type LineRef } from "../../server/src/run/durableLog";

interface Rec {
  n: number;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-durable-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A reader that keeps what it applied; `{n}` objects are records, `{skip: true}` is ignored, anything else is corrupt. */
function follow(file: string) {
  const seen: { rec: Rec; ref: LineRef }[] = [];
  let resets = 0;
  const reader = new JsonlReader<Rec>(file, {
    validate(parsed) {
      if (typeof parsed !== "object" || parsed === null) return undefined;
      if ((parsed as { skip?: boolean }).skip === true) return null;
      return typeof (parsed as Rec).n === "number" ? (parsed as Rec) : undefined;
    },
    apply: (rec, ref) => seen.push({ rec, ref }),
    reset: () => {
      resets++;
      seen.length = 0;
    },
  });
  return { reader, seen, ns: () => seen.map((s) => s.rec.n), resets: () => resets };
}

describe("durable log: appendLines", () => {
  test("creates the folder and the file, one line per record, in one append", (t) => {
    const file = join(tempDir(t), "a", "b", "log.jsonl");
    appendLines(file, [{ n: 1 }, { n: 2 }]);
    appendLines(file, [{ n: 3 }]);
    assert.equal(readFileSync(file, "utf8"), '{"n":1}\n{"n":2}\n{"n":3}\n');
  });

  test("starts on a fresh line after a torn last line", (t) => {
    const file = join(tempDir(t), "log.jsonl");
    writeFileSync(file, '{"n":1}\n{"n":');
    appendLines(file, [{ n: 2 }]);
    assert.equal(readFileSync(file, "utf8"), '{"n":1}\n{"n":\n{"n":2}\n');
  });
});

describe("durable log: JsonlReader", () => {
  test("a missing file reads as empty, without a reset", (t) => {
    const { reader, seen, resets } = follow(join(tempDir(t), "none.jsonl"));
    assert.equal(reader.reload(), false);
    assert.equal(seen.length, 0);
    assert.equal(resets(), 0);
    assert.equal(reader.corruptLines, 0);
  });

  test("reads incrementally, with line refs that read the records back", (t) => {
    const file = join(tempDir(t), "log.jsonl");
    const { reader, seen, ns } = follow(file);
    appendLines(file, [{ n: 1 }, { n: 2 }]);
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1, 2]);
    assert.equal(reader.reload(), false, "nothing new");
    appendLines(file, [{ n: 3 }]);
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1, 2, 3]);
    assert.deepEqual(
      seen.map((s) => s.ref),
      [
        [0, 7],
        [8, 7],
        [16, 7],
      ],
    );
    for (const s of seen) assert.deepEqual(reader.readAt(s.ref), s.rec);
  });

  test("skips blank lines and CRs, counts corrupt lines, ignores what validation returns null for", (t) => {
    const file = join(tempDir(t), "log.jsonl");
    writeFileSync(file, '{"n":1}\r\n\n   \nnot json\n{"x":1}\n{"skip":true}\n"str"\n{"n":2}\n');
    const { reader, ns } = follow(file);
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1, 2]);
    assert.equal(reader.corruptLines, 4, "not json, wrong shape, whitespace-only, a string");
    assert.equal(reader.hasTornTail, false);
  });

  test("a torn last line stays pending until it is completed", (t) => {
    const file = join(tempDir(t), "log.jsonl");
    writeFileSync(file, '{"n":1}\n{"n":');
    const { reader, ns } = follow(file);
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1]);
    assert.equal(reader.hasTornTail, true);
    assert.equal(reader.corruptLines, 0);
    assert.equal(reader.reload(), false);
    appendFileSync(file, "2}\n");
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1, 2]);
    assert.equal(reader.hasTornTail, false);
  });

  test("a torn line ended by the next append counts as corrupt", (t) => {
    const file = join(tempDir(t), "log.jsonl");
    writeFileSync(file, '{"n":1}\n{"n":');
    const { reader, ns } = follow(file);
    reader.reload();
    appendLines(file, [{ n: 3 }]);
    assert.equal(reader.reload(), true);
    assert.deepEqual(ns(), [1, 3]);
    assert.equal(reader.corruptLines, 1);
    assert.equal(reader.hasTornTail, false);
  });

  test("a replaced, truncated or removed file starts over", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "log.jsonl");
    const { reader, ns, resets } = follow(file);
    appendLines(file, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    reader.reload();
    assert.deepEqual(ns(), [1, 2, 3]);

    const other = join(dir, "other.jsonl");
    writeFileSync(other, '{"n":7}\nbad\n{"n":8}\n{"n":9}\n');
    renameSync(other, file);
    assert.equal(reader.reload(), true);
    assert.equal(resets(), 1);
    assert.deepEqual(ns(), [7, 8, 9]);
    assert.equal(reader.corruptLines, 1);

    truncateSync(file, 8);
    assert.equal(reader.reload(), true);
    assert.equal(resets(), 2);
    assert.deepEqual(ns(), [7]);
    assert.equal(reader.corruptLines, 0);

    rmSync(file);
    assert.equal(reader.reload(), true);
    assert.equal(resets(), 3);
    assert.deepEqual(ns(), []);
    assert.equal(reader.reload(), false, "still missing: nothing to forget");
    assert.equal(resets(), 3);
  });

  test("lines across read chunks (over 1 MiB) are read whole, with exact refs", (t) => {
    const file = join(tempDir(t), "big.jsonl");
    const pad = "x".repeat(999);
    const records = Array.from({ length: 2500 }, (_, n) => ({ n, pad }));
    appendLines(file, records);
    const { reader, seen } = follow(file);
    assert.equal(reader.reload(), true);
    assert.equal(seen.length, 2500);
    assert.deepEqual(
      seen.map((s) => s.rec.n),
      records.map((r) => r.n),
    );
    assert.equal(reader.corruptLines, 0);
    for (const i of [0, 1048, 1049, 2499]) assert.deepEqual(reader.readAt(seen[i].ref), records[i]);
  });

  test("readAt gives undefined for a missing file or a line that is not a valid record", (t) => {
    const dir = tempDir(t);
    const file = join(dir, "log.jsonl");
    writeFileSync(file, '{"n":1}\nbad\n{"skip":true}\n');
    const { reader } = follow(file);
    assert.deepEqual(reader.readAt([0, 7]), { n: 1 });
    assert.equal(reader.readAt([8, 3]), undefined);
    assert.equal(reader.readAt([12, 13]), undefined);
    assert.equal(follow(join(dir, "none.jsonl")).reader.readAt([0, 7]), undefined);
    assert.equal(existsSync(join(dir, "none.jsonl")), false);
  });
});
