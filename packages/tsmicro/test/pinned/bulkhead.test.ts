/**
 * Bulkhead queue behaviours that no test pinned (issue 20): a waiter that gives up leaves the
 * queue wherever it stands, a release is idempotent, cancellation is honoured before and while
 * queued, and per-endpoint limits apply before the service limit.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { background, withCancel, withTimeout } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { createBulkhead, type Release } from "../../src/server/bulkhead.js";

/** `p`, or a failure after `ms` naming what was awaited. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
const settled = async (p: Promise<unknown>) => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

describe("bulkhead queue (pinned)", () => {
  it("a waiter at the head of the queue that is cancelled leaves the queue; the next one gets the slot", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 2 });
    const first = await b.acquire("E.m", background());
    const [headCtx, cancelHead] = withCancel(background());
    const head = b.acquire("E.m", headCtx);
    const second = b.acquire("E.m", background());
    assert.equal(b.stats().queued, 2);
    cancelHead();
    await assert.rejects(within(head, 1000, "the cancelled head waiter to reject"), (e: unknown) => {
      return e instanceof MicroError && e.code === 499;
    });
    assert.equal(b.stats().queued, 1, "the cancelled waiter must have left the queue");
    first();
    const release = await within(second, 1000, "the second waiter to be granted the freed slot");
    assert.deepEqual(b.stats(), { active: 1, queued: 0 });
    release();
    assert.deepEqual(b.stats(), { active: 0, queued: 0 }, "no slot may be left held by the cancelled waiter");
  });

  it("a waiter at the head that reaches its deadline leaves the queue with a 408", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 2 });
    const first = await b.acquire("E.m", background());
    const head = b.acquire("E.m", withTimeout(background(), 30));
    const second = b.acquire("E.m", background());
    await assert.rejects(within(head, 2000, "the head waiter's deadline"), (e: unknown) => {
      return e instanceof MicroError && e.code === 408 && /concurrency slot/.test(e.detail);
    });
    assert.equal(b.stats().queued, 1);
    first();
    (await within(second, 1000, "the second waiter"))();
    assert.deepEqual(b.stats(), { active: 0, queued: 0 });
  });

  it("calling a release twice frees one slot, not two", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 4 });
    const first = await b.acquire("E.m", background());
    const second = b.acquire("E.m", background());
    const third = b.acquire("E.m", background());
    first();
    first();
    const r2 = await within(second, 1000, "the second waiter");
    assert.equal(await settled(third), false, "the third waiter must still wait: only one slot was freed");
    assert.deepEqual(b.stats(), { active: 1, queued: 1 });
    r2();
    (await within(third, 1000, "the third waiter"))();
    assert.deepEqual(b.stats(), { active: 0, queued: 0 });
  });

  it("an already-cancelled context is refused at once, not queued", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 4 });
    const first = await b.acquire("E.m", background());
    const [ctx, cancel] = withCancel(background());
    cancel();
    await assert.rejects(within(b.acquire("E.m", ctx), 1000, "the refusal"), (e: unknown) => {
      return e instanceof MicroError && e.code === 499;
    });
    assert.equal(b.stats().queued, 0);
    first();
    assert.deepEqual(b.stats(), { active: 0, queued: 0 });
  });

  it("a full queue answers at once with a retryable 503 naming the limit", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 0 });
    const first = await b.acquire("E.m", background());
    await assert.rejects(b.acquire("E.m", background()), (e: unknown) => {
      return e instanceof MicroError && e.code === 503 && e.retryable && /maxConcurrent 1/.test(e.detail);
    });
    first();
  });
});

describe("bulkhead per-endpoint limits (pinned)", () => {
  it("an endpoint's own limit applies before the service limit and names the endpoint", async () => {
    const b = createBulkhead("svc", {
      maxConcurrent: 10,
      endpoints: { "Slow.run": { maxConcurrent: 1, maxQueue: 0 } },
    });
    const held: Release = await b.acquire("Slow.run", background());
    await assert.rejects(b.acquire("Slow.run", background()), (e: unknown) => {
      return e instanceof MicroError && e.code === 503 && /Slow\.run/.test(e.detail);
    });
    // Other endpoints still have the service's slots.
    const others = await Promise.all([1, 2, 3].map(() => b.acquire("Fast.run", background())));
    assert.equal(b.stats().active, 4);
    for (const r of others) r();
    held();
    assert.deepEqual(b.stats(), { active: 0, queued: 0 });
    // The endpoint slot came back with the release.
    (await within(b.acquire("Slow.run", background()), 1000, "the endpoint slot after release"))();
  });

  it("a refusal by the service limit gives the endpoint slot back", async () => {
    const b = createBulkhead("svc", {
      maxConcurrent: 1,
      maxQueue: 0,
      endpoints: { "A.b": { maxConcurrent: 1 } },
    });
    const held = await b.acquire("Other.x", background());
    await assert.rejects(
      b.acquire("A.b", background()),
      (e: unknown) => e instanceof MicroError && e.code === 503,
    );
    held();
    // Were the endpoint slot leaked, this would be refused.
    (await within(b.acquire("A.b", background()), 1000, "A.b after the service slot was freed"))();
  });
});

// Survivors of the mutation run of bulkhead.ts (MUTATION.md): the early give-up before the
// deadline, the option checks, the cap on reserved slots and the refusal mark.
describe("bulkhead limits, checked (pinned)", () => {
  it("a queued waiter gives up a little before its deadline, with its own explanation", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 1 });
    const first = await b.acquire("E.m", background());
    const ctx = withTimeout(background(), 200);
    // 200 ms left: it gives up 20 ms early (a tenth of the time left, at most 50 ms), before the
    // context's own timer, which would say only "deadline exceeded". Node runs overdue timers in
    // order of expiry, so on a slow machine too the early one comes first.
    const e = await within(
      b.acquire("E.m", ctx).then(
        () => undefined,
        (err: unknown) => err,
      ),
      5000,
      "the waiter to give up",
    );
    assert.ok(e instanceof MicroError, "rejected with a MicroError");
    assert.equal(e.code, 408);
    const m =
      /^deadline reached while queued \(waited (\d+) ms for a concurrency slot of service svc, maxConcurrent 1, 1 active\)$/.exec(
        e.detail,
      );
    assert.ok(m, `the bulkhead's own explanation, not the context's: ${e.detail}`);
    const waited = Number(m[1]);
    assert.ok(waited >= 170 && waited < 5000, `waited ${waited} ms: about 180, the deadline less its margin`);
    assert.equal(b.stats().queued, 0);
    first();
  });

  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it(`maxConcurrent ${bad} is refused with a TypeError naming the limit`, () => {
      assert.throws(
        () => createBulkhead("svc", { maxConcurrent: bad }),
        (e: unknown) =>
          e instanceof TypeError && e.message === "service svc: maxConcurrent must be an integer > 0",
      );
      assert.throws(
        () => createBulkhead("svc", { maxConcurrent: 2, endpoints: { "E.m": { maxConcurrent: bad } } }),
        (e: unknown) =>
          e instanceof TypeError && /endpoint svc\.E\.m: maxConcurrent/.test((e as Error).message),
      );
    });
  }

  it("a waiter granted its slot leaves no abort listener on the caller's signal", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 1 });
    const first = await b.acquire("E.m", background());
    const [ctx, cancel] = withCancel(background());
    const before = getEventListeners(ctx.signal, "abort").length;
    const queued = b.acquire("E.m", ctx);
    assert.equal(getEventListeners(ctx.signal, "abort").length, before + 1, "listening while queued");
    first();
    const release = await within(queued, 1000, "the queued waiter");
    assert.equal(
      getEventListeners(ctx.signal, "abort").length,
      before,
      "a long-lived context would collect one per call",
    );
    release();
    cancel();
  });

  it("maxConcurrent 1 is accepted", async () => {
    (
      await within(createBulkhead("svc", { maxConcurrent: 1 }).acquire("E.m", background()), 1000, "a slot")
    )();
  });

  it("reservedForNested is capped at maxConcurrent − 1: outer calls keep a slot", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 2, reservedForNested: 5 });
    const outer = b.acquire("E.m", background());
    assert.equal(await settled(outer), true, "an outer call got the one unreserved slot at once");
    const second = b.acquire("E.m", background());
    assert.equal(await settled(second), false, "the other slot is kept for nested calls");
    (await outer)();
    (await within(second, 1000, "the queued outer call"))();
  });

  it("a full queue's 503 is marked refused: the handler never ran, any node may take a retry", async () => {
    const b = createBulkhead("svc", { maxConcurrent: 1, maxQueue: 0 });
    const first = await b.acquire("E.m", background());
    const e = await b.acquire("E.m", background()).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError && e.code === 503);
    assert.equal(e.refused, true);
    first();
  });
});
