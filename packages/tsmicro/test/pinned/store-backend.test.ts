/**
 * Pinned behaviours of `defineStore` (store/backend.ts), over a backend that records what it is
 * asked: the limits' precedence, the default scope (options, then the environment, then
 * "micro"), what each operation hands the backend once checked, the expiry from a TTL, the 503
 * that names the store and the operation for any driver failure (rejected or thrown), the refusal
 * after close(), and the in-memory query helper's order (UTF-8 bytes), offset and limit.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { MicroError } from "../../src/errors.js";
import {
  applyQuery,
  type BackendWrite,
  compareKeys,
  defineStore,
  type Query,
  type Scope,
  type StoreBackend,
  storeDefaults,
} from "../../src/store/backend.js";
import { DEFAULT_STORE_LIMITS } from "../../src/store/store.js";
import { microError } from "../helpers.js";
import { isolateEnv } from "../support/env-vars.js";

interface Asked {
  op: string;
  scope: Scope;
  arg: unknown;
}

function recording(o: Partial<StoreBackend> = {}) {
  const asked: Asked[] = [];
  let closes = 0;
  const backend: StoreBackend = {
    name: "rec",
    read: async (scope, query) => {
      asked.push({ op: "read", scope, arg: query });
      return [];
    },
    write: async (scope, record) => {
      asked.push({ op: "write", scope, arg: record });
      return 7;
    },
    delete: async (scope, key) => {
      asked.push({ op: "delete", scope, arg: key });
    },
    list: async (scope, query) => {
      asked.push({ op: "list", scope, arg: query });
      return ["k"];
    },
    close: async () => {
      closes++;
    },
    ...o,
  };
  return { backend, asked, closes: () => closes };
}

/** What the store refused with. */
const failure = (p: Promise<unknown>) => microError(p, "the store to refuse");

