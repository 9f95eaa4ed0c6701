/**
 * Pinned behaviours of the subscription endpoint (broker/http-endpoint.ts) beyond its suite: its
 * states, one listener however often it is connected, the advertised address in every record,
 * registrations with their TTL refreshed on the interval (a failed refresh reported with the
 * label and topic), a refused advertise that closes the listener and lets a later connect try
 * again, an unsubscribe that deregisters once, and random UUIDs as ids by default.
 */
import assert from "node:assert/strict";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import type { SubscriptionEndpointOptions } from "../../src/broker/http-endpoint.js";
import type { SerialSubscription } from "../../src/broker/serial.js";
import { MicroError } from "../../src/errors.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry, Service } from "../../src/registry/registry.js";
import { until, within } from "../helpers.js";
import { endpointFor, nodesOf, probe, probeServer } from "../support/sub-endpoint.js";

const TOPIC = `pinned-endpoint-${process.pid}`;

/** A memory registry that counts registrations (with their TTL) and deregistrations, and can fail them. */
function countingRegistry() {
  const inner = createMemoryRegistry();
  const calls = { register: [] as [string, number | undefined][], deregister: [] as string[] };
  let failing: string | undefined;
  const registry: Registry = {
    ...inner,
    name: inner.name,
    register: (s: Service, o) => {
      calls.register.push([s.nodes[0]!.id, o?.ttlMs]);
      return failing === undefined ? inner.register(s, o) : Promise.reject(new Error(failing));
    },
    deregister: (s: Service) => {
      calls.deregister.push(s.nodes[0]!.id);
      return inner.deregister(s);
    },
  };
  return {
    registry,
    calls,
    fail: (m: string | undefined) => {
      failing = m;
    },
  };
}

/** A createServer option that keeps each server it makes in `made`. */
const recording =
  (made: http.Server[]): SubscriptionEndpointOptions["createServer"] =>
  (lookup) => {
    const s = probeServer(lookup);
    made.push(s);
    return s;
  };

