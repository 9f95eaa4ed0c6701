/**
 * The Redis cache for `cacheWrapper`: one Redis string per entry, `SET ... PX ttl`, so Redis
 * expires entries itself and bounds memory with its own `maxmemory` policy; several clients
 * and processes share hits.
 */
import type { Cache } from "tsmicro/plugin";
import { openRedis, type RedisConnectionOptions, ready } from "./connection.js";
import { resolveRedisCacheOptions } from "./options.js";

export interface RedisCacheOptions extends RedisConnectionOptions {
  /** Prefix of every key (the wrapper adds its own after it). @default "" */
  keyPrefix?: string;
  /** Bound on waiting for the connection; past it the wrapper treats the cache as down. @default 1000 */
  timeoutMs?: number;
}

export function createRedisCache(given: RedisCacheOptions = {}): Cache {
  const options = resolveRedisCacheOptions(given);
  const redis = openRedis(options, "cache");
  // Failures reach the wrapper through the rejected command, which then bypasses the cache.
  redis.on("error", () => {});
  const { keyPrefix: prefix, timeoutMs } = options;
  const name = `redis (${options.url})`;
  // Ready is the common case: no timer for it.
  const up = () =>
    redis.status === "ready" ? Promise.resolve() : ready(redis, AbortSignal.timeout(timeoutMs), name);
  return {
    name,
    async get(key) {
      if (redis.status !== "ready") await up();
      const b = await redis.getBuffer(prefix + key);
      return b === null ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    async set(key, value, ttlMs) {
      if (redis.status !== "ready") await up();
      await redis.set(
        prefix + key,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        "PX",
        Math.max(1, Math.ceil(ttlMs)),
      );
    },
    async delete(key) {
      if (redis.status !== "ready") await up();
      await redis.del(prefix + key);
    },
    async close() {
      redis.disconnect();
    },
  };
}
