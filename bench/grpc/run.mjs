// gRPC unary benchmark (issue 16): every client × server pair of grpc-js and tsmicro's gRPC
// transport, at 100 B and 1 KiB, 64 calls in flight (throughput) and 1 in flight (p50). Every
// server and load generator is its own `node` process on 127.0.0.1 (the children of
// bench/streaming are reused); rounds are interleaved and rotate the pair order; medians over
// rounds; ratios against grpc-js → grpc-js. Targets: grpc-js client → tsmicro server ≥ 2 ×
// grpc-js → grpc-js, tsmicro client → grpc-js server ≥ 2 × grpc-js → grpc-js.
//
// Usage: node bench/grpc/run.mjs [--seconds 2] [--rounds 3] [--quick] [--concurrency 64|1] [--cpu-prof DIR]
// --cpu-prof writes a V8 CPU profile of every server and client process into DIR.
// Prints a markdown table and writes it to bench/results/grpc-latest.md. Needs `npm run build`.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startChild } from "../lib/child.mjs";
import { median } from "../lib/stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const childrenDir = path.join(here, "../streaming");
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    concurrency: { type: "string" },
  },
});
const seconds = Number(args.seconds ?? (args.quick ? 1 : 2));
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const warmupMs = args.quick ? 300 : 500;
if (!(seconds > 0 && rounds >= 1)) throw new Error("--seconds and --rounds must be positive");
for (const pkg of ["tsmicro", "grpc", "protobuf"]) {
  if (!existsSync(path.join(here, `../../packages/${pkg}/dist/index.js`))) {
    throw new Error(`packages/${pkg}/dist is missing: run \`npm run build\` first`);
  }
}

const PAIRS = {
  "grpc-js → grpc-js": { server: "grpc-js", client: "grpc-js" },
  "grpc-js → tsmicro": { server: "tsmicro", client: "grpc-js" },
  "tsmicro → grpc-js": { server: "grpc-js", client: "tsmicro" },
  "tsmicro → tsmicro": { server: "tsmicro", client: "tsmicro" },
};
const SCENARIOS = [
  { payloadSize: 100, concurrency: 64 },
  { payloadSize: 1024, concurrency: 64 },
  { payloadSize: 100, concurrency: 1 },
  { payloadSize: 1024, concurrency: 1 },
].filter((s) => args.concurrency === undefined || s.concurrency === Number(args.concurrency));
if (SCENARIOS.length === 0) throw new Error("--concurrency must be 64 or 1");
const SERVERS = {
  tsmicro: ["tsmicro-server.mjs", { transport: "grpc" }],
  "grpc-js": ["grpcjs-server.mjs", {}],
};

function profileArgs(file, config) {
  if (!args["cpu-prof"]) return [];
  const name =
    file === "unary-client.mjs"
      ? `client-${config.client}-to-${config.server}`
      : `server-${file === "tsmicro-server.mjs" ? "tsmicro" : "grpc-js"}`;
  return ["--cpu-prof", "--cpu-prof-dir", args["cpu-prof"], "--cpu-prof-name", `${name}.cpuprofile`];
}

const start = (file, config) => startChild(path.join(childrenDir, file), config, profileArgs(file, config));

// ---- the run ----------------------------------------------------------------------------------

const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";

async function main() {
  const loadAtStart = os.loadavg();
  const problems = [];
  const servers = {};
  const clients = {};
  try {
    for (const [name, [file, config]] of Object.entries(SERVERS)) servers[name] = await start(file, config);
    for (const [pair, { server, client }] of Object.entries(PAIRS)) {
      clients[pair] = await start("unary-client.mjs", { client, server, address: servers[server].address });
      // Priming: past JIT warm-up before anything is measured.
      clients[pair].send({ payloadSize: 100, concurrency: 64, warmupMs: warmupMs * 2, durationMs: 1 });
      await clients[pair].expect("warm", 60_000);
      await clients[pair].expect("result", 60_000);
    }
    const samples = {};
    for (const scenario of SCENARIOS) {
      for (let round = 0; round < rounds; round++) {
        const pairs = Object.keys(PAIRS);
        for (let i = 0; i < pairs.length; i++) {
          const pair = pairs[(i + round) % pairs.length];
          const key = `${scenarioName(scenario)}|${pair}`;
          try {
            const c = clients[pair];
            const server = servers[PAIRS[pair].server];
            c.send({ ...scenario, warmupMs, durationMs: seconds * 1000 });
            await c.expect("warm", 60_000);
            const serverCpu0 = await server.cpu();
            const r = await c.expect("result", 60_000);
            r.serverCpuUs = ((await server.cpu()) - serverCpu0) / Math.max(1, r.count);
            samples[key] ??= [];
            samples[key].push(r);
            if (r.errors) problems.push(`${key}: ${r.errors} errors, first: ${r.firstError}`);
            console.error(
              `  ${scenarioName(scenario).padEnd(11)} ${pair.padEnd(18)} ${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50)} µs  ` +
                `CPU/call client ${fmt(r.clientCpuUs, 1)} µs, server ${fmt(r.serverCpuUs, 1)} µs`,
            );
          } catch (err) {
            problems.push(`${key}: ${String(err.message).split("\n")[0]}`);
          }
        }
      }
    }
    report(samples, problems, loadAtStart);
  } finally {
    await Promise.all([...Object.values(clients), ...Object.values(servers)].map((c) => c.stop()));
  }
}

