/**
 * Pinned behaviours of the core's one place for user-set delays (util/deadline.ts): an infinite
 * delay sets no timer, a negative or NaN one fires on the next turn, one beyond 2^31−1 ms is
 * chained and fires once at its time (never clamped to 1 ms), `unref` is honoured by plain and
 * chained timers and intervals; a call's deadline is the earlier of its own and the caller's;
 * the wire's time left; a signal link that unlinks and leaves no listener.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { afterEach, describe, it, mock } from "node:test";
import {
  deadlineOf,
  linkSignal,
  MAX_TIMER_MS,
  NEVER,
  noop,
  startInterval,
  startTimer,
  stopInterval,
  stopTimer,
  wireTimeoutMs,
} from "../../src/util/deadline.js";
import { countingSignal } from "../support/counting-signal.js";
import { exitsAlone, keepsAlive } from "../support/exits-alone.js";

const turn = () => new Promise((r) => setTimeout(r, 5));

describe("timers (pinned)", { timeout: 10_000 }, () => {
  afterEach(() => mock.timers.reset());

  it("an infinite delay or period sets nothing and never fires", async () => {
    let fired = 0;
    assert.equal(
      startTimer(() => fired++, Number.POSITIVE_INFINITY),
      undefined,
    );
    assert.equal(
      startInterval(() => fired++, Number.POSITIVE_INFINITY),
      undefined,
    );
    stopTimer(undefined);
    stopInterval(undefined);
    await turn();
    assert.equal(fired, 0);
  });

  it("a plain interval fires every period; a period below 1 ms (or NaN) is 1 ms", () => {
    mock.timers.enable({ apis: ["setInterval"] });
    let every100 = 0;
    let tiny = 0;
    const a = startInterval(() => every100++, 100);
    const b = startInterval(() => tiny++, Number.NaN);
    const c = startInterval(() => tiny++, -3);
    mock.timers.tick(99);
    assert.equal(every100, 0);
    mock.timers.tick(1);
    assert.equal(every100, 1);
    mock.timers.tick(100);
    assert.equal(every100, 2);
    assert.equal(tiny, 400, "two 1 ms intervals over 200 ms");
    stopInterval(a);
    stopInterval(b);
    stopInterval(c);
  });

  it("a negative or NaN delay fires on the next turn", async () => {
    let fired = 0;
    startTimer(() => fired++, -5);
    startTimer(() => fired++, Number.NaN);
    await turn();
    assert.equal(fired, 2);
  });

  it("a delay up to 2^31−1 ms is a plain timer; one beyond is chained, fires once at its time, and stops", () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    const plain = startTimer(noop, MAX_TIMER_MS);
    assert.equal(typeof (plain as { hasRef?: unknown }).hasRef, "function", "exactly 2^31−1: a plain timer");
    stopTimer(plain);
    let fired = 0;
    const long = startTimer(() => fired++, 2 * MAX_TIMER_MS + 5);
    assert.equal(typeof (long as { hasRef?: unknown }).hasRef, "undefined", "beyond 2^31−1: chained");
    mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 0, "not at 2^31−1 ms");
    mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 0, "not at twice that");
    mock.timers.tick(4);
    assert.equal(fired, 0, "not 1 ms early");
    mock.timers.tick(1);
    assert.equal(fired, 1, "at its time");
    mock.timers.tick(3 * MAX_TIMER_MS);
    assert.equal(fired, 1, "once");

    const stopped = startTimer(() => fired++, MAX_TIMER_MS + 10);
    mock.timers.tick(MAX_TIMER_MS);
    stopTimer(stopped);
    mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 1, "a chained timer stopped half way never fires");
  });

  it("a chained timer never asks setTimeout for more than 2^31−1 ms (no TimeoutOverflowWarning)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const t = startTimer(noop, MAX_TIMER_MS + 1_000_000, true);
      await turn();
      stopTimer(t);
      await turn();
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it("a period beyond 2^31−1 ms is chained: called at each period, not before, until stopped", () => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 0 });
    let calls = 0;
    const period = MAX_TIMER_MS + 100;
    const i = startInterval(() => calls++, period);
    mock.timers.tick(period - 1);
    assert.equal(calls, 0);
    mock.timers.tick(1);
    assert.equal(calls, 1);
    mock.timers.tick(period);
    assert.equal(calls, 2);
    stopInterval(i);
    mock.timers.tick(3 * period);
    assert.equal(calls, 2, "stopped");
  });

  it("a chained interval stopped from inside its own call is not called again", () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    let calls = 0;
    const period = MAX_TIMER_MS + 100;
    const i: ReturnType<typeof startInterval> = startInterval(() => {
      calls++;
      stopInterval(i);
    }, period);
    mock.timers.tick(4 * period);
    assert.equal(calls, 1);
  });

  it("unref: plain timers and intervals do not hold the process; without it they do", () => {
    const t = startTimer(noop, 1000, true) as NodeJS.Timeout;
    const r = startTimer(noop, 1000) as NodeJS.Timeout;
    const i = startInterval(noop, 1000, true) as NodeJS.Timeout;
    const ri = startInterval(noop, 1000) as NodeJS.Timeout;
    const edge = startInterval(noop, MAX_TIMER_MS, true);
    try {
      assert.equal(t.hasRef(), false);
      assert.equal(r.hasRef(), true);
      assert.equal(i.hasRef(), false);
      assert.equal(ri.hasRef(), true);
      assert.equal(
        typeof (edge as { hasRef?: unknown }).hasRef,
        "function",
        "a period of exactly 2^31−1: a plain interval",
      );
    } finally {
      stopInterval(edge);
      stopTimer(t);
      stopTimer(r);
      stopInterval(i);
      stopInterval(ri);
    }
  });

  it("a chained timer and a chained interval with unref do not keep the process alive", async () => {
    const src = new URL("../../src/util/deadline.ts", import.meta.url).href;
    await exitsAlone(
      `import { startTimer, startInterval, MAX_TIMER_MS } from ${JSON.stringify(src)}; startTimer(() => {}, MAX_TIMER_MS + 1000, true); startInterval(() => {}, MAX_TIMER_MS + 1000, true)`,
      "a 25-day unref'd timer and interval",
    );
  });

  it("without unref, a chained timer and a chained interval each keep the process alive (the harness's negative control)", async () => {
    const src = new URL("../../src/util/deadline.ts", import.meta.url).href;
    await keepsAlive(
      `import { startTimer, MAX_TIMER_MS } from ${JSON.stringify(src)}; startTimer(() => {}, MAX_TIMER_MS + 1000)`,
      "a 25-day timer",
    );
    await keepsAlive(
      `import { startInterval, MAX_TIMER_MS } from ${JSON.stringify(src)}; startInterval(() => {}, MAX_TIMER_MS + 1000)`,
      "a 25-day interval",
    );
  });
});

describe("deadlines and signal links (pinned)", () => {
  it("deadlineOf: the earlier of now + timeoutMs and the caller's deadline; Infinity when neither", () => {
    assert.equal(deadlineOf(1000, 500, undefined), 1500);
    assert.equal(deadlineOf(1000, 500, 1200), 1200);
    assert.equal(deadlineOf(1000, 500, 2000), 1500);
    assert.equal(deadlineOf(1000, 500, 1500), 1500);
    assert.equal(deadlineOf(1000, undefined, 1200), 1200);
    assert.equal(deadlineOf(1000, undefined, undefined), Number.POSITIVE_INFINITY);
  });

  it("wireTimeoutMs: none without a deadline, the time left, never negative", () => {
    assert.equal(wireTimeoutMs(Number.POSITIVE_INFINITY, 1000), undefined);
    assert.equal(wireTimeoutMs(1500, 1000), 500);
    assert.equal(wireTimeoutMs(900, 1000), 0);
    const now = Date.now();
    const left = wireTimeoutMs(now + 10_000) ?? -1;
    assert.ok(left > 9000 && left <= 10_000, `default now: ${left}`);
  });

  it("linkSignal: aborts the child with the parent's reason, and the unlink leaves no listener", () => {
    const parent = countingSignal();
    const child = new AbortController();
    const unlink = linkSignal(parent, child);
    assert.equal(parent.listeners, 1);
    unlink();
    assert.equal(parent.listeners, 0);
    parent.abort(new Error("after unlink"));
    assert.equal(child.signal.aborted, false);

    const p2 = countingSignal();
    const c2 = new AbortController();
    linkSignal(p2, c2);
    const why = new Error("parent");
    p2.abort(why);
    assert.equal(c2.signal.reason, why);
  });

  it("linkSignal: once the parent aborted, its listener is gone even before the unlink", () => {
    const parent = new AbortController();
    const child = new AbortController();
    linkSignal(parent.signal, child);
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
    parent.abort("done");
    assert.equal(child.signal.aborted, true);
    assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  });

  it("linkSignal: an aborted parent aborts at once; NEVER adds nothing", () => {
    const p = countingSignal();
    const why = new Error("before");
    p.abort(why);
    const c = new AbortController();
    assert.equal(linkSignal(p, c), noop);
    assert.equal(c.signal.reason, why);
    assert.equal(p.listeners, 0);
    const c2 = new AbortController();
    assert.equal(linkSignal(NEVER, c2), noop);
    assert.equal(NEVER.aborted, false);
  });
});
