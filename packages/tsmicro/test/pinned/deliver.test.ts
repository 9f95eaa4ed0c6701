/**
 * Pinned behaviours of the one delivery rule every broker shares (broker/deliver.ts), with a
 * recording engine side: auto-ack, a handler's own ack or nack (the first verdict only), a retry
 * numbered and paused as configured, bad input (a 4xx not retryable) dead-lettered at once, the
 * dead letter's headers, no dead-letter topic, a dead letter that cannot be published (kept by a
 * durable engine, reported lost otherwise), deliveries past `maxDeliver`, a failed settle.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerHandler, BrokerMessage, Event, SubscribeOptions } from "../../src/broker/broker.js";
import { deadLetterMessage, deliver } from "../../src/broker/deliver.js";
import { resolveSubscribeOptions } from "../../src/broker/options.js";
import { MicroError } from "../../src/errors.js";

const message = (): BrokerMessage => ({ headers: { a: "1" }, body: Buffer.from("body") });

/** Runs one delivery with a recording engine; returns what the engine and onError saw. */
async function run(
  handler: BrokerHandler,
  o: {
    attempt?: number;
    options?: SubscribeOptions;
    durable?: boolean;
    publishFails?: boolean;
    ackFails?: boolean;
    /** The ack rejects with this value (not an Error). */
    ackRejects?: { with: unknown };
    slowAck?: boolean;
  } = {},
) {
  const seen: string[] = [];
  const errors: MicroError[] = [];
  const dead: { topic: string; message: BrokerMessage }[] = [];
  await deliver(
    { topic: "orders", message: message(), attempt: o.attempt ?? 1 },
    {
      options: resolveSubscribeOptions("orders", { maxDeliver: 3, retryDelayMs: 7, ...o.options }, "test"),
      handler,
      publish: async (topic, m) => {
        if (o.publishFails) throw new Error("engine down");
        dead.push({ topic, message: m });
      },
      onError: (e) => errors.push(e as MicroError),
      broker: "test",
    },
    {
      durable: o.durable ?? false,
      ack: async () => {
        if (o.slowAck) await new Promise((r) => setTimeout(r, 20));
        seen.push("ack");
        if (o.ackFails) throw new Error("ack refused");
        if (o.ackRejects !== undefined) throw o.ackRejects.with;
      },
      retry: async (attempt, delayMs) => {
        seen.push(`retry ${attempt} after ${delayMs}`);
      },
    },
  );
  return { seen, errors, dead };
}

const failing = (err: unknown) => async () => {
  throw err;
};

