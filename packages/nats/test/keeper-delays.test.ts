/**
 * The registry keeper's `reconnectMs` is on the deadline helper (issue 11): `Infinity` means
 * no background retry, and a delay above 2^31−1 ms is not clamped to 1 ms. Before, a failed
 * write re-armed a raw setTimeout: Node warned (TimeoutOverflowWarning) and retried at once.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_TIMER_MS } from "tsmicro/plugin";
import { createNodeKeeper } from "../src/registry-keeper.js";

describe("nats registry keeper: user-set reconnectMs", () => {
  for (const [label, reconnectMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`reconnectMs: ${label} does not retry a failed write at once, without a warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      let writes = 0;
      const keeper = createNodeKeeper({
        reconnectMs,
        write: async () => {
          writes++;
          throw new Error("NATS is down");
        },
      });
      try {
        await assert.rejects(keeper.hold("k", "v", 60_000), /NATS is down/);
        await new Promise((r) => setTimeout(r, 60));
        assert.equal(writes, 1, `writes in 60 ms: ${writes}`);
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
