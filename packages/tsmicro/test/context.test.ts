import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { background, remainingMs, withCancel, withMetadata, withTimeout } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { within } from "./helpers.js";

describe("context", () => {
  it("background has no deadline and never aborts", () => {
    const ctx = background();
    assert.equal(ctx.deadline, undefined);
    assert.equal(ctx.signal.aborted, false);
    assert.equal(remainingMs(ctx), Number.POSITIVE_INFINITY);
  });

  it("withTimeout keeps the earlier deadline and aborts with a 408", async () => {
    const outer = withTimeout(background(), 50);
    const inner = withTimeout(outer, 10_000);
    assert.equal(inner.deadline, outer.deadline, "a child cannot outlive its parent");
    await within(
      new Promise((r) => inner.signal.addEventListener("abort", r, { once: true })),
      2000,
      "the child to abort at the parent's deadline",
    );
    assert.ok(inner.signal.reason instanceof MicroError);
    assert.equal(inner.signal.reason.code, 408);
  });

  it("withCancel cancels children with a 499", () => {
    const [ctx, cancel] = withCancel(background());
    const child = withMetadata(ctx, { a: "1" });
    cancel("stop");
    assert.equal(child.signal.aborted, true);
    assert.equal(child.signal.reason.code, 499);
    assert.equal(child.signal.reason.detail, "stop");
  });

  it("withMetadata merges with lower-cased keys and leaves the parent alone", () => {
    const a = withMetadata(background(), { "X-Trace": "t1" });
    const b = withMetadata(a, { user: "bob" });
    assert.deepEqual(b.metadata, { "x-trace": "t1", user: "bob" });
    assert.deepEqual(a.metadata, { "x-trace": "t1" });
  });
});
