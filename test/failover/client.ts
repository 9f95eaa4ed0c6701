/**
 * The failover test's client, in its own process: steady load on `Echo.call` (a few callers
 * in a closed loop, bounded by the parent), through the registry named by MICRO_REGISTRY.
 * Calls are idempotent, so they may be retried on another node. It counts every attempt
 * that failed at the transport level (the selector's `mark` with an error) and every call
 * that failed in the end, with timestamps, and reports them to the parent on request.
 */
import { background, newClient, newRequest } from "tsmicro";
import { createSelector, registryFromEnv, type Selector } from "tsmicro/plugin";

const service = process.env.FAILOVER_SERVICE ?? "failover";
const callers = Number(process.env.FAILOVER_CALLERS ?? 4);
const maxCalls = Number(process.env.FAILOVER_MAX_CALLS ?? 200_000);
const registry = registryFromEnv();
const inner = createSelector({ registry });
const attemptFailures: { t: number; node: string; detail: string }[] = [];
const counted: Selector = {
  select: inner.select,
  mark(svc, node, error) {
    if (error !== undefined) attemptFailures.push({ t: Date.now(), node: node.id, detail: String(error) });
    inner.mark(svc, node, error);
  },
  started: inner.started!,
  finished: inner.finished!,
  close: inner.close,
};
const client = newClient({ registry, selector: counted, retries: 2, requestTimeoutMs: 3000 });

const stats = {
  /** When the registry's watch reported each node gone. */
  removed: {} as Record<string, number>,
  calls: 0,
  ok: 0,
  failed: [] as { t: number; detail: string }[],
  perNode: {} as Record<string, number>,
};
let running = false;
const watcher = registry.watch({ service });
void (async () => {
  for await (const e of watcher) {
    if (e.type === "delete") for (const n of e.service.nodes) stats.removed[n.id] = Date.now();
  }
})();

async function caller(): Promise<void> {
  while (running && stats.calls < maxCalls) {
    const seq = stats.calls++;
    try {
      const rsp = await client.call<{ node: string }>(
        background(),
        newRequest(service, "Echo.call", { seq }),
      );
      stats.ok++;
      stats.perNode[rsp.node] = (stats.perNode[rsp.node] ?? 0) + 1;
    } catch (err) {
      stats.failed.push({ t: Date.now(), detail: (err as Error).message });
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

let load: Promise<unknown> | undefined;
process.on("message", async (msg: { cmd: string }) => {
  if (msg.cmd === "start") {
    running = true;
    load = Promise.all(Array.from({ length: callers }, caller));
    process.send?.({ started: true });
  } else if (msg.cmd === "stats") {
    process.send?.({ stats: { ...stats, attemptFailures } });
  } else if (msg.cmd === "stop") {
    running = false;
    await load;
    process.send?.({ stats: { ...stats, attemptFailures }, stopped: true });
    watcher.stop();
    await client.close();
    await registry.close();
    process.exit(0);
  }
});
process.send?.({ ready: true });
