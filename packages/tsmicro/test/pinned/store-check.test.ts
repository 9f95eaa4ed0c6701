/**
 * Pinned behaviours of the input rules every store enforces (store/check.ts) that the mutation
 * run found untested: the shape of the refusal, names anchored at both ends, list prefixes and
 * suffixes checked like keys, metadata values, ifVersion, and the compare-and-set refusal.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { checkKey, STORE_NAME_PATTERN, versionConflict } from "../../src/store/check.js";
import { createMemoryStore } from "../../src/store/memory.js";

const limits = { maxKeyBytes: 30, maxValueBytes: 100 };
const bytes = new Uint8Array([1]);

/** Asserts a 400 refusal from the store's rules, in the one shape every backend shares. */
function refusal(detail: RegExp, code = 400) {
  return (err: unknown) => {
    assert.ok(err instanceof MicroError, `a MicroError, got ${String(err)}`);
    assert.equal(err.id, "tsmicro.store");
    assert.equal(err.code, code);
    assert.equal(err.retryable, false, "bad input is not worth a retry");
    assert.match(err.detail, detail);
    return true;
  };
}

describe("store input rules (pinned)", { timeout: 10_000 }, () => {
  it("a refusal is a non-retryable 400 with id tsmicro.store, naming the store and what was wrong", () => {
    assert.throws(() => checkKey("pg", "", limits), refusal(/^store pg: key must not be empty$/));
    assert.throws(() => checkKey("pg", 7, limits), refusal(/^store pg: key must be a string, got number$/));
    assert.throws(
      () => checkKey("pg", "", limits, "prefix"),
      refusal(/^store pg: prefix must not be empty$/),
      "the caller names what it checks",
    );
  });

  it("a key's UTF-8 size is counted against maxKeyBytes, however short it is in UTF-16 units", () => {
    assert.equal(checkKey("s", "a".repeat(30), limits), "a".repeat(30));
    assert.throws(
      () => checkKey("s", "a".repeat(31), limits),
      refusal(/key is 31 bytes, over the limit of maxKeyBytes=30/),
    );
    // 10 units of 3 bytes: exactly the limit; 11 units: 33 bytes.
    assert.equal(checkKey("s", "€".repeat(10), limits), "€".repeat(10));
    assert.throws(() => checkKey("s", "€".repeat(11), limits), refusal(/key is 33 bytes/));
  });

  it("database and table names must match whole, not only at their end", async () => {
    assert.equal(STORE_NAME_PATTERN.test("bad-name"), false);
    assert.equal(STORE_NAME_PATTERN.test("a".repeat(65)), false);
    assert.equal(STORE_NAME_PATTERN.test("good_Name_1"), true);
    const s = createMemoryStore();
    try {
      await assert.rejects(
        s.read("k", { database: "bad-name" }),
        refusal(/^store memory: database name "bad-name" must be 1 to 64 of A-Z a-z 0-9 _$/),
      );
      await assert.rejects(s.list({ table: "x.y" }), refusal(/table name "x.y"/));
    } finally {
      await s.close();
    }
  });

  it("a list's prefix and suffix follow the key rules; empty ones match everything", async () => {
    const s = createMemoryStore();
    try {
      await s.write({ key: "a1", value: bytes });
      await s.write({ key: "b1", value: bytes });
      assert.deepEqual(await s.list({ prefix: "", suffix: "" }), ["a1", "b1"]);
      await assert.rejects(s.list({ prefix: "a\n" }), refusal(/prefix "a\\n" contains a control character/));
      await assert.rejects(
        s.list({ suffix: "\u0000" }),
        refusal(/suffix "\\u0000" contains a control character/),
      );
      await assert.rejects(
        s.list({ prefix: "x".repeat(1025) }),
        refusal(/prefix is 1025 bytes, over the limit of maxKeyBytes=1024/),
      );
    } finally {
      await s.close();
    }
  });

  it("metadata must be an object whose values are strings; nothing is written otherwise", async () => {
    const s = createMemoryStore();
    try {
      for (const metadata of ["abc", ["x"], null, 5]) {
        await assert.rejects(
          s.write({ key: "k", value: bytes, metadata: metadata as never }),
          refusal(/^store memory: metadata of "k" must be an object of strings$/),
          `metadata ${JSON.stringify(metadata)}`,
        );
      }
      await assert.rejects(
        s.write({ key: "k", value: bytes, metadata: { a: "1", b: 2 } as never }),
        refusal(/^store memory: metadata "b" of "k" must be a string$/),
      );
      assert.deepEqual(await s.read("k"), [], "no refused write was stored");
      await s.write({ key: "k", value: bytes, metadata: { a: "1" } });
      assert.deepEqual((await s.read("k"))[0]?.metadata, { a: "1" });
    } finally {
      await s.close();
    }
  });

  it("ifVersion must be a non-negative safe integer", async () => {
    const s = createMemoryStore();
    try {
      for (const v of [-1, 1.5, "1", Number.NaN, 2 ** 60]) {
        await assert.rejects(
          s.write({ key: "k", value: bytes }, { ifVersion: v as never }),
          refusal(
            /^store memory: ifVersion must be a non-negative integer \(0: the key must not exist\), got /,
          ),
          `ifVersion ${String(v)}`,
        );
      }
      assert.deepEqual(await s.read("k"), [], "no refused write was stored");
    } finally {
      await s.close();
    }
  });

  it("a compare-and-set refusal is a non-retryable 409 that says whether the key was absent", async () => {
    const absent = versionConflict("redis", "k", 3, 0);
    assert.equal(absent.id, "tsmicro.store");
    assert.equal(absent.code, 409);
    assert.equal(absent.retryable, false, "the same write would fail again");
    assert.equal(
      absent.detail,
      'store redis: "k" is at version none (absent), not 3 as ifVersion required; nothing was written',
    );
    assert.equal(
      versionConflict("redis", "k", 0, 4).detail,
      'store redis: "k" is at version 4, not absent as ifVersion required; nothing was written',
    );
    const s = createMemoryStore();
    try {
      await assert.rejects(
        s.write({ key: "k", value: bytes }, { ifVersion: 2 }),
        refusal(/^store memory: "k" is at version none \(absent\), not 2 as ifVersion required/, 409),
      );
    } finally {
      await s.close();
    }
  });
});
