/**
 * Pinned behaviours of the http broker's publisher (broker/http.ts), against real subscribers on
 * loopback and a memory registry: its name; the record a subscription registers; every broadcast
 * subscriber and one member of each queue group, taken in turn; a member that is gone skipped; a
 * group with no member left a 503 naming the group; a broadcast subscriber that is gone skipped, one
 * that refuses the message failing the publish with its code;
 * a node without a path reached at its default one; the publisher's in-flight record named.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import type { Broker, BrokerMessage, Event } from "../../src/broker/broker.js";
import { createHttpBroker } from "../../src/broker/http.js";
import { brokerServiceName } from "../../src/broker/http-directory.js";
import { MicroError } from "../../src/errors.js";
import type { InflightCall } from "../../src/inflight.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry } from "../../src/registry/registry.js";
import { until } from "../helpers.js";

const msg = (n: number): BrokerMessage => ({
  headers: { n: String(n) },
  body: new TextEncoder().encode(String(n)),
});

/** A loopback address nothing listens on. */
async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

/** Registers a subscriber node that is gone (a closed port) for `topic`. */
async function ghost(registry: Registry, topic: string, id: string, version = "broadcast") {
  await registry.register(
    {
      name: brokerServiceName(topic),
      version,
      metadata: {},
      endpoints: [],
      nodes: [
        { id, address: await deadAddress(), metadata: { broker: "http", topic, path: `/broker/${id}` } },
      ],
    },
    { ttlMs: 60_000 },
  );
}

describe("http broker publisher (pinned)", { timeout: 30_000 }, () => {
  const brokers: Broker[] = [];
  after(async () => {
    for (const b of brokers) await b.disconnect();
  });
  const broker = (registry: Registry) => {
    const b = createHttpBroker({ registry, cacheTtlMs: 50, onError: () => {} });
    brokers.push(b);
    return b;
  };
  let topicN = 0;
  const topic = () => `pin-http-${process.pid}-${++topicN}`;

  it("is named after its registry; a subscription registers its id, address, topic, queue and path", async () => {
    const registry = createMemoryRegistry();
    const b = broker(registry);
    assert.equal(b.name, "http (registry memory)");
    const t = topic();
    await b.subscribe(t, async () => {}, { queue: "workers" });
    await b.subscribe(t, async () => {});
    const services = await registry.getService(brokerServiceName(t));
    const byVersion = Object.fromEntries(services.map((s) => [s.version, s.nodes]));
    const [q] = byVersion["queue:workers"]!;
    assert.match(q!.address, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(q!.metadata, { broker: "http", topic: t, queue: "workers", path: `/broker/${q!.id}` });
    const [all] = byVersion.broadcast!;
    assert.equal(all!.metadata.queue, "");
  });

  it("every broadcast subscriber gets each message; one member of a queue group does, in turn", async () => {
    const registry = createMemoryRegistry();
    const pub = broker(registry);
    const t = topic();
    const got: Record<string, string[]> = { all1: [], all2: [], q1: [], q2: [] };
    const on = (k: string) => async (e: Event) => {
      got[k]!.push(e.message.headers.n!);
    };
    await broker(registry).subscribe(t, on("all1"));
    await broker(registry).subscribe(t, on("all2"));
    await broker(registry).subscribe(t, on("q1"), { queue: "g" });
    await broker(registry).subscribe(t, on("q2"), { queue: "g" });
    for (let i = 1; i <= 4; i++) await pub.publish(t, msg(i));
    await until(
      () => got.all1!.length === 4 && got.all2!.length === 4 && got.q1!.length + got.q2!.length === 4,
      "all deliveries",
    );
    assert.deepEqual(got.all1!.sort(), ["1", "2", "3", "4"]);
    assert.deepEqual(got.all2!.sort(), ["1", "2", "3", "4"]);
    assert.equal(got.q1!.length, 2, `the group's members take turns: ${JSON.stringify(got)}`);
    assert.equal(got.q2!.length, 2);
    assert.deepEqual([...got.q1!, ...got.q2!].sort(), ["1", "2", "3", "4"], "each message once in the group");
  });

  it("a group member that is gone is skipped; with none left the publish is a 503 naming the group", async () => {
    const registry = createMemoryRegistry();
    const pub = broker(registry);
    const t = topic();
    const got: string[] = [];
    await ghost(registry, t, "ghost-1", "queue:g");
    await broker(registry).subscribe(
      t,
      async (e) => {
        got.push(e.message.headers.n!);
      },
      { queue: "g" },
    );
    for (let i = 1; i <= 3; i++) await pub.publish(t, msg(i));
    await until(() => got.length === 3, "three deliveries past the ghost");

    const lonely = topic();
    await ghost(registry, lonely, "ghost-a", "queue:solo");
    await ghost(registry, lonely, "ghost-b", "queue:solo");
    const e = await pub.publish(lonely, msg(1), { timeoutMs: 3000 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError, String(e));
    assert.equal(e.code, 503);
    assert.equal(e.retryable, true);
    assert.match(
      e.detail,
      new RegExp(
        `^publish to "${lonely}" on broker http \\(registry memory\\): 1 of 1 subscriber\\(s\\) did not take the message: no member of queue group "solo" on "${lonely}" is reachable \\(tried 2\\)`,
      ),
    );
  });

  it("a broadcast subscriber that is gone is skipped; one that refuses the message fails the publish with its code, saying how many of how many", async () => {
    const registry = createMemoryRegistry();
    const pub = broker(registry);
    const t = topic();
    const got: string[] = [];
    await broker(registry).subscribe(t, async (e) => {
      got.push(e.message.headers.n!);
    });
    await ghost(registry, t, "ghost-x");
    await pub.publish(t, msg(6));
    await until(() => got.length === 1, "the live subscriber's delivery past the ghost");

    const small = createHttpBroker({ registry, maxMessageBytes: 64, onError: () => {} });
    brokers.push(small);
    await small.subscribe(t, async () => {});
    const big: BrokerMessage = { headers: { n: "7" }, body: new Uint8Array(1024) };
    const e = await pub.publish(t, big).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError, String(e));
    assert.equal(e.code, 413);
    assert.equal(e.retryable, true);
    // 2, not 3: the ghost that refused the connection is no longer tried for a while.
    assert.match(e.detail, /: 1 of 2 subscriber\(s\) did not take the message: .*limit of 64/);
    await until(() => got.length === 2, "the others still got it");
  });

  it("a node registered without a path is reached at /broker/<id>; the in-flight record names the node and ends publishing", async () => {
    const registry = createMemoryRegistry();
    const sub = broker(registry);
    const t = topic();
    const got: string[] = [];
    await sub.subscribe(t, async (e) => {
      got.push(e.message.headers.n!);
    });
    const [svc] = await registry.getService(brokerServiceName(t));
    const node = svc!.nodes[0]!;
    // Re-register it as a go-micro-era record would look: no path in its metadata.
    await registry.deregister(svc!);
    const { path: _, ...metadata } = node.metadata;
    await registry.register({ ...svc!, nodes: [{ ...node, metadata }] }, { ttlMs: 60_000 });
    const record = { phase: "publishing", phaseSince: 0, node: undefined } as unknown as InflightCall;
    await broker(registry).publish(t, msg(5), { inflight: record });
    await until(() => got.length === 1, "the delivery at the default path");
    assert.equal(record.node, node.id);
    assert.equal(record.phase, "publishing");
  });
});
