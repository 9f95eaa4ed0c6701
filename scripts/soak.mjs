#!/usr/bin/env node
// Soak: mixed load on loopback for a while, sampling memory, descriptors and event-loop delay,
// then a verdict, written to RELIABILITY.md.
// Usage: npm run build && npm run soak -- [--minutes 10] [--sample-seconds 5] [--out RELIABILITY.md]
//
// Load, all at once, in this process: unary calls; three-hop chains (front -> middle -> back) whose
// middle handler calls init() on its own client mid-call (the go-micro #2708 shape); publishes to a
// subscriber over the HTTP broker; server streams; client churn (a new client, a few calls, close);
// init() storms on the shared client; pool TTL short enough to recycle connections.
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";

if (typeof globalThis.gc !== "function") {
  // Heap figures after a full GC are comparable from sample to sample; re-run with it exposed.
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const tsmicro = await import("tsmicro");
const {
  background,
  createHttpBroker,
  createMemoryRegistry,
  defineContract,
  implement,
  newClient,
  newMessage,
  newRequest,
  newService,
  serverStream,
  unary,
} = tsmicro;

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "sample-seconds": { type: "string", default: "5" },
    out: { type: "string", default: "RELIABILITY.md" },
  },
});
const minutes = Number(values.minutes);
const sampleMs = Number(values["sample-seconds"]) * 1000;
if (!(minutes > 0 && sampleMs > 0)) {
  console.error("--minutes and --sample-seconds must be numbers > 0");
  process.exit(2);
}
const durationMs = minutes * 60_000;
const warmupMs = Math.max(30_000, durationMs * 0.2);

// ---- services ---------------------------------------------------------------------------
const registry = createMemoryRegistry();
const broker = createHttpBroker({ registry });
const quiet = () => {};

const Feed = defineContract("Feed", { count: serverStream(), ping: unary() });
const back = newService({ name: "back", registry, broker, log: quiet })
  .handle(
    new (class Back {
      async echo(_ctx, req) {
        return req;
      }
    })(),
  )
  .handle(
    implement(Feed, {
      async *count(_ctx, req) {
        for (let i = 0; i < req.n; i++) yield { i };
      },
      ping: async () => ({ pong: true }),
    }),
  );
const middle = newService({ name: "middle", registry, broker, log: quiet });
middle.handle(
  new (class Middle {
    async relay(ctx, req) {
      // init() from inside a call, while this call's own nested call is about to run.
      if (Math.random() < 0.1) middle.client.init({ poolSize: 1 + Math.floor(Math.random() * 4) });
      return middle.client.call(ctx, newRequest("back", "Back.echo", req));
    }
  })(),
);
const front = newService({ name: "front", registry, broker, log: quiet });
front.handle(
  new (class Front {
    async chain(ctx, req) {
      return front.client.call(ctx, newRequest("middle", "Middle.relay", req));
    }
  })(),
);
let delivered = 0;
const sink = newService({ name: "sink", registry, broker, log: quiet }).subscribe("soak.events", async () => {
  delivered++;
});
for (const s of [back, middle, front, sink]) await s.start();

// Registry changes during the run: a service that vanishes mid-run is a finding, reported.
const registryEvents = [];
const watchStop = new AbortController();
void (async () => {
  for await (const e of registry.watch({ signal: watchStop.signal })) {
    if (e.type === "delete") registryEvents.push(`${new Date().toISOString()} delete ${e.service.name}`);
  }
})().catch(() => {});

// ---- load -------------------------------------------------------------------------------
const client = newClient({ registry, broker, poolTtlMs: 3000, requestTimeoutMs: 5000 });
const stats = {};
const errors = [];
const count = (kind, field) => {
  stats[kind] ??= { started: 0, ok: 0, failed: 0 };
  stats[kind][field]++;
};
async function track(kind, fn) {
  count(kind, "started");
  try {
    await fn();
    count(kind, "ok");
  } catch (err) {
    count(kind, "failed");
    if (errors.length < 20) errors.push(`${kind}: ${err?.detail ?? err?.message ?? String(err)}`);
  }
}

const end = Date.now() + durationMs;
const running = () => Date.now() < end;
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
let initCalls = 0;
let churnedClients = 0;

