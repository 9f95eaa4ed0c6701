/**
 * Pinned behaviours of the checks every broker shares (broker/options.ts): which topics every
 * engine accepts, what a message must be, each subscribe option's edge and default, and the
 * helpers for headers, errors and the disconnected state.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkMessage,
  checkTopic,
  errorSink,
  normalizeHeaders,
  notConnected,
  resolveSubscribeOptions,
} from "../../src/broker/options.js";
import { MicroError } from "../../src/errors.js";

const refusal = (detail: RegExp | string) => (e: unknown) => {
  assert.ok(e instanceof MicroError, `a MicroError, got ${String(e)}`);
  assert.equal(e.id, "tsmicro");
  assert.equal(e.code, 400);
  if (typeof detail === "string") assert.equal(e.detail, detail);
  else assert.match(e.detail, detail);
  return true;
};

describe("broker checks (pinned)", { timeout: 10_000 }, () => {
  it("a topic is a non-empty name of at most 200 characters, without whitespace, wildcards or an edge dot", () => {
    for (const ok of ["orders", "orders.created", "a-b_c:d/e", "x".repeat(200)]) checkTopic(ok, "nats");
    assert.throws(
      () => checkTopic("", "nats"),
      refusal("broker nats: a topic must be a non-empty string, got "),
    );
    assert.throws(
      () => checkTopic(5, "nats"),
      refusal("broker nats: a topic must be a non-empty string, got 5"),
    );
    const rule =
      "is not allowed (no whitespace or wildcards * > # +, no leading or trailing dot, at most 200 characters)";
    for (const bad of ["a b", "a\tb", "a*", "a.>", "#", "a+b", ".a", "a.", "x".repeat(201)]) {
      assert.throws(
        () => checkTopic(bad, "nats"),
        refusal(`broker nats: topic "${bad}" ${rule}`),
        JSON.stringify(bad),
      );
    }
  });

  it("a message needs a Uint8Array body and a headers object", () => {
    checkMessage({ headers: {}, body: new Uint8Array(0) }, "redis", "t");
    checkMessage({ headers: {}, body: Buffer.from("x") }, "redis", "t");
    const shape = 'broker redis: publish to "t" needs a message { headers, body: Uint8Array }';
    for (const bad of [
      undefined,
      null,
      "m",
      { headers: {} },
      { headers: {}, body: "x" },
      { headers: {}, body: [1] },
    ]) {
      assert.throws(() => checkMessage(bad, "redis", "t"), refusal(shape), JSON.stringify(bad));
    }
    for (const headers of [null, "h", 1]) {
      assert.throws(
        () => checkMessage({ headers, body: new Uint8Array(0) }, "redis", "t"),
        refusal('broker redis: publish to "t": message headers must be an object'),
      );
    }
  });

  it("subscribe options default to autoAck, 5 deliveries, 100 ms between, a .dlq dead-letter topic and no queue group", () => {
    assert.deepEqual(resolveSubscribeOptions("orders", undefined, "memory"), {
      queue: undefined,
      autoAck: true,
      maxDeliver: 5,
      deadLetterTopic: "orders.dlq",
      retryDelayMs: 100,
    });
    assert.deepEqual(
      resolveSubscribeOptions(
        "orders",
        { queue: "Q_1-a", autoAck: false, maxDeliver: 1, deadLetterTopic: false, retryDelayMs: 0 },
        "memory",
      ),
      { queue: "Q_1-a", autoAck: false, maxDeliver: 1, deadLetterTopic: false, retryDelayMs: 0 },
    );
    assert.equal(resolveSubscribeOptions("orders", { queue: "q".repeat(100) }, "m").queue, "q".repeat(100));
  });

  it("refuses a bad topic, queue group, maxDeliver, retryDelayMs or dead-letter topic, naming the broker", () => {
    assert.throws(
      () => resolveSubscribeOptions("a b", {}, "m"),
      refusal(/^broker m: topic "a b" is not allowed/),
    );
    for (const queue of ["", "a b", "q".repeat(101), "a.b", 5]) {
      assert.throws(
        () => resolveSubscribeOptions("t", { queue: queue as never }, "m"),
        refusal(`broker m: queue group "${String(queue)}" on "t" must be 1-100 letters, digits, _ or -`),
      );
    }
    for (const maxDeliver of [0, 1.5, Number.NaN]) {
      assert.throws(
        () => resolveSubscribeOptions("t", { maxDeliver }, "m"),
        refusal(`broker m: maxDeliver must be an integer ≥ 1, got ${maxDeliver}`),
      );
    }
    for (const retryDelayMs of [-1, Number.NaN]) {
      assert.throws(
        () => resolveSubscribeOptions("t", { retryDelayMs }, "m"),
        refusal(`broker m: retryDelayMs must be ≥ 0, got ${retryDelayMs}`),
      );
    }
    assert.throws(
      () => resolveSubscribeOptions("t", { deadLetterTopic: "x y" }, "m"),
      refusal(/topic "x y" is not allowed/),
    );
    assert.throws(
      () => resolveSubscribeOptions("t", { deadLetterTopic: "t" }, "m"),
      refusal('broker m: the dead-letter topic of "t" cannot be the topic itself'),
    );
  });

  it("normalizeHeaders lower-cases names, makes values strings and drops undefined ones", () => {
    assert.deepEqual(normalizeHeaders({ "X-Trace": "a", N: 5, Gone: undefined, nil: null }), {
      "x-trace": "a",
      n: "5",
      nil: "null",
    });
  });

  it("errorSink is the broker's onError, else a console.error line naming tsmicro broker", () => {
    const mine = () => {};
    assert.equal(errorSink({ onError: mine }), mine);
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => logged.push(a.join(" "));
    try {
      errorSink(undefined)(new Error("redelivery failed"));
      errorSink({})(new Error("again"));
    } finally {
      console.error = original;
    }
    assert.deepEqual(logged, ["tsmicro broker: redelivery failed", "tsmicro broker: again"]);
  });

  it("notConnected is a retryable 503 saying what could not be done", () => {
    const e = notConnected("rabbitmq", 'publish to "t"');
    assert.deepEqual(
      [e.id, e.code, e.retryable, e.detail],
      ["tsmicro", 503, true, 'broker rabbitmq is not connected: cannot publish to "t"'],
    );
  });
});
