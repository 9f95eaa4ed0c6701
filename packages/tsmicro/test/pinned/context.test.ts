/**
 * Deadline, cancel and metadata behaviours of Context that only the chaos suite noticed before,
 * or that the full mutation run of context.ts found unpinned (issue 20).
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import {
  background,
  remainingMs,
  withCancel,
  withDeadline,
  withMetadata,
  withTimeout,
} from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";
import { exitsAlone } from "../support/exits-alone.js";

const reasonOf = (signal: AbortSignal) => {
  assert.ok(signal.reason instanceof MicroError, `reason ${String(signal.reason)} is a MicroError`);
  return signal.reason;
};

describe("context deadlines (pinned)", () => {
  it("withTimeout(ctx, 0) is aborted at once with a 408", () => {
    const ctx = withTimeout(background(), 0);
    assert.equal(ctx.signal.aborted, true);
    assert.ok(ctx.signal.reason instanceof MicroError);
    assert.equal((ctx.signal.reason as MicroError).code, 408);
  });
  it("a negative timeout behaves as 0", () => {
    assert.equal(withTimeout(background(), -5).signal.aborted, true);
  });
  it("a deadline already in the past is aborted at once", () => {
    const ctx = withDeadline(background(), Date.now() - 1000);
    assert.equal(ctx.signal.aborted, true);
    assert.equal((ctx.signal.reason as MicroError).code, 408);
  });
  it("remainingMs is the time to the deadline, never negative, Infinity without one", () => {
    const now = Date.now();
    const ctx = withDeadline(background(), now + 5000);
    assert.equal(remainingMs(ctx, now), 5000);
    assert.equal(remainingMs(ctx, now + 1000), 4000);
    assert.equal(remainingMs(ctx, now + 9000), 0);
    assert.equal(remainingMs(background()), Number.POSITIVE_INFINITY);
  });
  it("an expired deadline says so, raised by tsmicro, with the time it allowed", async () => {
    const past = reasonOf(withDeadline(background(), Date.now() - 1).signal);
    assert.deepEqual([past.id, past.detail], ["tsmicro", "context deadline exceeded"]);
    const ctx = withTimeout(background(), 20);
    await within(
      new Promise((resolve) => ctx.signal.addEventListener("abort", resolve)),
      5000,
      "a 20 ms context deadline to abort its signal",
    );
    const late = reasonOf(ctx.signal);
    assert.equal(late.id, "tsmicro");
    const allowed = Number(/^context deadline exceeded after (\d+) ms$/.exec(late.detail)?.[1]);
    assert.ok(allowed >= 1 && allowed <= 20, `detail "${late.detail}" gives the time it allowed, 1–20 ms`);
  });
  it("no deadline is undefined, never Infinity", () => {
    assert.equal(withDeadline(background(), Number.POSITIVE_INFINITY).deadline, undefined);
    assert.equal(withTimeout(background(), Number.POSITIVE_INFINITY).deadline, undefined);
  });
  it("a child whose deadline passed lets go of its parent's signal", async () => {
    const [parent, cancel] = withCancel(background());
    const child = withTimeout(parent, 10);
    assert.equal(getEventListeners(parent.signal, "abort").length, 1, "linked while running");
    await within(
      new Promise((resolve) => child.signal.addEventListener("abort", resolve)),
      5000,
      "a 10 ms child deadline to abort its signal",
    );
    assert.equal(getEventListeners(parent.signal, "abort").length, 0, "unlinked once it ended");
    cancel();
  });
  it("a forgotten context with a long deadline does not keep the process alive", async () => {
    const src = new URL("../../src/context.ts", import.meta.url).href;
    await exitsAlone(
      `import { withTimeout, background } from ${JSON.stringify(src)}; globalThis.kept = withTimeout(background(), 600000)`,
      "a 10-minute context",
    );
  });
  it("a child keeps the parent's earlier deadline", () => {
    const parent = withDeadline(background(), Date.now() + 1000);
    const child = withTimeout(parent, 60_000);
    assert.equal(child.deadline, parent.deadline);
  });
});

describe("context metadata (pinned)", () => {
  it('withMetadata refuses a "__proto__" key with a TypeError and leaves no entry', () => {
    const md = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    assert.throws(
      () => withMetadata(background(), md),
      (e: unknown) =>
        e instanceof TypeError && e.message === 'withMetadata: "__proto__" is not a valid metadata key',
    );
  });
});

describe("context cancel (pinned)", () => {
  it("cancel() aborts with a 499 raised by tsmicro, saying why", () => {
    const [ctx, cancel] = withCancel(background());
    cancel();
    const e = reasonOf(ctx.signal);
    assert.deepEqual([e.code, e.id, e.detail], [499, "tsmicro", "context cancelled"]);
    const [other, cancelOther] = withCancel(background());
    cancelOther("user left");
    assert.equal(reasonOf(other.signal).detail, "user left");
  });
  it("a second cancel keeps the first reason", () => {
    const [ctx, cancel] = withCancel(background());
    cancel("first");
    cancel("second");
    assert.equal(reasonOf(ctx.signal).detail, "first");
  });
});