const loops = [];
const loop = (n, body) => {
  for (let i = 0; i < n; i++) {
    loops.push(
      (async () => {
        while (running()) {
          await body();
          // A call that fails without I/O settles in a microtask: yield, or a failing loop
          // would starve every timer (samples, registration refresh) in the process.
          await new Promise((r) => setImmediate(r));
        }
      })(),
    );
  }
};
loop(6, () => track("call", () => client.call(background(), newRequest("back", "Back.echo", { n: 1 }))));
loop(3, () =>
  track("chain", () => client.call(background(), newRequest("front", "Front.chain", { hop: 3 }))),
);
loop(2, async () => {
  await track("publish", () => client.publish(background(), newMessage("soak.events", { at: Date.now() })));
  await pause(2);
});
loop(1, () =>
  track("stream", async () => {
    const s = await client.stream(background(), { service: "back", endpoint: "Feed.count", body: { n: 50 } });
    let got = 0;
    for await (const _ of s) got++;
    if (got !== 50) throw new Error(`stream delivered ${got} of 50 messages`);
  }),
);
loop(1, async () => {
  // Connection churn: a client of its own (its own pool and sockets), a few calls, closed.
  const c = newClient({ registry, broker });
  await track("churn", async () => {
    for (let k = 0; k < 5; k++) await c.call(background(), newRequest("back", "Back.echo", { k }));
  });
  await c.close();
  churnedClients++;
  await pause(20);
});
loop(1, async () => {
  // init() storm on the shared client while every loop above uses it.
  client.init({
    poolSize: 1 + Math.floor(Math.random() * 6),
    requestTimeoutMs: 5000 + Math.floor(Math.random() * 100),
  });
  initCalls++;
  await pause(25);
});

// ---- sampling ---------------------------------------------------------------------------
// The histogram measures whole timer periods; the delay is what exceeds the period.
const ELD_RESOLUTION_MS = 10;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
eld.enable();
const samples = [];
const started = Date.now();
const totalOk = () => Object.values(stats).reduce((n, s) => n + s.ok, 0);
let lastOk = 0;
const sample = () => {
  const beyond = (ns) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
  const delay = { p50: beyond(eld.percentile(50)), p99: beyond(eld.percentile(99)), max: beyond(eld.max) };
  eld.reset();
  globalThis.gc();
  const m = process.memoryUsage();
  const ok = totalOk();
  const s = {
    t: Math.round((Date.now() - started) / 1000),
    rssMb: m.rss / 2 ** 20,
    heapMb: m.heapUsed / 2 ** 20,
    fds: readdirSync("/proc/self/fd").length,
    eldP50: delay.p50,
    eldP99: delay.p99,
    eldMax: delay.max,
    opsPerSec: (ok - lastOk) / (sampleMs / 1000),
  };
  lastOk = ok;
  samples.push(s);
  console.log(
    `t=${String(s.t).padStart(4)}s rss=${s.rssMb.toFixed(1)}MB heap=${s.heapMb.toFixed(1)}MB fds=${s.fds} ` +
      `eld p50/p99/max=${s.eldP50.toFixed(1)}/${s.eldP99.toFixed(1)}/${s.eldMax.toFixed(1)}ms ops/s=${s.opsPerSec.toFixed(0)}`,
  );
};
const timer = setInterval(sample, sampleMs);
// Every call has a deadline, so the loops end soon after the run does; one that does not is a
// lost call, counted below rather than waited for forever.
await Promise.race([Promise.all(loops), pause(end - Date.now() + 30_000)]);
clearInterval(timer);

// ---- drain and account ------------------------------------------------------------------
const published = stats.publish?.ok ?? 0;
const drainUntil = Date.now() + 10_000;
while (delivered < published && Date.now() < drainUntil) await pause(50);
watchStop.abort();
for (const s of [front, middle, back, sink]) await s.stop();
await client.close();
await broker.disconnect();

const kinds = Object.entries(stats);
const lostCalls = kinds.reduce((n, [, s]) => n + (s.started - s.ok - s.failed), 0);
const failed = kinds.reduce((n, [, s]) => n + s.failed, 0);
const lostMessages = published - delivered;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const steady = samples.filter((s) => s.t * 1000 >= warmupMs);
const head = steady.slice(0, 3);
const tail = steady.slice(-3);
const growth = (key) =>
  (median(tail.map((s) => s[key])) - median(head.map((s) => s[key]))) / median(head.map((s) => s[key]));
