// The per-node circuit breaker, on three real services on loopback: a node that fails every
// other call is opened within the window and then skipped; after its cool-down one probe goes
// through (half-open, shown by the stall doctor); a failed probe opens it again; once the node
// heals, the probe closes it and the node gets calls again. With the breaker off (negative
// control) the same node keeps getting its share. 4xx answers and the caller's cancels do not
// count, the call's own timeout does. With every node open, calls fail fast.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Client } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background, type Context, withCancel, withTimeout } from "../src/context.js";
import { Code, conflict, internalServerError, timeout } from "../src/errors.js";
import type { MicroService } from "../src/service/service.js";
import { describeStuck } from "../src/watchdog.js";
import { delay, fixture, rejection } from "./helpers.js";

type Mode = "healthy" | "every-other" | "always" | "slow-healthy";

/** One node's handler: counts its calls and fails as its mode says. */
function flaky(state: { mode: Mode; calls: number }) {
  return new (class Flaky {
    async Hit() {
      state.calls++;
      if (state.mode === "always" || (state.mode === "every-other" && state.calls % 2 === 1))
        throw internalServerError("flaky", `node failure #${state.calls}`);
      if (state.mode === "slow-healthy") await delay(150);
      return { ok: true };
    }
  })();
}

/** Polls `ok` every `intervalMs` until it is true; fails naming `what` after `ms`. */
async function until(what: string, ms: number, intervalMs: number, ok: () => boolean | Promise<boolean>) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

const BREAKER = { errorRate: 0.5, minRequests: 10, windowMs: 5000, coolDownMs: 400 };

