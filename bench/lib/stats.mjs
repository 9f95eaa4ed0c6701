// Shared helpers for the bench: the closed-loop load generator, latency percentiles,
// medians, and the tiny stdout protocol between the orchestrator and its children.

import { createInterface } from "node:readline";

const TAG = "@@bench ";

/** Child -> parent: one tagged JSON line on stdout (logs from libraries stay untagged). */
export function report(message) {
  process.stdout.write(TAG + JSON.stringify(message) + "\n");
}

/** Parent side: the tagged message in one line of child stdout, if any. */
export function parseReport(line) {
  return line.startsWith(TAG) ? JSON.parse(line.slice(TAG.length)) : undefined;
}

/** A child's config arrives as one JSON argument. */
export function childConfig() {
  return JSON.parse(process.argv[2] ?? "{}");
}

/** Exit when the parent goes away (its end of our stdin closes), even if it was SIGKILLed. */
export function exitWithParent(onExit = () => {}) {
  process.stdin.on("end", async () => {
    await onExit();
    process.exit(0);
  });
  process.stdin.resume();
}

/** A growable array of latencies in microseconds. */
class Recorder {
  values = new Float64Array(1 << 16);
  length = 0;
  add(us) {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = us;
  }
  percentiles(...ps) {
    const sorted = this.values.subarray(0, this.length).sort();
    return ps.map((p) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN,
    );
  }
}

/** Keep `concurrency` calls in flight until `ms` has passed; each worker starts its next call on completion. */
async function phase(call, concurrency, ms, recorder) {
  const end = performance.now() + ms;
  let count = 0;
  let errors = 0;
  let firstError;
  const worker = async () => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await call();
      } catch (err) {
        errors++;
        firstError ??= String(err?.stack ?? err);
        // Never spin on instant rejections: let timers and I/O run, and give up on a dead server.
        await new Promise((resolve) => setImmediate(resolve));
        if (errors > 1000) return;
        continue;
      }
      count++;
      recorder?.add((performance.now() - start) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { count, errors, firstError };
}

/**
 * Closed-loop benchmark of one async `call`: warm up, then measure.
 * Returns req/s over the measured window and per-call latency percentiles in µs.
 */
export async function runLoad(call, { concurrency, warmupMs, durationMs }) {
  await phase(call, concurrency, warmupMs);
  const recorder = new Recorder();
  const started = performance.now();
  const { count, errors, firstError } = await phase(call, concurrency, durationMs, recorder);
  const seconds = (performance.now() - started) / 1000;
  const [p50, p99] = recorder.percentiles(0.5, 0.99);
  return { rps: count / seconds, p50, p99, count, errors, firstError };
}

/**
 * Run a long-lived load-generator child. `connect(config)` opens the stack's client once and returns
 * `{ makeCall(payloadSize), close() }`. Then every line on stdin is one job
 * `{ payloadSize, concurrency, warmupMs, durationMs }`, answered by one result on stdout.
 * The child exits when its stdin closes.
 */
export async function runClient(connect) {
  let client;
  try {
    client = await connect(childConfig());
    report({ type: "ready" });
  } catch (err) {
    report({ type: "error", error: String(err?.stack ?? err) });
    process.exit(1);
  }
  for await (const line of createInterface({ input: process.stdin })) {
    const job = JSON.parse(line);
    try {
      report({ type: "result", ...(await runLoad(client.makeCall(job.payloadSize), job)) });
    } catch (err) {
      report({ type: "error", error: String(err?.stack ?? err) });
    }
  }
  await client.close?.();
  process.exit(0);
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The payload of `size` bytes: a Buffer for byte stacks, a JSON body `{ data }` for the others. */
export function payloadBytes(size) {
  return Buffer.alloc(size, 0x61);
}
export function payloadJson(size) {
  return { data: "a".repeat(size) };
}
