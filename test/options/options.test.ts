// Every package resolves each factory's options in one place (its src/options.ts, over
// tsmicro's resolveOptions): the `@default`s its docs promise are what that place fills in,
// a bad value is a 400 MicroError naming the option and what it must be, and the result is
// frozen. The core's own client and service options are checked in packages/tsmicro/test/options.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isMicroError } from "tsmicro";
import * as auth from "../../packages/auth/src/options.js";
import * as etcd from "../../packages/etcd/src/options.js";
import * as gateway from "../../packages/gateway/src/options.js";
import * as gomicroNats from "../../packages/gomicro/src/nats-options.js";
import * as gomicroWire from "../../packages/gomicro/src/wire/options.js";
import * as grpc from "../../packages/grpc/src/options.js";
import * as health from "../../packages/health/src/options.js";
import * as logging from "../../packages/logging/src/options.js";
import * as metrics from "../../packages/metrics/src/options.js";
import * as nats from "../../packages/nats/src/options.js";
import * as otel from "../../packages/otel/src/options.js";
import * as postgres from "../../packages/postgres/src/options.js";
import * as rabbitmq from "../../packages/rabbitmq/src/options.js";
import * as redis from "../../packages/redis/src/options.js";
import * as sqlite from "../../packages/sqlite/src/options.js";
import * as httpBroker from "../../packages/tsmicro/src/broker/http-options.js";
import * as selector from "../../packages/tsmicro/src/selector/options.js";
import {
  documentedDefaults,
  parseDefaults,
} from "../../packages/tsmicro/test/support/documented-defaults.js";

interface Case {
  /** The resolver, as the factory calls it. */
  resolve: (given: Record<string, unknown>) => object;
  /** Options it needs to resolve at all (a required connection string, say). */
  required?: Record<string, unknown>;
  /** `[file under packages/, interface]` whose documented defaults it fills in. */
  docs: [string, string][];
  /** At least this many literal defaults are documented (the parse found them). */
  min: number;
  /** A bad value for one option, and what the error must say it must be. */
  bad: [string, unknown, RegExp];
  /** More bad values, where one check guards against several (Infinity, NaN, a fraction). */
  alsoBad?: [string, unknown, RegExp][];
}

