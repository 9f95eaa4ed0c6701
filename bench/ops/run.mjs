// Overhead of the ops wrappers (metrics, tracing, logging) on a unary echo over loopback TCP:
// the same client + service with no wrappers ("off") and with each kind on both sides.
// Every measurement is its own `node` process; configurations interleave within each round and
// the table shows the median over rounds. Usage:
//
//   node bench/ops/run.mjs [--seconds 2] [--rounds 3] [--quick]
//
// --quick = 1 round of 1 s each: a smoke test. Needs `npm run build` first.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CONFIGS } from "./wrappers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
  },
});
const seconds = Number(args.seconds ?? (args.quick ? 1 : 2));
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const CONCURRENCY = [1, 32];

for (const pkg of ["metrics", "otel", "logging"]) {
  if (!existsSync(path.join(here, `../../packages/${pkg}/dist/index.js`))) {
    console.error(`bench/ops: packages/${pkg} is not built; run npm run build first`);
    process.exit(1);
  }
}

function measure(config, concurrency) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(here, "worker.mjs"), config, String(seconds), String(concurrency)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`bench/ops worker ${config} × ${concurrency} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const results = new Map(); // `${config}/${concurrency}` → runs
for (let round = 0; round < rounds; round++) {
  for (const concurrency of CONCURRENCY) {
    // Rotate the order each round so that no configuration always runs first.
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]);
    for (const config of order) {
      const r = await measure(config, concurrency);
      const key = `${config}/${concurrency}`;
      results.set(key, [...(results.get(key) ?? []), r]);
    }
  }
}

console.log(
  `\n### Ops wrappers overhead (unary echo, 100 B, loopback TCP; median of ${rounds} × ${seconds} s)\n`,
);
console.log("| wrappers | in flight | calls/s | vs off | p50 µs | p99 µs |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const concurrency of CONCURRENCY) {
  const base = median(results.get(`off/${concurrency}`).map((r) => r.rps));
  for (const config of CONFIGS) {
    const runs = results.get(`${config}/${concurrency}`);
    const rps = median(runs.map((r) => r.rps));
    const delta = config === "off" ? "—" : `${(((rps - base) / base) * 100).toFixed(1)}%`;
    console.log(
      `| ${config} | ${concurrency} | ${Math.round(rps)} | ${delta} | ${median(runs.map((r) => r.p50Us))} | ${median(runs.map((r) => r.p99Us))} |`,
    );
  }
}
// The wrappers' own cost, without the network (steadier than the end-to-end table on a busy machine).
const micro = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(here, "micro.mjs"), args.quick ? "50000" : "200000"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  child.on("exit", (code) => {
    clearTimeout(timer);
    if (code !== 0) reject(new Error(`bench/ops micro exited with ${code}`));
    else
      resolve(
        out
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      );
  });
});
const off = micro.find((m) => m.config === "off").nsPerCall;
console.log("\n### Ops wrappers' own cost per call (client + server wrappers, no network)\n");
console.log("| wrappers | ns per call | added |");
console.log("|---|---:|---:|");
for (const m of micro) {
  console.log(`| ${m.config} | ${m.nsPerCall} | ${m.config === "off" ? "—" : `+${m.nsPerCall - off}`} |`);
}
console.log(
  "\noff: no wrappers. metrics: @tsmicro/metrics client+server. tracing: @tsmicro/otel with an SDK tracer (spans made, then dropped). logging: @tsmicro/logging at the default level (nothing written). all: the three together.",
);
