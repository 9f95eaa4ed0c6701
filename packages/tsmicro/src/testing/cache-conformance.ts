/**
 * The cache conformance suite: every Cache implementation runs it unchanged (memory, Redis).
 * It checks the cache itself (bytes, TTL, delete, isolation of keys) and `cacheWrapper` on top
 * of it (a hit skips the call, keys by service + endpoint + body, single flight, failures not
 * cached, the TTL ends a hit, a broken cache is bypassed).
 *
 *   cacheConformance("redis", { create: () => createRedisCache({ keyPrefix }) });
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { type Cache, withCache } from "../cache/cache.js";
import { cacheWrapper } from "../cache/wrapper.js";
import type { CallFn } from "../client/options.js";
import { newRequest } from "../client/request.js";
import { background, withTimeout } from "../context.js";
import { MicroError } from "../errors.js";
import { waitFor } from "./wait.js";

export interface CacheConformanceOptions {
  create(): Cache | Promise<Cache>;
  /** The TTL the expiry cases use, ms. @default 300 */
  ttlMs?: number;
  /** How long after the TTL an entry may still show, ms. @default 2000 */
  expirySlackMs?: number;
}

/** A stand-in for the network below the wrapper: counts calls, answers after `delayMs`. */
function countingCall(delayMs: number, fail?: (n: number) => boolean) {
  const state = { calls: 0 };
  const fn: CallFn = async (_ctx, req) => {
    const n = ++state.calls;
    await new Promise((r) => setTimeout(r, delayMs));
    if (fail?.(n)) throw new MicroError({ id: req.service, code: 503, detail: `call ${n} failed` });
    return { endpoint: req.endpoint, body: req.body, n };
  };
  return { fn, state };
}

