/**
 * Pinned behaviours of the response cache (cache/*.ts) that the mutation run found untested:
 * `withCache`'s check, the memory cache's name, copies, byte accounting and exact bounds, and
 * the wrapper's keys (prefix, service, endpoint, body and content type), its silent default for
 * cache failures, and a waiter whose context is already cancelled.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cache } from "../../src/cache/cache.js";
import { withCache } from "../../src/cache/cache.js";
import { createMemoryCache } from "../../src/cache/memory.js";
import { cacheWrapper } from "../../src/cache/wrapper.js";
import type { CallOptions } from "../../src/client/options.js";
import { newRequest } from "../../src/client/request.js";
import { background, withCancel } from "../../src/context.js";

/** A cache that records the keys it is asked for and keeps nothing. */
function keyRecorder(): Cache & { keys: string[] } {
  const keys: string[] = [];
  return {
    name: "recorder",
    keys,
    async get(key) {
      keys.push(key);
      return undefined;
    },
    async set() {},
    async delete() {},
    async close() {},
  };
}

const cached = { cache: { ttlMs: 60_000 } } as CallOptions;

describe("response cache (pinned)", { timeout: 10_000 }, () => {
  it("withCache takes a positive finite TTL and names a bad one", () => {
    assert.deepEqual(withCache(1), { cache: { ttlMs: 1 } });
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => withCache(ttlMs), {
        name: "TypeError",
        message: `withCache: ttlMs must be a positive number, got ${ttlMs}`,
      });
  });

  it("the memory cache names its bounds", () => {
    assert.equal(createMemoryCache().name, "memory (lru 10000 entries, 67108864 bytes)");
    assert.equal(
      createMemoryCache({ maxEntries: 5, maxBytes: 100 }).name,
      "memory (lru 5 entries, 100 bytes)",
    );
  });

  it("keeps a copy of the bytes it is given, and counts value and key (2 bytes a character)", async () => {
    const c = createMemoryCache();
    const v = new Uint8Array([1, 2, 3]);
    await c.set("ab", v, 60_000);
    v[0] = 9;
    assert.deepEqual([...(await c.get("ab"))!], [1, 2, 3]);
    assert.equal(c.bytes, 3 + 4);
    await c.set("ab", new Uint8Array(5), 60_000);
    assert.deepEqual([c.size, c.bytes], [1, 5 + 4], "an overwrite replaces the old size");
    await c.delete("ab");
    await c.delete("absent");
    assert.deepEqual([c.size, c.bytes], [0, 0]);
    await c.set("x", new Uint8Array(1), 60_000);
    await c.close();
    assert.deepEqual([c.size, c.bytes], [0, 0]);
  });

  it("keeps exactly maxEntries entries and exactly maxBytes bytes", async () => {
    const c = createMemoryCache({ maxEntries: 3, maxBytes: 30 });
    for (const k of ["a", "b", "c"]) await c.set(k, new Uint8Array(8), 60_000); // 10 bytes each
    assert.deepEqual([c.size, c.bytes], [3, 30], "at both bounds: nothing evicted");
    await c.set("huge", new Uint8Array(100), 60_000);
    assert.deepEqual(
      [c.size, c.bytes],
      [3, 30],
      "a value larger than the whole cache is not kept, and evicts nothing",
    );
    const whole = createMemoryCache({ maxBytes: 12 });
    await whole.set("k", new Uint8Array(10), 60_000);
    assert.equal(whole.bytes, 12, "a value exactly the cache's size is kept");
  });

  it("an expired entry is dropped when read", async () => {
    const c = createMemoryCache();
    await c.set("k", new Uint8Array(4), 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await c.get("k"), undefined);
    assert.deepEqual([c.size, c.bytes], [0, 0]);
  });

  it("keys: the prefix, service, endpoint and a hash of body and content type", async () => {
    const cache = keyRecorder();
    const next = async () => "ok";
    const call = cacheWrapper({ cache })(next);
    await call(background(), newRequest("svc", "E.p", { a: 1 }), cached);
    await call(
      background(),
      newRequest("svc", "E.p", { a: 1 }, { contentType: "application/msgpack" }),
      cached,
    );
    await call(background(), newRequest("svc", "E.p", { a: 2 }), cached);
    const [plain, msgpack, other] = cache.keys;
    assert.match(plain!, /^tsmicro:cache:svc:E\.p:[A-Za-z0-9_-]{43}$/);
    assert.notEqual(plain, msgpack, "the content type is part of the key");
    assert.notEqual(plain, other, "the body is part of the key");
    const custom = keyRecorder();
    await cacheWrapper({ cache: custom, keyPrefix: "app1:" })(next)(
      background(),
      newRequest("svc", "E.p", { a: 1 }),
      cached,
    );
    assert.equal(custom.keys[0], `app1:${plain!.slice("tsmicro:cache:".length)}`);
  });

  it("a failing cache is bypassed: silently with no onError, else each failure is reported", async () => {
    const broken: Cache = {
      name: "broken",
      get: () => Promise.reject(new Error("down")),
      set: () => Promise.reject(new Error("down")),
      delete: async () => {},
      close: async () => {},
    };
    let calls = 0;
    const call = cacheWrapper({ cache: broken })(async () => ++calls);
    assert.equal(await call(background(), newRequest("svc", "E.p", {}), cached), 1);
    assert.equal(await call(background(), newRequest("svc", "E.p", {}), cached), 2);
    const told: string[] = [];
    const reported = cacheWrapper({ cache: broken, onError: (e) => told.push((e as Error).message) })(
      async () => 3,
    );
    assert.equal(await reported(background(), newRequest("svc", "E.p", {}), cached), 3);
    assert.deepEqual(told, ["down", "down"], "onError hears the failed get and the failed set");
  });

  it("a waiter whose context is already cancelled gives up at once; the shared call still answers its caller", async () => {
    let release!: (v: string) => void;
    const next = () => new Promise<string>((r) => (release = r));
    const call = cacheWrapper({ cache: createMemoryCache() })(next);
    const first = call(background(), newRequest("svc", "E.p", {}), cached);
    await new Promise((r) => setImmediate(r)); // the first call is now in flight
    const [ctx, cancel] = withCancel(background());
    cancel();
    await assert.rejects(call(ctx, newRequest("svc", "E.p", {}), cached));
    release("answer");
    assert.equal(await first, "answer");
  });
});