describe("circuit breaker", () => {
  const f = fixture();
  after(() => f.close());
  const good1 = { mode: "healthy" as Mode, calls: 0 };
  const good2 = { mode: "healthy" as Mode, calls: 0 };
  const bad = { mode: "healthy" as Mode, calls: 0 };
  let badNode: MicroService;

  const hit = (c: Client) =>
    c.call(background(), newRequest("flaky", "Flaky.Hit", {}), { retries: 0 }).then(
      () => true,
      () => false,
    );
  const stateOf = (c: Client) => c.breakers().find((b) => b.node === badNode.nodeId);

  it("opens on a node failing 50% of calls within the window, probes it, and closes once it heals", async () => {
    await f.start("flaky", [flaky(good1)]);
    await f.start("flaky", [flaky(good2)]);
    badNode = await f.start("flaky", [flaky(bad)]);
    const c = f.client({ breaker: BREAKER });

    // 1. Every other call to the bad node fails (the 1st, 3rd...): 50%, at the threshold.
    bad.mode = "every-other";
    const sickSince = Date.now();
    for (let i = 0; i < 300 && stateOf(c)?.state !== "open"; i++) await hit(c);
    const openedAfterMs = Date.now() - sickSince;
    const callsBeforeOpen = bad.calls;
    assert.equal(stateOf(c)?.state, "open", `opened after ${callsBeforeOpen} calls to the bad node`);
    assert.ok(openedAfterMs < BREAKER.windowMs, `opened within the window (${openedAfterMs} ms)`);
    // It opens as soon as the window holds minRequests attempts at a 50% error rate.
    assert.equal(callsBeforeOpen, BREAKER.minRequests, "calls to the bad node before it opened");
    assert.ok(
      good1.calls + good2.calls >= 2 * (BREAKER.minRequests - 1),
      "the healthy nodes shared the traffic",
    );

    // 2. While open and no probe is due, the node gets no call at all.
    bad.mode = "always";
    let skippedCalls = 0;
    for (;;) {
      const s = stateOf(c)!;
      if (s.state !== "open" || Date.now() >= s.probeAt! - 20) break;
      const before = bad.calls;
      assert.ok(await hit(c), "calls go to the healthy nodes");
      if (Date.now() < s.probeAt!) assert.equal(bad.calls, before, "an open node is not called");
      skippedCalls++;
    }
    assert.ok(skippedCalls > 0, "calls were made while the breaker was open");

    // 3. After the cool-down one probe goes through; it fails, so the breaker opens again.
    const probesBefore = bad.calls;
    await until("the half-open probe to reach the bad node", 5000, 5, async () => {
      await hit(c);
      return bad.calls > probesBefore;
    });
    assert.equal(bad.calls, probesBefore + 1, "exactly one probe");
    assert.equal(stateOf(c)?.state, "open", "a failed probe opens the breaker again");

    // 4. The node heals (slowly: the probe stays half-open long enough to be seen).
    bad.mode = "slow-healthy";
    const healedAt = Date.now();
    let sawHalfOpen = false;
    let doctor = "";
    let closedAt = 0;
    const traffic = (async () => {
      while (closedAt === 0 && Date.now() - healedAt < 10_000) {
        void hit(c);
        await delay(10);
      }
    })();
    await until("the breaker to close after the node healed", 10_000, 5, () => {
      const s = stateOf(c);
      if (s?.state === "half-open" && !sawHalfOpen) {
        sawHalfOpen = true;
        const probe = c.inflight().find((x) => x.node === badNode.nodeId);
        if (probe !== undefined) doctor = describeStuck(probe);
      }
      if (s?.state === "closed") closedAt = Date.now();
      return closedAt > 0;
    });
    await traffic;
    const closeAfterHealMs = closedAt - healedAt;
    assert.ok(sawHalfOpen, "the breaker went half-open while the probe was in flight");
    assert.match(doctor, /whose circuit breaker is half-open/, "the stall doctor shows the probe's breaker");
    // Closed by the probe's answer, not before (its handler takes 150 ms); the wait above bounds
    // how late (a time, not a speed, is asserted: the number is reported below).
    assert.ok(closeAfterHealMs >= 150, `closed ${closeAfterHealMs} ms after the node healed`);

    // 5. Closed: the node gets its share again.
    bad.mode = "healthy";
    const afterClose = bad.calls;
    for (let i = 0; i < 9; i++) await hit(c);
    assert.ok(bad.calls >= afterClose + 2, "the healed node is called again");
    console.log(
      `breaker: opened after ${callsBeforeOpen} calls to the bad node (${openedAfterMs} ms); ${skippedCalls} calls skipped it while open; closed ${closeAfterHealMs} ms after it healed`,
    );
  });

  it("negative control: with the breaker off the failing node keeps getting its share", async () => {
    const c = f.client();
    bad.mode = "every-other";
    bad.calls = 0;
    let total = 0;
    for (; total < 90; total++) await hit(c);
    assert.deepEqual(c.breakers(), []);
    assert.ok(bad.calls >= 25, `the failing node got ${bad.calls} of ${total} calls`);
  });

  it("4xx answers and the caller's own cancels or deadlines do not count; the call's own timeout does", async () => {
    class Picky {
      async refuse() {
        throw conflict("picky", "the caller's mistake");
      }
      async hang(ctx: Context) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        throw ctx.signal.reason;
      }
    }
    const picky = await f.start("picky", [new Picky()]);
    const c = f.client({ retries: 0, breaker: { minRequests: 3, coolDownMs: 60_000 } });
    const state = () => c.breakers().find((b) => b.node === picky.nodeId);
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await rejection(c.call(background(), newRequest("picky", "Picky.refuse", {})))).code,
        409,
      );
    assert.deepEqual(
      [state()?.state, state()?.failures, state()?.requests],
      ["closed", 0, 5],
      "4xx count as answers",
    );

    for (let i = 0; i < 3; i++) {
      const [ctx, cancel] = withCancel(background());
      const p = c.call(ctx, newRequest("picky", "Picky.hang", {}));
      await delay(20);
      cancel("the caller changed its mind");
      assert.equal((await rejection(p)).code, Code.Cancelled);
      assert.equal(
        (await rejection(c.call(withTimeout(background(), 30), newRequest("picky", "Picky.hang", {})))).code,
        Code.Timeout,
      );
    }
    assert.deepEqual(
      [state()?.state, state()?.failures, state()?.requests],
      ["closed", 0, 5],
      "the caller's cancels and deadlines are not the node's: no verdict",
    );

    for (let i = 0; i < 4; i++)
      await rejection(c.call(background(), newRequest("picky", "Picky.hang", {}), { requestTimeoutMs: 30 }));
    assert.deepEqual([state()?.failures, state()?.requests], [4, 9], "the call's own timeouts count");
    await rejection(c.call(background(), newRequest("picky", "Picky.hang", {}), { requestTimeoutMs: 30 }));
    assert.equal(state()?.state, "open", "5 of 10 attempts failed");
  });

  // The node's own deadline (sent with the request) often expires a moment before the caller's
  // timer here, so its 408 arrives first. A node answering 408 at once stands in for that race,
  // every time: it must give the verdict of the deadline, not count as an answer.
  it("a 408 answer is the deadline's verdict: none for the caller's deadline, a failure for the call's own timeout", async () => {
    class Late {
      async now() {
        throw timeout("late", "the deadline expired here first");
      }
    }
    const late = await f.start("late", [new Late()]);
    const c = f.client({ retries: 0, breaker: { minRequests: 3, coolDownMs: 60_000 } });
    const state = () => c.breakers().find((b) => b.node === late.nodeId);
    for (let i = 0; i < 3; i++) {
      const e = await rejection(c.call(withTimeout(background(), 2000), newRequest("late", "Late.now", {})));
      assert.equal(e.code, Code.Timeout);
    }
    assert.equal(
      state(),
      undefined,
      "the caller's deadline (2 s, under the 5 s timeout): no verdict, no record",
    );
    for (let i = 0; i < 2; i++)
      await rejection(c.call(background(), newRequest("late", "Late.now", {}), { requestTimeoutMs: 2000 }));
    assert.deepEqual([state()?.failures, state()?.requests], [2, 2], "the call's own timeout: failures");
  });

  it("fails fast with a 503 naming the service when every node's breaker is open", async () => {
    const lone = { mode: "always" as Mode, calls: 0 };
    await f.start("lonely", [flaky(lone)]);
    const c = f.client({ breaker: { minRequests: 4, coolDownMs: 60_000 } });
    const call = () => c.call(background(), newRequest("lonely", "Flaky.Hit", {}), { retries: 0 });
    for (let i = 0; i < 4; i++) await rejection(call());
    assert.equal(lone.calls, 4);
    const e = await rejection(call());
    assert.equal(e.code, Code.ServiceUnavailable);
    assert.match(
      e.detail,
      /circuit breakers are open for all 1 node\(s\) of service "lonely": not called \(the next probe is due in \d+ ms\)/,
    );
    assert.equal(lone.calls, 4, "the open node was not called");
  });
});
