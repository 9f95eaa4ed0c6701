// Fires many calls at once and classifies each: completed, failed (with a MicroError), or
// stalled (not settled within `stallMs`, well before the call's own deadline). Stalled calls
// are then cancelled so the run always ends.
import { background, withCancel } from "tsmicro";

/**
 * @param {{ count: number, stallMs: number, call: (ctx: import("tsmicro").Context) => Promise<unknown> }} o
 */
export async function fireConcurrently({ count, stallMs, call }) {
  const latencies = [];
  const errors = new Map();
  let completed = 0;
  let failed = 0;
  let stalled = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const [ctx, cancel] = withCancel(background());
      const t0 = performance.now();
      let timer;
      const outcome = await Promise.race([
        call(ctx).then(
          () => "completed",
          (err) => {
            const key = `${err?.code ?? "?"} ${err?.detail ?? err?.message ?? err}`.slice(0, 200);
            errors.set(key, (errors.get(key) ?? 0) + 1);
            return "failed";
          },
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve("stalled"), stallMs);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === "stalled") {
        stalled++;
        cancel("stalled: cancelled by the harness");
        return;
      }
      cancel();
      latencies.push(performance.now() - t0);
      if (outcome === "completed") completed++;
      else failed++;
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p) =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return {
    count,
    completed,
    failed,
    stalled,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: latencies.at(-1) ?? NaN,
    wallMs: Date.now() - started,
    errors: [...errors.entries()].map(([k, n]) => `${n} × ${k}`),
  };
}

/**
 * A model of go-micro v4.10.2's client locking, for the negative control: one async
 * read-write lock that prefers writers (as Go's sync.RWMutex: a waiting writer blocks new
 * readers), read-held across the whole call, write-held by init().
 */
export function createGoMicroLockModel() {
  let readers = 0;
  let writer = false;
  const waitingWriters = [];
  const waitingReaders = [];
  const wake = () => {
    if (!writer && readers === 0 && waitingWriters.length > 0) {
      writer = true;
      waitingWriters.shift()();
      return;
    }
    if (!writer && waitingWriters.length === 0) {
      while (waitingReaders.length > 0) {
        readers++;
        waitingReaders.shift()();
      }
    }
  };
  const rlock = () =>
    new Promise((resolve) => {
      if (!writer && waitingWriters.length === 0) {
        readers++;
        resolve();
      } else waitingReaders.push(resolve);
    });
  const runlock = () => {
    readers--;
    wake();
  };
  const lock = () =>
    new Promise((resolve) => {
      waitingWriters.push(resolve);
      wake();
    });
  const unlock = () => {
    writer = false;
    wake();
  };
  return {
    /** CallWrapper holding the read lock across the call, as go-micro's rpcClient.Call. */
    wrapper: (next) => async (ctx, req, opts) => {
      await rlock();
      try {
        return await next(ctx, req, opts);
      } finally {
        runlock();
      }
    },
    /** init() under the write lock, as go-micro's rpcClient.Init. */
    async init(client, i) {
      await lock();
      try {
        stormInit(client, i);
      } finally {
        unlock();
      }
    },
  };
}

import { stormInit } from "./test-service.mjs";
