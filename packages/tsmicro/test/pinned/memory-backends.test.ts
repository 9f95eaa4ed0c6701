/**
 * Pinned behaviours of the in-process broker and registry (broker/memory.ts, registry/memory.ts)
 * that the conformance suites leave open: queue groups take turns per topic, an unsubscribed
 * member gets no more messages, disconnect waits for running handlers and refuses new work;
 * a node whose lease has passed is not served even before its timer runs, an unchanged
 * registration is no "update", lease timers do not hold the process, close ends the watches.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerHandler } from "../../src/broker/broker.js";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { MicroError } from "../../src/errors.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { RegistryEvent } from "../../src/registry/registry.js";
import { until, within } from "../helpers.js";
import { exitsAlone } from "../support/exits-alone.js";
import { node, service } from "../support/selector-nodes.js";

const msg = (text: string) => ({ headers: {}, body: new TextEncoder().encode(text) });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A handler that records each body under `name`. */
const recordTo =
  (got: string[], name: string): BrokerHandler =>
  async (e) => {
    got.push(`${name}:${text(e.message.body)}`);
  };

describe("memory broker (pinned)", { timeout: 15_000 }, () => {
  it("queue groups take turns per topic: one topic's turns do not move another's", async () => {
    const b = createMemoryBroker();
    await b.connect();
    const got: string[] = [];
    await b.subscribe("A", recordTo(got, "a1"), { queue: "g" });
    await b.subscribe("A", recordTo(got, "a2"), { queue: "g" });
    await b.subscribe("B", recordTo(got, "b1"), { queue: "g" });
    await b.subscribe("B", recordTo(got, "b2"), { queue: "g" });
    for (const [topic, body] of [
      ["A", "1"],
      ["B", "2"],
      ["A", "3"],
      ["B", "4"],
    ] as const)
      await b.publish(topic, msg(body));
    await until(() => got.length >= 4, "4 deliveries");
    assert.deepEqual(got.sort(), ["a1:1", "a2:3", "b1:2", "b2:4"]);
    await b.disconnect();
  });

  it("a member that unsubscribed gets no more of its group's messages: the others get them all", async () => {
    const b = createMemoryBroker();
    await b.connect();
    const got: string[] = [];
    const gone = await b.subscribe("t", recordTo(got, "gone"), { queue: "g" });
    await b.subscribe("t", recordTo(got, "stays"), { queue: "g" });
    const broadcast = await b.subscribe("t", recordTo(got, "all"));
    await gone.unsubscribe();
    await broadcast.unsubscribe();
    for (const body of ["1", "2", "3", "4"]) await b.publish("t", msg(body));
    await until(() => got.length >= 4, "4 deliveries to the member left");
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["stays:1", "stays:2", "stays:3", "stays:4"]);
    await b.disconnect();
  });

  it("disconnect waits for the handlers still running, then refuses publish and subscribe with 503", async () => {
    const b = createMemoryBroker();
    await b.connect();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const got: string[] = [];
    await b.subscribe("t", async (e) => {
      await gate;
      got.push(text(e.message.body));
    });
    await b.publish("t", msg("1"));
    await b.publish("t", msg("2"));
    let disconnected = false;
    const d = b.disconnect().then(() => {
      disconnected = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(disconnected, false, "disconnect returned while a handler was still running");
    release();
    await within(d, 3000, "disconnect after the handlers finished");
    assert.deepEqual(got, ["1", "2"], "the accepted messages were handled before disconnect returned");

    const pub = await b.publish("t", msg("3")).catch((e: unknown) => e);
    assert.ok(pub instanceof MicroError && pub.code === 503, String(pub));
    assert.match(pub.detail, /broker memory is not connected: cannot publish to "t"/);
    const sub = await b.subscribe("t", async () => {}).catch((e: unknown) => e);
    assert.ok(sub instanceof MicroError && sub.code === 503, String(sub));
    assert.match(sub.detail, /cannot subscribe to "t"/);
    await b.disconnect(); // a second disconnect is a no-op
  });
});

/** Blocks the event loop for `ms`: timers cannot run meanwhile. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe("memory registry (pinned)", { timeout: 15_000 }, () => {
  it("a node whose lease has passed is not served, even before its expiry timer has run", async () => {
    const r = createMemoryRegistry();
    await r.register(service("a", [node("n1")]), { ttlMs: 20 });
    await r.register(service("b", [node("n2")]));
    busy(40); // the lease passes while no timer can run
    const got = await r.getService("a");
    assert.deepEqual(got, [], "an expired lease was served");
    assert.deepEqual(
      (await r.listServices()).map((s) => s.name),
      ["b"],
      "a node registered without a TTL never expires",
    );
    await r.close();
  });

  it("registering the same node unchanged is no event; a change is one update", async () => {
    const r = createMemoryRegistry();
    const w = r.watch();
    const it = w[Symbol.asyncIterator]();
    await r.register(service("a", [node("n1")]));
    await r.register(service("a", [node("n1")]));
    await r.register(service("a", [node("n1", { zone: "b" })]));
    const events: RegistryEvent["type"][] = [];
    for (let i = 0; i < 2; i++)
      events.push((await within(it.next(), 2000, `watch event ${i + 1}`)).value.type);
    assert.deepEqual(events, ["create", "update"]);
    const none = await Promise.race([it.next(), new Promise((res) => setTimeout(() => res("none"), 30))]);
    assert.equal(none, "none", "no further event");
    await r.close();
  });

  it("close() ends every watch", async () => {
    const r = createMemoryRegistry();
    const w = r.watch();
    const done = (async () => {
      for await (const _ of w) {
        // none expected
      }
    })();
    await r.close();
    await within(done, 2000, "the watch to end on close");
  });

  it("a registration with a long lease does not keep the process alive", async () => {
    const src = new URL("../../src/registry/memory.ts", import.meta.url).href;
    await exitsAlone(
      `import { createMemoryRegistry } from ${JSON.stringify(src)}; const r = createMemoryRegistry(); await r.register({ name: "a", version: "1", metadata: {}, endpoints: [], nodes: [{ id: "n", address: "127.0.0.1:1", metadata: {} }] }, { ttlMs: 600000 })`,
      "a 10-minute registry lease",
    );
  });
});
