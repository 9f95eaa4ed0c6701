// Streaming and gRPC benchmark. Every server and load generator is its own `node` process on
// 127.0.0.1. Two parts, one run:
//
//   1. Streaming throughput (messages/s, MB/s): one server-streaming download consumed as fast as
//      it arrives — tsmicro over TCP, tsmicro over gRPC, and grpc-js → grpc-js for reference.
//   2. Unary echo over gRPC, every client × server pair of grpc-js and tsmicro. Targets (issue 6):
//      grpc-js client → tsmicro server ≥ grpc-js → grpc-js; tsmicro client → grpc-js server ≥ 1.5 ×
//      grpc-js → grpc-js.
//
// Usage: node bench/streaming/run.mjs [--seconds 3] [--rounds 3] [--quick]
// --quick = 1 round of 1 s runs (a smoke test). Prints a markdown table and writes it to
// bench/results/streaming-latest.md. Needs `npm run build` first.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startChild } from "../lib/child.mjs";
import { median } from "../lib/stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
  },
});
const seconds = Number(args.seconds ?? (args.quick ? 1 : 3));
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const warmupMs = args.quick ? 300 : 1000;
if (!(seconds > 0 && rounds >= 1)) throw new Error("--seconds and --rounds must be positive");
for (const pkg of ["tsmicro", "grpc", "protobuf"]) {
  if (!existsSync(path.join(here, `../../packages/${pkg}/dist/index.js`))) {
    throw new Error(`packages/${pkg}/dist is missing: run \`npm run build\` first`);
  }
}

const STREAM_STACKS = {
  "tsmicro TCP": { server: "tsmicro-tcp", client: { client: "tsmicro", transport: "tcp" } },
  "tsmicro gRPC": { server: "tsmicro-grpc", client: { client: "tsmicro", transport: "grpc" } },
  "grpc-js → grpc-js": { server: "grpc-js", client: { client: "grpc-js" } },
};
const STREAM_SIZES = [1024, 64 * 1024];
const UNARY_PAIRS = {
  "grpc-js → grpc-js": { server: "grpc-js", client: "grpc-js" },
  "grpc-js → tsmicro": { server: "tsmicro-grpc", client: "grpc-js" },
  "tsmicro → grpc-js": { server: "grpc-js", client: "tsmicro" },
  "tsmicro → tsmicro": { server: "tsmicro-grpc", client: "tsmicro" },
};
const UNARY_SCENARIOS = [
  { payloadSize: 100, concurrency: 64 },
  { payloadSize: 1024, concurrency: 1 },
];
const SERVERS = {
  "tsmicro-tcp": ["tsmicro-server.mjs", { transport: "tcp" }],
  "tsmicro-grpc": ["tsmicro-server.mjs", { transport: "grpc" }],
  "grpc-js": ["grpcjs-server.mjs", {}],
};

// ---- child processes: tagged JSON lines out, jobs as JSON lines in, exit when stdin closes ----

const start = (file, config) => startChild(path.join(here, file), config);

// ---- the run ----------------------------------------------------------------------------------

const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";

