/**
 * Pinned behaviours of the client (client/client.ts) over an echo transport and memory backends:
 * `init()` swaps one snapshot (a call in flight keeps its own), the pool is replaced only when
 * the transport, its size or TTL change (the old one drained gracefully), the client's own
 * selector is replaced with the registry and closed (a given one never), the fallback after the
 * wrappers, middleware outside the wrappers for calls, streams and publishes, in-flight tracking
 * and stats, the breaker table, the watchdog, and what close() lets go of.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { type Client, newClient } from "../../src/client/client.js";
import type { CallWrapper, ClientOptions } from "../../src/client/options.js";
import { newMessage } from "../../src/client/publish.js";
import { newRequest } from "../../src/client/request.js";
import { background } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import type { Middleware } from "../../src/middleware.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry } from "../../src/registry/registry.js";
import type { Selector } from "../../src/selector/selector.js";
import type {
  Connection,
  Transport,
  TransportRequest,
  TransportResponse,
} from "../../src/transport/transport.js";
import type { SignalLike } from "../../src/util/light-abort.js";
import { until, within } from "../helpers.js";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

/** A transport whose connections answer at once with what they were sent; `Echo.slow` waits for `release()`. */
function echoTransport(name = "echo") {
  const dials: string[] = [];
  const closes: (boolean | undefined)[] = [];
  let open = () => {};
  const newGate = () =>
    new Promise<void>((r) => {
      open = r;
    });
  let gate = newGate();
  const transport: Transport = {
    name,
    dial: async (address) => {
      dials.push(address);
      let inflight = 0;
      let usable = true;
      let closed = () => {};
      const conn: Connection = {
        address,
        get inflight() {
          return inflight;
        },
        get usable() {
          return usable;
        },
        createdAt: Date.now(),
        closed: new Promise<void>((r) => {
          closed = r;
        }),
        close(graceful) {
          usable = false;
          closes.push(graceful);
          closed();
        },
        async request(req: TransportRequest, signal: SignalLike): Promise<TransportResponse> {
          inflight++;
          try {
            const h = req.headers;
            if (h.endpoint === "Echo.fail") {
              throw new MicroError({ id: h.service, code: 500, detail: "handler failed", retryable: false });
            }
            if (h.endpoint === "Echo.slow") {
              await new Promise<void>((resolve, reject) => {
                void gate.then(resolve);
                signal.addEventListener("abort", () => reject(signal.reason), { once: true });
              });
            }
            const answer = {
              endpoint: h.endpoint,
              body: dec(req.body),
              metadata: h.metadata ?? {},
              timeoutMs: h.timeoutMs,
            };
            return { contentType: "application/json", body: enc(answer) };
          } finally {
            inflight--;
          }
        },
      };
      return conn;
    },
    listen: () => Promise.reject(new Error("not used")),
  };
  return {
    transport,
    dials,
    closes,
    release: () => {
      open();
      gate = newGate();
    },
  };
}

/** A memory registry with `echo` at `echo:1`, recording the watches the selector opens and stops. */
async function echoRegistry() {
  const inner = createMemoryRegistry();
  const watches = { started: 0, stopped: 0 };
  const registry: Registry = {
    ...inner,
    name: inner.name,
    watch: (o) => {
      watches.started++;
      const w = inner.watch(o);
      return Object.assign(Object.create(w), {
        stop: () => {
          watches.stopped++;
          w.stop();
        },
        [Symbol.asyncIterator]: () => w[Symbol.asyncIterator](),
      });
    },
  };
  await registry.register(
    {
      name: "echo",
      version: "1",
      metadata: {},
      endpoints: [],
      nodes: [{ id: "e1", address: "echo:1", metadata: {} }],
    },
    { ttlMs: 60_000 },
  );
  return { registry, watches };
}

const call = (c: Client, endpoint = "Echo.hi", body: unknown = { n: 1 }, o = {}) =>
  c.call<{ endpoint: string; body: unknown; metadata: Record<string, string>; timeoutMs: number }>(
    background(),
    newRequest("echo", endpoint, body),
    o,
  );

