// Discovery at scale: a registry holding 1,000 services × 3 nodes on each backend (memory,
// local, etcd, NATS), and a selector on it. Measures, per backend:
//   - getService latency (p50/p99) on a random service,
//   - the selector's cache memory once every service has been selected (heap growth),
//   - watch → selector: from the start of a register (or deregister) of one node to the
//     selector offering (or no longer offering) it, p50/p99; the selector never polls the
//     registry, so this is the registry's watch path end to end.
// Target: watch → selector p99 < 50 ms on etcd and NATS.
//
//   node bench/discovery/run.mjs [--quick] [--services 1000] [--samples 200] [--only memory,etcd]
//
// etcd is started by the bench itself (the `etcd` binary, free loopback ports, temporary data
// directory; `bash scripts/services.sh` installs it); NATS is 127.0.0.1:4222 or TSMICRO_TEST_NATS,
// with a bucket of its own that is destroyed afterwards. Everything binds or dials 127.0.0.1.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// Heap figures need a forced GC: run again with --expose-gc.
if (typeof globalThis.gc !== "function") {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  process.exit(r.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    services: { type: "string" },
    samples: { type: "string" },
    only: { type: "string" },
  },
});
const SERVICES = Number(args.services ?? (args.quick ? 100 : 1000));
const NODES = 3;
const SAMPLES = Number(args.samples ?? (args.quick ? 30 : 200));
const BACKENDS = (args.only ?? "memory,local,etcd,nats").split(",");
const NATS = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";

const { createMemoryRegistry } = await import("tsmicro");
// Backend factories are in tsmicro/plugin (the application entry does not export them).
const { createLocalRegistry, createSelector } = await import("tsmicro/plugin");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => (Number.isNaN(x) ? "–" : x < 10 ? x.toFixed(2) : x.toFixed(1));

function serviceRecord(name, nodeIds) {
  return {
    name,
    version: "1.0.0",
    metadata: { team: "bench" },
    endpoints: [{ name: "Greeter.Hello", request: { name: "string" }, response: { msg: "string" } }],
    nodes: nodeIds.map((id, i) => ({
      id,
      address: `127.0.0.1:${20_000 + i}`,
      metadata: { zone: `z${i % 3}`, transport: "tcp", protocol: "tsmicro" },
    })),
  };
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

function heapMb() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Registers everything, then measures getService, the selector's cache and watch → selector. */
async function measure(label, writer, reader) {
  const prefix = `bench-${process.pid}`;
  const names = Array.from({ length: SERVICES }, (_, i) => `${prefix}-svc-${i}`);
  const records = names.map((n, i) =>
    serviceRecord(
      n,
      [0, 1, 2].map((j) => `${n}-node-${j}-${i}`),
    ),
  );
  let t = performance.now();
  await inBatches(records, 50, (r) => writer.register(r, { ttlMs: 120_000 }));
  const registerS = (performance.now() - t) / 1000;

  // getService on a registry that has never read these services before (no warm cache).
  const gets = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = names[Math.floor(Math.random() * names.length)];
    t = performance.now();
    const got = await reader.getService(name);
    gets.push(performance.now() - t);
    if (got[0]?.nodes.length !== NODES)
      throw new Error(`${label}: getService(${name}) gave ${JSON.stringify(got)}`);
  }

  // The selector's cache: every service selected once.
  const before = heapMb();
  const selector = createSelector({ registry: reader });
  let offered = [];
  const strategy = (nodes) => {
    offered = nodes;
    return () => nodes[0];
  };
  await inBatches(names, 50, (n) => selector.select(n, { strategy }));
  const cacheMb = heapMb() - before;
  await sleep(300); // the selector's watch is set up on the first select

  // Watch → selector: add a node, wait until offered; remove it, wait until gone.
  const offers = async (name, id) => {
    await selector.select(name, { strategy });
    return offered.some((n) => n.id === id);
  };
  const waitFor = async (name, id, want, t0) => {
    for (;;) {
      if ((await offers(name, id)) === want) return performance.now() - t0;
      if (performance.now() - t0 > 5000)
        throw new Error(`${label}: ${id} not ${want ? "added" : "removed"} after 5 s`);
      await new Promise((r) => setImmediate(r));
    }
  };
  const added = [];
  const removed = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = names[Math.floor(Math.random() * names.length)];
    const extra = serviceRecord(name, [`${name}-extra-${i}`]);
    let t0 = performance.now();
    await writer.register(extra, { ttlMs: 120_000 });
    added.push(await waitFor(name, extra.nodes[0].id, true, t0));
    t0 = performance.now();
    await writer.deregister(extra);
    removed.push(await waitFor(name, extra.nodes[0].id, false, t0));
    await sleep(5);
  }
  selector.close();
  await inBatches(records, 50, (r) => writer.deregister(r));
  return { label, registerS, gets, cacheMb, added, removed };
}

