// Issue 3: deadlines and cancellation across hops, call chains and depth limits, a bulkhead
// that cannot deadlock a chain, and the stall doctor.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background, type Context, withCancel, withTimeout } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { delay, fixture, rejection, within } from "./helpers.js";

describe("deadlines and cancellation across hops", () => {
  const f = fixture();
  after(() => f.close());
  const seen: { deadline?: number; abortedAt?: number; reason?: MicroError } = {};

  class Hops {
    async Outer(ctx: Context, req: { innerTimeoutMs: number }) {
      const c = f.clients[0]!;
      return c.call(ctx, newRequest("hops", "Hops.Inner", {}), { requestTimeoutMs: req.innerTimeoutMs });
    }
    async Inner(ctx: Context) {
      return { deadline: ctx.deadline };
    }
    /** Ignores nothing: records when its signal aborts, then waits on. */
    async Sleep(ctx: Context, req: { ms: number }) {
      ctx.signal.addEventListener("abort", () => {
        seen.abortedAt = Date.now();
        seen.reason = ctx.signal.reason;
      });
      await delay(req.ms);
      return {};
    }
  }

  it("a nested call gets min(own timeout, caller's remaining time)", async () => {
    f.client({ requestTimeoutMs: 10_000 });
    await f.start("hops", [new Hops()]);
    const ctx = withTimeout(background(), 1500);
    const r = await f.clients[0]!.call(ctx, newRequest("hops", "Hops.Outer", { innerTimeoutMs: 60_000 }));
    // Remaining time travels relative (no clock agreement needed), so transit time shifts it a little.
    assert.ok(
      Math.abs(r.deadline - ctx.deadline!) <= 300,
      `inner deadline ${r.deadline} should be the caller's ${ctx.deadline}`,
    );
    const t0 = Date.now();
    const r2 = await f.clients[0]!.call(ctx, newRequest("hops", "Hops.Outer", { innerTimeoutMs: 300 }));
    assert.ok(r2.deadline - t0 <= 350 && r2.deadline < ctx.deadline!, "its own shorter timeout wins");
  });

  it("a caller's timeout aborts the handler's signal within 50 ms", async () => {
    seen.abortedAt = undefined;
    const t0 = Date.now();
    const e = await rejection(
      f.clients[0]!.call(background(), newRequest("hops", "Hops.Sleep", { ms: 1500 }), {
        requestTimeoutMs: 200,
        retries: 0,
      }),
    );
    const gaveUpAt = Date.now();
    assert.equal(e.code, 408);
    await within(
      (async () => {
        while (seen.abortedAt === undefined) await delay(5);
      })(),
      2000,
      "the handler's ctx.signal to abort",
    );
    const lag = seen.abortedAt! - gaveUpAt;
    assert.ok(lag <= 50, `handler saw the abort ${lag} ms after the caller gave up (${gaveUpAt - t0} ms in)`);
  });

  for (const how of ["signal", "withCancel"] as const) {
    it(`cancelling with ${how} reaches the server (cancel frame), not only the deadline`, async () => {
      seen.abortedAt = undefined;
      seen.reason = undefined;
      const controller = new AbortController();
      const [ctx, cancel] = withCancel(background());
      const call = f.clients[0]!.call(ctx, newRequest("hops", "Hops.Sleep", { ms: 3000 }), {
        requestTimeoutMs: 30_000,
        signal: controller.signal,
      });
      await delay(100);
      const at = Date.now();
      if (how === "signal")
        controller.abort(new MicroError({ id: "test", code: 499, detail: "user gave up" }));
      else cancel("user gave up");
      const e = await rejection(call, 2000, "the cancelled call to reject");
      assert.equal(e.code, 499);
      await within(
        (async () => {
          while (seen.abortedAt === undefined) await delay(5);
        })(),
        2000,
        "the server handler to see the cancellation",
      );
      assert.ok(seen.abortedAt! - at <= 50, `server saw it after ${seen.abortedAt! - at} ms`);
      assert.match(String((seen.reason as MicroError | undefined)?.detail), /cancelled/);
    });
  }
});