async function main() {
  const loadAtStart = os.loadavg()[0];
  const problems = [];
  const servers = {};
  const clients = [];
  try {
    for (const [name, [file, config]] of Object.entries(SERVERS)) servers[name] = await start(file, config);

    // 1. Streaming throughput.
    const streamSamples = {};
    const streamClients = {};
    for (const [stack, { server, client }] of Object.entries(STREAM_STACKS)) {
      streamClients[stack] = await start("stream-client.mjs", {
        ...client,
        address: servers[server].address,
      });
      clients.push(streamClients[stack]);
    }
    for (const size of STREAM_SIZES) {
      for (let round = 0; round < rounds; round++) {
        const stacks = Object.keys(STREAM_STACKS);
        for (let i = 0; i < stacks.length; i++) {
          const stack = stacks[(i + round) % stacks.length];
          const key = `${size}|${stack}`;
          try {
            const r = await streamClients[stack].job({ size, warmupMs, durationMs: seconds * 1000 }, 60_000);
            streamSamples[key] ??= [];
            streamSamples[key].push(r);
            console.error(
              `  stream ${fmtSize(size).padEnd(7)} ${stack.padEnd(20)} ${fmt(r.mps)} msg/s ${fmt(r.mbps, 1)} MB/s`,
            );
          } catch (err) {
            problems.push(`stream ${fmtSize(size)} ${stack}: ${String(err.message).split("\n")[0]}`);
          }
        }
      }
    }

    // 2. Unary over gRPC, every client × server pair.
    const unarySamples = {};
    const unaryClients = {};
    for (const [pair, { server, client }] of Object.entries(UNARY_PAIRS)) {
      unaryClients[pair] = await start("unary-client.mjs", { client, address: servers[server].address });
      clients.push(unaryClients[pair]);
      // Priming: past JIT warm-up before anything is measured.
      unaryClients[pair].send({ payloadSize: 100, concurrency: 64, warmupMs: warmupMs * 2, durationMs: 1 });
      await unaryClients[pair].expect("warm", 60_000);
      await unaryClients[pair].expect("result", 60_000);
    }
    for (const scenario of UNARY_SCENARIOS) {
      for (let round = 0; round < rounds; round++) {
        const pairs = Object.keys(UNARY_PAIRS);
        for (let i = 0; i < pairs.length; i++) {
          const pair = pairs[(i + round) % pairs.length];
          const key = `${scenarioName(scenario)}|${pair}`;
          try {
            // Server CPU is read when the client starts its measured window and when it ends.
            const c = unaryClients[pair];
            const server = servers[UNARY_PAIRS[pair].server];
            c.send({ ...scenario, warmupMs, durationMs: seconds * 1000 });
            await c.expect("warm", 60_000);
            const serverCpu0 = await server.cpu();
            const r = await c.expect("result", 60_000);
            r.serverCpuUs = ((await server.cpu()) - serverCpu0) / Math.max(1, r.count);
            unarySamples[key] ??= [];
            unarySamples[key].push(r);
            if (r.errors) problems.push(`${key}: ${r.errors} errors, first: ${r.firstError}`);
            console.error(
              `  unary ${scenarioName(scenario).padEnd(10)} ${pair.padEnd(20)} ${fmt(r.rps)} req/s, ` +
                `CPU per call: client ${fmt(r.clientCpuUs, 1)} µs, server ${fmt(r.serverCpuUs, 1)} µs`,
            );
          } catch (err) {
            problems.push(`unary ${key}: ${String(err.message).split("\n")[0]}`);
          }
        }
      }
    }
    report(streamSamples, unarySamples, problems, loadAtStart);
  } finally {
    await Promise.all([...clients, ...Object.values(servers)].map((c) => c.stop()));
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

function report(streamSamples, unarySamples, problems, loadAtStart) {
  const streamRows = [];
  for (const size of STREAM_SIZES) {
    for (const stack of Object.keys(STREAM_STACKS)) {
      const s = streamSamples[`${size}|${stack}`] ?? [];
      streamRows.push([
        fmtSize(size),
        stack,
        fmt(median(s.map((r) => r.mps))),
        fmt(median(s.map((r) => r.mbps)), 1),
      ]);
    }
  }
  const unaryRows = [];
  const verdicts = [];
  for (const scenario of UNARY_SCENARIOS) {
    const name = scenarioName(scenario);
    const samples = (pair) => unarySamples[`${name}|${pair}`] ?? [];
    const med = (pair, field) => median(samples(pair).map((r) => r[field]));
    const base = med("grpc-js → grpc-js", "rps");
    for (const pair of Object.keys(UNARY_PAIRS)) {
      unaryRows.push([
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
    // The targets, by throughput and by CPU per call (the latter barely moves with machine load).
    const serverRps = med("grpc-js → tsmicro", "rps") / base;
    const serverCpu = med("grpc-js → grpc-js", "serverCpuUs") / med("grpc-js → tsmicro", "serverCpuUs");
    const clientRps = med("tsmicro → grpc-js", "rps") / base;
    const clientCpu = med("grpc-js → grpc-js", "clientCpuUs") / med("tsmicro → grpc-js", "clientCpuUs");
    const met = (x, target) =>
      `${x.toFixed(2)}× (target ≥ ${target.toFixed(2)}: ${x >= target ? "met" : "NOT met"})`;
    verdicts.push(
      `${name}: tsmicro's server under a grpc-js client vs grpc-js's server — throughput ${met(serverRps, 1)}, CPU per call ${met(serverCpu, 1)}; ` +
        `tsmicro's client against a grpc-js server vs grpc-js's client — throughput ${met(clientRps, 1.5)}, CPU per call ${met(clientCpu, 1.5)}`,
    );
  }
  const notes = [
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}; ${new Date().toISOString()}`,
    `${rounds} round(s) of ${seconds} s after ${warmupMs} ms warm-up, median over rounds; each server and client its own process on 127.0.0.1; messages are raw bytes on every stack.`,
    "streaming: one server-streaming call consumed as fast as it arrives (flow control on); unary: closed loop, `× n` = calls in flight on one connection; ratio = req/s ÷ grpc-js → grpc-js; CPU µs/call = the process's user+system CPU time over the measured window ÷ calls.",
    `load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${os.loadavg()[0].toFixed(2)}`,
    ...verdicts,
    ...problems.map((p) => `problem: ${p}`),
  ];
  const markdown = [
    "# Streaming and gRPC benchmark",
    "",
    "## Streaming throughput",
    "",
    table(["message", "stack", "msg/s", "MB/s"], streamRows),
    "",
    "## Unary over gRPC (client → server)",
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
      unaryRows,
    ),
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
  console.log(`\n${markdown}`);
  mkdirSync(path.join(here, "../results"), { recursive: true });
  writeFileSync(path.join(here, "../results/streaming-latest.md"), markdown);
  console.error("written to bench/results/streaming-latest.md");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
