// One side of one run: `node child.mjs '{"role":"sub"|"pub","stack":"raw"|"tsmicro","backend":...}'`.
// Speaks JSON lines on stdout: the subscriber says {ready, address}, then {received, ...};
// the publisher says {published, startAt, endAt}.
import { performance } from "node:perf_hooks";
import { open } from "./backends.mjs";

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const SIZE = 100;

const side = await open(cfg.stack, cfg.backend, cfg.topic);

if (cfg.role === "sub") {
  const latencies = new Float64Array(cfg.count);
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    const sorted = latencies.slice(0, received).sort();
    const pct = (p) =>
      received === 0 ? Number.NaN : sorted[Math.min(received - 1, Math.floor(received * p))];
    const cpu = process.cpuUsage(cpu0);
    say({ received, firstAt, lastAt, p50: pct(0.5), p99: pct(0.99), cpuUs: cpu.user + cpu.system });
    await side.cleanup?.().catch(() => {});
    process.exit(0);
  };
  const address = await side.subscribe((text) => {
    const at = now();
    if (received === 0) firstAt = at;
    lastAt = at;
    if (received < cfg.count) latencies[received] = at - Number(text.slice(0, text.indexOf("|")));
    received++;
    if (received >= cfg.count) void finish();
  });
  const cpu0 = process.cpuUsage();
  say({ ready: true, address });
  // Bounded: report what arrived if the stream stalls.
  setInterval(() => {
    if (now() - (lastAt || now()) > cfg.stallMs) void finish();
  }, 250).unref();
  setTimeout(finish, cfg.timeoutMs).unref();
  process.stdin.on("end", finish);
  process.stdin.resume();
} else {
  if (cfg.address) side.publisher.connectTo?.(cfg.address);
  const pad = "x".repeat(SIZE);
  const text = () => {
    const head = `${now()}|`;
    return head + pad.slice(head.length);
  };
  let next = 0;
  let errors = 0;
  const startAt = now();
  const cpu0 = process.cpuUsage();
  const worker = async () => {
    while (next < cfg.count) {
      next++;
      try {
        await side.publisher.publish(text());
      } catch {
        errors++;
      }
      // A synchronous publish (core NATS) still lets the socket drain now and then.
      if (next % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: cfg.window }, worker));
  await side.publisher.flush?.();
  const endAt = now();
  const cpu = process.cpuUsage(cpu0);
  say({ published: next, errors, startAt, endAt, cpuUs: cpu.user + cpu.system });
  await side.publisher.close();
  process.exit(0);
}