describe("call chains", () => {
  const f = fixture();
  after(() => f.close());

  class Chain {
    async A(ctx: Context) {
      return f.clients[0]!.call(ctx, newRequest("chain-b", "Chain.B", {}));
    }
    async B(ctx: Context) {
      return f.clients[0]!.call(ctx, newRequest("chain-c", "Chain.C", {}));
    }
    async C(ctx: Context) {
      throw new MicroError({ id: "chain-c", code: 409, detail: `conflict at depth ${ctx.chain.length}` });
    }
    async Recurse(ctx: Context, req: { left: number; to: string }) {
      if (req.left === 0) return { chain: ctx.chain };
      return f.clients[0]!.call(ctx, newRequest(req.to, "Chain.Recurse", { left: req.left - 1, to: req.to }));
    }
  }

  it("every hop is on the context and on the error that comes back", async () => {
    f.client();
    for (const n of ["chain-a", "chain-b", "chain-c"]) await f.start(n, [new Chain()]);
    const e = await rejection(f.clients[0]!.call(background(), newRequest("chain-a", "Chain.A", {})));
    assert.equal(e.code, 409);
    assert.equal(e.detail, "conflict at depth 3");
    assert.deepEqual(
      e.chain.map((h: string) => h.replace(/@.*/, "")),
      ["chain-a.Chain.A", "chain-b.Chain.B", "chain-c.Chain.C"],
    );
    assert.ok(
      e.chain.every((h: string) => /@chain-[abc]-[0-9a-f-]{36}$/.test(h)),
      `hops name nodes: ${e.chain}`,
    );
  });

  it("recursion is allowed; maxCallDepth refuses deeper calls with a 508 listing the chain", async () => {
    const ok = await f.clients[0]!.call(
      background(),
      newRequest("chain-a", "Chain.Recurse", { left: 5, to: "chain-a" }),
    );
    assert.equal(ok.chain.length, 6);
    const shallow = f.client({ maxCallDepth: 4 });
    const deep = new (class Deep {
      async Recurse(ctx: Context, req: { left: number }) {
        if (req.left === 0) return {};
        return shallow.call(ctx, newRequest("deep", "Deep.Recurse", { left: req.left - 1 }));
      }
    })();
    await f.start("deep", [deep]);
    const t0 = Date.now();
    const e = await rejection(shallow.call(background(), newRequest("deep", "Deep.Recurse", { left: 100 })));
    assert.equal(e.code, 508);
    assert.match(
      e.detail,
      /chain depth 4 reached maxCallDepth 4: deep\.Deep\.Recurse@.* -> deep\.Deep\.Recurse@/,
    );
    assert.equal(e.chain.length, 4);
    assert.ok(Date.now() - t0 < 2000, "fails fast, without waiting for a timeout");
  });
});

describe("bulkhead: limits that cannot deadlock a chain", () => {
  const f = fixture();
  after(() => f.close());
  let address = "";

  const nestedService = (name: string) =>
    new (class S {
      async Outer(ctx: Context) {
        await delay(20);
        return f.clients[0]!.call(ctx, newRequest(name, "S.Inner", {}), { address });
      }
      async Inner() {
        await delay(20);
        return { ok: true };
      }
      async Stubborn(_ctx: Context, req: { ms: number }) {
        await delay(req.ms); // ignores ctx.signal on purpose
        return { ok: true };
      }
    })();

  it("the classic trap — limit N, N outer calls each calling S again — ends in clear errors within the deadline", async () => {
    f.client({ retries: 0 });
    const s = await f.start("trap", [nestedService("trap")], { limits: { maxConcurrent: 4, maxQueue: 4 } });
    address = s.address;
    const t0 = Date.now();
    const results = await within(
      Promise.allSettled(
        Array.from({ length: 4 }, () =>
          f.clients[0]!.call(withTimeout(background(), 600), newRequest("trap", "S.Outer", {}), { address }),
        ),
      ),
      5000,
      "the trapped calls to settle",
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 600 + 500, `settled after ${elapsed} ms, the deadline was 600 ms`);
    // Once the first nested call gives up, its outer call frees a slot and others may finish:
    // what matters is that none hangs and every failure explains itself.
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => r.reason);
    assert.ok(failures.length >= 1, "the trap produced errors, not silent success");
    // Both ends hold the same deadline: the server's 408 (the nested call found no slot) and
    // the client's own timer race, and on a busy machine either may win. Each explains itself.
    for (const e of failures) {
      assert.ok(e instanceof MicroError);
      assert.equal(e.code, 408, e.detail);
      assert.match(
        e.detail,
        /waited \d+ ms for a concurrency slot of service trap, maxConcurrent 4, 4 active|call to trap\.S\.Outer timed out after \d+ ms \(the caller's deadline\) while waiting for the response/,
      );
    }
  });

  it("a full queue answers at once with a retryable 503 naming the service and the limit", async () => {
    const s = await f.start("full", [nestedService("full")], { limits: { maxConcurrent: 1, maxQueue: 1 } });
    const c = f.clients[0]!;
    const slow = [1, 2].map(() =>
      c.call(background(), newRequest("full", "S.Stubborn", { ms: 500 }), { address: s.address }),
    );
    await delay(50);
    const t0 = Date.now();
    const e = await rejection(
      c.call(background(), newRequest("full", "S.Stubborn", { ms: 1 }), { address: s.address }),
    );
    assert.ok(Date.now() - t0 < 200, "answered at once");
    assert.equal(e.code, 503);
    assert.equal(e.retryable, true);
    assert.match(
      e.detail,
      /service full is at its concurrency limit \(maxConcurrent 1, 1 active, queue of 1 full\)/,
    );
    await Promise.all(slow);
  });

  it("reservedForNested lets the same pattern complete", async () => {
    const s = await f.start("reserved", [nestedService("reserved")], {
      limits: { maxConcurrent: 4, maxQueue: 16, reservedForNested: 1 },
    });
    address = s.address;
    const results = await within(
      Promise.all(
        Array.from({ length: 8 }, () =>
          f.clients[0]!.call(withTimeout(background(), 5000), newRequest("reserved", "S.Outer", {}), {
            address,
          }),
        ),
      ),
      8000,
      "the nested pattern with a reserve to complete",
    );
    assert.ok(results.every((r) => r.ok === true));
  });

  it("a handler that ignores its signal does not keep its slot past its deadline", async () => {
    const s = await f.start("stubborn", [nestedService("stubborn")], {
      limits: { maxConcurrent: 1, maxQueue: 4 },
    });
    const c = f.clients[0]!;
    const first = rejection(
      c.call(background(), newRequest("stubborn", "S.Stubborn", { ms: 3000 }), {
        address: s.address,
        requestTimeoutMs: 200,
      }),
    );
    await delay(20);
    const t0 = Date.now();
    const second = await c.call(background(), newRequest("stubborn", "S.Stubborn", { ms: 1 }), {
      address: s.address,
      requestTimeoutMs: 2000,
    });
    assert.ok(second.ok);
    assert.ok(
      Date.now() - t0 < 1000,
      `the slot came back after ${Date.now() - t0} ms, not after the 3 s handler`,
    );
    assert.equal((await first).code, 408);
  });
});

