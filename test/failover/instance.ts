/**
 * One instance of the failover test's service, in its own process: registers in the registry
 * named by MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS with a short TTL, serves `Echo.call`, and
 * runs until SIGTERM (deregister, drain, exit) or SIGKILL.
 */
import { type Context, newService } from "tsmicro";

const ttlMs = Number(process.env.FAILOVER_TTL_MS ?? 3000);
const service = newService({
  name: process.env.FAILOVER_SERVICE ?? "failover",
  registerTtlMs: ttlMs,
  registerIntervalMs: Number(process.env.FAILOVER_REFRESH_MS ?? 1000),
  drainTimeoutMs: 5000,
  log: (message) => {
    // The last line start() logs: listening and registered.
    if (message.includes("listening on")) process.send?.({ ready: service.nodeId, address: service.address });
  },
});

class Echo {
  async call(_ctx: Context, req: { seq: number }) {
    // A little work, so that calls are in flight when the instance is stopped.
    await new Promise((r) => setTimeout(r, 2));
    return { node: service.nodeId, seq: req.seq };
  }
}

service.handle(new Echo());
// IPC keeps the process alive for the parent; runMain() exits it on SIGTERM after stop().
process.on("disconnect", () => process.exit(0));
await service.runMain();
