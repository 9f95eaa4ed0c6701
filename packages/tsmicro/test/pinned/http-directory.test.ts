/**
 * Pinned behaviours of the HTTP broker's subscriber directory (broker/http-directory.ts): the
 * registry names it reads, how long a lookup is cached (shorter when nobody subscribes), the one
 * watch that forgets changed topics and is made again after it ends, and the subscriptions
 * skipped after a failed delivery until `goneMs` passes or a delivery succeeds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BROADCAST_VERSION,
  brokerServiceName,
  groupVersion,
  HTTP_BROKER_SERVICE_PREFIX,
  SubscriberDirectory,
  type Targets,
} from "../../src/broker/http-directory.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Node, Registry, Watcher } from "../../src/registry/registry.js";
import { node, service } from "../support/selector-nodes.js";

/** A memory registry that counts reads and watches, and lets the test end the watches. */
function counted() {
  const inner = createMemoryRegistry();
  const watchers: Watcher[] = [];
  let reads = 0;
  const registry: Registry = {
    ...inner,
    name: inner.name,
    getService: (name) => {
      reads++;
      return inner.getService(name);
    },
    watch: (o) => {
      const w = inner.watch(o);
      watchers.push(w);
      return w;
    },
  };
  return {
    registry,
    inner,
    watchers,
    reads: () => reads,
  };
}

/** A directory over `r`'s registry; every interval a minute unless given. */
const directory = (
  r: { registry: Registry },
  o: Partial<{ cacheTtlMs: number; emptyCacheTtlMs: number; goneMs: number }> = {},
) =>
  new SubscriberDirectory(r.registry, { cacheTtlMs: 60_000, emptyCacheTtlMs: 60_000, goneMs: 60_000, ...o });

const subscription = (topic: string, queue: string | undefined, id: string) =>
  service(brokerServiceName(topic), [node(id)], groupVersion(queue));

