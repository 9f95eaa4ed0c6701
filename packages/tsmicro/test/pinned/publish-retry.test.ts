/**
 * Pinned behaviours of the publish loop every broker shares (broker/publish.ts): checks before
 * anything is sent, retries with a growing pause until the deadline, the last error named in
 * the timeout, and no retry when the engine says so.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type PublishAttempt, publishWithRetry } from "../../src/broker/publish.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";

const message = { headers: {}, body: new Uint8Array([1]) };
const p = (o: Partial<PublishAttempt> = {}): PublishAttempt => ({
  broker: "test",
  topic: "orders",
  message,
  options: undefined,
  closed: false,
  ...o,
});

describe("publish with retry (pinned)", { timeout: 10_000 }, () => {
  it("checks the topic and message, and refuses after disconnect, before any attempt", async () => {
    let attempts = 0;
    const attempt = () => {
      attempts++;
    };
    await assert.rejects(within(publishWithRetry(p({ topic: "a b" }), attempt), 2000, "a refusal"), {
      code: 400,
    });
    await assert.rejects(publishWithRetry(p({ message: { headers: {}, body: "x" } as never }), attempt), {
      code: 400,
    });
    await assert.rejects(publishWithRetry(p({ closed: true }), attempt), {
      code: 503,
      detail: 'broker test is not connected: cannot publish to "orders"',
    });
    assert.equal(attempts, 0);
  });

  it("retries a failing attempt with pauses that grow from 50 ms, numbering the attempts, until one works", async () => {
    const at: number[] = [];
    const numbers: number[] = [];
    await within(
      publishWithRetry(p({ options: { timeoutMs: 5000 } }), (n) => {
        numbers.push(n);
        at.push(performance.now());
        if (n < 4) throw new Error(`engine busy ${n}`);
      }),
      5000,
      "the fourth attempt to succeed",
    );
    assert.deepEqual(numbers, [1, 2, 3, 4]);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 25·2^n: 50, 100, 200 ms.
    assert.ok(
      gaps[0]! >= 45 && gaps[1]! >= 95 && gaps[2]! >= 195,
      `pauses ${gaps.map(Math.round).join(", ")} ms`,
    );
    assert.ok(gaps[2]! > gaps[0]! * 2, "the pause grows");
  });

  it("at the deadline, fails with the timeout naming the phase and the last error", async () => {
    const t0 = Date.now();
    const err = await within(
      publishWithRetry(p({ options: { timeoutMs: 200 } }), (n) => {
        throw new Error(`refused ${n}`);
      }).then(
        () => assert.fail("expected the publish to time out"),
        (e: unknown) => e,
      ),
      3000,
      "the publish to time out",
    );
    assert.ok(err instanceof MicroError);
    assert.equal(err.code, 408);
    assert.match(
      err.detail,
      /^publish to "orders" on broker test timed out after \d+ ms while retrying after: refused \d+/,
    );
    assert.ok(Date.now() - t0 < 1000, "the pause is cut at the deadline, not its full length");
    assert.ok(!/\(last error:/.test(err.detail), "the last error, already in the phase, is not repeated");
  });

  it("a MicroError that ends the publish gets the last error appended when it does not name it", async () => {
    const c = new AbortController();
    const err = await within(
      publishWithRetry(p({ options: { timeoutMs: 5000, signal: c.signal } }), (n) => {
        if (n === 2) c.abort(new MicroError({ id: "app", code: 499, detail: "shutting down" }));
        throw new Error(`refused ${n}`);
      }).then(
        () => assert.fail("expected the publish to fail"),
        (e: unknown) => e,
      ),
      3000,
      "the cancelled publish",
    );
    assert.ok(err instanceof MicroError);
    assert.equal(err.code, 499);
    assert.equal(err.detail, "shutting down (last error: refused 1)");
  });

  it("retry: false fails with the attempt's own error at once", async () => {
    let attempts = 0;
    const boom = new Error("not taken");
    await assert.rejects(
      within(
        publishWithRetry(
          p(),
          () => {
            attempts++;
            throw boom;
          },
          false,
        ),
        2000,
        "the publish that may not retry",
      ),
      (e) => e === boom,
    );
    assert.equal(attempts, 1);
  });

  it("ends its deadline: the caller's signal keeps no listener once the publish is over", async () => {
    const caller = countingSignal();
    await within(
      publishWithRetry(p({ options: { timeoutMs: 5000, signal: caller.asAbortSignal } }), (_n, deadline) => {
        void deadline.signal; // an engine that waits reads the signal, which links the caller's
      }),
      2000,
      "the publish",
    );
    assert.equal(caller.listeners, 0);
  });
});
