// Scale: counts and memory, not speed (issue 16). Three parts, each bounded in count and time,
// every process on 127.0.0.1:
//   connections — `--connections` (10,000) idle client connections to one tsmicro server, from
//                 `--clients` (4) processes: memory per idle connection on both ends (target
//                 ≤ 20 KiB), then every connection calls once per second for `--call-seconds`:
//                 p50/p99 latency.
//   inflight    — `--calls` (100,000) calls in flight at once on one client connection to a
//                 slow handler, stall doctor on: memory per call in flight, the event loop's
//                 worst delay, every call answered; then as many calls with a `--deadline-ms`
//                 (3000) deadline the handler never meets: each one ends with a 408 near its
//                 deadline and the server drops every handler.
//   fanout      — one client calling `--services` (1,000) services × 3 nodes (each node its
//                 own listener) through the memory, local, etcd and NATS registries, all at
//                 once: first-call (cold) and warm latency, client memory.
//
//   node bench/scale/run.mjs [--quick] [--only connections,inflight,fanout] [--registries memory,local,etcd,nats]
//
// etcd is started by the bench (the `etcd` binary, free loopback ports); NATS is 127.0.0.1:4222
// or TSMICRO_TEST_NATS, with a bucket of its own destroyed afterwards.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { spawnChild } from "./child.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    connections: { type: "string" },
    clients: { type: "string" },
    "call-seconds": { type: "string" },
    calls: { type: "string" },
    "deadline-ms": { type: "string" },
    services: { type: "string" },
    registries: { type: "string" },
  },
});
const quick = args.quick;
const CONNECTIONS = Number(args.connections ?? (quick ? 1000 : 10_000));
const CLIENTS = Number(args.clients ?? 4);
const CALL_SECONDS = Number(args["call-seconds"] ?? (quick ? 2 : 5));
const CALLS = Number(args.calls ?? (quick ? 10_000 : 100_000));
const DEADLINE_MS = Number(args["deadline-ms"] ?? 3000);
const SERVICES = Number(args.services ?? (quick ? 100 : 1000));
const REGISTRIES = (args.registries ?? "memory,local,etcd,nats").split(",");
const PARTS = (args.only ?? "connections,inflight,fanout").split(",");
const NATS = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";

const KiB = 1024;
const kib = (bytes) => (bytes / KiB).toFixed(1);
const ms = (x) => (x === null || x === undefined ? "–" : x < 10 ? x.toFixed(2) : x.toFixed(0));
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const out = [];
const log = (line = "") => {
  out.push(line);
  console.log(line);
};
const progress = (msg) => process.stderr.write(`scale: ${msg}\n`);

async function stopAll(children) {
  await Promise.all(children.map((c) => c?.stop()));
}

async function connections() {
  const server = spawnChild("server.mjs", { maxConnections: CONNECTIONS + 100 });
  const clients = [];
  try {
    const { address } = await server.ready();
    const s0 = await server.ask({ type: "mem" });
    const per = Math.ceil(CONNECTIONS / CLIENTS);
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(spawnChild("conn-client.mjs", { address, count: Math.min(per, CONNECTIONS - i * per) }));
    }
    await Promise.all(clients.map((c) => c.ready()));
    progress(`connections: dialing ${CONNECTIONS} from ${CLIENTS} processes (load ${load()})`);
    const t0 = performance.now();
    const dialed = await Promise.all(clients.map((c) => c.ask({ type: "dial" }, 120_000)));
    const dialS = (performance.now() - t0) / 1000;
    const total = dialed.reduce((n, d) => n + d.dialed, 0);
    await sleep(1000);
    const s1 = await server.ask({ type: "mem" });
    const c1 = await Promise.all(clients.map((c) => c.ask({ type: "mem" })));
    const usable = c1.reduce((n, m) => n + m.usable, 0);
    const clientDelta = (key) => c1.reduce((n, m) => n + (m[key] - m.base[key]), 0) / total;
    progress(`connections: ${total} open, ${usable} usable; calls for ${CALL_SECONDS} s`);
    const calls = await Promise.all(
      clients.map((c) => c.ask({ type: "calls", seconds: CALL_SECONDS }, CALL_SECONDS * 1000 + 60_000)),
    );
    const latencies = calls.flatMap((c) => c.latencies).sort((a, b) => a - b);
    const errors = calls.reduce((n, c) => n + c.errors, 0);
    const s2 = await server.ask({ type: "mem" });
    const serverDelta = (m, key) => (m[key] - s0[key]) / total;

    log(
      `### ${CONNECTIONS.toLocaleString("en-US")} client connections to one service (${CLIENTS} client processes)`,
    );
    log();
    log("| measure | value |");
    log("|---|---:|");
    log(
      `| connections open / usable after 1 s | ${total.toLocaleString("en-US")} / ${usable.toLocaleString("en-US")} |`,
    );
    log(`| time to dial all (${CLIENTS} processes, 200 dials at a time each) | ${dialS.toFixed(1)} s |`);
    log(`| server heap per idle connection | ${kib(serverDelta(s1, "heap"))} KiB |`);
    log(`| server external (Buffers) per idle connection | ${kib(serverDelta(s1, "external"))} KiB |`);
    log(`| server RSS per idle connection | ${kib(serverDelta(s1, "rss"))} KiB |`);
    log(
      `| server heap / RSS per idle connection after the call phase | ${kib(serverDelta(s2, "heap"))} / ${kib(serverDelta(s2, "rss"))} KiB |`,
    );
    log(
      `| server RSS total (idle, ${total.toLocaleString("en-US")} connections) | ${(s1.rss / 2 ** 20).toFixed(0)} MiB |`,
    );
    log(`| client heap per connection (TcpConnection + socket) | ${kib(clientDelta("heap"))} KiB |`);
    log(`| client RSS per connection | ${kib(clientDelta("rss"))} KiB |`);
    log(
      `| calls: 1 per connection per second for ${CALL_SECONDS} s | ${latencies.length.toLocaleString("en-US")} answered, ${errors} errors |`,
    );
    log(
      `| call latency p50 / p99 / max | ${ms(pct(latencies, 0.5) / 1000)} / ${ms(pct(latencies, 0.99) / 1000)} / ${ms(latencies.at(-1) / 1000)} ms |`,
    );
    log();
    const target =
      serverDelta(s1, "rss") <= 20 * KiB && serverDelta(s1, "heap") + serverDelta(s1, "external") <= 20 * KiB;
    log(
      `Target ≤ 20 KiB per idle connection (server RSS, and heap + external): ${target ? "met" : "NOT met"}. ` +
        "Memory after two forced GCs, minus the same process before any connection; kernel socket buffers are not in RSS.",
    );
    if (errors) log(`First call error: ${calls.find((c) => c.firstError)?.firstError}`);
    log();
  } finally {
    await stopAll([...clients, server]);
  }
}

