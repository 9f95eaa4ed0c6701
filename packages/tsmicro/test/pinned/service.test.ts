/**
 * Pinned behaviours of a service (service/service.ts) on loopback with memory backends: its
 * options (defaults, checks, a name required), what it says before it starts, its registry
 * record, its states, one start only, subscriptions only before it, the health answer, the
 * registration's TTL and refresh (a failed refresh logged), and a stop that logs a failing hook
 * and a drain that ran out of time, deregistering before it drains.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMemoryBroker } from "../../src/broker/memory.js";
import { newRequest } from "../../src/client/request.js";
import { background } from "../../src/context.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry } from "../../src/registry/registry.js";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_REGISTER_INTERVAL_MS,
  DEFAULT_REGISTER_TTL_MS,
  type MicroService,
  newService,
  resolveServiceOptions,
  SERVICE_DEFAULTS,
  type ServiceOptions,
} from "../../src/service/service.js";
import { until, within } from "../helpers.js";

/** A memory registry that records each call (and can fail registrations). */
function spyRegistry() {
  const inner = createMemoryRegistry();
  const calls: string[] = [];
  let failRegister: string | undefined;
  const registry: Registry = {
    ...inner,
    name: inner.name,
    register: (s, o) => {
      calls.push(`register ttl=${o?.ttlMs}`);
      return failRegister === undefined ? inner.register(s, o) : Promise.reject(new Error(failRegister));
    },
    deregister: (s) => {
      calls.push("deregister");
      return inner.deregister(s);
    },
  };
  return {
    registry,
    calls,
    failRegister: (m: string | undefined) => {
      failRegister = m;
    },
  };
}

