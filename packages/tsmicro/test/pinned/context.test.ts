/** Deadline and metadata behaviours of Context that only the chaos suite noticed before (issue 20). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { background, remainingMs, withDeadline, withMetadata, withTimeout } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";

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
  it("a child keeps the parent's earlier deadline", () => {
    const parent = withDeadline(background(), Date.now() + 1000);
    const child = withTimeout(parent, 60_000);
    assert.equal(child.deadline, parent.deadline);
  });
});

describe("context metadata (pinned)", () => {
  it('withMetadata refuses a "__proto__" key with a TypeError and leaves no entry', () => {
    const md = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    assert.throws(() => withMetadata(background(), md), TypeError);
  });
});