async function inflight() {
  const server = spawnChild("server.mjs", { maxInflightPerConnection: CALLS + 1000 });
  let client;
  try {
    const { address } = await server.ready();
    client = spawnChild("inflight-client.mjs", { address, thresholdMs: 1000 });
    await client.ready();
    const s0 = await server.ask({ type: "mem" });
    const c0 = await client.ask({ type: "mem" });
    progress(`inflight: firing ${CALLS} calls (load ${load()})`);
    const t0 = performance.now();
    const fired = await client.ask({ type: "fire", calls: CALLS, timeoutMs: 600_000 }, 120_000);
    // Bounded wait for every call to reach the handler.
    let held = 0;
    while (held < CALLS) {
      if (performance.now() - t0 > 120_000)
        throw new Error(`inflight: only ${held} of ${CALLS} calls reached the handler in 120 s`);
      await sleep(200);
      held = (await server.ask({ type: "held" })).held;
    }
    const allInS = (performance.now() - t0) / 1000;
    await sleep(1500); // the watchdog (threshold 1 s, a scan every 500 ms) reports each held call
    const s1 = await server.ask({ type: "mem" }, 120_000);
    const c1 = await client.ask({ type: "mem" }, 120_000);
    const released = await server.ask({ type: "release" });
    const settled = await client.ask({ type: "settle" }, 120_000);
    progress(`inflight: ${settled.ok} ok of ${CALLS}; deadline phase`);

    // Deadlines: the same number of calls, none answered before its deadline.
    const d0 = performance.now();
    await client.ask({ type: "fire", calls: CALLS, timeoutMs: DEADLINE_MS }, 120_000);
    const timedOut = await client.ask({ type: "settle" }, DEADLINE_MS + 120_000);
    let left = CALLS;
    while (left > 0 && performance.now() - d0 < DEADLINE_MS + 60_000) {
      left = (await server.ask({ type: "held" })).held;
      if (left > 0) await sleep(200);
    }
    const per = (a, b, key) => (a[key] - b[key]) / CALLS;

    log(
      `### ${CALLS.toLocaleString("en-US")} calls in flight on one client connection (slow handler, stall doctor on)`,
    );
    log();
    log("| measure | value |");
    log("|---|---:|");
    log(
      `| time to start all calls / until all reached the handler | ${fired.fireSeconds.toFixed(1)} s / ${allInS.toFixed(1)} s |`,
    );
    log(`| client: in flight / connections | ${c1.inflight.toLocaleString("en-US")} / ${c1.connections} |`);
    log(
      `| client heap / RSS per call in flight | ${per(c1, c0, "heap").toFixed(0)} / ${per(c1, c0, "rss").toFixed(0)} B |`,
    );
    log(
      `| server heap / RSS per request in flight | ${per(s1, s0, "heap").toFixed(0)} / ${per(s1, s0, "rss").toFixed(0)} B |`,
    );
    log(
      `| client RSS / server RSS with all in flight | ${(c1.rss / 2 ** 20).toFixed(0)} / ${(s1.rss / 2 ** 20).toFixed(0)} MiB |`,
    );
    log(
      `| answered after release (of ${CALLS.toLocaleString("en-US")}; held ${released.released.toLocaleString("en-US")}) | ${settled.ok.toLocaleString("en-US")}${Object.keys(settled.codes).length ? `, failed: ${JSON.stringify(settled.codes)} ${settled.firstOther ?? ""}` : ""} |`,
    );
    log(`| start → all answered | ${settled.seconds.toFixed(1)} s |`);
    log(
      `| client event loop: worst delay / p99 (release → all answered) | ${ms(settled.loopMaxMs)} / ${ms(settled.loopP99Ms)} ms |`,
    );
    log(`| stall doctor reports (threshold 1 s) | ${settled.watchdogReports.toLocaleString("en-US")} |`);
    log(
      `| deadline ${DEADLINE_MS} ms, handler never answers: ended with 408 | ${(timedOut.codes["408"] ?? 0).toLocaleString("en-US")} of ${CALLS.toLocaleString("en-US")}${timedOut.ok ? `, ${timedOut.ok} answered` : ""}${Object.keys(timedOut.codes).filter((c) => c !== "408").length ? `, other: ${JSON.stringify(timedOut.codes)}` : ""} |`,
    );
    log(
      `| 408 after its deadline by p50 / p99 / max | ${ms(timedOut.lateP50)} / ${ms(timedOut.lateP99)} / ${ms(timedOut.lateMax)} ms |`,
    );
    log(`| client event loop worst delay (deadline phase) | ${ms(timedOut.loopMaxMs)} ms |`);
    log(`| server handlers still held after the deadlines (cancel frames) | ${left} |`);
    log();
    log(
      "Memory after two forced GCs, minus the same process with the connection open and idle. " +
        "The server's maxInflightPerConnection (default 4,096) is raised to the call count for this run.",
    );
    log();
  } finally {
    await stopAll([client, server]);
  }
}

