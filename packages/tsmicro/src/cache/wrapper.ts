/**
 * The cache wrapper: a client call wrapper that answers calls marked cacheable (the call's
 * `cache` option, `withCache(ttlMs)`, or the contract endpoint's `cache`) from a Cache, keyed
 * by service, endpoint and the request body. Concurrent misses for one key make one call
 * (single flight); each waiter still gives up at its own deadline. A failed call is never
 * cached. A cache that fails (Redis down) is bypassed: the call goes through, never fails
 * because of the cache.
 */
import { createHash } from "node:crypto";
import { Packr } from "msgpackr";
import type { CallWrapper } from "../client/options.js";
import { abortable } from "../util/abort.js";
import type { Cache } from "./cache.js";

export interface CacheWrapperOptions {
  cache: Cache;
  /** Prepended to every key (one cache shared by several apps). @default "tsmicro:cache:" */
  keyPrefix?: string;
  /** Told about cache failures (the call itself succeeds). @default ignore */
  onError?: (err: unknown) => void;
}

export function cacheWrapper(options: CacheWrapperOptions): CallWrapper {
  const { cache } = options;
  const prefix = options.keyPrefix ?? "tsmicro:cache:";
  const onError = options.onError ?? (() => {});
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  const inflight = new Map<string, Promise<unknown>>();
  return (next) => async (ctx, req, opts) => {
    const spec = opts.cache;
    if (spec === undefined || spec === false) return next(ctx, req, opts);
    // The body's bytes, hashed: the key stays short whatever the body's size.
    const digest = createHash("sha256")
      .update(packr.pack({ b: req.body, c: req.contentType }))
      .digest("base64url");
    const key = `${prefix}${req.service}:${req.endpoint}:${digest}`;
    const hit = await cache.get(key).catch((err: unknown) => {
      onError(err);
      return undefined;
    });
    if (hit !== undefined) return (packr.unpack(hit) as { v: unknown }).v;
    let shared = inflight.get(key);
    if (shared === undefined) {
      shared = (async () => {
        try {
          const rsp = await next(ctx, req, opts);
          await cache.set(key, packr.pack({ v: rsp }), spec.ttlMs).catch(onError);
          return rsp;
        } finally {
          inflight.delete(key);
        }
      })();
      inflight.set(key, shared);
      return shared;
    }
    return abortable(shared, ctx.signal);
  };
}
