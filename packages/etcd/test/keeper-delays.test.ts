/**
 * The lease keeper's `reconnectMs` is on the deadline helper (issue 11): `Infinity` means
 * no background retry, and a delay above 2^31−1 ms is not clamped to 1 ms. Before, a failed
 * write re-armed a raw setTimeout: Node warned (TimeoutOverflowWarning) and retried at once.
 * etcd is stood in for by a namespace whose writes fail (the retry timer is what is tested).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Namespace } from "etcd3";
import { MAX_TIMER_MS } from "tsmicro/plugin";
import { createLeaseKeeper } from "../src/lease-keeper.js";

describe("etcd lease keeper: user-set reconnectMs", () => {
  for (const [label, reconnectMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`reconnectMs: ${label} does not retry a failed write at once, without a warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      let puts = 0;
      const down = {
        put: () => ({
          value: async () => {
            puts++;
            throw new Error("etcd is down");
          },
        }),
      } as unknown as Namespace;
      const keeper = createLeaseKeeper(down, { reconnectMs, describe: "test registry" });
      try {
        // TTL 0: a plain put, no lease (the write path does not matter here, the retry does).
        await assert.rejects(keeper.hold("k", "v", 0), /could not register k/);
        await new Promise((r) => setTimeout(r, 60));
        assert.equal(puts, 1, `puts in 60 ms: ${puts}`);
        assert.deepEqual(
          warnings.filter((w) => w === "TimeoutOverflowWarning"),
          [],
        );
      } finally {
        keeper.close();
        process.off("warning", onWarning);
      }
    });
  }
});