describe("subscription endpoint (pinned)", { timeout: 20_000 }, () => {
  it("new, connected, disconnected; connecting again while connected makes no second listener", async () => {
    const made: http.Server[] = [];
    const ep = endpointFor(createMemoryRegistry(), { count: 0 }, { createServer: recording(made) });
    assert.equal(ep.state, "new");
    await Promise.all([ep.connect(), ep.connect()]);
    await ep.connect();
    assert.equal(ep.state, "connected");
    assert.equal(made.length, 1);
    await ep.disconnect();
    assert.equal(ep.state, "disconnected");
    await ep.connect();
    assert.equal(made.length, 2, "after a disconnect, connect listens afresh");
    await ep.disconnect();
  });

  it("records carry the advertised address; registrations their TTL, refreshed on the interval; a failed refresh is reported", async () => {
    const { registry, calls, fail } = countingRegistry();
    const errors: string[] = [];
    const ep = endpointFor(
      registry,
      { count: 0 },
      {
        advertise: "subs.internal",
        registerTtlMs: 1234,
        registerIntervalMs: 40,
        onError: (e) => errors.push(e.message),
      },
    );
    try {
      await ep.subscribe(TOPIC, async () => {});
      const [node] = await nodesOf(registry, TOPIC);
      assert.match(node!.address, /^subs\.internal:\d+$/);
      assert.notEqual(node!.address, "subs.internal:0", "the bound port");
      await until(() => calls.register.length >= 3, "two refreshes of the registration");
      assert.ok(
        calls.register.every(([id, ttl]) => id === `${TOPIC}-1` && ttl === 1234),
        JSON.stringify(calls.register),
      );
      fail("etcd unreachable");
      await until(() => errors.length > 0, "a refresh failure to be reported");
      assert.equal(
        errors[0],
        `test endpoint: could not refresh subscription to "${TOPIC}": etcd unreachable`,
      );
      fail(undefined);
    } finally {
      await ep.disconnect();
    }
    const after = calls.register.length;
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(calls.register.length, after, "no refresh after disconnect");
  });

  it("a refused advertise closes its listener; a failed start (the port taken) is forgotten and the next connect tries again", async () => {
    const made: http.Server[] = [];
    const createServer = recording(made);
    const refusing = endpointFor(
      createMemoryRegistry(),
      { count: 0 },
      { createServer, advertise: "0.0.0.0" },
    );
    for (const attempt of [1, 2]) {
      const e = await refusing.connect().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(e instanceof MicroError, String(e));
      assert.match(e.detail, /^the test endpoint's advertise option is "0\.0\.0\.0", a wildcard/);
      assert.equal(made.length, attempt, "each connect tried again");
      assert.equal(made[attempt - 1]!.listening, false, "the listener was closed");
    }
    await refusing.disconnect();

    const holder = createServer(() => undefined);
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const { port } = holder.address() as AddressInfo;
    const registry = createMemoryRegistry();
    const ep = endpointFor(registry, { count: 0 }, { address: `127.0.0.1:${port}` });
    try {
      const taken = await ep.connect().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.equal((taken as NodeJS.ErrnoException | undefined)?.code, "EADDRINUSE");
      await new Promise((r) => holder.close(r));
      await ep.connect();
      await ep.subscribe(TOPIC, async () => {});
      const [node] = await nodesOf(registry, TOPIC);
      assert.equal(node?.address, `127.0.0.1:${port}`, "listening on the freed port");
    } finally {
      await ep.disconnect();
    }
  });

  it("unsubscribe deregisters once and stops serving; ids are random UUIDs unless newId is given", async () => {
    const { registry, calls } = countingRegistry();
    const ep = endpointFor(registry, { count: 0 }, { newId: undefined });
    try {
      const sub = await ep.subscribe(TOPIC, async () => {}, { queue: "q" });
      assert.equal(sub.topic, TOPIC);
      assert.equal(sub.queue, "q");
      const [node] = await nodesOf(registry, TOPIC);
      assert.match(node!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(await probe(node!.address, node!.id), 200);
      await sub.unsubscribe();
      await sub.unsubscribe();
      assert.deepEqual(calls.deregister, [node!.id]);
      assert.equal(await probe(node!.address, node!.id), 404);
      const other = await ep.subscribe(TOPIC, async () => {});
      await ep.disconnect();
      assert.deepEqual(calls.deregister.length, 2, "disconnect deregisters what is left, once");
      await other.unsubscribe();
      assert.equal(calls.deregister.length, 2, "an unsubscribe after disconnect has nothing to do");
    } finally {
      await ep.disconnect();
    }
  });

  it("disconnect waits for a handler still running on an accepted message", async () => {
    let lookup: ((id: string) => SerialSubscription | undefined) | undefined;
    const ep = endpointFor(
      createMemoryRegistry(),
      { count: 0 },
      {
        createServer: (l) => {
          lookup = l;
          return probeServer(l);
        },
      },
    );
    let release = () => {};
    let finished = false;
    await ep.subscribe(TOPIC, async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      finished = true;
    });
    const sub = lookup!(`${TOPIC}-1`);
    assert.ok(sub !== undefined, "the subscription is served");
    sub.push({ headers: {}, body: new Uint8Array() });
    let disconnected = false;
    const disconnecting = ep.disconnect().then(() => {
      disconnected = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(disconnected, false, "still draining the running handler");
    release();
    await within(disconnecting, 5000, "the disconnect once the handler finished");
    assert.equal(finished, true);
  });

  it("a bad subscription is refused before anything listens; after disconnect subscribe is a 503 naming the broker", async () => {
    const made: http.Server[] = [];
    const ep = endpointFor(createMemoryRegistry(), { count: 0 }, { createServer: recording(made) });
    await assert.rejects(ep.subscribe("", async () => {}));
    assert.equal(made.length, 0);
    assert.equal(ep.state, "new");
    await ep.disconnect();
    const e = await ep
      .subscribe(TOPIC, async () => {})
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(e instanceof MicroError);
    assert.equal(e.code, 503);
    assert.equal(e.detail, `broker test endpoint is not connected: cannot subscribe to "${TOPIC}"`);
    assert.equal(made.length, 0);
  });
});
