/**
 * The streams broker's `connectTimeoutMs` is on the deadline helper (issue 11): `Infinity`
 * means no limit and a value above 2^31−1 ms is not clamped to 1 ms. Before, a raw
 * setTimeout aborted the connect wait after 1 ms, with a TimeoutOverflowWarning.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { MAX_TIMER_MS } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createRedisBroker } from "../src/index.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("redis streams broker: user-set connectTimeoutMs", () => {
  for (const [label, connectTimeoutMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`connectTimeoutMs: ${label} connects, subscribes and delivers, without a warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      const keyPrefix = `tsmicro-test-${randomUUID().slice(0, 8)}:`;
      const broker = createRedisBroker({ url, keyPrefix, connectTimeoutMs });
      try {
        await broker.connect();
        const got: number[][] = [];
        const sub = await broker.subscribe("t", (e) => {
          got.push([...e.message.body]);
        });
        await broker.publish("t", { headers: {}, body: new Uint8Array([7]) });
        await waitFor("the message to arrive", 5000, async () => (got.length > 0 ? true : undefined));
        assert.deepEqual(got, [[7]]);
        await sub.unsubscribe();
        assert.deepEqual(
          warnings.filter((w) => w === "TimeoutOverflowWarning"),
          [],
        );
      } finally {
        await broker.disconnect();
        const r = new Redis(url);
        const keys = await r.keys(`${keyPrefix}*`);
        if (keys.length > 0) await r.del(...keys);
        r.disconnect();
        process.off("warning", onWarning);
      }
    });
  }
});
