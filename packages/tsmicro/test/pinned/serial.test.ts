/**
 * Pinned behaviours of the in-process subscription queue (broker/serial.ts) behind the memory,
 * HTTP and core NATS brokers: one message at a time in arrival order, what `pending` counts,
 * backpressure that resolves below the mark or on close, a failed message redelivered before
 * newer ones, a nack after the handler returned, and a bounded drain on close that says what it
 * left unhandled.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerHandler, SubscribeOptions } from "../../src/broker/broker.js";
import { resolveSubscribeOptions } from "../../src/broker/options.js";
import { DEFAULT_DRAIN_TIMEOUT_MS, SerialSubscription } from "../../src/broker/serial.js";
import type { MicroError } from "../../src/errors.js";
import { until, within } from "../helpers.js";

const msg = (text: string) => ({ headers: {}, body: Buffer.from(text) });
const text = (b: Uint8Array) => Buffer.from(b).toString();

function subscription(handler: BrokerHandler, options: SubscribeOptions = {}, deadLetterFails = false) {
  const errors: MicroError[] = [];
  const dead: string[] = [];
  const sub = new SerialSubscription("t", {
    options: resolveSubscribeOptions("t", { retryDelayMs: 10, ...options }, "test"),
    handler,
    publish: async (topic, m) => {
      if (deadLetterFails) throw new Error("dead-letter topic unreachable");
      dead.push(`${topic}:${text(m.body)}`);
    },
    onError: (e) => errors.push(e as MicroError),
    broker: "test",
  });
  return { sub, errors, dead };
}

/** A gate the handler waits on, opened by the test. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

describe("serial subscription (pinned)", { timeout: 15_000 }, () => {
  it("handles one message at a time, in order; pending counts the queued and the running one", async () => {
    const g = gate();
    const got: string[] = [];
    let running = 0;
    let most = 0;
    const { sub } = subscription(async (e) => {
      running++;
      most = Math.max(most, running);
      await g.p;
      got.push(text(e.message.body));
      running--;
    });
    assert.equal(sub.pending, 0);
    assert.equal(sub.push(msg("1")), true);
    sub.push(msg("2"));
    sub.push(msg("3"));
    assert.equal(sub.pending, 3, "2 queued + 1 running");
    g.open();
    await until(() => got.length === 3, "3 messages handled");
    await until(() => sub.pending === 0, "nothing pending");
    assert.deepEqual(got, ["1", "2", "3"]);
    assert.equal(most, 1);
    await sub.close();
  });

  it("below(n) waits while n or more are pending, and ends on close", async () => {
    const g = gate();
    const { sub } = subscription(async () => {
      await g.p;
    });
    await within(sub.below(1), 1000, "below(1) with nothing pending");
    sub.push(msg("1"));
    sub.push(msg("2"));
    let freed = false;
    const waiting = sub.below(2).then(() => {
      freed = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(freed, false, "2 pending: not below 2");
    g.open();
    await within(waiting, 3000, "below(2) once the first was handled");
    const g2 = gate();
    const other = subscription(async () => {
      await g2.p;
    });
    other.sub.push(msg("1"));
    const blocked = other.sub.below(1);
    const closing = other.sub.close();
    await within(blocked, 1000, "below(1) to end when the subscription closes");
    g2.open();
    await closing;
    await sub.close();
  });

  it("a failed message is delivered again, as the next attempt, before newer messages", async () => {
    const got: string[] = [];
    const at: number[] = [];
    const { sub } = subscription(
      async (e) => {
        got.push(`${text(e.message.body)}#${e.attempt}`);
        at.push(Date.now());
        if (text(e.message.body) === "bad" && e.attempt < 3) throw new Error("again");
      },
      { retryDelayMs: 30 },
    );
    sub.push(msg("bad"));
    sub.push(msg("next"));
    await until(() => got.length === 4, "4 deliveries");
    assert.deepEqual(got, ["bad#1", "bad#2", "bad#3", "next#1"]);
    assert.ok(at[1]! - at[0]! >= 25, `redelivered after ${at[1]! - at[0]!} ms; retryDelayMs is 30`);
    await sub.close();
  });

  it("a nack after the handler returned is delivered again later; after close it is reported, not delivered", async () => {
    const got: string[] = [];
    let later: (() => Promise<void>) | undefined;
    const { sub, errors } = subscription(
      async (e) => {
        got.push(`${text(e.message.body)}#${e.attempt}`);
        if (e.attempt === 1) later = () => e.nack();
        else await e.ack();
      },
      { autoAck: false, retryDelayMs: 30 },
    );
    sub.push(msg("m"));
    await until(() => later !== undefined && sub.pending === 0, "the first delivery to return");
    const nacked = Date.now();
    await later!();
    await until(() => got.length === 2, "the redelivery");
    assert.ok(Date.now() - nacked >= 25, "redelivered after retryDelayMs (30)");
    assert.deepEqual(got, ["m#1", "m#2"]);

    later = undefined;
    sub.push(msg("n"));
    await until(() => later !== undefined && sub.pending === 0, "the delivery of n to return");
    await later!();
    await sub.close();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(got, ["m#1", "m#2", "n#1"], "not delivered after close");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 503);
    assert.equal(errors[0]!.id, "tsmicro");
    assert.equal(
      errors[0]!.detail,
      `broker test: a message nacked on "t" after unsubscribe is not delivered again`,
    );
  });

  it("close takes no more messages, handles the accepted ones, and returns", async () => {
    const got: string[] = [];
    const { sub, errors } = subscription(async (e) => {
      await new Promise((r) => setTimeout(r, 5));
      got.push(text(e.message.body));
    });
    sub.push(msg("1"));
    sub.push(msg("2"));
    await within(sub.close(), 3000, "close to drain");
    assert.deepEqual(got, ["1", "2"]);
    assert.equal(sub.closed, true);
    assert.equal(sub.push(msg("3")), false);
    assert.deepEqual(errors, []);
    await within(subscription(async () => {}).sub.close(), 1000, "close with nothing running");
  });

  it("a drain past its bound returns, drops what was left, and reports the count", async () => {
    assert.equal(DEFAULT_DRAIN_TIMEOUT_MS, 10_000);
    const g = gate();
    const got: string[] = [];
    const { sub, errors } = subscription(async (e) => {
      await g.p;
      got.push(text(e.message.body));
    });
    sub.push(msg("1"));
    sub.push(msg("2"));
    sub.push(msg("3"));
    const started = Date.now();
    await within(sub.close(30), 3000, "close(30) with a stuck handler");
    assert.ok(Date.now() - started < 1000);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 503);
    assert.equal(errors[0]!.id, "tsmicro");
    assert.equal(
      errors[0]!.detail,
      `broker test: unsubscribed from "t" with a handler still running after 30 ms; 2 accepted message(s) not handled`,
    );
    g.open();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["1"], "the running one finishes; the dropped ones are not handled");
  });

  it("a handler that fails after its drain gave up is reported, not delivered again after close returned", async () => {
    const g = gate();
    const got: string[] = [];
    const { sub, errors } = subscription(async (e) => {
      got.push(`${text(e.message.body)}#${e.attempt}`);
      await g.p;
      throw new Error("failed late");
    });
    sub.push(msg("1"));
    await until(() => got.length === 1, "the first delivery to start");
    await within(sub.close(20), 3000, "close(20) with a stuck handler");
    assert.equal(errors.length, 1, "the drain's timeout");
    g.open();
    await until(() => errors.length === 2, "the late failure's report");
    await new Promise((r) => setTimeout(r, 40)); // past retryDelayMs (10): a redelivery would have run
    assert.deepEqual(got, ["1#1"], "not delivered again after close returned");
    assert.equal(errors[1]!.code, 503);
    assert.equal(
      errors[1]!.detail,
      `broker test: a message that failed on "t" after unsubscribe gave up waiting is not delivered again`,
    );
    assert.equal(sub.pending, 0);
  });

  it("in memory, a message whose dead letter cannot be published is lost (reported), not delivered again", async () => {
    let runs = 0;
    const { sub, errors } = subscription(
      async () => {
        runs++;
        throw new Error("bad");
      },
      { maxDeliver: 1 },
      true,
    );
    sub.push(msg("x"));
    await until(() => errors.length === 1, "the lost message to be reported");
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(runs, 1, "not delivered again");
    assert.match(errors[0]!.detail, /dead-letter topic unreachable; it is lost$/);
    await sub.close();
  });
});
