// The fan-out bench's client: registers `services` services × 3 nodes (the addresses of real
// listeners) in one registry, then a fresh tsmicro client (its own registry reader, selector
// and pool) calls every service once, all at once — the first calls: registry read, selector
// cache fill, a dial to the chosen node — and then once more (warm). Reports per-call latency,
// the wall time of each fan-out and the client's heap growth (selector cache, registry reader
// and the connections it opened).

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { createLocalRegistry } from "tsmicro/plugin";
import { childConfig, report } from "../lib/stats.mjs";
import { memory, serveJobs } from "./child.mjs";

const { addresses, services, etcd, nats } = childConfig();
const NODES = 3;

async function registries(kind, prefix) {
  if (kind === "memory") {
    const r = createMemoryRegistry();
    return { writer: r, reader: () => r, cleanup: async () => {} };
  }
  if (kind === "local") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tsmicro-bench-scale-"));
    return {
      writer: createLocalRegistry({ dir }),
      reader: () => createLocalRegistry({ dir }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (kind === "etcd") {
    const { createEtcdRegistry } = await import("@tsmicro/etcd");
    return {
      writer: createEtcdRegistry({ endpoints: etcd, prefix: `/${prefix}/` }),
      reader: () => createEtcdRegistry({ endpoints: etcd, prefix: `/${prefix}/` }),
      cleanup: async () => {},
    };
  }
  if (kind === "nats") {
    const { createNatsRegistry, createNatsConnection } = await import("@tsmicro/nats");
    const bucket = prefix;
    return {
      writer: createNatsRegistry({ servers: nats, bucket }),
      reader: () => createNatsRegistry({ servers: nats, bucket }),
      cleanup: async () => {
        const { Kvm } = await import("@nats-io/kv");
        const nc = await createNatsConnection({ servers: nats });
        await (await new Kvm(nc).open(bucket)).destroy().catch(() => {});
        await nc.close();
      },
    };
  }
  throw new Error(`unknown registry ${kind}`);
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null;
};

async function fanOut(client, names, body) {
  const t0 = performance.now();
  const latencies = [];
  let errors = 0;
  let firstError;
  await Promise.all(
    names.map(async (name) => {
      const t = performance.now();
      try {
        const rsp = await client.call(background(), newRequest(name, "Scale.Echo", body), {
          requestTimeoutMs: 30_000,
        });
        if (rsp?.data !== body.data) throw new Error("wrong echo");
        latencies.push(performance.now() - t);
      } catch (err) {
        errors++;
        firstError ??= String(err?.message ?? err);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  return { wallMs, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), errors, firstError };
}

report({ type: "ready" });
await serveJobs(
  {
    async run({ registry }) {
      const prefix = `tsmicro-bench-scale-${process.pid}-${registry}`;
      const { writer, reader, cleanup } = await registries(registry, prefix);
      try {
        const names = Array.from({ length: services }, (_, i) => `${prefix}-svc-${i}`);
        // Node j of service i is listener j × services + i: every node its own address.
        const records = names.map((name, i) => ({
          name,
          version: "1.0.0",
          metadata: {},
          endpoints: [],
          nodes: Array.from({ length: NODES }, (_, j) => ({
            id: `${name}-${j}`,
            address: addresses[(j * services + i) % addresses.length],
            metadata: {},
          })),
        }));
        const t0 = performance.now();
        for (let i = 0; i < records.length; i += 50) {
          await Promise.all(records.slice(i, i + 50).map((r) => writer.register(r, { ttlMs: 300_000 })));
        }
        const registerS = (performance.now() - t0) / 1000;
        const before = memory();
        const readerRegistry = reader();
        const client = newClient({ registry: readerRegistry, retries: 0 });
        const body = { data: "a".repeat(100) };
        const first = await fanOut(client, names, body);
        const warm = await fanOut(client, names, body);
        const after = memory();
        const connections = client.stats().connections;
        await client.close();
        if (readerRegistry !== writer) await readerRegistry.close?.();
        for (let i = 0; i < records.length; i += 50) {
          await Promise.all(records.slice(i, i + 50).map((r) => writer.deregister(r).catch(() => {})));
        }
        await writer.close?.();
        return {
          registry,
          registerS,
          first,
          warm,
          heapMb: (after.heap - before.heap) / 2 ** 20,
          connections,
        };
      } finally {
        await cleanup();
      }
    },
  },
  report,
);