const summary = (t: Targets) => ({
  broadcast: t.broadcast.map((n) => n.id).sort(),
  groups: Object.fromEntries([...t.groups].map(([g, ns]) => [g, ns.map((n) => n.id).sort()])),
});

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe("http broker subscriber directory (pinned)", { timeout: 10_000 }, () => {
  it("names: one registry service per topic, one version per queue group or broadcast", () => {
    assert.equal(HTTP_BROKER_SERVICE_PREFIX, "tsmicro.broker.");
    assert.equal(brokerServiceName("orders"), "tsmicro.broker.orders");
    assert.equal(BROADCAST_VERSION, "broadcast");
    assert.equal(groupVersion(undefined), "broadcast");
    assert.equal(groupVersion("workers"), "queue:workers");
  });

  it("splits a topic's subscriptions into broadcast nodes and queue groups", async () => {
    const r = counted();
    await r.inner.register(subscription("t", undefined, "b1"));
    await r.inner.register(subscription("t", undefined, "b2"));
    await r.inner.register(subscription("t", "g", "q1"));
    await r.inner.register(subscription("other", undefined, "o1"));
    const d = directory(r);
    assert.deepEqual(summary(await d.lookup("t")), {
      broadcast: ["b1", "b2"],
      groups: { "queue:g": ["q1"] },
    });
    d.close();
    await r.inner.close();
  });

  it("caches a lookup for cacheTtlMs, and an empty one only for emptyCacheTtlMs", async () => {
    const r = counted();
    await r.inner.register(subscription("full", undefined, "b1"));
    const d = directory(r, { emptyCacheTtlMs: 30 });
    await d.lookup("full");
    await d.lookup("full");
    assert.equal(r.reads(), 1, "the second lookup of a topic with subscribers is served from the cache");
    await d.lookup("empty");
    await d.lookup("empty");
    assert.equal(r.reads(), 2, "an empty answer is cached too, for a while");
    await tick(60);
    await d.lookup("empty");
    assert.equal(r.reads(), 3, "after emptyCacheTtlMs, an empty answer is read again");
    await d.lookup("full");
    assert.equal(r.reads(), 3, "a topic with subscribers stays cached");
    d.close();
    await r.inner.close();
  });

  it("reads a topic with subscribers again once cacheTtlMs has passed", async () => {
    const r = counted();
    await r.inner.register(subscription("full", undefined, "b1"));
    const d = directory(r, { cacheTtlMs: 30 });
    await d.lookup("full");
    await d.lookup("full");
    assert.equal(r.reads(), 1);
    await tick(60);
    await d.lookup("full");
    assert.equal(r.reads(), 2);
    d.close();
    await r.inner.close();
  });

  it("one watch: a change to a topic's subscriptions is seen by the next lookup; other services are ignored", async () => {
    const r = counted();
    await r.inner.register(subscription("t", undefined, "b1"));
    const d = directory(r);
    await d.lookup("t");
    await d.lookup("t");
    assert.equal(r.watchers.length, 1, "one watch for every lookup");
    await r.inner.register(service("greeter", [node("g1")]));
    await tick();
    await d.lookup("t");
    assert.equal(r.reads(), 1, "a change to a service that is not a topic keeps the cache");
    await r.inner.register(subscription("t", undefined, "b2"));
    await tick();
    assert.deepEqual(summary(await d.lookup("t")).broadcast, ["b1", "b2"]);
    assert.equal(r.reads(), 2);
    d.close();
    await r.inner.close();
  });

  it("when its watch ends, the next lookup watches again", async () => {
    const r = counted();
    const d = directory(r);
    await d.lookup("t");
    assert.equal(r.watchers.length, 1);
    r.watchers[0]!.stop();
    await tick();
    await d.lookup("t");
    assert.equal(r.watchers.length, 2, "a new watch after the first ended");
    await r.inner.register(subscription("t", undefined, "b1"));
    await tick();
    assert.deepEqual(summary(await d.lookup("t")).broadcast, ["b1"], "the new watch keeps the cache fresh");
    d.close();
    await r.inner.close();
  });

  it("skips a subscription marked failed for goneMs, and again offers it after", async () => {
    const r = counted();
    await r.inner.register(subscription("t", undefined, "b1"));
    await r.inner.register(subscription("t", "g", "q1"));
    const d = directory(r, { goneMs: 40 });
    const b1: Node = node("b1");
    const q1: Node = node("q1");
    d.mark("t", b1, new Error("refused"));
    d.gone(q1);
    assert.deepEqual(
      summary(await d.lookup("t")),
      { broadcast: [], groups: {} },
      "a group whose only node is skipped is not offered at all",
    );
    await tick(80);
    assert.deepEqual(summary(await d.lookup("t")), { broadcast: ["b1"], groups: { "queue:g": ["q1"] } });
    d.close();
    await r.inner.close();
  });

  it("a successful delivery clears the skip at once; goneMs 0 skips nothing", async () => {
    const r = counted();
    await r.inner.register(subscription("t", undefined, "b1"));
    const d = directory(r);
    d.gone(node("b1"));
    assert.deepEqual(summary(await d.lookup("t")).broadcast, []);
    d.mark("t", node("b1"));
    assert.deepEqual(summary(await d.lookup("t")).broadcast, ["b1"]);
    d.close();

    const z = directory(r, { goneMs: 0 });
    z.gone(node("b1"));
    await tick(5);
    assert.deepEqual(summary(await z.lookup("t")).broadcast, ["b1"]);
    z.close();
    await r.inner.close();
  });

  it("close() stops the watch and empties the cache", async () => {
    const r = counted();
    const d = directory(r);
    await d.lookup("t");
    d.close();
    await d.lookup("t");
    assert.equal(r.reads(), 2, "the cache was emptied");
    assert.equal(r.watchers.length, 2, "the watch was stopped, so a new one is made");
    // The stopped watch ends after the new one began: it must not make the directory forget the new one.
    await tick();
    await d.lookup("t");
    assert.equal(r.watchers.length, 2, "a third watch was made while the second still runs");
    d.close();
    await r.inner.close();
  });
});
