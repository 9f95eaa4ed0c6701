/**
 * The one place each NATS factory's options are resolved: defaults filled (the values their
 * docs' `@default`s name, checked by a test), values checked (a bad one is a 400 naming the
 * option and what it must be), the result frozen.
 */
import { type Expect, must, resolveOptions } from "tsmicro/plugin";
import { DEFAULT_NATS_SERVERS } from "./connection.js";

export const DEFAULT_NATS_REGISTRY_BUCKET = "tsmicro-registry";
export const DEFAULT_NATS_REGISTRY_TIMEOUT_MS = 3000;
export const DEFAULT_NATS_REGISTRY_RECONNECT_MS = 250;

export const DEFAULT_JETSTREAM_BROKER_OPTIONS = {
  maxAgeMs: 7 * 24 * 3600_000,
  ackWaitMs: 30_000,
  prefetch: 256,
  inactiveThresholdMs: 60_000,
  duplicateWindowMs: 120_000,
} as const;

/** The longest duration JetStream holds: its durations are int64 nanoseconds. */
export const MAX_JETSTREAM_DURATION_MS = Math.floor((2 ** 63 - 1) / 1e6);

/**
 * A duration sent to JetStream as nanoseconds. `Infinity` and NaN would reach the server as
 * JSON `null` (its own default, while the broker's timers assume the value given) and a
 * fraction of a nanosecond does not decode, so: whole milliseconds, at least 1, at most
 * what int64 nanoseconds hold.
 */
const jetStreamDuration: Expect = {
  test: (v) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_JETSTREAM_DURATION_MS,
  text: `a whole number of milliseconds from 1 to ${MAX_JETSTREAM_DURATION_MS}`,
};

/** A stream's age limit: a JetStream duration, or Infinity for none (sent as 0, JetStream's "unlimited"). */
const jetStreamMaxAge: Expect = {
  test: (v) => v === Number.POSITIVE_INFINITY || jetStreamDuration.test(v),
  text: `${jetStreamDuration.text}, or Infinity for no limit`,
};

/** Checks of the connection options every factory shares. */
const CONNECTION = {
  connection: must.object,
  servers: must.texts,
  auth: must.object,
  tls: must.object,
  connectOptions: must.object,
  onError: must.function,
};

const CONNECTION_DEFAULTS = { servers: DEFAULT_NATS_SERVERS, connectOptions: {} };

export function resolveNatsRegistryOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "nats registry",
    options,
    {
      ...CONNECTION_DEFAULTS,
      bucket: DEFAULT_NATS_REGISTRY_BUCKET,
      timeoutMs: DEFAULT_NATS_REGISTRY_TIMEOUT_MS,
      reconnectMs: DEFAULT_NATS_REGISTRY_RECONNECT_MS,
      replicas: 1,
    },
    {
      ...CONNECTION,
      bucket: must.text,
      timeoutMs: must.positive,
      reconnectMs: must.positive,
      replicas: must.positiveInteger,
    },
  );
}

export function resolveNatsStoreOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "nats store",
    options,
    { ...CONNECTION_DEFAULTS, bucketPrefix: "tsmicro-store", timeoutMs: 5000, replicas: 1 },
    {
      ...CONNECTION,
      bucketPrefix: must.text,
      timeoutMs: must.positive,
      replicas: must.positiveInteger,
      database: must.text,
      table: must.text,
      limits: must.object,
    },
  );
}

export function resolveNatsConfigSourceOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "nats config source",
    options,
    { ...CONNECTION_DEFAULTS, bucket: "tsmicro-config", timeoutMs: 5000 },
    { ...CONNECTION, bucket: must.text, timeoutMs: must.positive },
  );
}

export function resolveNatsBrokerOptions<T extends object>(options: T | undefined) {
  return resolveOptions("nats broker", options, CONNECTION_DEFAULTS, {
    ...CONNECTION,
    format: must.object,
  });
}

export function resolveJetStreamBrokerOptions<T extends object>(options: T | undefined) {
  return resolveOptions(
    "jetstream broker",
    options,
    { ...CONNECTION_DEFAULTS, ...DEFAULT_JETSTREAM_BROKER_OPTIONS },
    {
      ...CONNECTION,
      streamName: must.function,
      maxAgeMs: jetStreamMaxAge,
      ackWaitMs: jetStreamDuration,
      prefetch: must.positiveInteger,
      inactiveThresholdMs: jetStreamDuration,
      // 0 would reach the server as "its default" (2 minutes), not "no deduplication".
      duplicateWindowMs: jetStreamDuration,
    },
  );
}
