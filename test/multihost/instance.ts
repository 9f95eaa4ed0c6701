/**
 * One service host of the multi-host test, run inside its own network namespace: a service
 * bound to 0.0.0.0 (MICRO_SERVER_ADDRESS) in the registry named by MICRO_REGISTRY, with a
 * subscriber on the default http broker (also bound to 0.0.0.0) and one on NATS. Reports its
 * registered addresses and what it handled to the parent over IPC; also registers watch
 * probes on request (the registry-on-the-wire check).
 */
import { brokerFromAddress } from "@tsmicro/nats";
import { background, type Context, newRequest, newService } from "tsmicro";

const env = (name: string) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`instance: ${name} is not set`);
  return v;
};

const handled = { http: new Set<number>(), nats: new Set<number>() };
let served = 0;
const service = newService({
  name: env("MH_SERVICE"),
  registerTtlMs: Number(env("MH_TTL_MS")),
  registerIntervalMs: Number(env("MH_REFRESH_MS")),
  drainTimeoutMs: 2000,
  log: (line) => {
    if (!line.includes("listening on")) console.error(`[${env("MH_HOST")}] ${line}`);
  },
});

class Echo {
  async call(_ctx: Context, req: { seq: number }) {
    served++;
    await new Promise((r) => setTimeout(r, 2));
    return { node: service.nodeId, host: env("MH_HOST"), seq: req.seq };
  }
}

service.handle(new Echo());
service.subscribe<{ seq: number }>(env("MH_TOPIC_HTTP"), (_ctx, msg) => {
  handled.http.add(msg.seq);
});
const nats = brokerFromAddress("nats", { address: env("MH_NATS") });

await service.start();
await nats.connect();
await nats.subscribe(env("MH_TOPIC_NATS"), (event) => {
  handled.nats.add(JSON.parse(Buffer.from(event.message.body).toString("utf8")).seq);
});

// The http broker registers each subscription as a service named after its topic.
const brokerNodes = async () => {
  const found = await service.registry.getService(`tsmicro.broker.${env("MH_TOPIC_HTTP")}`).catch(() => []);
  return found.flatMap((s) => s.nodes.map((n) => n.address));
};

process.on("message", async (m: { cmd: string; name?: string; id?: string }) => {
  if (m.cmd === "stats") {
    const health = await service.client
      .call<{ checks: { registered: boolean } }>(background(), newRequest(service.name, "Debug.Health", {}), {
        address: service.address,
        retries: 0,
        requestTimeoutMs: 1000,
      })
      .catch(() => undefined);
    process.send?.({
      stats: {
        http: [...handled.http],
        nats: [...handled.nats],
        served,
        registered: health?.checks.registered ?? false,
      },
    });
  } else if (m.cmd === "probe" && m.name !== undefined && m.id !== undefined) {
    const t0 = Date.now();
    await service.registry.register(
      {
        name: m.name,
        version: "probe",
        metadata: {},
        endpoints: [],
        nodes: [{ id: m.id, address: service.advertised, metadata: {} }],
      },
      { ttlMs: 60_000 },
    );
    process.send?.({ probed: m.id, t0 });
  } else if (m.cmd === "broker-nodes") {
    process.send?.({ brokerNodes: await brokerNodes() });
  }
});
process.on("disconnect", () => process.exit(0));
// SIGTERM: deregister, drain, stop (what run() does, with the NATS subscriber closed too).
// Installed before "ready": the parent may signal as soon as it reads that message.
process.once("SIGTERM", async () => {
  await service.stop();
  await nats.disconnect();
  process.exit(0);
});
process.send?.({
  ready: service.nodeId,
  bound: service.address,
  advertised: service.advertised,
  brokerNodes: await brokerNodes(),
});
