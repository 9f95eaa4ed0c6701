// Hedged requests, on three real services on loopback, one of them slow (2 s): with a
// hedge after 30 ms the slow node's calls are answered by another node, so p99 drops from the
// slow node's latency to well under half of it; the losing leg is cancelled and its handler
// sees ctx.signal abort on the server. `max: 2` reaches the one fast node of three. A
// non-idempotent call is never hedged. A functional property with a wide margin (p99 ≤ 1 s
// against ≥ 2 s: on a loaded machine a niced test process stalls for several hundred ms at
// times), not a benchmark.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Client } from "../src/client/client.js";
import type { CallOptions } from "../src/client/options.js";
import { newRequest } from "../src/client/request.js";
import { background, type Context } from "../src/context.js";
import { delay, fixture } from "./helpers.js";

const SLOW_MS = 2000;
const CALLS = 200;
/** Calls at a time: more without hedging, where most of the time is waiting for the slow node. */
const CONCURRENCY = { plain: 50, hedged: 5 };

interface NodeState {
  slow: boolean;
  started: number;
  finished: number;
  aborted: number;
}

function echo(state: NodeState) {
  return new (class Echo {
    async Get(ctx: Context) {
      state.started++;
      if (state.slow) {
        const aborted = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), SLOW_MS);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        if (aborted) {
          state.aborted++;
          throw ctx.signal.reason;
        }
      }
      state.finished++;
      return { slow: state.slow };
    }
  })();
}

function p99(latencies: number[]): number {
  const s = [...latencies].sort((a, b) => a - b);
  return s[Math.ceil(s.length * 0.99) - 1]!;
}

/** `CALLS` calls, `concurrency` at a time; each call's latency in ms. */
async function measure(c: Client, opts: CallOptions, concurrency: number): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      next++;
      const t = performance.now();
      await c.call(background(), newRequest("echo", "Echo.Get", {}), opts);
      out.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

describe("hedged requests", () => {
  const f = fixture();
  after(() => f.close());
  const fast1: NodeState = { slow: false, started: 0, finished: 0, aborted: 0 };
  const fast2: NodeState = { slow: false, started: 0, finished: 0, aborted: 0 };
  const slow: NodeState = { slow: true, started: 0, finished: 0, aborted: 0 };

  it("p99 drops with one slow node out of three, and the losing leg is cancelled on its server", async () => {
    await f.start("echo", [echo(fast1)]);
    await f.start("echo", [echo(fast2)]);
    await f.start("echo", [echo(slow)]);
    const c = f.client({ requestTimeoutMs: 5000 });

    const plain = await measure(c, { idempotent: true }, CONCURRENCY.plain);
    const plainP99 = p99(plain);
    const slowPlain = slow.started;
    assert.ok(slowPlain >= CALLS / 6, `the slow node took its share (${slowPlain} calls)`);
    assert.equal(slow.aborted, 0, "no hedge, no cancel");

    slow.started = 0;
    slow.finished = 0;
    const hedgedLatencies = await measure(
      c,
      { idempotent: true, hedge: { delayMs: 30 } },
      CONCURRENCY.hedged,
    );
    const hedgedP99 = p99(hedgedLatencies);
    // Every slow leg ends (cancelled, or in the rare case it won, finished) before we count.
    const end = Date.now() + 5000;
    while (slow.aborted + slow.finished < slow.started && Date.now() < end) await delay(10);
    console.log(
      `hedging: p99 ${plainP99.toFixed(1)} ms without, ${hedgedP99.toFixed(1)} ms with a 30 ms hedge (${CALLS} calls, one node of three ${SLOW_MS} ms slow); slow node: ${slow.started} legs, ${slow.aborted} cancelled on the server, ${slow.finished} finished`,
    );
    assert.ok(plainP99 >= SLOW_MS, `without hedging p99 is the slow node's latency: ${plainP99} ms`);
    assert.ok(hedgedP99 <= SLOW_MS / 2, `with hedging p99 is ≤ half of it: ${hedgedP99} ms`);
    assert.ok(slow.started > 0, "the slow node still got first legs");
    assert.equal(slow.aborted + slow.finished, slow.started, "every slow leg ended");
    assert.ok(
      slow.aborted >= slow.started * 0.9,
      `the losing legs were cancelled on the server: ${slow.aborted} of ${slow.started}`,
    );
  });

  it("with two slow nodes of three, max: 2 sends a second hedge that reaches the fast one", async () => {
    const c = f.client();
    fast1.slow = true;
    try {
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const r = await c.call<{ slow: boolean }>(background(), newRequest("echo", "Echo.Get", {}), {
          idempotent: true,
          hedge: { delayMs: 20, max: 2 },
        });
        latencies.push(performance.now() - t);
        assert.equal(r.slow, false, "the fast node answered");
      }
      assert.ok(
        Math.max(...latencies) <= SLOW_MS / 2,
        `every call well under the slow latency: ${latencies}`,
      );
    } finally {
      fast1.slow = false;
    }
  });

  it("a non-idempotent call is not hedged: one handler run per call, the slow one waited for", async () => {
    const c = f.client({ hedge: { delayMs: 10 } });
    const runs = () => fast1.started + fast2.started + slow.started;
    const before = runs();
    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = performance.now();
      await c.call(background(), newRequest("echo", "Echo.Get", {}));
      latencies.push(performance.now() - t);
    }
    assert.equal(runs() - before, 6, "each call ran its handler once");
    assert.ok(Math.max(...latencies) >= SLOW_MS, "the calls on the slow node were not hedged");

    // The same client hedges the calls marked idempotent (negative control of the above).
    const hedgedBefore = runs();
    for (let i = 0; i < 6; i++)
      await c.call(background(), newRequest("echo", "Echo.Get", {}), { idempotent: true });
    assert.ok(runs() - hedgedBefore > 6, "idempotent calls on the slow node were hedged");
    // A bad hedge option fails the call (a rejection, not a throw) and says which option.
    const bad = c.call(background(), newRequest("echo", "Echo.Get", {}), {
      idempotent: true,
      hedge: { delayMs: -1 },
    });
    await assert.rejects(bad, /call option hedge\.delayMs must be a finite number ≥ 0, got -1/);
  });
});