export function cacheConformance(name: string, options: CacheConformanceOptions): void {
  const ttlMs = options.ttlMs ?? 300;
  const slack = options.expirySlackMs ?? 2000;
  const opened: Cache[] = [];
  const open = async () => {
    const c = await options.create();
    opened.push(c);
    return c;
  };
  const uniq = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;

  describe(`cache conformance: ${name}`, { timeout: 60_000 }, () => {
    after(async () => {
      await Promise.all(opened.map((c) => c.close()));
    });

    it("stores bytes under a key, misses an absent key, deletes, overwrites", async () => {
      const c = await open();
      const k = uniq("k");
      assert.equal(await c.get(k), undefined);
      await c.set(k, new Uint8Array([0, 1, 255]), 60_000);
      assert.deepEqual([...((await c.get(k)) ?? [])], [0, 1, 255]);
      await c.set(k, new Uint8Array([7]), 60_000);
      assert.deepEqual([...((await c.get(k)) ?? [])], [7]);
      assert.equal(await c.get(`${k}-other`), undefined, "keys are separate");
      await c.delete(k);
      assert.equal(await c.get(k), undefined);
      await c.delete(k); // absent: not an error
      const big = new Uint8Array(256 * 1024).map((_, i) => i % 253);
      await c.set(`${k}-big`, big, 60_000);
      assert.ok(
        Buffer.from((await c.get(`${k}-big`))!).equals(Buffer.from(big)),
        "a 256 KiB value round-trips",
      );
    });

    it("expires an entry after its TTL", async () => {
      const c = await open();
      const k = uniq("ttl");
      const started = Date.now();
      await c.set(k, new Uint8Array([1]), ttlMs);
      if (Date.now() - started < ttlMs / 2)
        assert.ok((await c.get(k)) !== undefined, "there right after set");
      await waitFor(`${k} to expire (ttl ${ttlMs} ms)`, ttlMs + slack, async () =>
        (await c.get(k)) === undefined ? true : undefined,
      );
      assert.ok(Date.now() >= started + ttlMs - 5, "not before its TTL");
    });

    it("wrapper: a marked call is served from the cache, keyed by service, endpoint and body; unmarked calls pass", async () => {
      const c = await open();
      const { fn, state } = countingCall(5);
      const call = cacheWrapper({ cache: c, keyPrefix: uniq("w1:") })(fn);
      const svc = uniq("svc");
      const a = await call(background(), newRequest(svc, "Users.get", { id: 1 }), withCache(60_000));
      const b = await call(background(), newRequest(svc, "Users.get", { id: 1 }), withCache(60_000));
      assert.deepEqual(b, a, "the cached response equals the first");
      assert.equal(state.calls, 1, "the second call was a hit");
      await call(background(), newRequest(svc, "Users.get", { id: 2 }), withCache(60_000));
      await call(background(), newRequest(svc, "Users.list", { id: 1 }), withCache(60_000));
      await call(background(), newRequest(`${svc}-b`, "Users.get", { id: 1 }), withCache(60_000));
      assert.equal(state.calls, 4, "another body, endpoint or service is another key");
      await call(background(), newRequest(svc, "Users.get", { id: 1 }), {});
      await call(background(), newRequest(svc, "Users.get", { id: 1 }), { cache: false });
      assert.equal(state.calls, 6, "without the option (or with cache: false) every call goes through");
    });

    it("wrapper: 20 concurrent misses for one key make one call (single flight)", async () => {
      const c = await open();
      const { fn, state } = countingCall(100);
      const call = cacheWrapper({ cache: c, keyPrefix: uniq("w2:") })(fn);
      const req = newRequest(uniq("svc"), "Prices.quote", { sku: "x" });
      const rsps = await Promise.all(
        Array.from({ length: 20 }, () => call(background(), req, withCache(60_000))),
      );
      assert.equal(state.calls, 1, `${state.calls} calls for 20 concurrent misses`);
      for (const r of rsps) assert.deepEqual(r, rsps[0]);
    });

    it("wrapper: a waiter gives up at its own deadline while the shared call runs on", async () => {
      const c = await open();
      const { fn, state } = countingCall(400);
      const call = cacheWrapper({ cache: c, keyPrefix: uniq("w3:") })(fn);
      const req = newRequest(uniq("svc"), "Slow.get", {});
      const first = call(background(), req, withCache(60_000));
      const ctx = withTimeout(background(), 50);
      await assert.rejects(call(ctx, req, withCache(60_000)), (e: unknown) => e instanceof MicroError);
      await first;
      assert.equal(state.calls, 1);
    });

    it("wrapper: a failed call is never cached; the next call goes through and its success is", async () => {
      const c = await open();
      const { fn, state } = countingCall(5, (n) => n === 1);
      const call = cacheWrapper({ cache: c, keyPrefix: uniq("w4:") })(fn);
      const req = newRequest(uniq("svc"), "Flaky.get", {});
      await assert.rejects(call(background(), req, withCache(60_000)), /call 1 failed/);
      const ok = (await call(background(), req, withCache(60_000))) as { n: number };
      assert.equal(ok.n, 2);
      assert.equal(
        ((await call(background(), req, withCache(60_000))) as { n: number }).n,
        2,
        "the success is cached",
      );
      assert.equal(state.calls, 2);
    });

    it("wrapper: after the TTL the call is made again", async () => {
      const c = await open();
      const { fn, state } = countingCall(1);
      const call = cacheWrapper({ cache: c, keyPrefix: uniq("w5:") })(fn);
      const req = newRequest(uniq("svc"), "Clock.now", {});
      await call(background(), req, withCache(ttlMs));
      await waitFor("the cached response to expire", ttlMs + slack, async () => {
        await call(background(), req, withCache(ttlMs));
        return state.calls === 2 ? true : undefined;
      });
    });

    it("wrapper: a cache that fails is bypassed and reported, never fails the call", async () => {
      const c = await open();
      const errors: unknown[] = [];
      const broken: Cache = {
        name: "broken",
        get: () => Promise.reject(new Error("cache down")),
        set: () => Promise.reject(new Error("cache down")),
        delete: () => c.delete(""),
        close: () => Promise.resolve(),
      };
      const { fn, state } = countingCall(1);
      const call = cacheWrapper({ cache: broken, onError: (e) => errors.push(e) })(fn);
      const req = newRequest(uniq("svc"), "X.y", {});
      await call(background(), req, withCache(60_000));
      await call(background(), req, withCache(60_000));
      assert.equal(state.calls, 2);
      assert.equal(errors.length, 4, "each get and set failure reported");
    });
  });
}
