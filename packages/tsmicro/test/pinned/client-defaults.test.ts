/**
 * Pinned behaviours of the client's hold on the process defaults (client/client.ts): a client
 * on the default registry and broker holds them from its first call (not from its creation),
 * once, until close(); a client with its own registry or broker does not hold that default; a
 * closed client holds nothing again; and the last release ends the default. Its own file: the
 * process defaults are made once per process, from MICRO_REGISTRY and MICRO_BROKER (memory here).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

process.env.MICRO_REGISTRY = "memory";
process.env.MICRO_BROKER = "memory";
// After the environment is set: `defaultClient` makes the defaults when client.js loads.
const { newClient } = await import("../../src/client/client.js");
const { newRequest } = await import("../../src/client/request.js");
const { background } = await import("../../src/context.js");
const { defaultRegistry } = await import("../../src/registry/default.js");
const { defaultBroker } = await import("../../src/broker/env.js");
const { createMemoryRegistry } = await import("../../src/registry/memory.js");
const { createMemoryBroker } = await import("../../src/broker/memory.js");
const { newService } = await import("../../src/service/service.js");

import type { Transport } from "../../src/transport/transport.js";

/** A transport whose connections answer `{}` at once. */
const transport: Transport = {
  name: "answer",
  dial: async (address) => {
    let closed = () => {};
    return {
      address,
      inflight: 0,
      usable: true,
      createdAt: Date.now(),
      closed: new Promise<void>((r) => {
        closed = r;
      }),
      close: () => closed(),
      request: async () => ({ contentType: "application/json", body: new TextEncoder().encode("{}") }),
    };
  },
  listen: () => Promise.reject(new Error("not used")),
};

const echo = {
  name: "echo",
  version: "1",
  metadata: {},
  endpoints: [],
  nodes: [{ id: "e1", address: "echo:1", metadata: {} }],
};

describe("client: the process defaults it holds (pinned)", { timeout: 20_000 }, () => {
  it("held from the first call, once, until close; not by a client with its own; not again once closed", async () => {
    const registry = defaultRegistry();
    const broker = defaultBroker();
    await registry.register(echo, { ttlMs: 60_000 });
    let ended = { registry: 0, broker: 0 };
    const close = registry.close.bind(registry);
    registry.close = async () => {
      ended.registry++;
      await close();
    };
    const disconnect = broker.disconnect.bind(broker);
    broker.disconnect = async () => {
      ended.broker++;
      await disconnect();
    };
    const call = (c: ReturnType<typeof newClient>) => c.call(background(), newRequest("echo", "Echo.hi", {}));

    const plain = newClient({ transport, retries: 0 });
    assert.equal(plain.options().broker, broker, "no registry given: the default broker, not one of its own");
    assert.equal(plain.options().registry, registry);

    // Created and closed without a call: nothing was held, so nothing is released.
    const idle = newClient({ transport, retries: 0 });
    await idle.close();
    assert.deepEqual(ended, { registry: 0, broker: 0 });

    // Its own registry and broker: it holds neither default.
    const own = newClient({ transport, registry: createMemoryRegistry(), broker: createMemoryBroker() });
    await own.options().registry.register(echo, { ttlMs: 60_000 });
    await call(own);

    await call(plain);
    await call(plain); // held once, however many calls
    await plain.close();
    assert.deepEqual(ended, { registry: 1, broker: 1 }, "the last holder ends both defaults");

    // A closed client does not take them again: the next holder is the last one.
    await call(plain).catch(() => {});
    await call(idle).catch(() => {});
    ended = { registry: 0, broker: 0 };
    const next = newClient({ transport, retries: 0 });
    await registry.register(echo, { ttlMs: 60_000 });
    await call(next);
    await next.close();
    assert.deepEqual(ended, { registry: 1, broker: 1 }, "released by the only client holding them");
    await own.close();
    assert.deepEqual(ended, { registry: 1, broker: 1 }, "the client with its own held neither");
  });
  it("a service on the default registry holds it from start to stop", async () => {
    const registry = defaultRegistry();
    let ended = 0;
    const close = registry.close.bind(registry);
    registry.close = async () => {
      ended++;
      await close();
    };
    const s = newService({ name: "holder", broker: createMemoryBroker(), log: () => {} });
    await s.start();
    assert.equal(ended, 0);
    await s.stop();
    assert.equal(ended, 1, "released by stop(), the last holder");
  });
});