const CASES: Record<string, Case> = {
  "nats registry": {
    resolve: nats.resolveNatsRegistryOptions,
    docs: [
      ["nats/src/registry.ts", "NatsRegistryOptions"],
      ["nats/src/connection.ts", "NatsConnectionOptions"],
    ],
    min: 6,
    bad: ["timeoutMs", 0, /nats registry option timeoutMs must be a number > 0, got 0/],
  },
  "nats store": {
    resolve: nats.resolveNatsStoreOptions,
    docs: [
      ["nats/src/store.ts", "NatsStoreOptions"],
      ["nats/src/connection.ts", "NatsConnectionOptions"],
    ],
    min: 5,
    bad: ["replicas", 1.5, /nats store option replicas must be an integer ≥ 1, got 1.5/],
  },
  "nats config source": {
    resolve: nats.resolveNatsConfigSourceOptions,
    docs: [
      ["nats/src/config.ts", "NatsConfigSourceOptions"],
      ["nats/src/connection.ts", "NatsConnectionOptions"],
    ],
    min: 4,
    bad: ["bucket", "", /nats config source option bucket must be a non-empty string, got ""/],
  },
  "nats broker": {
    resolve: nats.resolveNatsBrokerOptions,
    docs: [["nats/src/connection.ts", "NatsConnectionOptions"]],
    min: 2,
    bad: ["servers", [], /nats broker option servers must be a non-empty string or list of strings/],
  },
  "jetstream broker": {
    resolve: nats.resolveJetStreamBrokerOptions,
    docs: [
      ["nats/src/broker-jetstream.ts", "JetStreamBrokerOptions"],
      ["nats/src/connection.ts", "NatsConnectionOptions"],
    ],
    min: 7,
    bad: ["prefetch", 0, /jetstream broker option prefetch must be an integer ≥ 1, got 0/],
    // Sent as int64 nanoseconds: Infinity and NaN would reach the server as null, its default
    // (ack wait 30 s, inactive threshold 5 s), not "never".
    alsoBad: (
      [
        [Infinity, "Infinity"],
        [Number.NaN, "NaN"],
        [0, "0"],
        [-1, "-1"],
        [1.5, "1\\.5"],
        [1e13, "10000000000000"],
      ] as const
    ).flatMap(([value, shown]) =>
      ["ackWaitMs", "inactiveThresholdMs", "duplicateWindowMs", "maxAgeMs"]
        // maxAgeMs takes Infinity: no age limit.
        .filter((key) => !(key === "maxAgeMs" && value === Infinity))
        .map((key): [string, unknown, RegExp] => [
          key,
          value,
          new RegExp(
            `jetstream broker option ${key} must be a whole number of milliseconds from 1 to 9223372036854${key === "maxAgeMs" ? ", or Infinity for no limit" : ""}, got ${shown}$`,
          ),
        ]),
    ),
  },
  "redis broker": {
    resolve: redis.resolveRedisBrokerOptions,
    docs: [
      ["redis/src/streams.ts", "RedisBrokerOptions"],
      ["redis/src/connection.ts", "RedisConnectionOptions"],
    ],
    min: 7,
    bad: ["maxLen", 0, /redis broker option maxLen must be an integer ≥ 1, got 0/],
  },
  "redis pub/sub broker": {
    resolve: redis.resolveRedisPubSubBrokerOptions,
    docs: [
      ["redis/src/pubsub.ts", "RedisPubSubBrokerOptions"],
      ["redis/src/connection.ts", "RedisConnectionOptions"],
    ],
    min: 3,
    bad: ["url", 6379, /redis pub\/sub broker option url must be a non-empty string, got 6379/],
  },
  "redis store": {
    resolve: redis.resolveRedisStoreOptions,
    docs: [
      ["redis/src/store.ts", "RedisStoreOptions"],
      ["redis/src/connection.ts", "RedisConnectionOptions"],
    ],
    min: 4,
    bad: ["timeoutMs", -1, /redis store option timeoutMs must be a number > 0, got -1/],
  },
  "redis cache": {
    resolve: redis.resolveRedisCacheOptions,
    docs: [
      ["redis/src/cache.ts", "RedisCacheOptions"],
      ["redis/src/connection.ts", "RedisConnectionOptions"],
    ],
    min: 4,
    bad: ["keyPrefix", 1, /redis cache option keyPrefix must be a non-empty string or one of "", got 1/],
  },
  "rabbitmq broker": {
    resolve: rabbitmq.resolveRabbitBrokerOptions,
    docs: [["rabbitmq/src/broker.ts", "RabbitBrokerOptions"]],
    min: 6,
    bad: ["prefetch", "128", /rabbitmq broker option prefetch must be an integer ≥ 1, got "128"/],
  },
  "etcd registry": {
    resolve: etcd.resolveEtcdRegistryOptions,
    docs: [["etcd/src/registry.ts", "EtcdRegistryOptions"]],
    min: 5,
    bad: ["prefix", "", /etcd registry option prefix must be a non-empty string, got ""/],
  },
  "etcd config source": {
    resolve: etcd.resolveEtcdConfigSourceOptions,
    docs: [["etcd/src/config.ts", "EtcdConfigSourceOptions"]],
    min: 3,
    bad: [
      "endpoints",
      [""],
      /etcd config source option endpoints must be a non-empty string or list of strings, got a list/,
    ],
  },
  "postgres store": {
    resolve: postgres.resolvePostgresStoreOptions,
    docs: [["postgres/src/store.ts", "PostgresStoreOptions"]],
    min: 4,
    bad: ["poolSize", 0, /postgres store option poolSize must be an integer ≥ 1, got 0/],
  },
  "sqlite store": {
    resolve: sqlite.resolveFileStoreOptions,
    docs: [["sqlite/src/store.ts", "FileStoreOptions"]],
    min: 2,
    bad: ["synchronous", "OFF", /sqlite store option synchronous must be one of "NORMAL", "FULL", got "OFF"/],
  },
  "grpc transport": {
    resolve: grpc.resolveGrpcOptions,
    docs: [["grpc/src/options.ts", "GrpcTransportOptions"]],
    min: 3,
    bad: [
      "maxConcurrentStreams",
      0,
      /grpc transport option maxConcurrentStreams must be an integer ≥ 1, got 0/,
    ],
  },
  "health server": {
    resolve: health.resolveHealthServerOptions,
    docs: [["health/src/health.ts", "HealthServerOptions"]],
    min: 5,
    bad: ["verifyRegistry", "yes", /health server option verifyRegistry must be true or false, got "yes"/],
  },
  metrics: {
    resolve: metrics.resolveMetricsOptions,
    docs: [["metrics/src/metrics.ts", "MetricsOptions"]],
    min: 3,
    bad: ["buckets", [0.1, -1], /metrics option buckets must be a non-empty list of numbers > 0, got a list/],
  },
  "metrics server": {
    resolve: metrics.resolveMetricsServerOptions,
    docs: [["metrics/src/http.ts", "MetricsServerOptions"]],
    min: 2,
    bad: ["path", "metrics", /metrics server option path must be a path starting with "\/", got "metrics"/],
  },
  logging: {
    resolve: logging.resolveLoggingOptions,
    docs: [["logging/src/logging.ts", "LoggingOptions"]],
    min: 1,
    bad: ["level", "loud", /logging option level must be one of "fatal", .*"silent", got "loud"/],
  },
  tracing: {
    resolve: otel.resolveTracingOptions,
    docs: [["otel/src/tracing.ts", "TracingOptions"]],
    min: 0,
    bad: ["propagator", "w3c", /tracing option propagator must be an object, got "w3c"/],
  },
  auth: {
    resolve: auth.resolveAuthOptions,
    required: { algorithm: "EdDSA", publicKey: {} },
    docs: [["auth/src/auth.ts", "AuthOptions"]],
    min: 5,
    bad: ["algorithm", "HS256", /auth option algorithm must be one of "EdDSA", "ES256", got "HS256"/],
  },
  "auth handler": {
    resolve: auth.resolveAuthHandlerOptions,
    required: { auth: {}, rules: [] },
    docs: [["auth/src/server.ts", "AuthHandlerOptions"]],
    min: 1,
    bad: ["rules", {}, /auth handler option rules must be a list of rules, got an object/],
  },
  "token source": {
    resolve: auth.resolveTokenSourceOptions,
    required: { fetch: async () => ({}) },
    docs: [["auth/src/client.ts", "TokenSourceOptions"]],
    min: 1,
    bad: ["refreshBeforeMs", -5, /token source option refreshBeforeMs must be a number ≥ 0, got -5/],
  },
  gateway: {
    resolve: gateway.resolveGatewayOptions,
    docs: [["gateway/src/gateway.ts", "GatewayOptions"]],
    min: 8,
    bad: ["maxBodyBytes", 0, /gateway option maxBodyBytes must be an integer ≥ 1, got 0/],
  },
  "go-micro transport": {
    resolve: gomicroWire.resolveGoMicroTransportOptions,
    docs: [["gomicro/src/wire/options.ts", "GoMicroTransportOptions"]],
    min: 4,
    bad: ["backlog", 0, /go-micro transport option backlog must be an integer ≥ 1, got 0/],
  },
  "go-micro nats registry": {
    resolve: gomicroNats.resolveGoMicroNatsRegistryOptions,
    docs: [["gomicro/src/nats.ts", "GoMicroNatsRegistryOptions"]],
    min: 5,
    bad: ["quorum", -1, /go-micro nats registry option quorum must be an integer ≥ 0, got -1/],
  },
  "http broker (tsmicro)": {
    resolve: httpBroker.resolveHttpBrokerOptions,
    docs: [["tsmicro/src/broker/http.ts", "HttpBrokerOptions"]],
    min: 7,
    bad: ["maxPending", 0, /http broker option maxPending must be an integer ≥ 1, got 0/],
  },
  "selector (tsmicro)": {
    resolve: selector.resolveSelectorOptions,
    required: { registry: {} },
    docs: [["tsmicro/src/selector/selector.ts", "SelectorOptions"]],
    min: 3,
    bad: ["ejectMs", "1s", /selector option ejectMs must be a number ≥ 0, got "1s"/],
  },
};

