/**
 * The store's `sweepIntervalMs` is on the deadline helper (issue 11): `Infinity` means no
 * sweep and a period above 2^31−1 ms is not clamped to 1 ms. Before, a raw setInterval ran
 * the DELETE sweep every millisecond, with a TimeoutOverflowWarning.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { MAX_TIMER_MS } from "tsmicro/plugin";
import { createPostgresStore, DEFAULT_POSTGRES_URL } from "../src/index.js";

const schema = `tsmicro_test_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
after(async () => {
  const c = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

describe("postgres store: user-set sweepIntervalMs", () => {
  for (const [label, sweepIntervalMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`sweepIntervalMs: ${label} serves reads and writes, without a warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      const store = createPostgresStore({ schema, sweepIntervalMs });
      try {
        await store.write({ key: "k", value: new Uint8Array([1]), metadata: {} });
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(
          (await store.read("k")).map((r) => r.key),
          ["k"],
        );
        assert.deepEqual(
          warnings.filter((w) => w === "TimeoutOverflowWarning"),
          [],
        );
      } finally {
        await store.close();
        process.off("warning", onWarning);
      }
    });
  }
});
