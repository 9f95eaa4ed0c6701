import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { cacheConformance } from "tsmicro/testing";
import {
  background,
  cacheWrapper,
  createMemoryCache,
  createMemoryRegistry,
  defineContract,
  implement,
  newClient,
  newService,
  unary,
  withCache,
} from "../src/index.js";

cacheConformance("memory", { create: () => createMemoryCache() });

describe("memory cache bounds", () => {
  it("evicts the least recently used entry past maxEntries; a get makes an entry recent", async () => {
    const c = createMemoryCache({ maxEntries: 3 });
    for (const k of ["a", "b", "c"]) await c.set(k, new Uint8Array([1]), 60_000);
    await c.get("a"); // b is now the least recently used
    await c.set("d", new Uint8Array([1]), 60_000);
    assert.equal(c.size, 3);
    assert.equal(await c.get("b"), undefined, "b evicted");
    for (const k of ["a", "c", "d"]) assert.ok((await c.get(k)) !== undefined, `${k} kept`);
  });

  it("keeps the bytes under maxBytes whatever is set, and does not keep a value larger than the cache", async () => {
    const maxBytes = 10_000;
    const c = createMemoryCache({ maxBytes });
    for (let i = 0; i < 100; i++) {
      await c.set(`k${i}`, new Uint8Array(1000), 60_000);
      assert.ok(c.bytes <= maxBytes, `${c.bytes} bytes after ${i + 1} sets`);
    }
    assert.ok(c.size >= 8 && c.size <= 9, `${c.size} entries of ~1 KB in 10 KB`);
    assert.ok((await c.get("k99")) !== undefined, "the newest is kept");
    await c.set("huge", new Uint8Array(maxBytes + 1), 60_000);
    assert.equal(await c.get("huge"), undefined);
    assert.ok(c.bytes <= maxBytes);
  });
});

describe("cache on a real service", () => {
  const Prices = defineContract("Prices", {
    quote: unary<{ sku: string }, { sku: string; price: number; n: number }>({ cache: { ttlMs: 60_000 } }),
    live: unary<{ sku: string }, { n: number }>(),
  });
  let calls = 0;
  const registry = createMemoryRegistry();
  const service = newService({ name: "prices", registry, address: "127.0.0.1:0" }).handle(
    implement(Prices, {
      quote: async (_ctx, req) => {
        calls++;
        await new Promise((r) => setTimeout(r, 50));
        return { sku: req.sku, price: 42, n: calls };
      },
      live: async () => ({ n: ++calls }),
    }),
  );
  const client = newClient({ registry, wrappers: [cacheWrapper({ cache: createMemoryCache() })] });
  after(async () => {
    await client.close();
    await service.stop();
  });

  it("an endpoint the contract marks cacheable is served from the cache; others and cache:false go through", async () => {
    await service.start();
    const prices = client.service(Prices, "prices");
    const before = calls;
    const [a, b] = await Promise.all([
      prices.quote(background(), { sku: "x" }),
      prices.quote(background(), { sku: "x" }),
    ]);
    assert.deepEqual(a, b);
    assert.equal(calls - before, 1, "two concurrent calls, one handler run");
    assert.deepEqual(await prices.quote(background(), { sku: "x" }), a, "a hit");
    assert.equal(calls - before, 1);
    await prices.quote(background(), { sku: "x" }, { cache: false });
    assert.equal(calls - before, 2, "cache: false bypasses the contract's marking");
    await prices.live(background(), { sku: "x" });
    await prices.live(background(), { sku: "x" });
    assert.equal(calls - before, 4, "an unmarked endpoint is never cached");
    await prices.live(background(), { sku: "x" }, withCache(60_000));
    await prices.live(background(), { sku: "x" }, withCache(60_000));
    assert.equal(calls - before, 5, "withCache marks a single call, as go-micro's client.WithCache");
  });
});
