// The NATS KV config source against the shared server (a bucket of our own per run), and the
// showcase: a config change that alters client options calls client.init() while 1,000 calls
// are in flight, and every call completes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import {
  background,
  type CallWrapper,
  createMemoryRegistry,
  loadConfig,
  MicroError,
  newClient,
  newRequest,
  newService,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";
import { z } from "zod";
import { natsConfigSource } from "../src/index.js";

const bucket = `tsmicro-test-config-${randomUUID().slice(0, 8)}`;
const nc = await connect({ servers: "127.0.0.1:4222" });
const kv = await new Kvm(jetstream(nc)).create(bucket, { history: 1 });
after(async () => {
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => {});
  await nc.close();
});

const Schema = z.object({
  client: z.object({
    retries: z.number().int().min(0).max(10),
    requestTimeoutMs: z.number().int().positive(),
    poolSize: z.number().int().min(1).max(64),
  }),
});

describe("NATS KV config source", () => {
  it("loads the bucket over the defaults, watches changes, refuses a bad one keeping the last good config", {
    timeout: 30_000,
  }, async () => {
    await kv.put("client.retries", "2");
    const errors: MicroError[] = [];
    const source = natsConfigSource({ bucket });
    const config = await loadConfig({
      schema: Schema,
      defaults: { client: { retries: 0, requestTimeoutMs: 1000, poolSize: 4 } },
      sources: [source],
      onError: (e) => errors.push(e),
    });
    try {
      assert.deepEqual(config.get().client, { retries: 2, requestTimeoutMs: 1000, poolSize: 4 });
      const changes = config.watch()[Symbol.asyncIterator]();
      await kv.put("client.poolSize", "8");
      const c = await changes.next();
      assert.equal(c.value.current.client.poolSize, 8);
      assert.deepEqual(c.value.changed, ["client.poolSize"]);
      assert.equal(c.value.source, `nats kv ${bucket}`);
      await kv.put("client.poolSize", "1000");
      await waitFor("the bad value to be refused", 10_000, async () =>
        errors.length > 0 ? true : undefined,
      );
      assert.match(
        errors[0]!.detail,
        new RegExp(`key "client\\.poolSize" from nats kv ${bucket} \\(value 1000\\) breaks the rule`),
      );
      assert.equal(config.get().client.poolSize, 8, "the previous good config stays");
      await kv.put("client.poolSize", "6");
      assert.equal((await changes.next()).value.current.client.poolSize, 6);
    } finally {
      await config.close();
      await source.close();
    }
  });

  it("showcase: a config change calls client.init() while 1,000 calls are in flight; every call completes", {
    timeout: 60_000,
  }, async () => {
    const r = await showcase({ initBoundMs: 10_000 });
    assert.equal(r.initStalled, false, "client.init() ran while the calls were in flight");
    assert.equal(r.inflightAtInit, 1000, `init ran with ${r.inflightAtInit} calls in flight`);
    assert.equal(r.failed, 0, `${r.failed} of 1000 failed: ${r.firstFailure}`);
    assert.equal(r.completedInOrder, true, "every call got its own answer");
    assert.equal(r.newCallTimedOut, true, "a call started after init() runs under the new 300 ms timeout");
  });

  it("negative control: with go-micro's client lock (calls hold a read lock, init() the write lock) the same harness catches init() stalled behind the calls", {
    timeout: 60_000,
  }, async () => {
    const r = await showcase({ initBoundMs: 2000, lock: goMicroLock() });
    assert.equal(
      r.initStalled,
      true,
      "the harness reports that init() could not run while calls were in flight",
    );
  });
});

/** go-micro's client lock (a writer-preferring sync.RWMutex): calls hold the read lock, init() takes the write lock. */
function goMicroLock() {
  let readers = 0;
  let writing = false;
  const writers: (() => void)[] = [];
  const waitingReaders: (() => void)[] = [];
  const wake = () => {
    if (!writing && readers === 0 && writers.length > 0) {
      writing = true;
      writers.shift()!();
      return;
    }
    if (!writing && writers.length === 0) {
      while (waitingReaders.length > 0) {
        readers++;
        waitingReaders.shift()!();
      }
    }
  };
  const wrapper: CallWrapper = (next) => async (ctx, req, opts) => {
    await new Promise<void>((r) => {
      if (!writing && writers.length === 0) {
        readers++;
        r();
      } else waitingReaders.push(r);
    });
    try {
      return await next(ctx, req, opts);
    } finally {
      readers--;
      wake();
    }
  };
  return {
    wrapper,
    async init(apply: () => void) {
      await new Promise<void>((r) => {
        writers.push(r);
        wake();
      });
      try {
        apply();
      } finally {
        writing = false;
        wake();
      }
    },
  };
}

