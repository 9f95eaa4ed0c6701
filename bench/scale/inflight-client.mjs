// The in-flight scale bench's client: one tsmicro client with one connection (poolSize 1)
// and the stall doctor on (in-flight table and watchdog), firing `calls` calls at once at the
// server's slow Scale.Hold endpoint and reporting memory, event-loop delay and every outcome.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { childConfig, report } from "../lib/stats.mjs";
import { memory, serveJobs } from "./child.mjs";

const { address, thresholdMs = 1000 } = childConfig();
let reported = 0;
const client = newClient({
  poolSize: 1,
  retries: 0,
  registry: createMemoryRegistry(),
  // The stall doctor on, counting its reports instead of printing 100,000 lines.
  watchdog: { thresholdMs, log: () => reported++ },
});
const body = { data: "a".repeat(100) };
const call = (timeoutMs) =>
  client.call(background(), newRequest("scale", "Scale.Hold", body), {
    address,
    requestTimeoutMs: timeoutMs,
  });
// Connect first (Echo answers at once), so every measured call shares the one open connection.
await client.call(background(), newRequest("scale", "Scale.Echo", body), { address });
report({ type: "ready", pid: process.pid });

let outcomes;
let delay;
let firedAt;
await serveJobs(
  {
    mem: () => {
      const m = { ...memory(), inflight: client.stats().inflight, connections: client.stats().connections };
      // The forced GCs above are the bench's, not the client's: the delay histogram restarts after them.
      delay?.reset();
      return m;
    },
    /** Starts `calls` calls with `timeoutMs` each; answers once all are started. */
    fire({ calls, timeoutMs }) {
      delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      reported = 0;
      firedAt = performance.now();
      outcomes = Array.from({ length: calls }, () => {
        const deadline = performance.now() + timeoutMs;
        return call(timeoutMs).then(
          (rsp) => ({ ok: rsp?.data?.length === body.data.length, late: 0 }),
          (err) => ({
            ok: false,
            code: err?.code ?? "?",
            late: performance.now() - deadline,
            detail: err?.detail,
          }),
        );
      });
      return { fireSeconds: (performance.now() - firedAt) / 1000 };
    },
    /** Waits for every outcome: counts, lateness past the deadline of the timed-out ones, loop delay. */
    async settle() {
      const results = await Promise.all(outcomes);
      delay.disable();
      const late = results
        .filter((r) => r.code === 408)
        .map((r) => r.late)
        .sort((a, b) => a - b);
      const codes = {};
      for (const r of results) if (!r.ok) codes[r.code] = (codes[r.code] ?? 0) + 1;
      const firstOther = results.find((r) => !r.ok && r.code !== 408)?.detail;
      const at = (p) => (late.length ? late[Math.min(late.length - 1, Math.floor(p * late.length))] : null);
      return {
        ok: results.filter((r) => r.ok).length,
        codes,
        firstOther,
        seconds: (performance.now() - firedAt) / 1000,
        lateP50: at(0.5),
        lateP99: at(0.99),
        lateMax: late.length ? late[late.length - 1] : null,
        loopMaxMs: delay.max / 1e6,
        loopP99Ms: delay.percentile(99) / 1e6,
        watchdogReports: reported,
      };
    },
  },
  report,
  () => client.close(),
);