describe("defineStore (pinned)", { timeout: 10_000 }, () => {
  isolateEnv(["MICRO_STORE_DATABASE", "MICRO_STORE_TABLE"], true);

  it("limits: the defaults, lowered by the backend, set by the options last; frozen; the backend's name", () => {
    const plain = defineStore(recording().backend);
    assert.deepEqual(plain.limits, DEFAULT_STORE_LIMITS);
    assert.equal(plain.name, "rec");
    const s = defineStore(recording({ limits: { maxValueBytes: 100, maxKeyBytes: 50 } }).backend, {
      limits: { maxKeyBytes: 10 },
    });
    assert.deepEqual(s.limits, { maxKeyBytes: 10, maxValueBytes: 100 });
    assert.ok(Object.isFrozen(s.limits));
  });

  it("the scope: options, else MICRO_STORE_DATABASE / MICRO_STORE_TABLE (not when empty), else micro; checked when made", () => {
    assert.deepEqual(storeDefaults({}), { database: "micro", table: "micro" });
    process.env.MICRO_STORE_DATABASE = "envdb";
    process.env.MICRO_STORE_TABLE = "";
    assert.deepEqual(storeDefaults({}), { database: "envdb", table: "micro" });
    process.env.MICRO_STORE_TABLE = "envtable";
    assert.deepEqual(storeDefaults({ database: "optdb" }), { database: "optdb", table: "envtable" });
    assert.deepEqual(storeDefaults({ table: "t" }), { database: "envdb", table: "t" });
    process.env.MICRO_STORE_TABLE = "bad-name";
    assert.throws(() => defineStore(recording().backend), /table name "bad-name" must be 1 to 64/);
    assert.throws(
      () => defineStore(recording().backend, { table: "ok", database: "no way" }),
      /database name "no way"/,
    );
  });

  it("read: an exact key, or a prefix or suffix query with its limit and offset; the call's scope over the defaults", async () => {
    const { backend, asked } = recording();
    const s = defineStore(backend, { database: "db", table: "tb" });
    await s.read("k1");
    await s.read("k1");
    assert.equal(asked[0]!.scope, asked[1]!.scope, "the default scope is one object, not rebuilt per call");
    await s.read("pre", { prefix: true, limit: 2, offset: 1, table: "other" });
    await s.read("suf", { suffix: true, database: "d2" });
    assert.deepEqual(
      asked.map((a) => [a.scope, a.arg]),
      [
        [
          { database: "db", table: "tb" },
          { exact: "k1", prefix: "", suffix: "", limit: undefined, offset: 0 },
        ],
        [
          { database: "db", table: "tb" },
          { exact: "k1", prefix: "", suffix: "", limit: undefined, offset: 0 },
        ],
        [
          { database: "db", table: "other" },
          { prefix: "pre", suffix: "", limit: 2, offset: 1 },
        ],
        [
          { database: "d2", table: "tb" },
          { prefix: "", suffix: "suf", limit: undefined, offset: 0 },
        ],
      ],
    );
    assert.match(
      (await failure(s.read("", { prefix: true }))).detail,
      /key prefix\/suffix must not be empty/,
    );
    assert.match((await failure(s.read(""))).detail, /: key must not be empty/);
    assert.match((await failure(s.read("k", { table: "x y" }))).detail, /table name "x y"/);
    assert.match(
      (await failure(s.read("k", { prefix: true, limit: -1 }))).detail,
      /limit must be a non-negative integer/,
    );
    assert.match(
      (await failure(s.read("k", { prefix: true, offset: 1.5 }))).detail,
      /offset must be a non-negative integer/,
    );
    assert.equal(asked.length, 4, "nothing refused reached the backend");
  });

  it("write: the checked record, its expiry from ttlMs (else its own), ifVersion; the version back", async () => {
    mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    try {
      const { backend, asked } = recording();
      const s = defineStore(backend);
      const value = Uint8Array.of(1);
      assert.deepEqual(await s.write({ key: "a", value }), { version: 7 });
      await s.write({ key: "b", value, metadata: { m: "1" }, expiresAt: 5 }, { ifVersion: 0 });
      await s.write({ key: "c", value, expiresAt: 5 }, { ttlMs: 250, ifVersion: 3 });
      assert.deepEqual(
        asked.map((a) => a.arg as BackendWrite),
        [
          { key: "a", value, metadata: {}, expiresAt: undefined, ifVersion: undefined },
          { key: "b", value, metadata: { m: "1" }, expiresAt: 5, ifVersion: 0 },
          { key: "c", value, metadata: {}, expiresAt: 1_000_250, ifVersion: 3 },
        ],
      );
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, "5"]) {
        const e = await failure(s.write({ key: "d", value, expiresAt: bad as number }));
        assert.equal(e.code, 400);
        assert.equal(e.id, "tsmicro.store");
        assert.equal(e.retryable, false);
        assert.equal(e.detail, 'store rec: expiresAt of "d" must be ms since the epoch');
      }
      assert.match(
        (await failure(s.write(undefined as never))).detail,
        /key must be a string, got undefined/,
      );
      assert.equal(asked.length, 3);
    } finally {
      mock.timers.reset();
    }
  });

  it("delete and list: checked, then handed on with the scope and query", async () => {
    const { backend, asked } = recording();
    const s = defineStore(backend);
    await s.delete("gone", { table: "t2" });
    assert.deepEqual(await s.list(), ["k"]);
    await s.list({ prefix: "p", suffix: "s", limit: 0, offset: 3 });
    assert.deepEqual(
      asked.map((a) => [a.op, a.scope.table, a.arg]),
      [
        ["delete", "t2", "gone"],
        ["list", "micro", { prefix: "", suffix: "", limit: undefined, offset: 0 }],
        ["list", "micro", { prefix: "p", suffix: "s", limit: 0, offset: 3 }],
      ],
    );
    assert.match((await failure(s.delete("a\u0001b"))).detail, /contains a control character/);
  });

  it("a driver failure is a 503 naming the store and operation, rejected or thrown; a MicroError passes as is", async () => {
    const boom = new Error("connection reset");
    const conflict = new MicroError({ id: "tsmicro.store", code: 409, detail: "conflict" });
    const s = defineStore(
      recording({
        read: () => Promise.reject(boom),
        write: () => Promise.reject(conflict),
        delete: () => {
          throw new Error("sync driver bug");
        },
        list: () => Promise.reject("a string"),
      }).backend,
    );
    const read = await failure(s.read("k"));
    assert.equal(read.code, 503);
    assert.equal(read.id, "tsmicro.store");
    assert.equal(read.detail, "store rec: read failed: connection reset");
    assert.equal(read.cause, boom);
    assert.equal(await failure(s.write({ key: "k", value: new Uint8Array() })), conflict);
    const del = await failure(s.delete("k"));
    assert.equal(del.detail, "store rec: delete failed: sync driver bug");
    assert.equal((await failure(s.list())).detail, "store rec: list failed: a string");
    const nothing = defineStore(recording({ list: () => Promise.reject(null) }).backend);
    assert.equal((await failure(nothing.list())).detail, "store rec: list failed: null");
  });

  it("after close(): every operation is a 503 saying so, not retryable; close reaches the backend once", async () => {
    const rec = recording();
    const s = defineStore(rec.backend);
    await s.close();
    await s.close();
    assert.equal(rec.closes(), 1);
    for (const [op, p] of [
      ["read", s.read("k")],
      ["write", s.write({ key: "k", value: new Uint8Array() })],
      ["delete", s.delete("k")],
      ["list", s.list()],
    ] as const) {
      const e = await failure(p);
      assert.equal(e.code, 503);
      assert.equal(e.id, "tsmicro.store");
      assert.equal(e.retryable, false);
      assert.equal(e.detail, `store rec: ${op} after close()`);
    }
    assert.equal(rec.asked.length, 0);
  });

  it("applyQuery: prefix and suffix, ascending by UTF-8 bytes, then offset and limit", () => {
    const keys = ["a/3", "a/1", "b/1", "a/2x", "a/\u{1F600}", "a/\uFF61", "a/2"];
    const q = (o: Partial<Query>): Query => ({ prefix: "", suffix: "", limit: undefined, offset: 0, ...o });
    const id = (k: string) => k;
    assert.deepEqual(applyQuery(keys, id, q({ prefix: "a/" })), [
      "a/1",
      "a/2",
      "a/2x",
      "a/3",
      "a/\uFF61",
      "a/\u{1F600}",
    ]);
    assert.deepEqual(applyQuery(keys, id, q({ suffix: "1" })), ["a/1", "b/1"]);
    assert.deepEqual(applyQuery(keys, id, q({ prefix: "a/", offset: 1, limit: 2 })), ["a/2", "a/2x"]);
    assert.deepEqual(applyQuery(keys, id, q({ prefix: "a/", offset: 5 })), ["a/\u{1F600}"]);
    assert.deepEqual(applyQuery(keys, id, q({ limit: 0 })), []);
    assert.equal(compareKeys("x", "x"), 0);
    assert.ok(compareKeys("a", "b") < 0);
    assert.ok(compareKeys("\u{1F600}", "\uFF61") > 0, "UTF-8 order, not UTF-16's");
  });
});
