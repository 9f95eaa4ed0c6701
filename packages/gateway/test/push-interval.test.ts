/**
 * The dashboard's `pushIntervalMs` is on the deadline helper (issue 11): `Infinity` pushes
 * once when a stream opens and never again, and a period above 2^31−1 ms is not clamped to
 * 1 ms. Before, a raw setInterval pushed stats every millisecond, with a TimeoutOverflowWarning.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createGateway } from "@tsmicro/gateway";
import { createMemoryRegistry } from "tsmicro";
import { MAX_TIMER_MS } from "tsmicro/plugin";

describe("dashboard pushIntervalMs set by the user", () => {
  for (const [label, pushIntervalMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    test(`pushIntervalMs: ${label} pushes stats once per stream, without a warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      const registry = createMemoryRegistry();
      const gateway = createGateway({ address: "127.0.0.1:0", registry, dashboard: { pushIntervalMs } });
      const ctl = new AbortController();
      try {
        const at = await gateway.listen();
        const res = await fetch(`http://${at}/_/events`, { signal: ctl.signal });
        assert.equal(res.status, 200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = "";
        // Read whatever arrives in 150 ms (the bound), then count the stats pushes.
        const until = Date.now() + 150;
        while (Date.now() < until) {
          const chunk = await Promise.race([
            reader.read(),
            new Promise<undefined>((r) => setTimeout(() => r(undefined), Math.max(1, until - Date.now()))),
          ]);
          if (chunk === undefined) break;
          if (chunk.done) break;
          text += decoder.decode(chunk.value, { stream: true });
        }
        const pushes = text.split("\n").filter((l) => l === "event: stats").length;
        assert.equal(pushes, 1, `stats pushes in 150 ms: ${pushes}`);
        assert.deepEqual(
          warnings.filter((w) => w === "TimeoutOverflowWarning"),
          [],
        );
      } finally {
        ctl.abort();
        await gateway.close();
        await registry.close();
        process.off("warning", onWarning);
      }
    });
  }
});