async function fanout() {
  const nodes = [];
  let client;
  let etcd;
  const rows = [];
  const problems = [];
  try {
    const listeners = 3 * SERVICES;
    for (let i = 0; i < 3; i++)
      nodes.push(spawnChild("fanout-nodes.mjs", { listeners: Math.ceil(listeners / 3) }, []));
    const addresses = (await Promise.all(nodes.map((n) => n.ready(60_000)))).flatMap((m) => m.addresses);
    let etcdEndpoint;
    if (REGISTRIES.includes("etcd")) {
      try {
        const { startEtcd } = await import("@tsmicro/etcd/testing");
        etcd = await startEtcd({ private: true });
        etcdEndpoint = etcd.endpoint;
      } catch (err) {
        problems.push(`etcd: ${err.message}`);
      }
    }
    client = spawnChild("fanout-client.mjs", {
      addresses,
      services: SERVICES,
      etcd: etcdEndpoint,
      nats: NATS,
    });
    await client.ready();
    for (const registry of REGISTRIES) {
      if (registry === "etcd" && !etcdEndpoint) continue;
      progress(`fanout: ${registry}, ${SERVICES} × 3 (load ${load()})`);
      try {
        rows.push(await client.ask({ type: "run", registry }, 300_000));
      } catch (err) {
        problems.push(`${registry}: ${err.message.split("\n")[0]}`);
      }
    }
  } finally {
    await stopAll([client, ...nodes]);
    await etcd?.stop();
  }
  log(`### Fan-out: one client calls ${SERVICES.toLocaleString("en-US")} services × 3 nodes, all at once`);
  log();
  log(
    "| registry | register all (s) | first fan-out: wall (ms) | first call p50 / p99 (ms) | warm fan-out: wall (ms) | warm call p50 / p99 (ms) | client heap growth (MiB) | connections | errors |",
  );
  log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    log(
      `| ${r.registry} | ${r.registerS.toFixed(2)} | ${ms(r.first.wallMs)} | ${ms(r.first.p50)} / ${ms(r.first.p99)} | ${ms(r.warm.wallMs)} | ${ms(r.warm.p50)} / ${ms(r.warm.p99)} | ${r.heapMb.toFixed(1)} | ${r.connections} | ${r.first.errors + r.warm.errors}${r.first.firstError ? ` (${r.first.firstError})` : ""} |`,
    );
  }
  log();
  log(
    "Each node is its own TCP listener (3 processes of " +
      `${SERVICES.toLocaleString("en-US")} listeners). First fan-out: a new client (its own registry reader, selector and pool) calls every service once, ` +
      "all calls started together: registry read, selector cache, one dial per chosen node. Warm: the same again. " +
      "Client heap growth: after two forced GCs, selector cache, registry reader and open connections together.",
  );
  for (const p of problems) log(`not measured: ${p}`);
  log();
}

const started = new Date();
log(
  `Scale benchmark, ${started.toISOString()}; node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}; load average at start ${load()}`,
);
log();
let failed = 0;
for (const part of PARTS) {
  const fn = { connections, inflight, fanout }[part];
  if (fn === undefined) throw new Error(`unknown part ${part}`);
  try {
    await fn();
  } catch (err) {
    failed++;
    log(`${part}: FAILED: ${err.message}`);
    log();
  }
}
log(`Load average at end ${load()}; ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s.`);
mkdirSync(path.join(here, "..", "results"), { recursive: true });
writeFileSync(path.join(here, "..", "results", "scale-latest.md"), `${out.join("\n")}\n`);
process.exit(failed ? 1 : 0);
