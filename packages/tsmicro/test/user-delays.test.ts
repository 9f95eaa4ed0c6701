/**
 * Every delay a user sets is on the deadline helper (issue 11), beyond the call deadline and
 * the dial: `Infinity` means "no limit" and a value above 2^31−1 ms is not clamped to 1 ms.
 * Each case below failed before: a long registration TTL expired the node at once, an
 * infinite idle timeout threw in the server's connection handler, an infinite refresh
 * interval re-registered every millisecond, an infinite drain cut running calls after 1 ms.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry } from "../src/registry/registry.js";
import { newService } from "../src/service/service.js";
import { createTcpTransport } from "../src/transport/tcp.js";
import { MAX_TIMER_MS } from "../src/util/deadline.js";
import { delay, within } from "./helpers.js";

class Work {
  async run(_ctx: unknown, req: { ms: number }) {
    await delay(req.ms);
    return { ok: true };
  }
}

describe("user-set delays", () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  after(() => {
    process.off("warning", onWarning);
    assert.deepEqual(
      warnings.filter((w) => w.startsWith("TimeoutOverflowWarning")),
      [],
      "no timer was clamped",
    );
  });

  it("a registration TTL above 2^31−1 ms does not expire the node at once (memory registry)", async () => {
    const registry = createMemoryRegistry();
    const svc = { name: "ttl-long", version: "1", metadata: {}, endpoints: [], nodes: [] };
    await registry.register(
      { ...svc, nodes: [{ id: "n1", address: "127.0.0.1:1", metadata: {} }] },
      { ttlMs: MAX_TIMER_MS + 1000 },
    );
    await delay(30);
    const [found] = await registry.getService("ttl-long");
    assert.deepEqual(
      found?.nodes.map((n) => n.id),
      ["n1"],
      "still registered",
    );
    await registry.close();
  });

  it("idleTimeoutMs: Infinity serves calls (no idle limit)", async () => {
    const registry = createMemoryRegistry();
    const s = newService({
      name: "idle-forever",
      registry,
      transport: createTcpTransport({ idleTimeoutMs: Number.POSITIVE_INFINITY }),
    });
    s.handle(new Work());
    await s.start();
    const client = newClient({ registry, retries: 0 });
    try {
      const r = await within(
        client.call(background(), newRequest("idle-forever", "Work.run", { ms: 1 })),
        5000,
        "a call to a server without idle limit",
      );
      assert.deepEqual(r, { ok: true });
    } finally {
      await client.close();
      await s.stop();
      await registry.close();
    }
  });

  it("registerIntervalMs: Infinity registers once and never refreshes", async () => {
    const inner = createMemoryRegistry();
    let registrations = 0;
    const registry: Registry = {
      ...inner,
      name: inner.name,
      register: (svc, o) => {
        registrations++;
        return inner.register(svc, o);
      },
      deregister: (svc) => inner.deregister(svc),
      getService: (n) => inner.getService(n),
      listServices: () => inner.listServices(),
      watch: (o) => inner.watch(o),
      close: () => inner.close(),
    };
    const s = newService({ name: "no-refresh", registry, registerIntervalMs: Number.POSITIVE_INFINITY });
    s.handle(new Work());
    await s.start();
    await delay(50);
    await s.stop();
    await inner.close();
    assert.equal(registrations, 1, `registrations in 50 ms: ${registrations}`);
  });

  it("drainTimeoutMs: Infinity lets a running call finish before stop closes the listener", async () => {
    const registry = createMemoryRegistry();
    const logs: string[] = [];
    let finished = false;
    let running!: () => void;
    const started = new Promise<void>((r) => {
      running = r;
    });
    const s = newService({
      name: "drain-forever",
      registry,
      drainTimeoutMs: Number.POSITIVE_INFINITY,
      log: (m) => logs.push(m),
    });
    s.handle(
      {
        async run() {
          running();
          await delay(150);
          finished = true;
          return { ok: true };
        },
      },
      { name: "Slow" },
    );
    await s.start();
    const client = newClient({ registry, retries: 0 });
    try {
      const call = client
        .call(background(), newRequest("drain-forever", "Slow.run", {}))
        .catch((e: unknown) => e);
      await within(started, 5000, "the handler to start");
      await within(s.stop(), 5000, "stop to drain");
      assert.equal(finished, true, "stop waited for the running handler");
      assert.deepEqual(
        logs.filter((l) => l.includes("still running")),
        [],
      );
      // The reply written as the drain ended reaches the caller (the listener's close once
      // destroyed the socket before its batched frames went out: "connection closed").
      assert.deepEqual(await call, { ok: true }, "the drained call's reply arrived");
    } finally {
      await client.close();
      await registry.close();
    }
  });
});
