#!/usr/bin/env node
// Messaging benchmark: publish → handle throughput and latency per backend, 100 B messages,
// one publisher and one subscriber, each its own process, beside the raw client library of the
// same engine. Servers: the shared loopback ones (bash scripts/services.sh).
//
//   node bench/messaging/run.mjs [--quick] [--only nats,jetstream] [--count N] [--rounds N] [--window N]
//
// Throughput = messages / (last handled − first publish). Latency = handled − published
// (clock shared by both processes), under that same full load, so p99 includes queueing.
// Rounds alternate raw and tsmicro; the table shows the median round. --quick: 1 round, fewer messages.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BACKENDS } from "./backends.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    count: { type: "string" },
    rounds: { type: "string" },
    window: { type: "string" },
  },
});
const quick = args.quick;
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const window = Number(args.window ?? 64);
const baseCount = Number(args.count ?? (quick ? 3000 : 20000));
// Persistent, fsynced engines are slower: fewer messages keep each run to a few seconds.
const countFor = (backend) =>
  backend === "rabbitmq" || backend === "http" ? Math.ceil(baseCount / 2) : baseCount;
const backends = args.only ? args.only.split(",") : BACKENDS;
for (const b of backends)
  if (!BACKENDS.includes(b)) throw new Error(`unknown backend ${b}; known: ${BACKENDS.join(", ")}`);

function child(cfg) {
  // BENCH_CPU_PROF=<dir>: every child writes a CPU profile there (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const proc = spawn(process.execPath, [...prof, path.join(here, "child.mjs"), JSON.stringify(cfg)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  const lines = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on("line", (l) => {
    let msg;
    try {
      msg = JSON.parse(l);
    } catch {
      return; // a library's own log line
    }
    if (waiters.length) waiters.shift()(msg);
    else lines.push(msg);
  });
  proc.on("exit", (code) => {
    for (const w of waiters.splice(0)) w({ error: `${cfg.role} exited ${code}: ${stderr}` });
  });
  return {
    proc,
    next: (ms) =>
      lines.length
        ? Promise.resolve(lines.shift())
        : new Promise((resolve) => {
            const t = setTimeout(() => resolve({ error: `${cfg.role} silent for ${ms} ms: ${stderr}` }), ms);
            waiters.push((m) => {
              clearTimeout(t);
              resolve(m);
            });
          }),
  };
}

async function runOnce(stack, backend) {
  const count = countFor(backend);
  const topic = `bench.${backend}.${stack}.${randomUUID().slice(0, 8)}`;
  const common = { stack, backend, topic, count, window, stallMs: 5000, timeoutMs: 120_000 };
  const sub = child({ ...common, role: "sub" });
  const ready = await sub.next(30_000);
  if (ready.error) throw new Error(ready.error);
  const pub = child({ ...common, role: "pub", address: ready.address });
  const published = await pub.next(150_000);
  if (published.error) throw new Error(published.error);
  const got = await sub.next(150_000);
  sub.proc.stdin.end();
  if (got.error) throw new Error(got.error);
  const seconds = (got.lastAt - published.startAt) / 1000;
  return {
    rate: got.received / seconds,
    p50: got.p50,
    p99: got.p99,
    received: got.received,
    // CPU of both processes per message: steadier than wall-clock rates on a busy machine.
    cpuPerMsg: (got.cpuUs + published.cpuUs) / got.received,
    count,
    errors: published.errors,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const backend of backends) {
  const results = { raw: [], tsmicro: [] };
  for (let r = 0; r < rounds; r++) {
    for (const stack of r % 2 === 0 ? ["raw", "tsmicro"] : ["tsmicro", "raw"]) {
      try {
        results[stack].push(await runOnce(stack, backend));
      } catch (err) {
        console.error(`${backend}/${stack}: ${err.message}`);
      }
    }
  }
  const pick = (stack) => {
    const rs = results[stack];
    if (rs.length === 0) return undefined;
    const m = median(rs.map((x) => x.rate));
    return rs.find((x) => x.rate === m);
  };
  const raw = pick("raw");
  const ts = pick("tsmicro");
  rows.push({ backend, raw, ts });
  process.stderr.write(
    `${backend}: raw ${raw?.rate.toFixed(0)} msg/s, tsmicro ${ts?.rate.toFixed(0)} msg/s\n`,
  );
}

const fmt = (n) => (n === undefined || Number.isNaN(n) ? "–" : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const lines = [
  `Messaging: publish → handle, 100 B messages, 1 publisher + 1 subscriber process, ${window} publishes in flight, median of ${rounds} round(s)${quick ? " (--quick)" : ""}`,
  "",
  "| backend | raw msg/s | tsmicro msg/s | overhead | raw CPU µs/msg | tsmicro CPU µs/msg | raw p50 / p99 ms | tsmicro p50 / p99 ms | delivered (tsmicro) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const { backend, raw, ts } of rows) {
  const overhead = raw && ts ? `${(((raw.rate - ts.rate) / raw.rate) * 100).toFixed(0)}%` : "–";
  lines.push(
    `| ${backend} | ${fmt(raw?.rate)} | ${fmt(ts?.rate)} | ${overhead} | ${fmt(raw?.cpuPerMsg)} | ${fmt(ts?.cpuPerMsg)} | ${fmt(raw?.p50)} / ${fmt(raw?.p99)} | ${fmt(ts?.p50)} / ${fmt(ts?.p99)} | ${ts ? `${ts.received}/${ts.count}` : "–"} |`,
  );
}
lines.push(
  "",
  "overhead = (raw − tsmicro) / raw throughput; target < 20%. CPU µs/msg = user + system time of the publisher and the subscriber process per message handled (the engine's server excluded).",
);
const table = lines.join("\n");
console.log(table);
mkdirSync(path.join(here, "../results"), { recursive: true });
writeFileSync(path.join(here, `../results/messaging-${quick ? "quick" : "latest"}.md`), `${table}\n`);
