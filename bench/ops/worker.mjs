// One measurement of bench/ops: a service and a client in this process on loopback TCP, with the
// ops wrappers named by `config` on both sides; echoes for `seconds` at `concurrency` calls in
// flight, then prints one JSON line {config, concurrency, calls, rps, p50Us, p99Us}.

import { background, createMemoryRegistry, newClient, newRequest, newService } from "tsmicro";
import { opsWrappers } from "./wrappers.mjs";

const [config, secondsArg, concurrencyArg, warmupArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
const warmup = Number(warmupArg ?? 0.5);

const w = opsWrappers(config);
const registry = createMemoryRegistry();
const service = newService({ name: "ops-bench", registry, wrappers: w.server, trackInflight: true });
service.handle(
  new (class Echo {
    async echo(_ctx, req) {
      return req;
    }
  })(),
);
await service.start();
const client = newClient({ registry, wrappers: w.client });
const req = newRequest("ops-bench", "Echo.echo", { payload: "x".repeat(100) });
const ctx = background();

async function runFor(ms, record) {
  const end = performance.now() + ms;
  const latencies = [];
  let calls = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await client.call(ctx, req);
      if (record) latencies.push(performance.now() - t);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, latencies };
}

await runFor(warmup * 1000, false);
const started = performance.now();
const { calls, latencies } = await runFor(seconds * 1000, true);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] * 1000);
process.stdout.write(
  `${JSON.stringify({ config, concurrency, calls, rps: calls / elapsed, p50Us: q(0.5), p99Us: q(0.99) })}\n`,
);
await client.close();
await service.stop();
process.exit(0);
