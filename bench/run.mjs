// Unary echo benchmark: the raw limit, tsmicro, @grpc/grpc-js and moleculer, in one
// interleaved run. Every server and every load generator is its own `node` child process; all of
// them bind or dial 127.0.0.1 only. Usage:
//
//   node bench/run.mjs [--seconds 3] [--warmup 1] [--rounds 3] [--prime 3] [--only raw,tsmicro] [--scenarios 100x64] [--quick]
//
// One server process per stack and one long-lived load-generator process per stack (its own
// connection); each stack is first primed (JIT warm-up), then for each scenario (payload × calls
// in flight) and each round every stack runs once, one after another (the order rotates between
// rounds), with a short warm-up before each measurement. The table shows the median over rounds.
// --quick = 1 round, 1 s per run, 1 s priming: a smoke test.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median, parseReport } from "./lib/stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsmicroBuilt = existsSync(path.join(here, "../packages/tsmicro/dist/index.js"));

const STACKS = {
  // The limit: one connection, JSON.parse/JSON.stringify on both ends, coalesced writes.
  raw: { server: "raw", client: "raw" },
  // Bytes only, one write per frame: what "raw" meant before; it shows what parsing costs.
  "raw-bytes": { server: "rawbytes", client: "rawbytes" },
  tsmicro: { server: "tsmicro", client: "tsmicro", config: { contentType: "application/json" } },
  "tsmicro-msgpack": { server: "tsmicro", client: "tsmicro", config: { contentType: "application/msgpack" } },
  // The stall doctor's cost: the same, with the in-flight tables off on both sides.
  "tsmicro-nodoctor": {
    server: "tsmicro",
    serverId: "tsmicro-nodoctor",
    serverConfig: { trackInflight: false },
    client: "tsmicro",
    config: { contentType: "application/json", trackInflight: false },
  },
  // One socket, as the limit has (the default pool grows to 4 under load).
  "tsmicro-pool1": {
    server: "tsmicro",
    client: "tsmicro",
    config: { contentType: "application/json", poolSize: 1 },
  },
  // No address: the call goes through the default (local) registry and the selector.
  "tsmicro-registry": {
    server: "tsmicro",
    serverId: "tsmicro-registry",
    serverConfig: { registryDir: true },
    client: "tsmicro",
    config: { contentType: "application/json", registryDir: true },
  },
  grpc: { server: "grpc", client: "grpc" },
  moleculer: { server: "moleculer", client: "moleculer" },
};
// Before/after: TSMICRO_BENCH_BASELINE=<another checkout, built> adds `tsmicro-baseline`, the
// same stack run from that tree's bench/stacks against that tree's build, interleaved with ours.
const baseline = process.env.TSMICRO_BENCH_BASELINE;
if (baseline) {
  if (!existsSync(path.join(baseline, "packages/tsmicro/dist/index.js"))) {
    throw new Error(
      `TSMICRO_BENCH_BASELINE=${baseline}: packages/tsmicro/dist/index.js is missing (build it)`,
    );
  }
  STACKS["tsmicro-baseline"] = {
    server: "tsmicro",
    serverId: "tsmicro-baseline",
    client: "tsmicro",
    config: { contentType: "application/json" },
    dir: path.join(baseline, "bench"),
  };
}
const SCENARIOS = [
  { payloadSize: 100, concurrency: 1 },
  { payloadSize: 100, concurrency: 64 },
  { payloadSize: 1024, concurrency: 1 },
  { payloadSize: 1024, concurrency: 64 },
];
/** Stacks that share a server process share its id (tsmicro and tsmicro-msgpack). */
const serverId = (stack) => STACKS[stack].serverId ?? STACKS[stack].server;
const scenarioName = ({ payloadSize, concurrency }) =>
  `${payloadSize >= 1024 ? `${payloadSize / 1024} KiB` : `${payloadSize} B`} × ${concurrency}`;

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string" },
    warmup: { type: "string" },
    prime: { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    scenarios: { type: "string" },
    quick: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: node bench/run.mjs [--seconds N] [--warmup N] [--rounds N] [--prime N] [--only a,b] [--quick]",
  );
  console.log(`stacks: ${Object.keys(STACKS).join(", ")}`);
  process.exit(0);
}
const seconds = Number(args.seconds ?? (args.quick ? 1 : 3));
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const warmupSeconds = Number(args.warmup ?? Math.min(1, seconds / 2));
const primeSeconds = Number(args.prime ?? (args.quick ? 1 : 3));
if (!(seconds > 0 && rounds >= 1 && warmupSeconds >= 0 && primeSeconds >= 0)) {
  throw new Error("--seconds and --rounds must be positive, --warmup and --prime not negative");
}
// --scenarios 100x64,1024x1: only those (payload bytes × calls in flight), e.g. under a profiler.
if (args.scenarios) {
  const wanted = args.scenarios.split(",").map((s) => s.trim());
  const kept = SCENARIOS.filter((c) => wanted.includes(`${c.payloadSize}x${c.concurrency}`));
  if (kept.length !== wanted.length)
    throw new Error(`--scenarios: each must be one of 100x1, 100x64, 1024x1, 1024x64`);
  SCENARIOS.splice(0, SCENARIOS.length, ...kept);
}
const only = args.only ? args.only.split(",").map((s) => s.trim()) : Object.keys(STACKS);
for (const name of only) if (!STACKS[name]) throw new Error(`unknown stack "${name}"`);
const stacks = Object.keys(STACKS).filter((name) => only.includes(name));

