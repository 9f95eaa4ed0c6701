/**
 * The registry conformance suite: every Registry implementation runs it unchanged
 * (memory, local, etcd, NATS). Call it from a test file:
 *
 *   registryConformance("local", { create: () => createLocalRegistry({ dir }) });
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Node, Registry, RegistryEvent, Service, Watcher } from "../registry/registry.js";
import { createSelector } from "../selector/selector.js";

export interface RegistryConformanceOptions {
  /** A registry on a shared backend; called more than once (two instances must see each other). */
  create(): Registry | Promise<Registry>;
  /** Shortest TTL the backend honours, ms (etcd leases are whole seconds). @default 300 */
  ttlMs?: number;
  /** How long after the TTL an expiry may take to show, ms. @default 2000 */
  expirySlackMs?: number;
  /** Bound on waiting for one watch event, ms. @default 5000 */
  eventTimeoutMs?: number;
  /** How many services × nodes the "many" case registers. @default 50 × 3 */
  many?: { services: number; nodes: number };
  /** Bound on a registration reaching a selector through the watch, ms. @default 250 */
  selectorLatencyMs?: number;
}

export function registryConformance(name: string, options: RegistryConformanceOptions): void {
  const ttlMs = options.ttlMs ?? 300;
  const slack = options.expirySlackMs ?? 2000;
  const eventTimeout = options.eventTimeoutMs ?? 5000;
  const many = options.many ?? { services: 50, nodes: 3 };
  const selectorLatencyMs = options.selectorLatencyMs ?? 250;
  const opened: Registry[] = [];
  const open = async () => {
    const r = await options.create();
    opened.push(r);
    return r;
  };
  // Unique names per run: backends may be shared with other runs.
  const uniq = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;

  describe(`registry conformance: ${name}`, { timeout: 60_000 }, () => {
    after(async () => {
      await Promise.all(opened.map((r) => r.close()));
    });

    it("registers, gets and deregisters a service", async () => {
      const r = await open();
      const svc = service(uniq("greeter"), ["n1", "n2"]);
      await r.register(svc, { ttlMs: 30_000 });
      const got = await r.getService(svc.name);
      assert.equal(got.length, 1);
      assert.deepEqual(got[0]!.nodes.map((n) => n.id).sort(), ["n1", "n2"]);
      assert.ok(
        (await r.listServices()).some((s) => s.name === svc.name),
        "listServices includes it",
      );
      await r.deregister({ ...svc, nodes: [svc.nodes[0]!] });
      assert.deepEqual(
        (await r.getService(svc.name))[0]!.nodes.map((n) => n.id),
        ["n2"],
      );
      await r.deregister(svc);
      assert.deepEqual(await r.getService(svc.name), []);
    });

    it("round-trips metadata, endpoints and versions", async () => {
      const r = await open();
      const base = service(uniq("meta"), ["a"]);
      const v1: Service = {
        ...base,
        version: "1.0.0",
        metadata: { team: "core", "x-unicode": "grüße" },
        endpoints: [
          {
            name: "Greeter.Hello",
            request: { name: "string" },
            response: { msg: "string" },
            metadata: { idempotent: "true" },
          },
        ],
        nodes: [{ id: "a", address: "127.0.0.1:1234", metadata: { zone: "z1" } }],
      };
      const v2: Service = {
        ...v1,
        version: "2.0.0",
        nodes: [{ id: "b", address: "127.0.0.1:1235", metadata: {} }],
      };
      await r.register(v1, { ttlMs: 30_000 });
      await r.register(v2, { ttlMs: 30_000 });
      const got = (await r.getService(v1.name)).sort((a, b) => a.version.localeCompare(b.version));
      assert.equal(got.length, 2, "one entry per version");
      assert.deepEqual(got[0], v1);
      assert.deepEqual(got[1], v2);
      await r.deregister(v1);
      await r.deregister(v2);
    });

    it("expires a node that stops refreshing its registration", async () => {
      const r = await open();
      const svc = service(uniq("ttl"), ["x"]);
      const keep = service(svc.name, ["y"]);
      await r.register(svc, { ttlMs });
      await r.register(keep, { ttlMs: 60_000 });
      assert.equal((await r.getService(svc.name))[0]?.nodes.length, 2);
      const deadline = Date.now() + ttlMs + slack;
      for (;;) {
        const nodes = (await r.getService(svc.name))[0]?.nodes.map((n) => n.id) ?? [];
        if (!nodes.includes("x")) {
          assert.deepEqual(nodes, ["y"], "the refreshed node stays");
          break;
        }
        assert.ok(
          Date.now() < deadline,
          `node x still registered ${ttlMs + slack} ms after its ${ttlMs} ms TTL`,
        );
        await delay(50);
      }
      await r.deregister(keep);
    });

    it("keeps a node alive while it is re-registered within its TTL", async () => {
      const r = await open();
      const svc = service(uniq("refresh"), ["x"]);
      const end = Date.now() + ttlMs * 3;
      while (Date.now() < end) {
        await r.register(svc, { ttlMs });
        await delay(ttlMs / 3);
        assert.equal((await r.getService(svc.name))[0]?.nodes.length, 1, "refreshed node vanished");
      }
      await r.deregister(svc);
    });

    it("watch reports create, update and delete in order", async () => {
      const r = await open();
      const name = uniq("watched");
      const w = r.watch({ service: name });
      const events = collect(w);
      await delay(50);
      const svc = service(name, ["w1"]);
      await r.register(svc, { ttlMs: 30_000 });
      await events.waitFor(1, eventTimeout, "create");
      await r.register(
        { ...svc, nodes: [{ ...svc.nodes[0]!, metadata: { changed: "yes" } }] },
        { ttlMs: 30_000 },
      );
      await events.waitFor(2, eventTimeout, "update");
      await r.deregister(svc);
      await events.waitFor(3, eventTimeout, "delete");
      w.stop();
      const got = events.list.map(
        (e) => `${e.type}:${e.service.name}:${e.service.nodes.map((n) => n.id).join(",")}`,
      );
      assert.deepEqual(got, [`create:${name}:w1`, `update:${name}:w1`, `delete:${name}:w1`]);
      assert.equal(events.list[1]!.service.nodes[0]!.metadata.changed, "yes");
    });

    it("watch reports the expiry of a node as a delete", async () => {
      const r = await open();
      const name = uniq("expiring");
      const w = r.watch({ service: name });
      const events = collect(w);
      await delay(50);
      await r.register(service(name, ["e1"]), { ttlMs });
      await events.waitFor(2, ttlMs + slack + eventTimeout, "create then delete on expiry");
      w.stop();
      assert.deepEqual(
        events.list.map((e) => e.type),
        ["create", "delete"],
      );
    });

    it("filters watch events by service and ends the watch on stop", async () => {
      const r = await open();
      const mine = uniq("mine");
      const w = r.watch({ service: mine });
      const events = collect(w);
      await delay(50);
      const other = service(uniq("other"), ["o"]);
      await r.register(other, { ttlMs: 30_000 });
      await r.register(service(mine, ["m"]), { ttlMs: 30_000 });
      await events.waitFor(1, eventTimeout, "create of mine");
      await delay(100);
      assert.deepEqual(
        events.list.map((e) => e.service.name),
        [mine],
      );
      w.stop();
      await withTimeout(events.done, eventTimeout, "watch iteration to end after stop()");
      await r.deregister(other);
      await r.deregister(service(mine, ["m"]));
    });

    it("holds many services and nodes", async () => {
      const r = await open();
      const prefix = uniq("many");
      const all: Service[] = [];
      for (let i = 0; i < many.services; i++) {
        all.push(
          service(
            `${prefix}-${i}`,
            Array.from({ length: many.nodes }, (_, j) => `n${j}`),
          ),
        );
      }
      await Promise.all(all.map((s) => r.register(s, { ttlMs: 60_000 })));
      const listed = (await r.listServices()).filter((s) => s.name.startsWith(prefix));
      assert.equal(listed.length, many.services);
      assert.ok(listed.every((s) => s.nodes.length === many.nodes));
      await Promise.all(all.map((s) => r.deregister(s)));
      assert.equal((await r.listServices()).filter((s) => s.name.startsWith(prefix)).length, 0);
    });

    it("a selector follows the watch: nodes added and removed show up without polling", async () => {
      const writer = await open();
      const base = await open();
      let gets = 0;
      const reader: Registry = {
        name: base.name,
        register: (s, o) => base.register(s, o),
        deregister: (s) => base.deregister(s),
        getService: (n) => {
          gets++;
          return base.getService(n);
        },
        listServices: () => base.listServices(),
        watch: (o) => base.watch(o),
        close: () => base.close(),
      };
      const name = uniq("selected");
      await writer.register(service(name, ["a"]), { ttlMs: 30_000 });
      const selector = createSelector({ registry: reader });
      let offered: readonly Node[] = [];
      const strategy = (nodes: readonly Node[]) => {
        offered = nodes;
        return () => nodes[0]!;
      };
      const ids = async () => {
        await selector.select(name, { strategy });
        return offered.map((n) => n.id).sort();
      };
      try {
        assert.deepEqual(await ids(), ["a"]);
        await delay(200); // the selector starts its watch on the first select
        // From the write's start to the selector offering the change.
        const shows = async (t0: number, want: string[], what: string) => {
          while (JSON.stringify(await ids()) !== JSON.stringify(want)) {
            const ms = performance.now() - t0;
            assert.ok(ms < eventTimeout, `${what}: selector still offers ${offered.map((n) => n.id)}`);
            await delay(2);
          }
          return performance.now() - t0;
        };
        let t0 = performance.now();
        await writer.register(service(name, ["b"]), { ttlMs: 30_000 });
        const added = await shows(t0, ["a", "b"], "node b added");
        t0 = performance.now();
        await writer.deregister(service(name, ["a"]));
        const removed = await shows(t0, ["b"], "node a removed");
        assert.equal(gets, 1, "one fetch on the first select, then only watch events");
        assert.ok(
          added < selectorLatencyMs && removed < selectorLatencyMs,
          `selector saw the add after ${added.toFixed(1)} ms and the removal after ${removed.toFixed(1)} ms (bound ${selectorLatencyMs} ms)`,
        );
      } finally {
        selector.close();
        await writer.deregister(service(name, ["a", "b"]));
      }
    });

    it("two registries on the same backend see each other", async () => {
      const a = await open();
      const b = await open();
      const name = uniq("shared");
      const w = b.watch({ service: name });
      const events = collect(w);
      await delay(50);
      await a.register(service(name, ["from-a"]), { ttlMs: 30_000 });
      assert.deepEqual(
        (await b.getService(name))[0]?.nodes.map((n) => n.id),
        ["from-a"],
      );
      await events.waitFor(1, eventTimeout, "b's watch to see a's registration");
      await a.deregister(service(name, ["from-a"]));
      await events.waitFor(2, eventTimeout, "b's watch to see a's deregistration");
      w.stop();
    });
  });
}

function service(name: string, nodeIds: string[]): Service {
  return {
    name,
    version: "latest",
    metadata: {},
    endpoints: [],
    nodes: nodeIds.map((id, i) => ({ id, address: `127.0.0.1:${10_000 + i}`, metadata: {} })),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function collect(w: Watcher) {
  const list: RegistryEvent[] = [];
  let notify: (() => void) | undefined;
  const done = (async () => {
    for await (const e of w) {
      list.push(e);
      notify?.();
    }
  })();
  return {
    list,
    done,
    async waitFor(n: number, ms: number, what: string) {
      const end = Date.now() + ms;
      while (list.length < n) {
        const left = end - Date.now();
        if (left <= 0) {
          throw new Error(
            `timed out after ${ms} ms waiting for watch event #${n} (${what}); got: ${JSON.stringify(list.map((e) => e.type))}`,
          );
        }
        await withTimeout(
          new Promise<void>((r) => {
            notify = r;
          }),
          left,
          `watch event #${n} (${what})`,
        ).catch(() => {});
      }
    },
  };
}
