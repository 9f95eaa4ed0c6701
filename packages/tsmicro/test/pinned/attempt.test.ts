/**
 * Pinned behaviours of a call's attempts (client/attempt.ts, client/call.ts) that the full
 * mutation run found untested (MUTATION.md): how fixed addresses are tried, what a timeout
 * says, when a custom retry rule is asked, what a cancel tells the breaker, and the 404 and
 * chain of a call to an unknown service.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../../src/client/request.js";
import { background, type Context, withCancel } from "../../src/context.js";
import { Code, MicroError } from "../../src/errors.js";
import type { Registry } from "../../src/registry/registry.js";
import type { Selector } from "../../src/selector/selector.js";
import { createSelector } from "../../src/selector/selector.js";
import { createTcpTransport } from "../../src/transport/tcp.js";
import type { Transport } from "../../src/transport/transport.js";
import { delay, fixture, rejection, within } from "../helpers.js";

const f = fixture();
after(() => f.close());

class Named {
  constructor(readonly name: string) {}
  async who() {
    return this.name;
  }
  // Until the call's deadline or cancel reaches the server: a fixed wait would keep the
  // server draining, and this file running, long after the test.
  async hang(ctx: Context) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
  }
  busyCalls = 0;
  async busy(): Promise<never> {
    this.busyCalls++;
    throw new MicroError({
      id: "busy",
      code: Code.ServiceUnavailable,
      detail: "busy",
      retryable: true,
    });
  }
}

describe("attempts (pinned)", () => {
  it("a call to a service no registry knows is a 404 naming it, with the call's hop as its chain", async () => {
    const c = f.client();
    const e = await rejection(c.call(background(), newRequest("nobody", "X.y", {}), { retries: 2 }));
    assert.equal(e.code, Code.NotFound);
    assert.match(e.detail, /^service "nobody" not found in registry memory/);
    assert.deepEqual(e.chain, ["nobody.X.y"]);
  });

  it("a fixed address list is tried first to last, one address per attempt", async () => {
    const s = await Promise.all(["a", "b", "c"].map((n) => f.start("fixed", [new Named(n)])));
    const c = f.client();
    const address = s.map((x) => x.address);
    const res = await c.call(background(), newRequest("fixed", "Named.who", {}), { address, retries: 0 });
    assert.equal(res, "a", "the first attempt goes to the first address");
  });

  it("a fixed address is neither counted nor ejected by the selector", async () => {
    const selector = createSelector({ registry: f.registry });
    const c = f.client({ selector });
    // Port 1 on loopback: nothing listens, the dial is refused at once.
    const e = await rejection(
      c.call(background(), newRequest("any", "X.y", {}), {
        address: "127.0.0.1:1",
        retries: 0,
      }),
    );
    assert.equal(e.code, Code.ServiceUnavailable);
    assert.deepEqual(selector.stats?.(), {
      cached: 0,
      ejected: 0,
      inflight: 0,
    });
    selector.close();
  });

  it("a timeout says how long, whose deadline and what the call was waiting for", async () => {
    await f.start("slow", [new Named("slow")]);
    const c = f.client({ retries: 0 });
    const e = await within(
      rejection(
        c.call(background(), newRequest("slow", "Named.hang", {}), {
          requestTimeoutMs: 400,
        }),
      ),
      5000,
      "the call to time out",
    );
    assert.equal(e.code, Code.Timeout);
    const m =
      /^call to slow\.Named\.hang timed out after (\d+) ms \(its timeout of 400 ms\) while waiting for the response on node \S+ \(127\.0\.0\.1:\d+\), attempt 1$/.exec(
        e.detail,
      );
    assert.ok(m, `the detail: ${e.detail}`);
    assert.ok(Number(m[1]) >= 390 && Number(m[1]) < 3000, `elapsed ${m[1]} ms`);
    assert.deepEqual(e.chain, ["slow.Named.hang"]);
  });

  it("a timeout while selecting a node names no node", async () => {
    const stuck: Registry = Object.assign(Object.create(f.registry) as Registry, {
      getService: () => new Promise<never>(() => {}),
    });
    const c = f.client({ registry: stuck, retries: 0 });
    const e = await rejection(c.call(background(), newRequest("s", "X.y", {}), { requestTimeoutMs: 50 }));
    assert.match(e.detail, /\(its timeout of 50 ms\) while selecting a node, attempt 1$/);
  });

  it("a timeout while a dial is under way says the call was dialing, and names the node", async () => {
    const real = createTcpTransport();
    const neverDials: Transport = {
      name: real.name,
      dial: () => new Promise<never>(() => {}),
      listen: real.listen.bind(real),
    };
    const c = f.client({ transport: neverDials, retries: 0 });
    const e = await rejection(
      c.call(background(), newRequest("any", "X.y", {}), {
        address: "127.0.0.1:9",
        requestTimeoutMs: 100,
      }),
      5000,
      "the call to time out while dialing",
    );
    assert.equal(e.code, Code.Timeout);
    assert.match(
      e.detail,
      /\(its timeout of 100 ms\) while dialing on node 127\.0\.0\.1:9 \(127\.0\.0\.1:9\), attempt 1$/,
    );
  });

  it("a call whose own timeout expires while dialing gives the node's breaker no verdict", async () => {
    const dialless = await f.start("dialless", [new Named("dialless")]);
    const real = createTcpTransport();
    const neverDials: Transport = {
      name: real.name,
      dial: () => new Promise<never>(() => {}),
      listen: real.listen.bind(real),
    };
    // One failure would open it: the request never reached the node, so nothing is counted.
    const c = f.client({
      transport: neverDials,
      retries: 0,
      breaker: { minRequests: 1, coolDownMs: 60_000 },
    });
    for (let i = 0; i < 2; i++) {
      const e = await rejection(
        c.call(background(), newRequest("dialless", "Named.who", {}), { requestTimeoutMs: 100 }),
        5000,
        "the call to time out while dialing",
      );
      assert.match(e.detail, / while dialing on node /);
    }
    const mine = c.breakers().filter((b) => b.node === dialless.nodeId);
    assert.deepEqual(
      mine.map((b) => [b.state, b.failures]),
      mine.map(() => ["closed", 0]),
      "no failure counted",
    );
  });

  it("an in-flight call's record carries its deadline, and none when the call has none", async () => {
    await f.start("slow", [new Named("slow")]);
    const c = f.client({ retries: 0 });
    const recordOf = async (opts: object) => {
      const [ctx, cancel] = withCancel(background());
      const before = Date.now();
      const p = rejection(c.call(ctx, newRequest("slow", "Named.hang", {}), opts));
      const mine = c.inflight().find((r) => r.endpoint === "Named.hang");
      cancel();
      await p;
      assert.ok(mine, "the call is in the in-flight table");
      return { deadline: mine.deadline, before };
    };
    const bounded = await recordOf({ requestTimeoutMs: 30_000 });
    assert.ok(
      bounded.deadline !== undefined &&
        bounded.deadline >= bounded.before + 30_000 &&
        bounded.deadline <= Date.now() + 30_000,
      `a 30 s call's deadline: ${bounded.deadline}`,
    );
    assert.equal((await recordOf({ requestTimeoutMs: Number.POSITIVE_INFINITY })).deadline, undefined);
  });

  it("a selector failure other than 'no node' is passed on, even when open breakers left nodes out", async () => {
    await f.start("outage", [new Named("outage")]);
    const real = createSelector({ registry: f.registry });
    let failing = false;
    // Filters as the real selector applies them; then, once failing, a registry outage.
    const selector: Selector = {
      async select(service, options) {
        const [listed] = await f.registry.getService(service);
        const node = (await real.select(service))();
        const passes = (options?.filters ?? []).every((keep) => keep(listed!, node));
        if (failing)
          throw new MicroError({
            id: "registry",
            code: Code.InternalServerError,
            detail: "registry down",
          });
        if (!passes)
          throw new MicroError({
            id: service,
            code: Code.NotFound,
            detail: "no node passed the filters",
          });
        return () => node;
      },
      mark: () => {},
      close: () => real.close(),
    };
    const c = f.client({
      selector,
      retries: 0,
      breaker: { minRequests: 2, coolDownMs: 60_000 },
    });
    const call = () => rejection(c.call(background(), newRequest("outage", "Named.busy", {})));
    for (let i = 0; i < 2; i++) assert.equal((await call()).code, Code.ServiceUnavailable);
    assert.match(
      (await call()).detail,
      /circuit breakers are open for all 1 node\(s\) of service "outage"/,
      "the breaker is open",
    );
    failing = true;
    const e = await call();
    assert.equal(e.code, Code.InternalServerError);
    assert.equal(e.detail, "registry down");
    real.close();
  });

  it("a retry whose back-off reaches the deadline times out in the back-off, with no second attempt", async () => {
    const busy = new Named("busy");
    await f.start("busy", [busy]);
    const c = f.client({ backoff: () => 10_000 });
    const before = busy.busyCalls;
    const e = await within(
      rejection(
        c.call(background(), newRequest("busy", "Named.busy", {}), {
          requestTimeoutMs: 300,
          retries: 3,
          idempotent: true,
        }),
      ),
      5000,
      "the call to time out in its back-off",
    );
    assert.equal(e.code, Code.Timeout);
    assert.match(e.detail, /while backing off before a retry on node \S+ \(127\.0\.0\.1:\d+\), attempt 1$/);
    assert.equal(busy.busyCalls - before, 1, "no attempt may start once the back-off has used up the time");
  });

  it("a custom retry rule is asked once per retry left, never after the last attempt", async () => {
    const c = f.client();
    let asked = 0;
    await rejection(
      c.call(background(), newRequest("busy", "Named.busy", {}), {
        retries: 1,
        idempotent: true,
        backoff: () => 1,
        retry: () => {
          asked++;
          return true;
        },
      }),
    );
    assert.equal(asked, 1, "2 attempts, 1 retry: asked once");
  });

  it("a failure not retried because the endpoint is not idempotent says why, only when retries were allowed", async () => {
    const c = f.client();
    const call = (opts: object) =>
      rejection(c.call(background(), newRequest("busy", "Named.busy", {}), opts));
    const why = / \(not retried: the request reached the server and the endpoint is not idempotent/;
    assert.match((await call({ retries: 2 })).detail, why);
    assert.doesNotMatch((await call({ retries: 0 })).detail, why, "no retries asked for: nothing to explain");
    assert.doesNotMatch(
      (await call({ retries: 2, retry: () => false })).detail,
      why,
      "a custom rule said no: its reasons are its own",
    );
  });

  it("a call the caller cancels gives its node's breaker no verdict", async () => {
    const c = f.client({
      retries: 0,
      breaker: { minRequests: 2, coolDownMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) {
      const [ctx, cancel] = withCancel(background());
      const p = rejection(c.call(ctx, newRequest("slow", "Named.hang", {})));
      await delay(20);
      cancel();
      assert.equal((await p).code, Code.Cancelled);
    }
    const states = c.breakers().filter((b) => b.service === "slow");
    assert.deepEqual(
      states.map((b) => [b.state, b.failures]),
      states.map(() => ["closed", 0]),
      "no failures counted",
    );
  });
});
