/**
 * Pinned behaviours of the context a handler receives (server/handler-context.ts): its signal
 * made on first use yet aborted on time, the deadline's error, abort() kept once, onDeadline
 * called at once for streams, and no timer after dispose().
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { HandlerContext } from "../../src/server/handler-context.js";
import { delay, within } from "../helpers.js";

const hop = { service: "svc", endpoint: "A.b", node: "n1" };
const make = (deadline: number | undefined, onDeadline?: (e: MicroError) => void) =>
  new HandlerContext(deadline, { k: "v" }, ["up.X.y@n0"], hop, Date.now() - 5, onDeadline);

describe("handler context (pinned)", { timeout: 10_000 }, () => {
  it("keeps the deadline, metadata and chain it was given", () => {
    const d = Date.now() + 1000;
    const ctx = make(d);
    assert.equal(ctx.deadline, d);
    assert.deepEqual(ctx.metadata, { k: "v" });
    assert.deepEqual(ctx.chain, ["up.X.y@n0"]);
    ctx.dispose();
  });

  it("a signal looked at before the deadline aborts on time with a 408 naming the endpoint and the chain", async () => {
    const ctx = make(Date.now() + 40);
    const signal = ctx.signal;
    assert.equal(signal.aborted, false);
    assert.equal(ctx.signal, signal, "one signal per context");
    await within(
      new Promise((r) => signal.addEventListener("abort", r)),
      2000,
      "the handler's signal to abort at its deadline",
    );
    const e = signal.reason as MicroError;
    assert.ok(e instanceof MicroError);
    assert.deepEqual([e.id, e.code], ["svc", 408]);
    const ms = Number(/^deadline of svc\.A\.b passed after (\d+) ms$/.exec(e.detail)?.[1]);
    assert.ok(ms >= 40 && ms < 5000, `the time since the request started: ${e.detail}`);
    assert.ok(e.chain?.includes("up.X.y@n0"), `the chain is in the error: ${JSON.stringify(e.chain)}`);
    assert.equal(ctx.aborted, true);
  });

  it("looked at after the deadline, the context is already aborted, whether by `aborted` or by `signal`", async () => {
    const past = make(Date.now() - 1);
    assert.equal(past.aborted, true);
    assert.equal(past.signal.aborted, true);
    const other = make(Date.now() - 1);
    assert.equal(other.signal.aborted, true, "the signal first");
    assert.equal((other.signal.reason as MicroError).code, 408);
    const none = make(undefined);
    assert.equal(none.aborted, false);
    assert.equal(none.signal.aborted, false);
    const soon = make(Date.now() + 20);
    await delay(40);
    assert.equal(soon.aborted, true, "`aborted` notices a passed deadline without a timer");
  });

  it("abort() keeps its first reason, reaches a signal made before or after it, and stops the deadline", async () => {
    let deadlines = 0;
    const ctx = make(Date.now() + 30, () => deadlines++);
    const before = ctx.signal;
    ctx.abort("client cancelled");
    ctx.abort("again");
    assert.equal(before.aborted, true);
    assert.equal(before.reason, "client cancelled");
    assert.equal(ctx.aborted, true);
    await delay(60);
    assert.equal(deadlines, 0, "no deadline after an abort");
    const late = make(Date.now() + 1000);
    late.abort("gone");
    late.abort("again");
    assert.equal(late.signal.reason, "gone", "a signal made after the abort is aborted with its reason");
    late.dispose();
  });

  it("with onDeadline the timer is set at once and calls it once with the deadline's error", async () => {
    const seen: MicroError[] = [];
    const ctx = make(Date.now() + 30, (e) => seen.push(e));
    await within(
      (async () => {
        while (seen.length === 0) await delay(5);
      })(),
      2000,
      "onDeadline to be called without anyone looking at the signal",
    );
    await delay(30);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.code, 408);
    assert.equal(ctx.signal.reason, seen[0], "the signal carries the same error");
    let past = 0;
    make(Date.now() - 1, () => past++);
    assert.equal(past, 1, "a deadline already passed calls it at once");
  });

  it("after dispose() no timer fires, even for a signal looked at later", async () => {
    let deadlines = 0;
    const ctx = make(Date.now() + 30, () => deadlines++);
    ctx.dispose();
    const other = make(Date.now() + 30);
    other.dispose();
    const signal = other.signal;
    await delay(60);
    assert.equal(deadlines, 0);
    assert.equal(signal.aborted, false, "a disposed context's signal is not armed");
  });
});