const results = [];
const problems = [];
for (const backend of BACKENDS) {
  const cleanup = [];
  try {
    let writer;
    let reader;
    if (backend === "memory") {
      writer = reader = createMemoryRegistry();
    } else if (backend === "local") {
      const dir = mkdtempSync(path.join(os.tmpdir(), "tsmicro-bench-reg-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      writer = createLocalRegistry({ dir });
      reader = createLocalRegistry({ dir });
    } else if (backend === "etcd") {
      const { startEtcd } = await import("@tsmicro/etcd/testing");
      const { createEtcdRegistry } = await import("@tsmicro/etcd");
      const etcd = await startEtcd({ private: true });
      cleanup.push(() => etcd.stop());
      writer = createEtcdRegistry({ endpoints: etcd.endpoint });
      reader = createEtcdRegistry({ endpoints: etcd.endpoint });
    } else if (backend === "nats") {
      const { createNatsRegistry, createNatsConnection } = await import("@tsmicro/nats");
      const bucket = `tsmicro-bench-${process.pid}`;
      cleanup.push(async () => {
        const { Kvm } = await import("@nats-io/kv");
        const nc = await createNatsConnection({ servers: NATS });
        await (await new Kvm(nc).open(bucket)).destroy().catch(() => {});
        await nc.close();
      });
      writer = createNatsRegistry({ servers: NATS, bucket });
      reader = createNatsRegistry({ servers: NATS, bucket });
    } else {
      throw new Error(`unknown backend ${backend}`);
    }
    cleanup.unshift(async () => {
      await writer.close();
      if (reader !== writer) await reader.close();
    });
    process.stderr.write(
      `discovery bench: ${backend}, ${SERVICES} × ${NODES} nodes, ${SAMPLES} samples...\n`,
    );
    results.push(await measure(backend, writer, reader));
  } catch (err) {
    problems.push(`${backend}: ${err.message}`);
  } finally {
    for (const c of cleanup)
      await Promise.resolve()
        .then(c)
        .catch(() => {});
  }
}

console.log(
  `\n### Discovery: ${SERVICES} services × ${NODES} nodes, ${SAMPLES} samples (${os.cpus().length} cores, node ${process.version})\n`,
);
console.log(
  "| registry | register all (s) | getService p50 / p99 (ms) | watch → selector, add p50 / p99 (ms) | remove p50 / p99 (ms) | selector cache (MB) |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.label} | ${r.registerS.toFixed(2)} | ${ms(pct(r.gets, 50))} / ${ms(pct(r.gets, 99))} | ${ms(pct(r.added, 50))} / ${ms(pct(r.added, 99))} | ${ms(pct(r.removed, 50))} / ${ms(pct(r.removed, 99))} | ${r.cacheMb.toFixed(1)} |`,
  );
}
console.log(
  "\nwatch → selector is timed from the start of the register/deregister call to the selector offering the change (it never polls the registry).",
);
for (const r of results.filter((x) => x.label === "etcd" || x.label === "nats")) {
  const p99 = Math.max(pct(r.added, 99), pct(r.removed, 99));
  console.log(
    `target ${r.label}: watch → selector p99 ${ms(p99)} ms ${p99 < 50 ? "< 50 ms: met" : "≥ 50 ms: MISSED"}`,
  );
}
for (const p of problems) console.log(`not measured: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