describe("stall doctor", () => {
  const f = fixture();
  after(() => f.close());

  class Slow {
    async Wait(_ctx: Context, req: { ms: number }) {
      await delay(req.ms);
      return {};
    }
    async Via(ctx: Context) {
      return f.clients[0]!.call(ctx, newRequest("doctor", "Slow.Wait", { ms: 400 }));
    }
  }

  it("client.inflight() and service.inflight() show phase, age, node and chain; Debug.Inflight serves them", async () => {
    const logs: string[] = [];
    f.client({ watchdog: { thresholdMs: 100, intervalMs: 20, log: (m) => logs.push(m) } });
    const s = await f.start("doctor", [new Slow()], {
      watchdog: { thresholdMs: 100, intervalMs: 20, log: (m) => logs.push(m) },
    });
    const pending = f.clients[0]!.call(background(), newRequest("doctor", "Slow.Via", {}));
    await delay(200);
    const client = f.clients[0]!.inflight();
    const outer = client.find((c) => c.endpoint === "Slow.Via");
    const inner = client.find((c) => c.endpoint === "Slow.Wait");
    assert.ok(outer && inner, `both calls listed: ${JSON.stringify(client)}`);
    assert.equal(outer.phase, "sent");
    assert.equal(inner.phase, "sent");
    assert.ok(outer.ageMs >= 150, `age ${outer.ageMs}`);
    assert.equal(inner.node, s.nodeId);
    assert.equal(inner.cycle, true, "doctor → doctor re-enters its own service");
    assert.match(inner.chain[0]!, /^doctor\.Slow\.Via@/);
    const server = s.inflight();
    assert.deepEqual(server.map((c) => c.endpoint).sort(), ["Slow.Via", "Slow.Wait"]);
    assert.ok(server.every((c) => c.phase === "handling"));
    const debug = await f
      .client()
      .call(background(), newRequest("doctor", "Debug.Inflight", {}), { address: s.address });
    assert.ok(debug.server.some((c: { endpoint: string }) => c.endpoint === "Slow.Wait"));
    await pending;
    assert.ok(
      logs.some((l) =>
        /client call doctor\.Slow\.Wait has been sent for \d+ ms .*chain: doctor\.Slow\.Via@/.test(l),
      ),
      `the watchdog reported the stuck nested call with its chain: ${logs.join("\n")}`,
    );
    assert.equal(f.clients[0]!.inflight().length, 0, "nothing left in flight");
    assert.equal(s.inflight().length, 0);
  });
});