const rssGrowth = growth("rssMb");
const heapGrowth = growth("heapMb");
const fdHeadMax = Math.max(...head.map((s) => s.fds));
const fdTail = median(tail.map((s) => s.fds));
const checks = [
  [`RSS growth after warm-up < 10 %`, rssGrowth < 0.1, `${(rssGrowth * 100).toFixed(1)} %`],
  [`heap growth after warm-up < 10 %`, heapGrowth < 0.1, `${(heapGrowth * 100).toFixed(1)} %`],
  [`no descriptor growth (end median ≤ start max)`, fdTail <= fdHeadMax, `${fdTail} vs ${fdHeadMax}`],
  [`0 lost calls (every call settled)`, lostCalls === 0, String(lostCalls)],
  [`0 failed calls`, failed === 0, String(failed)],
  [
    `0 lost messages (published = delivered)`,
    lostMessages === 0,
    `${published} published, ${delivered} delivered`,
  ],
];
const pass = steady.length >= 6 && checks.every(([, ok]) => ok);
const verdict = pass ? "PASS" : steady.length < 6 ? "INCONCLUSIVE (run too short for a verdict)" : "FAIL";

// ---- report -----------------------------------------------------------------------------
const fmt = (n, d = 1) => n.toFixed(d);
const git = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const every = Math.max(1, Math.round(samples.length / 24));
const shown = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
const total = kinds.reduce((n, [, s]) => n + s.ok, 0);
const md = `# Reliability: soak

Verdict: **${verdict}** — ${minutes} minute${minutes === 1 ? "" : "s"} of mixed load on loopback,
${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${git}, Node ${process.version},
${cpus().length} cores, ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM (a machine shared with other work).

Run it: \`npm run build && npm run soak -- --minutes 10\` (scripts/soak.mjs).

## Load (all at once, one process)

- unary calls (6 loops), three-hop chains front → middle → back (3 loops) whose middle
  handler calls \`init()\` on its own client mid-call, one time in ten;
- publishes to a subscriber over the HTTP broker (2 loops); server streams of 50 messages (1 loop);
- connection churn: a new client, 5 calls, close (1 loop); \`init()\` storm on the shared client
  every 25 ms (pool size and timeout changed); pool TTL 3 s, so connections recycle all along.

| kind | ok | failed | lost (never settled) |
|---|---:|---:|---:|
${kinds.map(([k, s]) => `| ${k} | ${s.ok} | ${s.failed} | ${s.started - s.ok - s.failed} |`).join("\n")}
| **total** | **${total}** | **${failed}** | **${lostCalls}** |

Messages: ${published} published, ${delivered} delivered. \`init()\` calls: ${initCalls}. Clients churned: ${churnedClients}.
Mean rate: ${fmt(total / (durationMs / 1000), 0)} operations/s.

## Verdict (after a ${fmt(warmupMs / 1000, 0)} s warm-up; medians of the first and last three samples)

| check | result | figure |
|---|---|---|
${checks.map(([name, ok, figure]) => `| ${name} | ${ok ? "pass" : "**FAIL**"} | ${figure} |`).join("\n")}

${registryEvents.length > 0 ? `Registry deletions during the run:\n\n${registryEvents.map((e) => `- ${e}`).join("\n")}\n\n` : ""}${errors.length > 0 ? `First errors:\n\n${errors.map((e) => `- ${e}`).join("\n")}\n` : ""}
## Samples (every ${sampleMs / 1000} s; heap after a full GC; event-loop delay over the interval)

| t (s) | RSS (MB) | heap (MB) | fds | ELD p50 (ms) | ELD p99 (ms) | ELD max (ms) | ops/s |
|---:|---:|---:|---:|---:|---:|---:|---:|
${shown
  .map(
    (s) =>
      `| ${s.t} | ${fmt(s.rssMb)} | ${fmt(s.heapMb)} | ${s.fds} | ${fmt(s.eldP50)} | ${fmt(s.eldP99)} | ${fmt(s.eldMax)} | ${fmt(s.opsPerSec, 0)} |`,
  )
  .join("\n")}
`;
writeFileSync(values.out, md);
console.log(`\nsoak ${verdict}: wrote ${values.out}`);
for (const [name, ok, figure] of checks) console.log(`  ${ok ? "pass" : "FAIL"}  ${name}: ${figure}`);
process.exit(pass ? 0 : 1);
