/**
 * Node churn (issue 11): 10,000 register/deregister cycles while calls run. Every cycle's
 * node has its own address (nothing listens there, so calls to it fail at dial, get
 * ejected and retried on the live node). Afterwards the pool's per-address map and the
 * selector's ejection map are back at their starting size: churn does not grow them.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { newClient } from "../src/client/client.js";
import { newRequest } from "../src/client/request.js";
import { background, withTimeout } from "../src/context.js";
import { isMicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { createSelector } from "../src/selector/selector.js";
import { newService } from "../src/service/service.js";

const CYCLES = 10_000;

/** A loopback port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("churn", () => {
  it(`${CYCLES} register/deregister cycles while calls run leave the pool and selector maps at their starting size`, async () => {
    const registry = createMemoryRegistry();
    const svc = newService({ name: "churn", registry, registerIntervalMs: 60_000 });
    svc.handle({ Ping: async () => ({ ok: true }) }, { name: "Churn" });
    await svc.start();
    const selector = createSelector({ registry, ejectMs: 60_000 });
    const client = newClient({ registry, selector, retries: 5, backoff: () => 0 });
    const ctx = () => withTimeout(background(), 5000);
    try {
      await client.call(ctx(), newRequest("churn", "Churn.Ping", {}));
      const start = { addresses: client.stats().addresses, ejected: selector.stats?.().ejected };
      assert.equal(start.addresses, 1, "one live address at the start");
      assert.equal(start.ejected, 0);

      const port = await deadPort();
      let stop = false;
      let calls = 0;
      let failures = 0;
      const callers = Array.from({ length: 4 }, async () => {
        while (!stop) {
          await client.call(ctx(), newRequest("churn", "Churn.Ping", {})).then(
            () => calls++,
            (e: unknown) => {
              // Only a MicroError is an acceptable failure (every node dead at that moment).
              assert.ok(isMicroError(e), `a MicroError, got ${String(e)}`);
              failures++;
            },
          );
        }
      });
      let maxEjected = 0;
      let maxAddresses = 0;
      // A window of nodes stays registered a little while, so calls reach them, fail at
      // dial and eject them before they leave.
      const WINDOW = 16;
      const live: Parameters<typeof registry.register>[0][] = [];
      for (let i = 0; i < CYCLES + WINDOW; i++) {
        if (i < CYCLES) {
          // A distinct address per node (127.0.x.y, all loopback) and a distinct id.
          const node = {
            id: `dead-${i}`,
            address: `127.0.${Math.floor(i / 250) % 250}.${2 + (i % 250)}:${port}`,
            metadata: {},
          };
          const rec = { name: "churn", version: svc.version, metadata: {}, endpoints: [], nodes: [node] };
          await registry.register(rec);
          live.push(rec);
        }
        if (live.length > WINDOW || i >= CYCLES) await registry.deregister(live.shift()!);
        await new Promise((r) => setImmediate(r));
        maxEjected = Math.max(maxEjected, selector.stats?.().ejected ?? 0);
        maxAddresses = Math.max(maxAddresses, client.stats().addresses);
      }
      stop = true;
      await Promise.all(callers);
      // Dials to the last dead addresses may still be failing: wait for them to settle.
      const deadline = Date.now() + 5000;
      while (client.stats().addresses !== start.addresses && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(calls > 0, "calls ran during the churn");
      assert.ok(maxEjected > 0, "dead nodes were ejected during the churn (the map was used)");
      assert.ok(maxAddresses > 1, "dead addresses were dialled during the churn (the pool was used)");
      assert.equal(client.stats().addresses, start.addresses, "pool addresses back to the start");
      assert.equal(selector.stats?.().ejected, start.ejected, "selector ejections back to the start");
      assert.equal(selector.stats?.().inflight, 0, "no in-flight count left");
      console.log(
        `churn: ${CYCLES} cycles, ${calls} calls ok, ${failures} failed, peak ${maxEjected} ejected, ${maxAddresses} pool addresses`,
      );
    } finally {
      await client.close();
      selector.close();
      await svc.stop();
    }
  });
});