// ---- child processes -------------------------------------------------------------------------

const children = new Set();

/**
 * Spawn `node bench/stacks/<file> <config JSON>`. The child answers with tagged JSON lines on
 * stdout (`next()` waits for the next one), takes jobs as JSON lines on stdin (`send()`), and
 * exits when its stdin closes.
 */
function spawnChild(file, config, dir = here) {
  // BENCH_CPU_PROF=<dir>: every child writes a CPU profile there (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const proc = spawn(process.execPath, [...prof, path.join(dir, "stacks", file), JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(proc);
  proc.stdin.on("error", () => {}); // a dead child is reported by "exit"
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const messages = [];
  const waiters = [];
  let exitError;
  createInterface({ input: proc.stdout }).on("line", (line) => {
    const msg = parseReport(line);
    if (msg) waiters.length ? waiters.shift().resolve(msg) : messages.push(msg);
  });
  proc.on("exit", (code, signal) => {
    children.delete(proc);
    exitError = new Error(`${file} exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ""}`);
    for (const waiter of waiters.splice(0)) waiter.reject(exitError);
  });

  return {
    send: (job) => proc.stdin.write(JSON.stringify(job) + "\n"),
    next(timeoutMs) {
      if (messages.length) return Promise.resolve(messages.shift());
      if (exitError) return Promise.reject(exitError);
      return new Promise((resolve, reject) => {
        const waiter = {
          resolve(msg) {
            clearTimeout(timer);
            resolve(msg);
          },
          reject(err) {
            clearTimeout(timer);
            reject(err);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${file}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    /** Close stdin (the child exits by itself), SIGKILL if it is still there after 2 s. */
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const kill = setTimeout(() => proc.kill("SIGKILL"), 2000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        proc.stdin.end();
      });
    },
  };
}

// The registry stack's lease directory, made on first use and removed on exit.
let registryTmp;
/** A stack's config with `registryDir: true` replaced by that directory. */
function withRegistryDir(config) {
  if (config.registryDir !== true) return config;
  registryTmp ??= mkdtempSync(path.join(os.tmpdir(), "tsmicro-bench-registry-"));
  return { ...config, registryDir: registryTmp };
}

process.on("exit", () => {
  for (const proc of children) proc.kill("SIGKILL");
  if (registryTmp) rmSync(registryTmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping all benchmark processes`);
    process.exit(130);
  });
}

/** Spawn a child and wait for its "ready" message; on failure it is stopped and the error thrown. */
async function startReady(file, config, dir) {
  const child = spawnChild(file, config, dir);
  try {
    const msg = await child.next(20_000);
    if (msg.type !== "ready") throw new Error(msg.error ?? JSON.stringify(msg));
    return { child, address: msg.address };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/** One measurement on a long-lived load generator. */
async function measure(client, job) {
  client.send(job);
  const msg = await client.next(30_000 + job.warmupMs + job.durationMs);
  if (msg.type !== "result") throw new Error(msg.error ?? JSON.stringify(msg));
  return msg;
}

const firstLine = (err) => String(err?.message ?? err).split("\n")[0];

// ---- the run ---------------------------------------------------------------------------------

async function main() {
  const loadAtStart = os.loadavg()[0];
  const runs = SCENARIOS.length * rounds * stacks.length;
  const estimate = stacks.length * primeSeconds + runs * (warmupSeconds + seconds + 0.1) + 5;
  console.error(
    `bench: ${stacks.join(", ")}; ${rounds} round(s) × ${SCENARIOS.length} scenarios = ${runs} runs of ` +
      `${warmupSeconds} s warm-up + ${seconds} s, after ${primeSeconds} s priming per stack: about ${Math.ceil(estimate / 60)} min`,
  );

  const servers = {};
  const clients = {};
  const unavailable = {}; // stack -> why
  const samples = {}; // "scenario|stack" -> [result per round]
  const problems = [];
  try {
    // One server process per server kind (tsmicro and tsmicro-msgpack share theirs).
    await Promise.all(
      [...new Set(stacks.map(serverId))].map(async (kind) => {
        const def = Object.values(STACKS).find((d) => (d.serverId ?? d.server) === kind);
        try {
          if (def.server === "tsmicro" && !tsmicroBuilt) {
            throw new Error("packages/tsmicro/dist/index.js is missing: run `npm run build` first");
          }
          servers[kind] = await startReady(
            `${def.server}-server.mjs`,
            withRegistryDir(def.serverConfig ?? {}),
            def.dir,
          );
          console.error(`  ${kind} server on ${servers[kind].address}`);
        } catch (err) {
          servers[kind] = { error: firstLine(err) };
          console.error(`  ${kind} server unavailable: ${err.message}`);
        }
      }),
    );
    // One long-lived load-generator process per stack, connected once.
    await Promise.all(
      stacks.map(async (stack) => {
        const server = servers[serverId(stack)];
        if (server.error) {
          unavailable[stack] = `server: ${server.error}`;
          return;
        }
        try {
          const config = withRegistryDir({ address: server.address, ...STACKS[stack].config });
          clients[stack] = (
            await startReady(`${STACKS[stack].client}-client.mjs`, config, STACKS[stack].dir)
          ).child;
        } catch (err) {
          unavailable[stack] = `client: ${firstLine(err)}`;
          console.error(`  ${stack} client unavailable: ${err.message}`);
        }
      }),
    );
    // Priming: bring every client and server past JIT warm-up before the first measured round.
    for (const stack of stacks.filter((s) => clients[s])) {
      const job = { payloadSize: 1024, concurrency: 64, warmupMs: 0, durationMs: primeSeconds * 1000 };
      await measure(clients[stack], job).catch((err) => problems.push(`${stack} priming: ${firstLine(err)}`));
    }

    for (const scenario of SCENARIOS) {
      for (let round = 0; round < rounds; round++) {
        // Interleave: every stack once per round, the order rotating between rounds.
        const order = stacks.map((_, i) => stacks[(i + round) % stacks.length]);
        for (const stack of order.filter((s) => clients[s])) {
          const key = `${scenarioName(scenario)}|${stack}`;
          const job = { ...scenario, warmupMs: warmupSeconds * 1000, durationMs: seconds * 1000 };
          try {
            const result = await measure(clients[stack], job);
            samples[key] ??= [];
            samples[key].push(result);
            if (result.errors) {
              problems.push(
                `${key} round ${round + 1}: ${result.errors} errors, first: ${result.firstError}`,
              );
            }
            console.error(
              `  ${scenarioName(scenario).padEnd(10)} round ${round + 1}  ${stack.padEnd(16)}` +
                `${Math.round(result.rps).toLocaleString("en-US").padStart(9)} req/s` +
                `  p50 ${Math.round(result.p50)} µs  p99 ${Math.round(result.p99)} µs`,
            );
          } catch (err) {
            problems.push(`${key} round ${round + 1}: ${firstLine(err)}`);
            console.error(`  ${key} round ${round + 1} failed: ${err.message}`);
          }
        }
      }
    }
  } finally {
    await Promise.all(
      [...Object.values(clients), ...Object.values(servers).map((s) => s.child)].map((c) => c?.stop()),
    );
  }

  const notes = [
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${os.platform()} ${os.release()}; ` +
      new Date().toISOString(),
    `${rounds} round(s); each run ${warmupSeconds} s warm-up + ${seconds} s measured; median over rounds; ` +
      `${primeSeconds} s priming per stack first. Each server and each load generator is its own node process on 127.0.0.1.`,
    "raw (the limit) echoes a JSON body `{ data }`: JSON.parse + JSON.stringify on both ends, one connection, " +
      "writes coalesced (≤ 16 frames per socket write, the rest at the end of the tick); raw-bytes and grpc echo bytes " +
      "(raw-bytes: one write per frame, nothing parsed); tsmicro and moleculer echo a JSON body `{ data }` " +
      "(tsmicro-msgpack: MessagePack). of raw = the row's req/s ÷ raw's req/s (the fraction of the limit reached); " +
      "p50 × raw = the row's p50 ÷ raw's p50; spread = (max − min) ÷ median of req/s over rounds.",
    `load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${os.loadavg()[0].toFixed(2)}: ` +
      "other work on the machine shows up as a large spread.",
    ...Object.entries(unavailable).map(([stack, why]) => `${stack} unavailable: ${why}`),
    ...problems.map((p) => `problem: ${p}`),
  ];
  const markdown = `# Unary echo benchmark\n\n${renderTable(samples, unavailable)}\n${notes.map((n) => `- ${n}`).join("\n")}\n`;
  console.log(`\n${markdown}`);
  mkdirSync(path.join(here, "results"), { recursive: true });
  writeFileSync(path.join(here, "results", "unary-latest.md"), markdown);
  console.error("written to bench/results/unary-latest.md");
}

function renderTable(samples, unavailable) {
  const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
  const header = ["scenario", "stack", "req/s", "p50 µs", "p99 µs", "of raw", "p50 × raw", "spread"];
  const rows = [];
  for (const scenario of SCENARIOS) {
    const name = scenarioName(scenario);
    const rps = (stack) => median((samples[`${name}|${stack}`] ?? []).map((r) => r.rps));
    const limit = rps("raw");
    const limitP50 = median((samples[`${name}|raw`] ?? []).map((r) => r.p50));
    for (const stack of stacks) {
      const results = samples[`${name}|${stack}`] ?? [];
      if (!results.length) {
        rows.push([name, stack, "n/a", "n/a", "n/a", unavailable[stack] ? "unavailable" : "failed", "", ""]);
        continue;
      }
      const theirs = rps(stack);
      const all = results.map((r) => r.rps);
      const p50 = median(results.map((r) => r.p50));
      rows.push([
        name,
        results.some((r) => r.errors) ? `${stack} (errors)` : stack,
        int(theirs),
        int(p50),
        int(median(results.map((r) => r.p99))),
        Number.isFinite(limit) && limit > 0 ? `${Math.round((100 * theirs) / limit)} %` : "–",
        Number.isFinite(limitP50) && limitP50 > 0 ? (p50 / limitP50).toFixed(2) : "–",
        all.length > 1 ? `${Math.round((100 * (Math.max(...all) - Math.min(...all))) / theirs)} %` : "–",
      ]);
    }
  }
  // Aligned columns (text left, numbers right), as a markdown formatter would print them.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i < 2 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n") + "\n";
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