const packages = new URL("../../packages/", import.meta.url);

describe("every package's options: documented defaults, checks, frozen", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: each literal @default is what its resolver fills in`, () => {
      const resolved = c.resolve(c.required ?? {}) as Record<string, unknown>;
      let documented = 0;
      for (const [file, iface] of c.docs) {
        for (const [key, value] of documentedDefaults(new URL(file, packages), iface)) {
          documented++;
          assert.deepEqual(resolved[key], value, `${iface}.${key}: the docs say ${JSON.stringify(value)}`);
        }
      }
      assert.ok(documented >= c.min, `found ${documented} documented defaults, expected ≥ ${c.min}`);
      assert.ok(Object.isFrozen(resolved), "the resolved options are frozen");
    });

    it(`${name}: a bad value is a 400 naming the option and what it must be`, () => {
      for (const [key, value, message] of [c.bad, ...(c.alsoBad ?? [])]) {
        assert.throws(
          () => c.resolve({ ...c.required, [key]: value }),
          (e: unknown) => isMicroError(e) && e.code === 400 && message.test(e.detail),
          `${key}: ${String(value)} is refused with ${message}`,
        );
        // An undefined value is "the default", never an error.
        c.resolve({ ...c.required, [key]: undefined });
      }
    });
  }

  it("jetstream broker: ackWaitMs and inactiveThresholdMs from 1 ms to what int64 nanoseconds hold are taken as given", () => {
    for (const ms of [1, 2000, nats.MAX_JETSTREAM_DURATION_MS]) {
      const o = nats.resolveJetStreamBrokerOptions({ ackWaitMs: ms, inactiveThresholdMs: ms }) as {
        ackWaitMs: number;
        inactiveThresholdMs: number;
      };
      assert.equal(o.ackWaitMs, ms);
      assert.equal(o.inactiveThresholdMs, ms);
      assert.ok(BigInt(ms) * 1_000_000n <= 2n ** 63n - 1n, `${ms} ms fits int64 nanoseconds`);
    }
  });

  it("jetstream broker: maxAgeMs Infinity is taken as no age limit", () => {
    const o = nats.resolveJetStreamBrokerOptions({ maxAgeMs: Infinity }) as { maxAgeMs: number };
    assert.equal(o.maxAgeMs, Infinity);
  });

  it("the docs check reads a wrong @default, which then disagrees (negative control)", () => {
    const src = readFileSync(new URL("nats/src/registry.ts", packages), "utf8");
    assert.ok(src.includes("@default 3000 */"));
    const wrong = parseDefaults(src.replace("@default 3000 */", "@default 3001 */"), "NatsRegistryOptions");
    assert.equal(wrong.get("timeoutMs"), 3001);
    const resolved = nats.resolveNatsRegistryOptions({}) as Record<string, unknown>;
    assert.notDeepEqual(resolved.timeoutMs, wrong.get("timeoutMs"));
  });
});
