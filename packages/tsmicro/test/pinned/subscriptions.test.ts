/**
 * Pinned behaviours of a service's subscribers (service/subscribe.ts): a handler that is not a
 * function is refused when added, the registry description of each subscriber, a failed start
 * that unsubscribes what it had made, the handler's context (no chain, the message's headers),
 * and the reason its signal gives when the service stops.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerHandler, SubscribeOptions, Subscriber } from "../../src/broker/broker.js";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { defaultCodecs } from "../../src/codec/index.js";
import type { Context } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { type SubscriberFn, Subscriptions } from "../../src/service/subscribe.js";
import { until, within } from "../helpers.js";

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("service subscribers (pinned)", { timeout: 10_000 }, () => {
  it("refuses a handler that is not a function, naming the service and topic", () => {
    const subs = new Subscriptions("greeter", defaultCodecs());
    assert.throws(
      () => subs.add("orders", "nope" as unknown as SubscriberFn),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message === `service greeter: the subscriber for "orders" must be a function`,
    );
    assert.equal(subs.size, 0);
  });

  it("describes each subscriber for the registry as go-micro does: Subscriber.<topic> with its queue", () => {
    const subs = new Subscriptions("greeter", defaultCodecs());
    subs.add("orders", async () => {});
    subs.add("jobs", async () => {}, { queue: "workers" });
    assert.deepEqual(subs.endpoints(), [
      { name: "Subscriber.orders", metadata: { subscriber: "true", topic: "orders", queue: "" } },
      { name: "Subscriber.jobs", metadata: { subscriber: "true", topic: "jobs", queue: "workers" } },
    ]);
  });

  it("a start that fails part way unsubscribes the ones it made, and throws the failure", async () => {
    const subs = new Subscriptions("greeter", defaultCodecs());
    subs.add("a", async () => {});
    subs.add("b", async () => {});
    const made: string[] = [];
    const unsubscribed: string[] = [];
    const refused = new Error("broker refused b");
    const broker = {
      subscribe: async (t: string, _h: BrokerHandler, _o?: SubscribeOptions): Promise<Subscriber> => {
        if (t === "b") throw refused;
        made.push(t);
        return {
          topic: t,
          queue: undefined,
          unsubscribe: async () => {
            unsubscribed.push(t);
          },
        };
      },
    };
    await assert.rejects(subs.start(broker), (e) => e === refused);
    assert.deepEqual(made, ["a"]);
    assert.deepEqual(unsubscribed, ["a"]);
    await subs.stop();
    assert.deepEqual(unsubscribed, ["a"], "stop after the failed start unsubscribes nothing twice");
  });

  it("a handler's context: the message headers as metadata, no call chain, no deadline", async () => {
    const broker = createMemoryBroker();
    await broker.connect();
    const subs = new Subscriptions("greeter", defaultCodecs());
    let seen: { ctx: Context; payload: unknown } | undefined;
    subs.add("orders", async (ctx, payload) => {
      seen = { ctx, payload };
    });
    await subs.start(broker);
    await broker.publish("orders", {
      headers: { "content-type": "application/json", "x-a": "1" },
      body: json({ n: 1 }),
    });
    await until(() => seen !== undefined, "the handler to run");
    assert.ok(seen);
    assert.deepEqual(seen.payload, { n: 1 });
    assert.deepEqual(seen.ctx.chain, []);
    assert.equal(seen.ctx.deadline, undefined);
    assert.equal(seen.ctx.metadata["x-a"], "1");
    await subs.stop();
    await broker.disconnect();
  });

  it('stopping the service aborts the signal its handlers got, with 503 "the service is stopping"', async () => {
    const broker = createMemoryBroker();
    await broker.connect();
    const subs = new Subscriptions("greeter", defaultCodecs());
    let seen: AbortSignal | undefined;
    subs.add("orders", async (ctx) => {
      seen = ctx.signal;
    });
    await subs.start(broker);
    await broker.publish("orders", { headers: {}, body: json(1) });
    await until(() => seen !== undefined, "the handler to run");
    assert.ok(seen);
    assert.equal(seen.aborted, false, "not aborted while the service runs");
    await within(subs.stop(), 3000, "the subscribers to stop");
    const reason: unknown = seen.reason;
    assert.ok(reason instanceof MicroError, String(reason));
    assert.equal(reason.code, 503);
    assert.equal(reason.id, "greeter");
    assert.equal(reason.detail, "the service is stopping");
    await broker.disconnect();
  });
});
