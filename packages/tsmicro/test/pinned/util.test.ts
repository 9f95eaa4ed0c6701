/**
 * Pinned behaviours of the core's small utilities (util/queue.ts, util/light-abort.ts,
 * util/abort.ts, util/process-default.ts) that no test checked directly: order, ending, a
 * listener removed by value, a promise given up on, and a shared backend ended once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { abortable, sleep } from "../../src/util/abort.js";
import { LightAbort } from "../../src/util/light-abort.js";
import { processDefault } from "../../src/util/process-default.js";
import { AsyncQueue } from "../../src/util/queue.js";
import { within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";

describe("AsyncQueue (pinned)", { timeout: 10_000 }, () => {
  it("hands out pushed items first in, first out", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    q.push(3);
    assert.deepEqual([(await q.next()).value, (await q.next()).value, (await q.next()).value], [1, 2, 3]);
  });

  it("a waiting next() takes the next push, and the push after it is queued, not lost", async () => {
    const q = new AsyncQueue<string>();
    const waiting = q.next();
    q.push("a");
    q.push("b");
    assert.deepEqual(await within(waiting, 1000, "the waiting next()"), { value: "a", done: false });
    assert.deepEqual(await within(q.next(), 1000, "the queued item"), { value: "b", done: false });
  });

  it("end() finishes a waiting next(), drops what is queued, ignores later pushes, and calls onEnd once", async () => {
    let ends = 0;
    const q = new AsyncQueue<number>(() => ends++);
    const waiting = q.next();
    q.end();
    assert.deepEqual(await within(waiting, 1000, "the waiting next() to finish"), {
      value: undefined,
      done: true,
    });
    assert.equal(q.ended, true);
    q.push(1);
    assert.equal((await q.next()).done, true, "a push after end() is not delivered");
    q.end();
    assert.equal(ends, 1, "onEnd runs once");

    const full = new AsyncQueue<number>();
    full.push(1);
    assert.equal(full.ended, false);
    full.end();
    assert.equal((await full.next()).done, true, "items queued before end() are dropped");
  });

  it("leaving a for-await loop ends the queue", async () => {
    let ends = 0;
    const q = new AsyncQueue<number>(() => ends++);
    q.push(1);
    q.push(2);
    for await (const item of q) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(q.ended, true);
    assert.equal(ends, 1);
  });
});

describe("LightAbort (pinned)", { timeout: 10_000 }, () => {
  it("abort() runs each listener once, in order, and keeps the first reason", () => {
    const c = new LightAbort();
    assert.equal(c.signal, c, "its signal is itself");
    const seen: string[] = [];
    c.addEventListener("abort", () => seen.push("a"));
    c.addEventListener("abort", () => seen.push("b"));
    c.abort("first");
    c.abort("second");
    assert.deepEqual(seen, ["a", "b"]);
    assert.equal(c.aborted, true);
    assert.equal(c.reason, "first");
    c.addEventListener("abort", () => seen.push("late"));
    assert.deepEqual(seen, ["a", "b"], "a listener added after the abort is never called");
  });

  it("removeEventListener removes that listener only, whichever its position; an unknown one changes nothing", () => {
    const c = new LightAbort();
    const seen: string[] = [];
    const a = () => seen.push("a");
    const b = () => seen.push("b");
    const last = () => seen.push("c");
    c.removeEventListener("abort", a); // none added yet
    c.addEventListener("abort", a);
    c.addEventListener("abort", b);
    c.addEventListener("abort", last);
    c.removeEventListener("abort", () => {});
    c.removeEventListener("abort", a);
    c.abort();
    assert.deepEqual(seen, ["b", "c"]);
  });
});

describe("abortable and sleep (pinned)", { timeout: 10_000 }, () => {
  it("abortable settles as its promise does and leaves no listener behind", async () => {
    const s = countingSignal();
    assert.equal(await within(abortable(Promise.resolve(5), s), 1000, "abortable of a resolved promise"), 5);
    await assert.rejects(
      within(abortable(Promise.reject(new Error("no")), s), 1000, "abortable of a rejected one"),
      /no/,
    );
    assert.equal(s.listeners, 0, "listeners removed once settled");
  });

  it("abortable rejects with the signal's reason when it aborts first, or was aborted already", async () => {
    const s = countingSignal();
    const p = abortable(new Promise(() => {}), s);
    s.abort(new Error("cancelled by the caller"));
    await assert.rejects(within(p, 1000, "abortable to reject"), /cancelled by the caller/);

    let unhandled: unknown;
    const onUnhandled = (reason: unknown) => {
      unhandled = reason;
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      let fail!: (e: Error) => void;
      const late = new Promise((_, reject) => {
        fail = reject;
      });
      await assert.rejects(abortable(late, s), /cancelled by the caller/);
      fail(new Error("the abandoned promise failed"));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(unhandled, undefined, "the abandoned promise's failure is not an unhandled rejection");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("sleep waits its time, ends at once on abort, and leaves no listener behind", async () => {
    const s = countingSignal();
    const t0 = performance.now();
    await within(sleep(30, s), 1000, "sleep(30)");
    assert.ok(performance.now() - t0 >= 25, "sleep(30) waited about 30 ms");
    assert.equal(s.listeners, 0);

    const t1 = performance.now();
    const long = sleep(60_000, s);
    s.abort("stop");
    await within(long, 1000, "sleep to end on abort");
    assert.ok(performance.now() - t1 < 1000);
    assert.equal(s.listeners, 0);
    await within(sleep(60_000, s), 1000, "sleep on an aborted signal to end at once");
  });
});

describe("processDefault (pinned)", { timeout: 10_000 }, () => {
  it("makes the backend once and ends it when the last holder lets go, once", async () => {
    let made = 0;
    const ended: number[] = [];
    const d = processDefault(
      () => ++made,
      async (b) => {
        ended.push(b);
      },
    );
    const r1 = d.hold();
    const r2 = d.hold();
    assert.equal(d.get(), 1);
    assert.equal(d.get(), 1);
    assert.equal(made, 1);
    await r1();
    await r1();
    assert.deepEqual(ended, [], "a release called twice counts once: one holder is left");
    await r2();
    assert.deepEqual(ended, [1]);
  });

  it("a backend never made is never ended", async () => {
    let ends = 0;
    const d = processDefault(
      () => ({}),
      async () => {
        ends++;
      },
    );
    await d.hold()();
    assert.equal(ends, 0);
  });
});