describe("client (pinned)", { timeout: 20_000 }, () => {
  const clients: Client[] = [];
  after(async () => {
    for (const c of clients) await c.close();
  });
  const client = (o: Partial<ClientOptions>) => {
    const c = newClient({ broker: createMemoryBroker(), retries: 0, ...o });
    clients.push(c);
    return c;
  };

  it("init swaps the snapshot at once; a call in flight keeps the options it started with", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const c = client({ transport: t.transport, registry, requestTimeoutMs: 5000 });
    const before = c.options();
    const slow = call(c, "Echo.slow");
    await until(() => c.inflight().length === 1, "the slow call to be in flight");
    c.init({ requestTimeoutMs: 40 });
    assert.notEqual(c.options(), before);
    assert.equal(c.options().requestTimeoutMs, 40);
    assert.equal(before.requestTimeoutMs, 5000, "the old snapshot is untouched");
    const fast = await call(c);
    assert.ok(fast.timeoutMs <= 40, `the new call's deadline: ${fast.timeoutMs}`);
    await new Promise((r) => setTimeout(r, 80));
    t.release();
    const r = await within(slow, 2000, "the slow call");
    assert.ok(r.timeoutMs > 1000, "the call in flight kept its 5 s timeout");
  });

  it("the pool is replaced only when the transport, pool size or TTL change; the old one is drained gracefully", async () => {
    const t = echoTransport();
    const other = echoTransport("other");
    const { registry } = await echoRegistry();
    const c = client({ transport: t.transport, registry });
    await call(c);
    assert.deepEqual(c.stats(), { connections: 1, addresses: 1, inflight: 0 });
    c.init({ retries: 2, requestTimeoutMs: 900, maxCallDepth: 9 });
    await call(c);
    assert.equal(t.dials.length, 1, "same pool: no new dial");
    c.init({ poolSize: 2 });
    await until(() => t.closes.length === 1, "the old pool's connection to close");
    assert.deepEqual(t.closes, [true], "gracefully");
    await call(c);
    assert.equal(t.dials.length, 2);
    c.init({ poolTtlMs: 10_000 });
    await call(c);
    assert.equal(t.dials.length, 3);
    c.init({ transport: other.transport });
    await call(c);
    assert.equal(t.dials.length, 3);
    assert.deepEqual(other.dials, ["echo:1"]);
  });

  it("its own selector follows the registry and is closed when replaced or on close(); a given selector is never closed", async () => {
    const a = await echoRegistry();
    const b = await echoRegistry();
    const t = echoTransport();
    const c = newClient({
      transport: t.transport,
      registry: a.registry,
      broker: createMemoryBroker(),
      retries: 0,
    });
    await call(c);
    assert.equal(a.watches.started, 1);
    c.init({ retries: 1 });
    assert.equal(a.watches.stopped, 0, "same registry: same selector");
    c.init({ registry: b.registry });
    assert.equal(a.watches.stopped, 1, "the old selector was closed");
    await call(c);
    assert.equal(b.watches.started, 1);
    await c.close();
    assert.equal(b.watches.stopped, 1);
    assert.deepEqual(t.closes.slice(-1), [true], "close drains the pool");

    let closed = 0;
    const given: Selector = {
      select: async () => () => ({ id: "e1", address: "echo:1", metadata: {} }),
      mark: () => {},
      close: () => {
        closed++;
      },
    };
    const d = newClient({
      transport: t.transport,
      registry: a.registry,
      selector: given,
      broker: createMemoryBroker(),
    });
    await call(d);
    d.init({ registry: b.registry });
    // Another given selector: used from the next call; the first is still the user's to close.
    let picks = 0;
    const other: Selector = {
      select: async () => {
        picks++;
        return () => ({ id: "e1", address: "echo:1", metadata: {} });
      },
      mark: () => {},
      close: () => {
        closed++;
      },
    };
    d.init({ selector: other });
    await call(d);
    assert.equal(picks, 1, "the new selector picks the next call");
    await d.close();
    assert.equal(closed, 0);
  });

  it("the fallback answers after the wrappers saw the failure, with the error (named for the service) and the request", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const seen: string[] = [];
    const watch: CallWrapper = (next) => async (ctx, req, o) => {
      try {
        return await next(ctx, req, o);
      } catch (e) {
        seen.push((e as MicroError).detail);
        throw e;
      }
    };
    const c = client({ transport: t.transport, registry, wrappers: [watch] });
    const got = await c.call(background(), newRequest("echo", "Echo.fail", { n: 2 }), {
      fallback: (err, req) => ({ fallback: true, code: err.code, id: err.id, body: req.body }),
    });
    assert.deepEqual(got, { fallback: true, code: 500, id: "echo", body: { n: 2 } });
    assert.deepEqual(seen, ["handler failed"]);
    const ok = await c.call(background(), newRequest("echo", "Echo.hi", {}), { fallback: () => "unused" });
    assert.equal((ok as { endpoint: string }).endpoint, "Echo.hi");
  });

  it("middleware wraps calls, streams and publishes, outside the wrappers, the first outermost", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const order: string[] = [];
    const mw = (name: string): Middleware => ({
      name,
      call: (next) => (ctx, req, o) => {
        order.push(`${name}:call`);
        return next(ctx, req, o);
      },
      stream: (next) => (ctx, req, o) => {
        order.push(`${name}:stream`);
        return next(ctx, req, o);
      },
      publish: (next) => (ctx, m, o) => {
        order.push(`${name}:publish`);
        return next(ctx, m, o);
      },
    });
    const w: CallWrapper = (next) => (ctx, req, o) => {
      order.push("wrapper");
      return next(ctx, req, o);
    };
    const broker = createMemoryBroker();
    const c = client({
      transport: t.transport,
      registry,
      middleware: [mw("a"), mw("b")],
      wrappers: [w],
      broker,
    });
    await call(c);
    assert.deepEqual(order.splice(0), ["a:call", "b:call", "wrapper"]);
    await c.stream(background(), newRequest("echo", "Echo.s", undefined)).catch(() => {});
    assert.deepEqual(order.splice(0), ["a:stream", "b:stream"]);
    await c.publish(background(), newMessage("t", { x: 1 }));
    assert.deepEqual(order.splice(0), ["a:publish", "b:publish"]);
  });

  it("in-flight calls are tracked unless turned off; stats count them", async () => {
    for (const trackInflight of [true, false]) {
      const t = echoTransport();
      const { registry } = await echoRegistry();
      const c = client({ transport: t.transport, registry, trackInflight });
      const slow = call(c, "Echo.slow");
      await until(() => t.dials.length === 1, "the slow call to dial");
      await new Promise((r) => setTimeout(r, 10));
      const rows = c.inflight();
      if (trackInflight) {
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.side, "client");
        assert.equal(rows[0]!.service, "echo");
        assert.equal(rows[0]!.endpoint, "Echo.slow");
        assert.equal(c.stats().inflight, 1);
      } else {
        assert.deepEqual(rows, []);
        assert.equal(c.stats().inflight, 0);
      }
      t.release();
      await within(slow, 2000, "the slow call");
      assert.deepEqual(c.inflight(), []);
    }
  });

  it("breakers: none while off; with the option, a record per node called, with its state", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const c = client({ transport: t.transport, registry });
    await call(c);
    assert.deepEqual(c.breakers(), []);
    c.init({ breaker: { minRequests: 2 } });
    await call(c);
    const [b] = c.breakers();
    assert.equal(b?.service, "echo");
    assert.equal(b.state, "closed");
  });

  it("init() that leaves the watchdog as it was does not restart it (its ticks go on)", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const reports: string[] = [];
    const c = client({
      transport: t.transport,
      registry,
      watchdog: { thresholdMs: 20, intervalMs: 40, log: (m) => reports.push(m) },
    });
    const slow = call(c, "Echo.slow");
    // Re-initialised every 10 ms, more often than the watchdog ticks: a restart would never tick.
    const started = Date.now();
    while (reports.length === 0 && Date.now() - started < 2000) {
      c.init({ retries: 0 });
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(reports.length, 1, "the watchdog reported the stuck call within 2 s while init() ran");
    t.release();
    await within(slow, 5000, "the slow call once released");
  });

  it("the stall doctor's rows name a breaker only when it is open or half-open", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const c = client({ transport: t.transport, registry, breaker: { minRequests: 2 } });
    await call(c);
    const slow = call(c, "Echo.slow");
    await until(() => c.inflight().length === 1, "the slow call in the table");
    assert.ok(!("breaker" in c.inflight()[0]!), "a closed breaker is not named");
    t.release();
    await within(slow, 5000, "the slow call once released");
  });

  it("the watchdog reports a stuck call once, and stops with close()", async () => {
    const t = echoTransport();
    const { registry } = await echoRegistry();
    const reports: string[] = [];
    const c = newClient({
      transport: t.transport,
      registry,
      broker: createMemoryBroker(),
      watchdog: { thresholdMs: 30, intervalMs: 10, log: (m) => reports.push(m) },
    });
    const slow = call(c, "Echo.slow");
    await until(() => reports.length > 0, "the watchdog's report of the slow call");
    assert.match(reports[0]!, /^tsmicro stall doctor: client call echo\.Echo\.slow has been /);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(reports.length, 1, "reported once");
    t.release();
    await within(slow, 5000, "the slow call once released");
    await c.close();
    const after = reports.length;
    void call(c, "Echo.slow").catch(() => {});
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(reports.length, after, "no watchdog after close()");
    t.release();
  });

  it("with its own registry the client publishes through its own broker on it, disconnected by close()", async () => {
    const { registry } = await echoRegistry();
    const c = newClient({ registry, transport: echoTransport().transport });
    const broker = c.options().broker;
    assert.match(broker.name, /registry memory/);
    await c.close();
    const e = await broker.publish("t", { headers: {}, body: new Uint8Array() }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 503);
    assert.match(e.detail, /not connected/);
  });
});
