/**
 * The one place each Redis factory's options are resolved: defaults filled (the values their
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { expect, resolveOptions } from "tsmicro/plugin";
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
  url: expect.text,
  username: expect.text,
  password: expect.text,
  tls: expect.object,
  redis: expect.object,
  onError: expect.function,
};

const CONNECTION_DEFAULTS = { url: DEFAULT_REDIS_URL, redis: {} };

/** A key prefix may be empty (keys then start with the name the caller gives). */
const prefix = expect.either(expect.text, expect.oneOf(""));

export function resolveRedisBrokerOptions<T extends object>(options: T | undefined) {
  const o = resolveOptions(
    "redis broker",
    options,
    { ...CONNECTION_DEFAULTS, ...DEFAULT_REDIS_BROKER_OPTIONS },
    {
      ...CONNECTION,
      keyPrefix: prefix,
      maxLen: expect.positiveInteger,
      claimIdleMs: expect.positive,
      claimIntervalMs: expect.positive,
      prefetch: expect.positiveInteger,
      connectTimeoutMs: expect.positive,
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
      timeoutMs: expect.positive,
      database: expect.text,
      table: expect.text,
      limits: expect.object,
    },
  );
}

export function resolveRedisCacheOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "redis cache",
    options,
    { ...CONNECTION_DEFAULTS, keyPrefix: "", timeoutMs: 1000 },
    { ...CONNECTION, keyPrefix: prefix, timeoutMs: expect.positive },
  );
}