/**
 * 1,000 calls held in their handler; then a config change in NATS KV whose watcher re-inits the
 * client (through go-micro's lock when `lock` is given); `initBoundMs` bounds the wait for the
 * new options; then the handlers are released and every call awaited (bounded).
 */
async function showcase(o: { initBoundMs: number; lock?: ReturnType<typeof goMicroLock> }) {
  const showBucket = `${bucket}-show-${randomUUID().slice(0, 6)}`;
  const registry = createMemoryRegistry();
  let started = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const name = `showcase-${randomUUID().slice(0, 8)}`;
  class Work {
    async Hold(_ctx: unknown, req: { i: number }) {
      started++;
      await gate;
      return { i: req.i };
    }
    async Slow() {
      await new Promise((r) => setTimeout(r, 1000));
      return {};
    }
  }
  const service = newService({ name, registry, address: "127.0.0.1:0" }).handle(new Work());
  await service.start();
  const client = newClient({
    registry,
    retries: 0,
    requestTimeoutMs: 30_000,
    poolSize: 4,
    wrappers: o.lock === undefined ? [] : [o.lock.wrapper],
  });
  const source = natsConfigSource({ bucket: showBucket });
  const config = await loadConfig({
    schema: Schema,
    defaults: { client: { retries: 0, requestTimeoutMs: 30_000, poolSize: 4 } },
    sources: [source],
  });
  // The application's wiring: every applied change re-inits the client.
  const inits: number[] = [];
  const stopWatch = new AbortController();
  const wiring = (async () => {
    for await (const change of config.watch({ signal: stopWatch.signal })) {
      const apply = () => {
        client.init(change.current.client);
        inits.push(client.inflight().length);
      };
      if (o.lock === undefined) apply();
      else await o.lock.init(apply);
    }
  })();
  try {
    const calls = Array.from({ length: 1000 }, (_, i) =>
      client.call(background(), newRequest(name, "Work.Hold", { i })),
    );
    await waitFor("1,000 calls to be running in the handler", 30_000, async () =>
      started === 1000 ? true : undefined,
    );
    // Shorter than the calls already in flight will take: they keep the snapshot they started with.
    const kvShow = await new Kvm(jetstream(nc)).create(showBucket, { history: 1 });
    await kvShow.put("client.requestTimeoutMs", "300");
    await kvShow.put("client.poolSize", "2");
    const initStalled = await waitFor("client.init() from the config change", o.initBoundMs, async () =>
      client.options().poolSize === 2 && client.options().requestTimeoutMs === 300 ? true : undefined,
    ).then(
      () => false,
      () => true,
    );
    await new Promise((r) => setTimeout(r, 400)); // past the new timeout: the old calls must not time out
    release();
    const results = await Promise.race([
      Promise.allSettled(calls),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the 1,000 calls did not settle in 30 s")), 30_000),
      ),
    ]);
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    const completedInOrder = results.every(
      (r, i) => r.status === "fulfilled" && (r.value as { i: number }).i === i,
    );
    let newCallTimedOut = false;
    if (!initStalled) {
      newCallTimedOut = await client.call(background(), newRequest(name, "Work.Slow", {})).then(
        () => false,
        (e: unknown) => e instanceof MicroError && e.code === 408,
      );
    }
    return {
      initStalled,
      inflightAtInit: inits[0],
      failed: failed.length,
      firstFailure: String(failed[0]?.reason),
      completedInOrder,
      newCallTimedOut,
    };
  } finally {
    release();
    stopWatch.abort();
    await wiring;
    await config.close();
    await source.close();
    await client.close();
    await service.stop();
    await (await jetstreamManager(nc)).streams.delete(`KV_${showBucket}`).catch(() => {});
  }
}