describe("service (pinned)", { timeout: 30_000 }, () => {
  const started: MicroService[] = [];
  after(async () => {
    for (const s of started) await s.stop();
  });
  const service = (o: Partial<ServiceOptions> & { registry: Registry }) => {
    const s = newService({ name: "pin", broker: createMemoryBroker(), log: () => {}, ...o });
    started.push(s);
    return s;
  };

  it("options: the defaults, a name required, each duration a number ≥ 0, undefined keeping the default", () => {
    assert.deepEqual(
      { ...SERVICE_DEFAULTS },
      {
        version: "latest",
        metadata: {},
        wrappers: [],
        middleware: [],
        registerTtlMs: 30_000,
        registerIntervalMs: 10_000,
        drainTimeoutMs: 10_000,
        trackInflight: true,
        dependencies: [],
        dependencyTimeoutMs: 30_000,
      },
    );
    assert.deepEqual(
      [DEFAULT_REGISTER_TTL_MS, DEFAULT_REGISTER_INTERVAL_MS, DEFAULT_DRAIN_TIMEOUT_MS],
      [30_000, 10_000, 10_000],
    );
    assert.throws(() => resolveServiceOptions({ name: "" }), /^TypeError: newService: a name is required$/);
    for (const k of [
      "registerTtlMs",
      "registerIntervalMs",
      "drainTimeoutMs",
      "dependencyTimeoutMs",
    ] as const) {
      assert.throws(
        () => resolveServiceOptions({ name: "x", [k]: -1 }),
        (e: unknown) =>
          e instanceof TypeError && e.message === `newService: option ${k} must be a number ≥ 0, got -1`,
      );
      assert.throws(() => resolveServiceOptions({ name: "x", [k]: "5" as never }), /got 5$/);
      assert.equal(resolveServiceOptions({ name: "x", [k]: 0 })[k], 0);
    }
    const o = resolveServiceOptions({ name: "x", version: undefined, registerTtlMs: 5 });
    assert.equal(o.version, "latest");
    assert.equal(o.registerTtlMs, 5);
    assert.ok(o.codecs.has("application/json") && o.codecs.has("application/msgpack"));
    assert.ok(Object.isFrozen(o));
  });

  it("before start: no address, no advertised address, state new; its node id is its name and a UUID", () => {
    const s = service({ registry: createMemoryRegistry() });
    assert.equal(s.state, "new");
    assert.throws(() => s.address, /^Error: service pin is not started$/);
    assert.throws(() => s.advertised, /^Error: service pin is not started$/);
    assert.match(s.nodeId, /^pin-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(s.version, "latest");
  });

  it("starts once: registered with its TTL, its record names transport, protocol and pid; subscribe only before start", async () => {
    const spy = spyRegistry();
    const logs: string[] = [];
    class Greeter {
      async hello() {
        return "hi";
      }
    }
    const s = service({
      registry: spy.registry,
      registerTtlMs: 4000,
      metadata: { team: "a" },
      log: (m) => logs.push(m),
    });
    s.handle(new Greeter());
    await s.start();
    assert.equal(s.state, "running");
    assert.deepEqual(spy.calls, ["register ttl=4000"]);
    assert.deepEqual(logs, [`tsmicro: pin (${s.nodeId}) listening on ${s.address}`]);
    const r = s.record();
    assert.equal(r.name, "pin");
    assert.deepEqual(r.metadata, { team: "a" });
    assert.deepEqual(r.nodes[0], {
      id: s.nodeId,
      address: s.advertised,
      metadata: { team: "a", transport: "tcp", protocol: "tsmicro", pid: String(process.pid) },
    });
    assert.deepEqual(
      r.endpoints.map((e) => e.name),
      ["Greeter.hello"],
      "the Debug endpoints are served, not advertised",
    );
    await assert.rejects(s.start(), /^Error: service pin was already started$/);
    assert.throws(
      () => s.subscribe("t", async () => {}),
      /^Error: service pin: subscribe to "t" before start\(\)$/,
    );
  });

  it("Debug.Health answers ok with its checks while running", async () => {
    const s = service({ registry: createMemoryRegistry() });
    await s.start();
    const h = await s.client.call<Record<string, any>>(background(), newRequest("pin", "Debug.Health", {}), {
      address: s.address,
    });
    assert.equal(h.status, "ok");
    assert.equal(h.service, "pin");
    assert.equal(h.node, s.nodeId);
    assert.equal(h.address, s.address);
    assert.deepEqual(h.checks, { listening: true, registered: true, broker: "unused" });
    assert.ok(h.uptimeMs >= 0 && h.uptimeMs < 60_000, `the time since start: ${h.uptimeMs} ms`);

    // With subscriptions, the broker is a readiness check of its own.
    const sub = service({ name: "pin-sub", registry: createMemoryRegistry() });
    sub.subscribe("t", async () => {});
    await sub.start();
    const hs = await sub.client.call<Record<string, any>>(
      background(),
      newRequest("pin-sub", "Debug.Health", {}),
      { address: sub.address },
    );
    assert.deepEqual(hs.checks, { listening: true, registered: true, broker: "connected" });
  });

  it("refreshes its registration on the interval; a failed refresh is logged and shows in health", async () => {
    const spy = spyRegistry();
    const logs: string[] = [];
    const s = service({ registry: spy.registry, registerIntervalMs: 30, log: (m) => logs.push(m) });
    await s.start();
    await until(() => spy.calls.length >= 3, "two refreshes");
    spy.failRegister("etcd unreachable");
    await until(() => logs.some((m) => m.includes("could not refresh")), "a failed refresh to be logged");
    assert.ok(logs.includes("tsmicro: pin could not refresh its registration: etcd unreachable"));
    const h = await s.client.call<Record<string, any>>(background(), newRequest("pin", "Debug.Health", {}), {
      address: s.address,
    });
    assert.equal(h.checks.registered, false);
    spy.failRegister(undefined);
    await s.stop();
    const n = spy.calls.length;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(spy.calls.length, n, "no refresh after stop");
  });

  it("stop: deregisters before draining, logs a failing hook and a drain that ran out of time, ends stopped", async () => {
    const spy = spyRegistry();
    const logs: string[] = [];
    let release = () => {};
    class Slow {
      async wait() {
        await new Promise<void>((r) => {
          release = r;
        });
        return "late";
      }
    }
    const s = service({
      registry: spy.registry,
      drainTimeoutMs: 50,
      log: (m) => logs.push(m),
      beforeStop: () => {
        throw new Error("hook broke");
      },
    });
    s.handle(new Slow());
    await s.start();
    const call = s.client
      .call(background(), newRequest("pin", "Slow.wait", {}), { address: s.address, requestTimeoutMs: 5000 })
      .catch((e: unknown) => e);
    await until(() => s.inflight().length === 1, "the slow request to arrive");
    await within(s.stop(), 5000, "the stop with a stuck request");
    assert.equal(s.state, "stopped");
    assert.deepEqual(spy.calls, ["register ttl=30000", "deregister"]);
    assert.ok(logs.includes("tsmicro: pin: beforeStop hook failed: hook broke"), logs.join("\n"));
    assert.ok(
      logs.includes("tsmicro: pin stopped with 1 request(s) still running after 50 ms"),
      logs.join("\n"),
    );
    release();
    await within(call, 5000, "the released call");
    await s.stop();
  });

  it("a stop before start leaves it stopped; it cannot be started then", async () => {
    const s = service({ registry: createMemoryRegistry() });
    await s.stop();
    assert.equal(s.state, "stopped");
    await assert.rejects(s.start(), /was already started/);
  });
});
