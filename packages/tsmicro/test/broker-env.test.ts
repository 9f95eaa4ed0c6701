import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Broker } from "../src/broker/broker.js";
import { BROKER_PACKAGES, brokerFromEnv } from "../src/broker/env.js";
import { MicroError } from "../src/errors.js";

describe("choosing the broker (MICRO_BROKER, MICRO_BROKER_ADDRESS)", () => {
  it("defaults to the embedded http broker", () => {
    assert.match(brokerFromEnv({ kind: "" }).name, /^http \(registry /);
    const saved = process.env.MICRO_BROKER;
    delete process.env.MICRO_BROKER;
    try {
      assert.match(brokerFromEnv().name, /^http /);
    } finally {
      if (saved !== undefined) process.env.MICRO_BROKER = saved;
    }
  });

  it("reads MICRO_BROKER and MICRO_BROKER_ADDRESS from the environment", async () => {
    const saved = { kind: process.env.MICRO_BROKER, address: process.env.MICRO_BROKER_ADDRESS };
    process.env.MICRO_BROKER = "Memory";
    try {
      assert.equal(brokerFromEnv().name, "memory");
      // Surrounding blanks (an env file's `MICRO_BROKER=memory `) are not part of the name.
      process.env.MICRO_BROKER = " memory\t";
      assert.equal(brokerFromEnv().name, "memory");
      assert.match(brokerFromEnv({ kind: "  " }).name, /^http \(registry /);
      process.env.MICRO_BROKER = "rabbitmq";
      process.env.MICRO_BROKER_ADDRESS = "amqp://guest:guest@127.0.0.1:5999";
      const seen: { specifier?: string; kind?: string; address?: string } = {};
      const b = brokerFromEnv({
        load: async (specifier) => {
          seen.specifier = specifier;
          return {
            brokerFromAddress: (kind: string, o: { address?: string }) => {
              seen.kind = kind;
              seen.address = o.address;
              return fakeBroker(`fake ${kind}`);
            },
          };
        },
      });
      assert.match(b.name, /not loaded yet/, "nothing is imported before first use");
      assert.equal(seen.specifier, undefined);
      await b.connect();
      assert.deepEqual(seen, {
        specifier: "@tsmicro/rabbitmq",
        kind: "rabbitmq",
        address: "amqp://guest:guest@127.0.0.1:5999",
      });
      assert.equal(b.name, "fake rabbitmq", "the loaded broker's name once loaded");
    } finally {
      restore("MICRO_BROKER", saved.kind);
      restore("MICRO_BROKER_ADDRESS", saved.address);
    }
  });

  it("imports the backend package once and delegates publish and subscribe to it", async () => {
    let loads = 0;
    const calls: string[] = [];
    const b = brokerFromEnv({
      kind: "nats",
      load: async () => {
        loads++;
        return { brokerFromAddress: () => fakeBroker("fake", calls) };
      },
    });
    await b.publish("t", { headers: {}, body: new Uint8Array() });
    await b.subscribe("t", () => {});
    await b.disconnect();
    assert.equal(loads, 1);
    assert.deepEqual(calls, ["publish t", "subscribe t", "disconnect"]);
  });

  for (const kind of ["nats", "jetstream", "redis", "rabbitmq"]) {
    it(`a missing package for MICRO_BROKER=${kind} is an error that says what to install`, async () => {
      const specifier = BROKER_PACKAGES[kind]!;
      // A real dynamic import of a package that is not installed.
      const b = brokerFromEnv({ kind, load: (s) => import(`${s}-not-installed-${kind}`) });
      const err = await b.publish("t", { headers: {}, body: new Uint8Array() }).then(
        () => assert.fail("publish resolved without a broker package"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof MicroError);
      assert.equal(err.code, 500);
      assert.match(err.detail, new RegExp(`npm install ${specifier.replace("/", "\\/")}`));
      assert.match(err.detail, new RegExp(`MICRO_BROKER=${kind}`));
      await assert.rejects(
        b.subscribe("t", () => {}),
        /npm install/,
      );
      await b.disconnect(); // nothing loaded: nothing to close, no throw
    });
  }

  it("a package that loads but fails is reported as such, not as missing", async () => {
    const b = brokerFromEnv({
      kind: "redis",
      load: async () => {
        throw new SyntaxError("Unexpected token in @tsmicro/redis");
      },
    });
    await assert.rejects(
      b.connect(),
      /could not load @tsmicro\/redis for MICRO_BROKER=redis: Unexpected token/,
    );
    const c = brokerFromEnv({ kind: "redis", load: async () => ({}) });
    await assert.rejects(c.connect(), /does not export brokerFromAddress/);
  });

  it("an unknown broker fails on use with the list of known ones, not at import", async () => {
    const b = brokerFromEnv({ kind: "kafka" });
    const err = await b.connect().then(
      () => assert.fail("connected to an unknown broker"),
      (e: unknown) => e as MicroError,
    );
    assert.equal(err.code, 400);
    assert.match(err.detail, /unknown broker "kafka".*http, memory, nats, jetstream, redis/);
  });
});

function fakeBroker(name: string, calls: string[] = []): Broker {
  return {
    name,
    async connect() {},
    async disconnect() {
      calls.push("disconnect");
    },
    async publish(topic) {
      calls.push(`publish ${topic}`);
    },
    async subscribe(topic) {
      calls.push(`subscribe ${topic}`);
      return { topic, queue: undefined, unsubscribe: async () => {} };
    },
  };
}

function restore(key: string, value: string | undefined) {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}
