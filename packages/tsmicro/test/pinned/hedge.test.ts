/**
 * Pinned behaviours of hedged calls (client/hedge.ts), with legs the test settles by hand:
 * which calls may be hedged, the option checks, when each leg starts and what it is told (the
 * nodes to avoid, the time left, its own signal), that the first answer wins and cancels the
 * rest, and which error a call whose every leg failed ends with.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkHedge, hedged, hedgeOf } from "../../src/client/hedge.js";
import { MicroError } from "../../src/errors.js";
import { within } from "../helpers.js";

interface Leg {
  opts: { signal?: AbortSignal; requestTimeoutMs?: number; hedge?: unknown; idempotent?: boolean };
  avoid: string[] | undefined;
  at: number;
  answer(v: unknown): void;
  fail(e: unknown): void;
  pick(node: string): void;
}

/** A leg function that records each leg and lets the test settle it. */
function legs() {
  const started: Leg[] = [];
  const t0 = performance.now();
  const leg = (
    opts: Leg["opts"],
    hooks: { avoid?: ReadonlySet<string>; onNode?(n: { id: string }): void },
  ): Promise<unknown> =>
    new Promise((resolve, reject) => {
      started.push({
        opts,
        avoid: hooks.avoid === undefined ? undefined : [...hooks.avoid],
        at: performance.now() - t0,
        answer: resolve,
        fail: reject,
        pick: (id) => hooks.onNode?.({ id }),
      });
    });
  return { leg, started };
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const err = (detail: string) => new MicroError({ id: "s", code: 503, detail });

/** Resolves when `n` legs have started; fails naming what it waited for after `ms`. */
async function legsStarted(started: Leg[], n: number, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (started.length < n) {
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for leg ${n} (have ${started.length})`);
    await delay(2);
  }
}

describe("hedged calls (pinned)", { timeout: 10_000 }, () => {
  it("hedges only idempotent calls routed by the selector; the call's option wins over the client's", () => {
    const h = { delayMs: 10 };
    assert.equal(hedgeOf({ idempotent: true }, h), h);
    assert.equal(hedgeOf({ idempotent: true, hedge: { delayMs: 5 } }, h)?.delayMs, 5);
    assert.equal(hedgeOf({ idempotent: true, hedge: false }, h), undefined, "false turns the client's off");
    assert.equal(hedgeOf({ idempotent: true }, undefined), undefined);
    assert.equal(hedgeOf({ idempotent: true }, false), undefined);
    assert.equal(hedgeOf({}, h), undefined, "not idempotent");
    assert.equal(hedgeOf({ idempotent: false }, h), undefined);
    assert.equal(
      hedgeOf({ idempotent: true, address: "127.0.0.1:1" }, h),
      undefined,
      "a fixed address has no other node",
    );
  });

  it("checks delayMs and max, naming the option", () => {
    checkHedge({ delayMs: 0 }, "x");
    checkHedge({ delayMs: 5, max: 1 }, "x");
    for (const delayMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number])
      assert.throws(() => checkHedge({ delayMs }, "client option hedge"), {
        name: "TypeError",
        message: `client option hedge.delayMs must be a finite number ≥ 0, got ${String(delayMs)}`,
      });
    for (const max of [0, 1.5, -1])
      assert.throws(() => checkHedge({ delayMs: 1, max }, "h"), {
        message: `h.max must be an integer ≥ 1, got ${max}`,
      });
  });

  it("an invalid hedge on the call rejects the call, starting no leg", async () => {
    const { leg, started } = legs();
    await assert.rejects(within(hedged(leg, "s", {}, { delayMs: -1 }, 1000), 2000, "the call to fail"), {
      message: /^call option hedge\.delayMs must be/,
    });
    assert.equal(started.length, 0);
  });

  it("sends a hedge after delayMs without an answer, avoiding the first leg's node; the first answer wins and cancels the other", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", { idempotent: true }, { delayMs: 30 }, 5000);
    assert.equal(started.length, 1, "the first leg starts at once");
    const first = started[0]!;
    assert.equal(first.avoid, undefined, "the first leg goes anywhere");
    assert.equal(first.opts.hedge, false, "a leg is not hedged again");
    assert.ok(first.opts.requestTimeoutMs! > 4900 && first.opts.requestTimeoutMs! <= 5000);
    first.pick("n1");
    await legsStarted(started, 2);
    const second = started[1]!;
    assert.ok(second.at >= 25, `the hedge started ${second.at} ms in`);
    assert.deepEqual(second.avoid, ["n1"]);
    assert.ok(second.opts.requestTimeoutMs! <= 5000 - 25, "on the one deadline the call started with");
    await delay(60);
    assert.equal(started.length, 2, "max defaults to 1 hedge");
    second.answer("from n2");
    assert.equal(await within(call, 2000, "the call to answer"), "from n2");
    assert.equal(first.opts.signal!.aborted, true, "the losing leg is cancelled");
    const reason = first.opts.signal!.reason as MicroError;
    assert.equal(reason.code, 499);
    assert.match(reason.detail, /another node answered this hedged call first/);
    first.answer("late");
  });

  it("max hedges, each delayMs after the one before, each avoiding every node picked so far", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 20, max: 2 }, 5000);
    started[0]!.pick("a");
    await legsStarted(started, 2);
    started[1]!.pick("b");
    await legsStarted(started, 3);
    assert.deepEqual(started[2]!.avoid, ["a", "b"]);
    assert.ok(started[2]!.at - started[1]!.at >= 15, "spaced by delayMs");
    await delay(50);
    assert.equal(started.length, 3, "no more than max");
    started[0]!.answer(1);
    assert.equal(await within(call, 2000, "the call to answer"), 1);
    assert.ok(started[1]!.opts.signal!.aborted && started[2]!.opts.signal!.aborted);
  });

  it("fails only when every leg failed, with the first leg's error", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 10 }, 5000);
    let settled = false;
    void call.catch(() => {}).finally(() => (settled = true));
    await legsStarted(started, 2);
    started[1]!.fail(err("no other node"));
    await delay(20);
    assert.equal(settled, false, "one leg still running");
    started[0]!.fail(err("first leg's failure"));
    await assert.rejects(within(call, 2000, "the call to fail"), { detail: "first leg's failure" });
  });

  it("a first leg that fails before the delay fails the call at once, with no hedge", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 50 }, 5000);
    started[0]!.fail(err("refused"));
    await assert.rejects(within(call, 2000, "the call to fail"), { detail: "refused" });
    await delay(80);
    assert.equal(started.length, 1, "the pending hedge was called off");
  });

  it("an answer after the call ended changes nothing; no hedge starts after an answer", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 20 }, 5000);
    started[0]!.answer("first");
    assert.equal(await within(call, 2000, "the call to answer"), "first");
    await delay(50);
    assert.equal(started.length, 1);
  });

  it("the call's signal cancels every leg", async () => {
    const { leg, started } = legs();
    const ac = new AbortController();
    const call = hedged(leg, "s", { signal: ac.signal }, { delayMs: 5 }, 5000);
    await legsStarted(started, 2);
    const reason = new Error("caller gave up");
    ac.abort(reason);
    assert.equal(started[0]!.opts.signal!.reason, reason);
    assert.equal(started[1]!.opts.signal!.reason, reason);
    started[0]!.fail(reason);
    started[1]!.fail(reason);
    await assert.rejects(within(call, 2000, "the call to fail"), /caller gave up/);
  });

  it("a leg started at or past the deadline still gets 1 ms, never 0 or less", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 30 }, 10);
    await legsStarted(started, 2);
    assert.equal(started[1]!.opts.requestTimeoutMs, 1);
    started[0]!.answer(0);
    await within(call, 2000, "the call to answer");
  });

  it("a leg's non-MicroError failure is the call's error as is", async () => {
    const { leg, started } = legs();
    const call = hedged(leg, "s", {}, { delayMs: 1000 }, 5000);
    const boom = new TypeError("boom");
    started[0]!.fail(boom);
    await assert.rejects(within(call, 2000, "the call to fail"), (e) => e === boom);
  });
});