function fmtSize(n) {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}
function scenarioName({ payloadSize, concurrency }) {
  return `${fmtSize(payloadSize)} × ${concurrency}`;
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i < 2 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function report(samples, problems, loadAtStart) {
  const rows = [];
  const verdicts = [];
  for (const scenario of SCENARIOS) {
    const name = scenarioName(scenario);
    const med = (pair, field) => median((samples[`${name}|${pair}`] ?? []).map((r) => r[field]));
    const base = med("grpc-js → grpc-js", "rps");
    for (const pair of Object.keys(PAIRS)) {
      rows.push([
        name,
        pair,
        fmt(med(pair, "rps")),
        fmt(med(pair, "p50")),
        fmt(med(pair, "p99")),
        fmt(med(pair, "clientCpuUs"), 1),
        fmt(med(pair, "serverCpuUs"), 1),
        Number.isFinite(base) && base > 0 ? (med(pair, "rps") / base).toFixed(2) : "n/a",
      ]);
    }
    if (scenario.concurrency === 1) {
      const p50 = (pair) => (med(pair, "p50") / med("grpc-js → grpc-js", "p50")).toFixed(2);
      verdicts.push(
        `${name}: p50 relative to grpc-js → grpc-js — tsmicro server ${p50("grpc-js → tsmicro")}×, tsmicro client ${p50("tsmicro → grpc-js")}× (lower is better)`,
      );
      continue;
    }
    const serverRps = med("grpc-js → tsmicro", "rps") / base;
    const serverCpu = med("grpc-js → grpc-js", "serverCpuUs") / med("grpc-js → tsmicro", "serverCpuUs");
    const clientRps = med("tsmicro → grpc-js", "rps") / base;
    const clientCpu = med("grpc-js → grpc-js", "clientCpuUs") / med("tsmicro → grpc-js", "clientCpuUs");
    const met = (x) => `${x.toFixed(2)}× (${x >= 2 ? "met" : "NOT met"})`;
    verdicts.push(
      `${name} (target ≥ 2×): tsmicro server under a grpc-js client vs grpc-js server — throughput ${met(serverRps)}, server CPU per call ${met(serverCpu)}; ` +
        `tsmicro client against a grpc-js server vs grpc-js client — throughput ${met(clientRps)}, client CPU per call ${met(clientCpu)}`,
    );
  }
  const notes = [
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}; ${new Date().toISOString()}`,
    `${rounds} round(s) of ${seconds} s after ${warmupMs} ms warm-up, pair order rotated per round, median over rounds; each server and client its own process on 127.0.0.1; messages are raw bytes on every stack (no protobuf).`,
    "closed loop; `× n` = calls in flight on one connection; ratio = req/s ÷ grpc-js → grpc-js; CPU µs/call = the process's user+system CPU time over the measured window ÷ calls.",
    `load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(", ")}; at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
    ...verdicts,
    ...problems.map((p) => `problem: ${p}`),
  ];
  const markdown = [
    "## gRPC unary (client → server)",
    "",
    table(
      [
        "scenario",
        "client → server",
        "req/s",
        "p50 µs",
        "p99 µs",
        "client CPU µs/call",
        "server CPU µs/call",
        "ratio",
      ],
      rows,
    ),
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
  console.log(`\n${markdown}`);
  mkdirSync(path.join(here, "../results"), { recursive: true });
  writeFileSync(path.join(here, "../results/grpc-latest.md"), markdown);
  console.error("written to bench/results/grpc-latest.md");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
