/**
 * Pinned behaviours of running a handler (server/invoke.ts): the wrappers' order; an
 * invocation's context (deadline from the caller's time left, metadata, the chain with this
 * hop, the caller's signal linked until the end); its in-flight record and phases; the bulkhead
 * slot (queued, given back when the handler ends or the caller gives up, refused when the
 * caller gave up while queued); the wire error with the chain; the active count and `idle()`.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it, mock } from "node:test";
import { MicroError } from "../../src/errors.js";
import { InflightTable } from "../../src/inflight.js";
import type { Bulkhead, Release } from "../../src/server/bulkhead.js";
import {
  type HandlerRequest,
  type HandlerWrapper,
  Invoker,
  type InvokerOptions,
  wrap,
} from "../../src/server/invoke.js";
import { within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";

const request: HandlerRequest = {
  service: "orders",
  endpoint: "Orders.get",
  contentType: "application/json",
  body: {},
  metadata: {},
};

function invoker(o: Partial<InvokerOptions> = {}) {
  const inflight = new InflightTable();
  const inv = new Invoker({
    name: "orders",
    nodeId: "o-1",
    wrappers: [],
    bulkhead: undefined,
    inflight,
    ...o,
  });
  return { inv, inflight };
}

/** A bulkhead of one slot that the test grants by hand, counting releases. */
function manualBulkhead() {
  const grants: ((r: Release) => void)[] = [];
  let released = 0;
  const b: Bulkhead = {
    acquire: () => new Promise<Release>((resolve) => grants.push(resolve)),
    stats: () => ({ active: 0, queued: grants.length }),
  };
  return {
    b,
    grant: () => grants.shift()!(() => released++),
    get released() {
      return released;
    },
    get waiting() {
      return grants.length;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("invoke (pinned)", { timeout: 10_000 }, () => {
  it("wrap: the first wrapper is the outermost", async () => {
    const order: string[] = [];
    const w =
      (n: string): HandlerWrapper =>
      (next) =>
      async (ctx, req) => {
        order.push(`${n}>`);
        const r = await next(ctx, req);
        order.push(`<${n}`);
        return r;
      };
    const fn = wrap([w("a"), w("b")], async () => {
      order.push("h");
      return 1;
    });
    assert.equal(await fn({} as never, request), 1);
    assert.deepEqual(order, ["a>", "b>", "h", "<b", "<a"]);
    assert.equal(await wrap([], async () => 2)({} as never, request), 2);
  });

  it("the context: deadline from the time left, metadata, the chain with this hop; the record in flight until the end", () => {
    mock.timers.enable({ apis: ["Date"], now: 50_000 });
    try {
      const { inv, inflight } = invoker();
      assert.equal(inv.options.name, "orders");
      const call = inv.begin(
        {
          service: "orders",
          endpoint: "Orders.get",
          contentType: "x",
          timeoutMs: 300,
          chain: ["web.Home.index@w"],
        },
        countingSignal(),
        { tenant: "a" },
      );
      assert.deepEqual(call.hop, { service: "orders", endpoint: "Orders.get", node: "o-1" });
      assert.equal(call.ctx.deadline, 50_300);
      assert.deepEqual(call.ctx.metadata, { tenant: "a" });
      assert.deepEqual([...call.ctx.chain], ["web.Home.index@w", "orders.Orders.get@o-1"]);
      const [row] = inflight.snapshot();
      assert.equal(row?.side, "server");
      assert.equal(row.service, "orders");
      assert.equal(row.endpoint, "Orders.get");
      assert.equal(row.node, "o-1");
      assert.equal(row.phase, "handling");
      assert.equal(row.deadline, 50_300);
      assert.equal(row.startedAt, 50_000);
      assert.deepEqual(
        [...row.chain],
        ["web.Home.index@w"],
        "the record's chain is the hops before this call",
      );
      call.enter("streaming");
      assert.equal(inflight.snapshot()[0]?.phase, "streaming");
      assert.equal(inv.active, 1);
      call.end();
      call.end();
      assert.equal(inflight.size, 0);
      assert.equal(inv.active, 0, "end is counted once");

      const open = inv.begin(
        { service: "orders", endpoint: "Orders.get", contentType: "x" },
        countingSignal(),
        {},
      );
      assert.equal(open.ctx.deadline, undefined);
      assert.deepEqual([...inflight.snapshot()[0]!.chain], []);
      open.end();
      const untracked = invoker({ inflight: undefined }).inv;
      untracked.begin({ service: "orders", endpoint: "E", contentType: "x" }, countingSignal(), {}).end();
    } finally {
      mock.timers.reset();
    }
  });

  it("the caller's signal aborts the context until the end, and keeps no listener after", () => {
    const { inv } = invoker();
    const signal = countingSignal();
    const call = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, signal, {});
    assert.equal(signal.listeners, 1);
    signal.abort(new Error("caller gone"));
    assert.equal(call.ctx.signal.aborted, true);
    call.end();

    const later = countingSignal();
    const ended = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, later, {});
    ended.end();
    assert.equal(later.listeners, 0);
  });

  it("run without a bulkhead: the phase asked, the handler's result", async () => {
    const { inv, inflight } = invoker();
    const call = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, countingSignal(), {});
    let phase: string | undefined;
    const r = await call.run(
      async (ctx, req) => {
        phase = inflight.snapshot()[0]?.phase;
        assert.equal(ctx, call.ctx);
        return req.endpoint;
      },
      request,
      "streaming",
    );
    assert.equal(r, "Orders.get");
    assert.equal(phase, "streaming");
    call.end();
  });

  it("run with a bulkhead: queued until granted, the slot given back when the handler ends", async () => {
    const bh = manualBulkhead();
    const { inv, inflight } = invoker({ bulkhead: bh.b });
    const signal = countingSignal();
    const call = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, signal, {});
    const listening = getEventListeners(call.ctx.signal as AbortSignal, "abort").length;
    let phase: string | undefined;
    const running = call.run(async () => {
      phase = inflight.snapshot()[0]?.phase;
      return "done";
    }, request);
    await tick();
    assert.equal(inflight.snapshot()[0]?.phase, "queued");
    assert.equal(bh.released, 0);
    bh.grant();
    assert.equal(await within(running, 2000, "the handler"), "done");
    assert.equal(phase, "handling");
    assert.equal(bh.released >= 1, true, "the slot went back");
    assert.equal(
      getEventListeners(call.ctx.signal as AbortSignal, "abort").length,
      listening,
      "the run's abort listener is removed when the handler ends",
    );
    call.end();
    assert.equal(signal.listeners, 0);
  });

  it("a caller that gives up frees the slot at once, even while its handler still runs", async () => {
    const bh = manualBulkhead();
    const { inv } = invoker({ bulkhead: bh.b });
    const signal = countingSignal();
    const call = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, signal, {});
    let finish!: () => void;
    const running = call.run(() => new Promise((r) => (finish = () => r("late"))), request);
    await tick();
    bh.grant();
    await tick();
    assert.equal(bh.released, 0);
    signal.abort(new Error("gone"));
    assert.equal(bh.released, 1, "given back on abort, before the handler ends");
    finish();
    assert.equal(await running, "late");
    call.end();
  });

  it("a caller that gave up while queued: the granted slot goes back and the run fails with its reason", async () => {
    const bh = manualBulkhead();
    const { inv } = invoker({ bulkhead: bh.b });
    const signal = countingSignal();
    const call = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, signal, {});
    let ran = false;
    const running = call.run(async () => {
      ran = true;
    }, request);
    await tick();
    signal.abort(new MicroError({ id: "web", code: 499, detail: "client closed" }));
    bh.grant();
    const e = await running.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 499);
    assert.equal(ran, false, "the handler never ran");
    assert.equal(bh.released, 1);
    call.end();
  });

  it("the wire error: a MicroError keeps its chain or gets this one; anything else is a 500 naming the hop", () => {
    const { inv } = invoker();
    const call = inv.begin(
      { service: "orders", endpoint: "Orders.get", contentType: "x", chain: ["a.B.c@n"] },
      countingSignal(),
      {},
    );
    const chain = ["a.B.c@n", "orders.Orders.get@o-1"];
    const own = new MicroError({ id: "x", code: 409, detail: "d", chain: ["z.Y.x@q"] });
    assert.equal(call.wireError(own), own);
    const bare = call.wireError(new MicroError({ id: "x", code: 409, detail: "d" }));
    assert.equal(bare.code, 409);
    assert.deepEqual([...bare.chain], chain);
    const cause = new Error("db down");
    const plain = call.wireError(cause);
    assert.equal(plain.id, "orders");
    assert.equal(plain.code, 500);
    assert.equal(plain.detail, "orders.Orders.get failed: db down");
    assert.deepEqual([...plain.chain], chain);
    assert.equal(plain.cause, cause);
    const noMessage = new TypeError("");
    assert.equal(call.wireError(noMessage).detail, "orders.Orders.get failed: TypeError");
    assert.equal(call.wireError("boom").detail, "orders.Orders.get failed: boom");
    call.end();
  });

  it("idle() resolves at once with nothing running, and for every waiter once the last invocation ends", async () => {
    const { inv } = invoker();
    await within(inv.idle(), 1000, "idle with nothing running");
    const a = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, countingSignal(), {});
    const b = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, countingSignal(), {});
    let woken = 0;
    const w1 = inv.idle().then(() => woken++);
    const w2 = inv.idle().then(() => woken++);
    a.end();
    await tick();
    assert.equal(woken, 0, "one still runs");
    b.end();
    await within(Promise.all([w1, w2]), 1000, "both idle waiters");
    assert.equal(woken, 2);
    const c = inv.begin({ service: "orders", endpoint: "E", contentType: "x" }, countingSignal(), {});
    let again = false;
    void inv.idle().then(() => {
      again = true;
    });
    await tick();
    assert.equal(again, false, "earlier waiters are not kept: a new one waits for the new invocation");
    c.end();
    await tick();
    assert.equal(again, true);
  });
});
