/**
 * The one place each Redis factory's options are resolved: defaults filled (the values their
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { must, resolveOptions } from "tsmicro/plugin";
import { DEFAULT_REDIS_URL } from "./connection.js";

export const DEFAULT_REDIS_BROKER_OPTIONS = {
  keyPrefix: "tsmicro:",
  maxLen: 100_000,
  claimIdleMs: 30_000,
  prefetch: 128,
  connectTimeoutMs: 10_000,
} as const;

/** Checks of the connection options every factory shares. */
const CONNECTION = {
  url: must.text,
  username: must.text,
  password: must.text,
  tls: must.object,
  redis: must.object,
  onError: must.function,
};

const CONNECTION_DEFAULTS = { url: DEFAULT_REDIS_URL, redis: {} };

/** A key prefix may be empty (keys then start with the name the caller gives). */
const prefix = must.either(must.text, must.oneOf(""));

export function resolveRedisBrokerOptions<T extends object>(options: T | undefined) {
  const o = resolveOptions(
    "redis broker",
    options,
    { ...CONNECTION_DEFAULTS, ...DEFAULT_REDIS_BROKER_OPTIONS },
    {
      ...CONNECTION,
      keyPrefix: prefix,
      maxLen: must.positiveInteger,
      claimIdleMs: must.positive,
      claimIntervalMs: must.positive,
      prefetch: must.positiveInteger,
      connectTimeoutMs: must.positive,
    },
  );
  // Derived from another option: filled here too, so the factory reads one value.
  const given = (o as { claimIntervalMs?: number }).claimIntervalMs;
  const claimIntervalMs = given ?? Math.min((o.claimIdleMs as number) / 2, 5000);
  return Object.freeze({ ...o, claimIntervalMs });
}

export function resolveRedisPubSubBrokerOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "redis pub/sub broker",
    options,
    { ...CONNECTION_DEFAULTS, keyPrefix: "tsmicro:" },
    { ...CONNECTION, keyPrefix: prefix },
  );
}

export function resolveRedisStoreOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "redis store",
    options,
    { ...CONNECTION_DEFAULTS, keyPrefix: "tsmicro:store:", timeoutMs: 5000 },
    {
      ...CONNECTION,
      keyPrefix: prefix,
      timeoutMs: must.positive,
      database: must.text,
      table: must.text,
      limits: must.object,
    },
  );
}

export function resolveRedisCacheOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "redis cache",
    options,
    { ...CONNECTION_DEFAULTS, keyPrefix: "", timeoutMs: 1000 },
    { ...CONNECTION, keyPrefix: prefix, timeoutMs: must.positive },
  );
}
