/**
 * Pinned behaviours of choosing a broker by name (broker/env.ts) that the integration tests
 * leave open: the packages named (workspace packages that exist), a refused name's broker, the
 * name shown before loading, a disconnect that forgets the loaded backend, `onError` reaching the
 * memory broker, and where the http broker listens and what it advertises (the environment
 * over a service's defaults).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import type { Broker } from "../../src/broker/broker.js";
import { BROKER_KINDS, BROKER_PACKAGES, brokerFromEnv } from "../../src/broker/env.js";
import { MicroError } from "../../src/errors.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { until } from "../helpers.js";
import { isolateEnv, workspacePackageNames } from "../support/env-vars.js";

/** A loopback port nothing listens on now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const ENV = ["MICRO_BROKER", "MICRO_BROKER_ADDRESS", "MICRO_BROKER_ADVERTISE"] as const;

describe("brokerFromEnv (pinned)", { timeout: 15_000 }, () => {
  isolateEnv(ENV, true);

  it("the packages named are workspace packages", () => {
    assert.deepEqual(BROKER_PACKAGES, {
      nats: "@tsmicro/nats",
      jetstream: "@tsmicro/nats",
      redis: "@tsmicro/redis",
      "redis-pubsub": "@tsmicro/redis",
      rabbitmq: "@tsmicro/rabbitmq",
    });
    assert.deepEqual(BROKER_KINDS, [
      "http",
      "memory",
      "nats",
      "jetstream",
      "redis",
      "redis-pubsub",
      "rabbitmq",
    ]);
    const names = workspacePackageNames();
    for (const p of Object.values(BROKER_PACKAGES)) assert.ok(names.has(p), p);
  });

  it("an unknown broker: named unavailable, every use a non-retryable 400 from tsmicro; disconnect is fine", async () => {
    const b = brokerFromEnv({ kind: "Kafka" });
    assert.equal(b.name, "unavailable (MICRO_BROKER=kafka)");
    const e = await b.connect().catch((err: unknown) => err);
    assert.ok(e instanceof MicroError, String(e));
    assert.equal(e.id, "tsmicro");
    assert.equal(e.code, 400);
    assert.equal(e.retryable, false);
    assert.match(e.detail, /^unknown broker "kafka" \(MICRO_BROKER\); choose one of: http, memory, nats/);
    await b.disconnect();
  });

  it("before its package loads, a backend is named by its kind and package; disconnect then loads nothing", async () => {
    let loads = 0;
    const b = brokerFromEnv({
      kind: "redis-pubsub",
      load: async () => {
        loads++;
        return {};
      },
    });
    assert.equal(b.name, "redis-pubsub (@tsmicro/redis, not loaded yet)");
    await b.disconnect();
    assert.equal(loads, 0);
  });

  it("disconnect ends the loaded backend, and the next use makes a new one", async () => {
    const made: string[] = [];
    let n = 0;
    const b = brokerFromEnv({
      kind: "nats",
      load: async () => ({
        brokerFromAddress: (kind: string) => {
          const id = `${kind}#${++n}`;
          made.push(id);
          return {
            name: id,
            connect: async () => {},
            disconnect: async () => {
              made.push(`disconnect ${id}`);
            },
            publish: async () => {},
            subscribe: async () => ({ topic: "t", queue: undefined, unsubscribe: async () => {} }),
          } satisfies Broker;
        },
      }),
    });
    await b.connect();
    await b.disconnect();
    await b.publish("t", { headers: {}, body: new Uint8Array() });
    assert.deepEqual(made, ["nats#1", "disconnect nats#1", "nats#2"]);
    assert.equal(b.name, "nats#2");
  });

  it("onError reaches the memory broker", async () => {
    const errors: Error[] = [];
    const b = brokerFromEnv({ kind: "memory", onError: (e) => errors.push(e) });
    await b.connect();
    // With no dead-letter topic, a message that keeps failing is dropped and reported to onError.
    await b.subscribe(
      "t",
      async () => {
        throw new Error("handler failed");
      },
      { maxDeliver: 1, deadLetterTopic: false },
    );
    await b.publish("t", { headers: {}, body: new Uint8Array([1]) });
    await until(() => errors.length > 0, "onError to hear of the dropped message");
    assert.match(errors[0]?.message ?? "", /dropped a message on "t"/);
    await b.disconnect();
  });

  it("http: MICRO_BROKER_ADDRESS and MICRO_BROKER_ADVERTISE win over a service's defaults", async () => {
    const registry = createMemoryRegistry();
    const advertised = async (b: Broker): Promise<string> => {
      await b.connect();
      const sub = await b.subscribe("t", async () => {});
      const [s] = await registry.getService("tsmicro.broker.t");
      const address = s?.nodes[0]?.address ?? "";
      await sub.unsubscribe();
      await b.disconnect();
      return address;
    };
    const viaDefaults = await advertised(
      brokerFromEnv({
        kind: "http",
        registry,
        httpDefaults: { address: "127.0.0.1:0", advertise: "localhost" },
      }),
    );
    assert.match(viaDefaults, /^localhost:\d+$/, "the service's advertise default");
    process.env.MICRO_BROKER_ADVERTISE = "127.0.0.1";
    const viaEnv = await advertised(
      brokerFromEnv({
        kind: "http",
        registry,
        httpDefaults: { address: "127.0.0.1:0", advertise: "localhost" },
      }),
    );
    assert.match(viaEnv, /^127\.0\.0\.1:\d+$/, "MICRO_BROKER_ADVERTISE over the default");
    delete process.env.MICRO_BROKER_ADVERTISE;
    const port = await freePort();
    process.env.MICRO_BROKER_ADDRESS = `127.0.0.1:${port}`;
    const bound = await advertised(
      brokerFromEnv({ kind: "http", registry, httpDefaults: { address: "256.0.0.1:0" } }),
    );
    assert.equal(bound, `127.0.0.1:${port}`, "MICRO_BROKER_ADDRESS over the service's listen default");
    delete process.env.MICRO_BROKER_ADDRESS;
    const port2 = await freePort();
    const fromDefaults = await advertised(
      brokerFromEnv({ kind: "http", registry, httpDefaults: { address: `127.0.0.1:${port2}` } }),
    );
    assert.equal(
      fromDefaults,
      `127.0.0.1:${port2}`,
      "the service's listen default, with nothing in the environment",
    );
    await registry.close();
  });
});
