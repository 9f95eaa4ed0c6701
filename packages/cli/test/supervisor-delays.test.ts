/**
 * The supervisor's delays are on the deadline helper (issue 11): `stopTimeoutMs: Infinity`
 * waits for the drain however long it takes, and a value above 2^31−1 ms is not clamped to
 * 1 ms. Before, a raw setTimeout sent SIGKILL 1 ms after SIGTERM, with a TimeoutOverflowWarning.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MAX_TIMER_MS } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { Prefixer } from "../src/run/prefix.js";
import { Supervisor } from "../src/run/supervisor.js";

// Drains for 150 ms on SIGTERM, then says so and exits by itself.
const SLOW_DRAIN = `
process.on("SIGTERM", () => setTimeout(() => { console.log("drained"); process.exit(0); }, 150));
console.log("ready");
setInterval(() => {}, 1000);
`;

describe("run supervisor: user-set delays", () => {
  for (const [label, stopTimeoutMs] of [
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^31-1 + 1000 ms", MAX_TIMER_MS + 1000],
  ] as const) {
    it(`stopTimeoutMs: ${label} lets the service drain, no SIGKILL, no warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on("warning", onWarning);
      const dir = mkdtempSync(join(tmpdir(), "tsmicro-supervisor-"));
      const entry = join(dir, "main.mjs");
      writeFileSync(entry, SLOW_DRAIN);
      const lines: string[] = [];
      const supervisor = new Supervisor(
        [{ name: "slow", entry, watch: [], env: {} }],
        dir,
        new Prefixer(["slow"], (l) => lines.push(l), false),
        { stopTimeoutMs },
      );
      try {
        supervisor.start();
        await waitFor("the service to start", 10_000, async () =>
          lines.some((l) => l.endsWith(" ready")) ? true : undefined,
        );
        await supervisor.stop();
        assert.ok(
          lines.some((l) => l.endsWith(" drained")),
          `the service drained: ${lines.join(" / ")}`,
        );
        assert.deepEqual(
          lines.filter((l) => l.includes("SIGKILL")),
          [],
        );
        assert.deepEqual(
          warnings.filter((w) => w === "TimeoutOverflowWarning"),
          [],
        );
      } finally {
        await supervisor.stop();
        rmSync(dir, { recursive: true, force: true });
        process.off("warning", onWarning);
      }
    });
  }
});
