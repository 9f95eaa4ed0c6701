/**
 * The client host of the multi-host test, in its own network namespace: a few callers in a
 * closed loop on `Echo.call` through the registry named by MICRO_REGISTRY, counting every
 * attempt that failed at the transport level (the selector's `mark`) and every call that
 * failed in the end; a publisher on the default http broker and on NATS; and a registry
 * watcher that timestamps the watch probes other hosts register.
 */
import { brokerFromAddress } from "@tsmicro/nats";
import { background, newClient, newRequest } from "tsmicro";
import {
  createHttpBroker,
  createSelector,
  createTcpTransport,
  registryFromEnv,
  type Selector,
} from "tsmicro/plugin";

const env = (name: string) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`client: ${name} is not set`);
  return v;
};

const service = env("MH_SERVICE");
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
// keepaliveMs: a host whose link is down answers nothing, not even a RST.
const client = newClient({
  registry,
  selector: counted,
  transport: createTcpTransport({ keepaliveMs: 250 }),
  retries: 4,
  requestTimeoutMs: 8000,
  dialTimeoutMs: 1000,
});
const http = createHttpBroker({ registry });
const nats = brokerFromAddress("nats", { address: env("MH_NATS") });

const stats = {
  calls: 0,
  ok: 0,
  failed: [] as { t: number; detail: string }[],
  perNode: {} as Record<string, number>,
  /** Last time each node answered. */
  lastOk: {} as Record<string, number>,
  /** When the registry's watch reported each node gone / back. */
  removed: {} as Record<string, number>,
  added: {} as Record<string, number>,
  probes: {} as Record<string, number>,
};

const watcher = registry.watch();
void (async () => {
  try {
    for await (const e of watcher) {
      const now = Date.now();
      for (const n of e.service.nodes) {
        if (e.service.name === service) {
          if (e.type === "delete") stats.removed[n.id] = now;
          else if (e.type === "create") stats.added[n.id] = now;
        } else if (e.service.name.startsWith(`${service}-probe`) && e.type === "create") {
          stats.probes[n.id] ??= now;
        }
      }
    }
  } catch (err) {
    console.error(`[client] watch ended: ${(err as Error).message}`);
  }
})();

let running = false;
async function caller(): Promise<void> {
  while (running) {
    const seq = stats.calls++;
    try {
      const rsp = await client.call<{ node: string }>(
        background(),
        newRequest(service, "Echo.call", { seq }),
      );
      stats.ok++;
      stats.perNode[rsp.node] = (stats.perNode[rsp.node] ?? 0) + 1;
      stats.lastOk[rsp.node] = Date.now();
    } catch (err) {
      stats.failed.push({ t: Date.now(), detail: (err as Error).message });
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function publish(n: number, from: number) {
  const failed: string[] = [];
  let http_ = 0;
  let nats_ = 0;
  for (let i = from; i < from + n; i++) {
    const body = new TextEncoder().encode(JSON.stringify({ seq: i }));
    const headers = { "content-type": "application/json" };
    await http.publish(env("MH_TOPIC_HTTP"), { headers, body }).then(
      () => http_++,
      (err: Error) => failed.push(`http ${i}: ${err.message}`),
    );
    await nats.publish(env("MH_TOPIC_NATS"), { headers, body }).then(
      () => nats_++,
      (err: Error) => failed.push(`nats ${i}: ${err.message}`),
    );
  }
  return { http: http_, nats: nats_, failed };
}

let load: Promise<unknown> | undefined;
const snapshot = () => ({ ...stats, attemptFailures });
process.on("message", async (m: { cmd: string; n?: number; from?: number; name?: string }) => {
  if (m.cmd === "start") {
    running = true;
    load = Promise.all(Array.from({ length: Number(env("MH_CALLERS")) }, caller));
    process.send?.({ started: true });
  } else if (m.cmd === "stats") {
    process.send?.({ stats: snapshot() });
  } else if (m.cmd === "publish") {
    process.send?.({ published: await publish(m.n ?? 0, m.from ?? 0) });
  } else if (m.cmd === "lookup" && m.name !== undefined) {
    const found = await registry.getService(m.name).then(
      (s) => s.flatMap((v) => v.nodes.map((n) => n.id)),
      () => [] as string[],
    );
    process.send?.({ lookup: found });
  } else if (m.cmd === "stop") {
    running = false;
    await load;
    process.send?.({ stats: snapshot(), stopped: true });
    watcher.stop();
    await Promise.allSettled([client.close(), http.disconnect(), nats.disconnect()]);
    await registry.close();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
await http.connect();
await nats.connect();
process.send?.({ ready: true });
