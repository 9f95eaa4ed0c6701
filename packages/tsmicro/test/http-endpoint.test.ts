/**
 * The receiving half the core's http broker and go-micro's share (tsmicro/plugin's
 * createSubscriptionEndpoint): a subscription is a registry node at the listener's address
 * while it lives, one the registry refuses is not kept, and disconnect deregisters everything
 * and closes the listener. Both brokers' own suites cover the rest through their wire formats.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import { endpointFor, nodesOf, probe } from "./support/sub-endpoint.js";

const TOPIC = `endpoint-${process.pid}-${Date.now()}`;

describe("subscription endpoint (tsmicro/plugin)", () => {
  it("a subscription is a registry node at the listener's address, served until unsubscribed", async () => {
    const registry = createMemoryRegistry();
    const released = { count: 0 };
    const ep = endpointFor(registry, released);
    try {
      const sub = await ep.subscribe(TOPIC, async () => {}, { queue: "workers" });
      const [node] = await nodesOf(registry, TOPIC);
      assert.ok(node !== undefined, "the subscription was registered");
      assert.ok(node.id.startsWith(`${TOPIC}-`), `newId shaped the id: ${node.id}`);
      assert.match(node.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(await probe(node.address, node.id), 200);
      assert.equal(await probe(node.address, "no-such-id"), 404);
      await sub.unsubscribe();
      assert.deepEqual(await nodesOf(registry, TOPIC), [], "unsubscribe deregistered it");
      assert.equal(await probe(node.address, node.id), 404, "and the listener no longer finds it");
    } finally {
      await ep.disconnect();
    }
  });

  it("a subscription the registry refuses fails the subscribe, naming broker and topic, and is not kept", async () => {
    const inner = createMemoryRegistry();
    let refuse = true;
    const registry: Registry = {
      ...inner,
      name: inner.name,
      register: (s, o) => (refuse ? Promise.reject(new Error("registry says no")) : inner.register(s, o)),
    };
    const ep = endpointFor(registry, { count: 0 });
    try {
      await assert.rejects(
        ep.subscribe(TOPIC, async () => {}),
        (err: Error) => {
          assert.match(
            err.message,
            /broker test endpoint: could not register the subscription to ".*": registry says no/,
          );
          return true;
        },
      );
      refuse = false;
      await ep.subscribe(TOPIC, async () => {});
      // Only the second subscription exists: the refused one (id -1) left nothing to serve.
      const nodes = await nodesOf(registry, TOPIC);
      assert.deepEqual(
        nodes.map((x) => x.id),
        [`${TOPIC}-2`],
      );
      assert.equal(
        await probe(nodes[0]!.address, `${TOPIC}-1`),
        404,
        "the refused subscription is not served",
      );
      assert.equal(await probe(nodes[0]!.address, `${TOPIC}-2`), 200);
    } finally {
      await ep.disconnect();
    }
  });

  it("disconnect deregisters every subscription, releases the broker's resources and closes the listener", async () => {
    const registry = createMemoryRegistry();
    const released = { count: 0 };
    const ep = endpointFor(registry, released);
    await ep.subscribe(TOPIC, async () => {});
    await ep.subscribe(TOPIC, async () => {}, { queue: "q" });
    const nodes = await nodesOf(registry, TOPIC);
    assert.equal(nodes.length, 2);
    await ep.disconnect();
    await ep.disconnect(); // idempotent
    assert.equal(ep.state, "disconnected");
    assert.equal(released.count, 1, "release runs once");
    assert.deepEqual(await nodesOf(registry, TOPIC), []);
    assert.equal(await probe(nodes[0]!.address, nodes[0]!.id), "ECONNREFUSED");
    await assert.rejects(
      ep.subscribe(TOPIC, async () => {}),
      (err: Error & { code?: number }) => {
        assert.equal(err.code, 503);
        return true;
      },
    );
    // connect listens afresh (the core's http broker relies on it; go-micro's refuses before).
    await ep.connect();
    try {
      await ep.subscribe(TOPIC, async () => {});
      const [again] = await nodesOf(registry, TOPIC);
      assert.ok(again !== undefined);
      assert.equal(await probe(again.address, again.id), 200);
    } finally {
      await ep.disconnect();
    }
  });
});