describe("broker delivery rules (pinned)", { timeout: 10_000 }, () => {
  it("a handler that returns is acked once with autoAck; without it, the handler settles it", async () => {
    assert.deepEqual((await run(async () => {})).seen, ["ack"]);
    assert.deepEqual((await run(async () => {}, { options: { autoAck: false } })).seen, []);
    let later: Event | undefined;
    const r = await run(
      async (e) => {
        later = e;
      },
      { options: { autoAck: false } },
    );
    await later?.ack();
    assert.deepEqual(r.seen, ["ack"]);
  });

  it("only the first verdict counts: an ack then a nack, a nack then a throw", async () => {
    assert.deepEqual(
      (
        await run(async (e) => {
          await e.ack();
          await e.nack();
        })
      ).seen,
      ["ack"],
    );
    assert.deepEqual(
      (
        await run(async (e) => {
          await e.nack();
          throw new Error("then threw");
        })
      ).seen,
      ["retry 2 after 7"],
    );
  });

  it("a failure is delivered again as the next attempt after retryDelayMs, until maxDeliver", async () => {
    assert.deepEqual((await run(failing(new Error("x")))).seen, ["retry 2 after 7"]);
    assert.deepEqual((await run(failing(new Error("x")), { attempt: 2 })).seen, ["retry 3 after 7"]);
    const last = await run(failing(new Error("x")), { attempt: 3 });
    assert.deepEqual(last.seen, ["ack"], "the last delivery's failure is dead-lettered, then acked");
    assert.equal(last.dead.length, 1);
    assert.equal(last.dead[0]!.topic, "orders.dlq");
    assert.equal(last.dead[0]!.message.headers["micro-attempt"], "3");
  });

  it("bad input (a 4xx that is not retryable) is dead-lettered at once; other errors are retried", async () => {
    for (const code of [400, 404, 499]) {
      const r = await run(failing(new MicroError({ id: "s", code, detail: "bad", retryable: false })));
      assert.deepEqual(r.seen, ["ack"], `code ${code}`);
      assert.equal(r.dead.length, 1, `code ${code}`);
    }
    for (const err of [
      new MicroError({ id: "s", code: 500, detail: "x", retryable: false }),
      new MicroError({ id: "s", code: 399, detail: "x", retryable: false }),
      new MicroError({ id: "s", code: 429, detail: "x", retryable: true }),
      "a string",
    ]) {
      const r = await run(failing(err));
      assert.deepEqual(r.seen, ["retry 2 after 7"], String(err));
    }
  });

  it("the dead letter: the message's headers and body, its topic, the reason on one line (at most 1,000 characters), the attempt", () => {
    const d = { topic: "orders", message: message(), attempt: 4 };
    const m = deadLetterMessage(d, "line one\r\nline two\n\nthree");
    assert.deepEqual(m.headers, {
      a: "1",
      "micro-dead-letter-topic": "orders",
      "micro-dead-letter-reason": "line one line two three",
      "micro-attempt": "4",
    });
    assert.equal(m.body, d.message.body);
    assert.equal(deadLetterMessage(d, "x".repeat(1500)).headers["micro-dead-letter-reason"]?.length, 1000);
  });

  it("the dead letter's reason is the error's message, or the thrown value as text", async () => {
    const r = await run(failing(new MicroError({ id: "s", code: 400, detail: "no name", retryable: false })));
    assert.equal(r.dead[0]!.message.headers["micro-dead-letter-reason"], "no name");
    const s = await run(failing("plain text"), { attempt: 3 });
    assert.equal(s.dead[0]!.message.headers["micro-dead-letter-reason"], "plain text");
  });

  it("with no dead-letter topic, the message is dropped with a 500 naming it, and acked", async () => {
    const r = await run(failing(new Error("boom")), { attempt: 3, options: { deadLetterTopic: false } });
    assert.deepEqual(r.seen, ["ack"]);
    assert.equal(r.dead.length, 0);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.code, 500);
    assert.equal(r.errors[0]!.id, "tsmicro");
    assert.equal(
      r.errors[0]!.detail,
      `broker test: dropped a message on "orders" after 3 deliveries (no dead-letter topic): boom`,
    );
  });

  it("a dead letter that cannot be published: a durable engine delivers it again, another reports it lost", async () => {
    const durable = await run(failing(new Error("boom")), { attempt: 3, durable: true, publishFails: true });
    assert.deepEqual(durable.seen, ["retry 3 after 7"], "the same attempt again, not acked");
    assert.equal(durable.errors[0]!.code, 503);
    assert.equal(durable.errors[0]!.id, "tsmicro");
    assert.equal(
      durable.errors[0]!.detail,
      `broker test: could not move a message on "orders" to dead-letter topic "orders.dlq": engine down; it will be delivered again`,
    );
    const lost = await run(failing(new Error("boom")), { attempt: 3, publishFails: true });
    assert.deepEqual(lost.seen, [], "neither acked nor retried");
    assert.match(lost.errors[0]!.detail, /engine down; it is lost$/);
  });

  it("a delivery past maxDeliver (its subscriber died each time) is dead-lettered without running the handler", async () => {
    let ran = false;
    const r = await run(
      async () => {
        ran = true;
      },
      { attempt: 4 },
    );
    assert.equal(ran, false);
    assert.deepEqual(r.seen, ["ack"]);
    assert.equal(r.dead[0]!.message.headers["micro-attempt"], "3");
    assert.equal(
      r.dead[0]!.message.headers["micro-dead-letter-reason"],
      "delivered 3 times without an ack or a nack (its subscriber died or lost its connection while handling it)",
    );
    const at = await run(async () => {}, { attempt: 3 });
    assert.deepEqual(at.seen, ["ack"], "delivery number maxDeliver still runs the handler");
    assert.equal(at.dead.length, 0);
    const failed = await run(async () => {}, { attempt: 4, publishFails: true });
    assert.equal(failed.errors.length, 1, "a dead letter that fails here is reported");
    const unacked = await run(async () => {}, { attempt: 4, ackFails: true });
    assert.equal(unacked.dead.length, 1);
    assert.deepEqual(
      unacked.errors.map((e) => e.detail),
      ["ack refused"],
      "an ack that fails after the dead letter is reported",
    );
  });

  it("resolves only once a verdict the handler gave without waiting has been carried out", async () => {
    const r = await run(
      async (e) => {
        void e.ack();
      },
      { options: { autoAck: false }, slowAck: true },
    );
    assert.deepEqual(r.seen, ["ack"]);
  });

  it("a settle that fails is reported, naming the broker, the topic and why", async () => {
    const r = await run(async () => {}, { ackFails: true });
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.detail, `broker test: settling a message on "orders" failed: ack refused`);
    const odd = await run(async () => {}, { ackRejects: { with: null } });
    assert.equal(odd.errors[0]?.detail, `broker test: settling a message on "orders" failed: null`);
  });

  it("a nack on the last delivery dead-letters the message with the reason that the handler nacked it", async () => {
    const r = await run(
      async (e) => {
        await e.nack();
      },
      { attempt: 3, options: { autoAck: false } },
    );
    assert.equal(r.dead.length, 1);
    assert.equal(r.dead[0]!.message.headers["micro-dead-letter-reason"], "nacked by the handler");
  });
});
