/**
 * Periodic work and retries whose period a user sets run on the deadline helper (issue 11):
 * `Infinity` means "never" and a period above 2^31−1 ms is chained, not clamped to 1 ms.
 * Before, each of these options built a raw setInterval/setTimeout: Node warned
 * (TimeoutOverflowWarning) and ran the work every millisecond (a poll that expired leases
 * at once, a registration refresh loop, a watchdog scan loop, a hedge sent at once).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { createHttpBroker } from "../src/broker/http.js";
import { hedged } from "../src/client/hedge.js";
import { createLocalRegistry } from "../src/registry/local.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Registry, RegistryEvent } from "../src/registry/registry.js";
import { createMemoryStore } from "../src/store/memory.js";
import { MAX_TIMER_MS, startInterval, stopInterval } from "../src/util/deadline.js";
import { startWatchdog } from "../src/watchdog.js";
import { delay, within } from "./helpers.js";

const LONG = MAX_TIMER_MS + 1000;
const PERIODS = [
  ["Infinity", Number.POSITIVE_INFINITY],
  ["2^31-1 + 1000 ms", LONG],
] as const;

describe("user-set periods", () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  after(() => process.off("warning", onWarning));
  // Each test checks its own warnings, so that each fails by itself on a clamped timer.
  beforeEach(() => {
    warnings.length = 0;
  });
  afterEach(async () => {
    await delay(1); // a warning is emitted on the next tick
    assert.deepEqual(
      warnings.filter((w) => w.startsWith("TimeoutOverflowWarning")),
      [],
      "no timer was clamped",
    );
  });

  it("startInterval: Infinity sets no timer, a long period is chained, a short one repeats", async () => {
    assert.equal(
      startInterval(() => {}, Number.POSITIVE_INFINITY),
      undefined,
    );
    let long = 0;
    let short = 0;
    const a = startInterval(() => long++, LONG);
    const b = startInterval(() => short++, 5);
    await delay(60);
    stopInterval(a);
    stopInterval(b);
    stopInterval(undefined);
    assert.equal(long, 0, `a ${LONG} ms interval ran ${long} times in 60 ms`);
    assert.ok(short >= 2, `a 5 ms interval ran ${short} times in 60 ms`);
    const stopped = short;
    await delay(20);
    assert.equal(short, stopped, "stopInterval stopped it");
  });

  for (const [label, pollMs] of PERIODS) {
    it(`local registry pollMs: ${label} never polls (an expired lease is not swept by a 1 ms loop)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsmicro-poll-"));
      const registry = createLocalRegistry({ dir, pollMs });
      try {
        const w = await registry.watch();
        const events: RegistryEvent[] = [];
        void (async () => {
          for await (const e of w) events.push(e);
        })();
        await registry.register(
          {
            name: "poll-never",
            version: "1",
            metadata: {},
            endpoints: [],
            nodes: [{ id: "n1", address: "127.0.0.1:1", metadata: {} }],
          },
          { ttlMs: 10 },
        );
        await delay(150);
        w.stop();
        // The create comes from fs.watch; a delete could only come from a poll.
        assert.deepEqual(
          events.filter((e) => e.type === "delete").length,
          0,
          `events in 150 ms: ${events.map((e) => e.type).join(", ")}`,
        );
      } finally {
        await registry.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it(`http broker registerIntervalMs: ${label} registers a subscription once`, async () => {
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
      const broker = createHttpBroker({ registry, registerIntervalMs: pollMs });
      try {
        await broker.connect();
        const sub = await broker.subscribe(`intervals-${Math.random().toString(36).slice(2)}`, () => {});
        await delay(60);
        assert.equal(registrations, 1, `registrations in 60 ms: ${registrations}`);
        await sub.unsubscribe();
      } finally {
        await broker.disconnect();
        await inner.close();
      }
    });

    it(`memory store sweepIntervalMs: ${label} serves reads and writes`, async () => {
      const store = createMemoryStore({ sweepIntervalMs: pollMs });
      await store.write({ key: "k", value: new Uint8Array([1]), metadata: {} });
      await delay(20);
      assert.deepEqual(
        (await store.read("k")).map((r) => r.key),
        ["k"],
      );
      await store.close();
    });

    it(`watchdog intervalMs: ${label} never scans`, async () => {
      let scans = 0;
      const stop = startWatchdog(
        () => {
          scans++;
          return [];
        },
        { thresholdMs: pollMs, intervalMs: pollMs },
      );
      await delay(60);
      stop();
      assert.equal(scans, 0, `scans in 60 ms: ${scans}`);
    });
  }

  it("hedge delayMs above 2^31-1 ms sends no hedge while the first leg runs", async () => {
    let legs = 0;
    const answer = await within(
      hedged(
        async () => {
          legs++;
          await delay(60);
          return "first";
        },
        "hedge-long",
        { idempotent: true },
        { delayMs: LONG, max: 3 },
        5000,
      ),
      5000,
      "the hedged call",
    );
    assert.equal(answer, "first");
    assert.equal(legs, 1, `legs sent: ${legs}`);
  });
});
