/**
 * Pinned behaviours of a publish's deadline (broker/deadline.ts): the 5 s default, `check()` for
 * a caller that gave up or a time that is up (the 408 names the topic, broker, time and phase),
 * the lazily made signal (already aborted, aborted later, timed out) that `done()` unlinks,
 * and the shared sweep that calls `fail` once and can be stopped.
 */
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { PublishDeadline, publishDeadline } from "../../src/broker/deadline.js";
import { MicroError } from "../../src/errors.js";
import { until, within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";
import { exitsAlone } from "../support/exits-alone.js";

const thrown = (f: () => void): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("publish deadline (pinned)", { timeout: 10_000 }, () => {
  it("defaults to 5 s; remainingMs counts down and never goes below 0", async () => {
    const d = publishDeadline(undefined, "b", "t");
    assert.ok(d instanceof PublishDeadline);
    const left = d.remainingMs();
    assert.ok(left > 4900 && left <= 5000, `left ${left}`);
    assert.equal(d.stopReason(), undefined);
    d.check();
    const short = publishDeadline({ timeoutMs: 1 }, "b", "t");
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(short.remainingMs(), 0);
  });

  it("time up: a 408 naming the topic, the broker, the time taken and what the publish was doing", async () => {
    const d = publishDeadline({ timeoutMs: 20 }, "nats", "orders");
    d.check();
    d.setPhase("waiting for a confirm");
    await new Promise((r) => setTimeout(r, 30));
    const e = thrown(() => d.check());
    assert.ok(e instanceof MicroError, String(e));
    assert.equal(e.code, 408);
    assert.equal(e.id, "tsmicro");
    assert.match(
      e.detail,
      /^publish to "orders" on broker nats timed out after \d+ ms while waiting for a confirm$/,
    );
    const ms = Number(/after (\d+) ms/.exec(e.detail)?.[1]);
    assert.ok(ms >= 20 && ms < 1000, `${ms} ms`);
    const zero = publishDeadline({ timeoutMs: 0 }, "b", "t").stopReason();
    assert.ok(zero instanceof MicroError, "a timeout of 0 is up at once");
    assert.match(zero.detail, / while publishing$/, "the phase before any is set");
  });

  it("a caller that gave up: its reason, or a 499 when it gave none", () => {
    const c = new AbortController();
    const why = new Error("caller");
    c.abort(why);
    assert.equal(
      thrown(() => publishDeadline({ signal: c.signal }, "b", "t").check()),
      why,
    );
    const noReason = { aborted: true, reason: undefined } as unknown as AbortSignal;
    const e = publishDeadline({ signal: noReason }, "b", "orders").stopReason();
    assert.ok(e instanceof MicroError, String(e));
    assert.equal(e.code, 499);
    assert.equal(e.id, "tsmicro");
    assert.equal(e.detail, `publish to "orders" cancelled`);
  });

  it("signal: made once; aborted at once for a caller that already gave up", () => {
    const c = new AbortController();
    const why = new Error("before");
    c.abort(why);
    const d = publishDeadline({ signal: c.signal }, "b", "t");
    assert.equal(d.signal, d.signal, "the same signal each time");
    assert.equal(d.signal.aborted, true);
    assert.equal(d.signal.reason, why);
    assert.equal(d.stopReason(), why);
    d.done();
  });

  it("signal: aborts with the caller's reason when it gives up later; done() leaves no listener", () => {
    const parent = countingSignal();
    const d = publishDeadline({ signal: parent.asAbortSignal, timeoutMs: 60_000 }, "b", "t");
    assert.equal(parent.listeners, 0, "no listener before the signal is asked for");
    const s = d.signal;
    assert.equal(parent.listeners, 1);
    assert.equal(s.aborted, false);
    const why = new Error("later");
    parent.abort(why);
    assert.equal(s.reason, why);
    d.done();
    assert.equal(parent.listeners, 0);

    const p2 = countingSignal();
    const d2 = publishDeadline({ signal: p2.asAbortSignal, timeoutMs: 60_000 }, "b", "t");
    void d2.signal;
    d2.done();
    assert.equal(p2.listeners, 0, "done() before any abort removes the listener");
    p2.abort(new Error("after done"));
  });

  it("signal: aborts with the 408 when the time is up, and done() stops that timer", async () => {
    const d = publishDeadline({ timeoutMs: 20 }, "b", "t");
    const s = d.signal;
    await within(
      new Promise((r) => s.addEventListener("abort", r)),
      2000,
      "the deadline's signal to abort at 20 ms",
    );
    assert.equal((s.reason as MicroError).code, 408);
    assert.equal(d.stopReason(), s.reason, "the signal's reason is the stop reason");

    const stopped = publishDeadline({ timeoutMs: 20 }, "b", "t");
    const s2 = stopped.signal;
    stopped.done();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(s2.aborted, false, "the timer was stopped by done()");
  });

  it("watch: fail is called once when the time is up, or when the caller gives up; unwatching stops it", async () => {
    const reasons: unknown[] = [];
    const d = publishDeadline({ timeoutMs: 10 }, "b", "t");
    d.watch((r) => reasons.push(r));
    const c = new AbortController();
    const why = new Error("gave up");
    const d2 = publishDeadline({ signal: c.signal, timeoutMs: 60_000 }, "b", "t");
    d2.watch((r) => reasons.push(r));
    c.abort(why);
    const d3 = publishDeadline({ timeoutMs: 10 }, "b", "t");
    const unwatch = d3.watch((r) => reasons.push(`d3: ${String(r)}`));
    unwatch();
    await until(() => reasons.length >= 2, "two fails");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(
      reasons.length,
      2,
      `fail called once each, not for the unwatched one: ${reasons.map(String)}`,
    );
    assert.ok(reasons.includes(why));
    assert.ok(reasons.some((r) => r instanceof MicroError && r.code === 408));
  });

  it("a watched publish does not keep the process alive", async () => {
    const src = new URL("../../src/broker/deadline.ts", import.meta.url).href;
    await exitsAlone(
      `import { publishDeadline } from ${JSON.stringify(src)}; publishDeadline({ timeoutMs: 600000 }, "b", "t").watch(() => {})`,
      "a watched 10-minute publish",
    );
  });

  it("watch: a live deadline is not failed by the sweep; one sweep however many watch; it stops once none is left", async () => {
    await new Promise((r) => setTimeout(r, 60)); // any sweep of the tests before has stopped
    const started = mock.method(globalThis, "setInterval");
    const cleared = mock.method(globalThis, "clearInterval");
    try {
      const fails: unknown[] = [];
      const a = publishDeadline({ timeoutMs: 60_000 }, "b", "t").watch((r) => fails.push(r));
      const b = publishDeadline({ timeoutMs: 60_000 }, "b", "t").watch((r) => fails.push(r));
      assert.equal(started.mock.callCount(), 1, "one sweep for both");
      await new Promise((r) => setTimeout(r, 90));
      assert.deepEqual(fails, [], "no fail for deadlines still live after several sweeps");
      assert.equal(cleared.mock.callCount(), 0, "the sweep goes on while a deadline is watched");
      a();
      b();
      await until(() => cleared.mock.callCount() === 1, "the sweep to stop once nothing is watched");
      assert.equal(started.mock.callCount(), 1);
    } finally {
      started.mock.restore();
      cleared.mock.restore();
    }
  });

  it("watch: the sweep starts again for a deadline watched after it stopped", async () => {
    const first: unknown[] = [];
    publishDeadline({ timeoutMs: 5 }, "b", "t").watch((r) => first.push(r));
    await until(() => first.length > 0, "the first watch to fail");
    await new Promise((r) => setTimeout(r, 60)); // the sweep found nothing left and stopped
    const second: unknown[] = [];
    publishDeadline({ timeoutMs: 5 }, "b", "t").watch((r) => second.push(r));
    await until(() => second.length > 0, "the second watch to fail, by a new sweep");
  });
});
