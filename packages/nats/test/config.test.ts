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
  createMemoryRegistry,
  defaultsSource,
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
      sources: [defaultsSource({ client: { retries: 0, requestTimeoutMs: 1000, poolSize: 4 } }), source],
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
    const showBucket = `${bucket}-show`;
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
    const client = newClient({ registry, retries: 0, requestTimeoutMs: 30_000, poolSize: 4 });
    const source = natsConfigSource({ bucket: showBucket });
    const config = await loadConfig({
      schema: Schema,
      sources: [defaultsSource({ client: { retries: 0, requestTimeoutMs: 30_000, poolSize: 4 } }), source],
    });
    // The application's wiring: every applied change re-inits the client.
    const inits: { inflight: number }[] = [];
    const stopWatch = new AbortController();
    const wiring = (async () => {
      for await (const change of config.watch({ signal: stopWatch.signal })) {
        client.init(change.current.client);
        inits.push({ inflight: client.inflight().length });
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
      await waitFor("client.init() from the config change", 10_000, async () =>
        client.options().poolSize === 2 && client.options().requestTimeoutMs === 300 ? true : undefined,
      );
      assert.ok(
        inits.length >= 1 && inits[0]!.inflight === 1000,
        `init ran with ${inits[0]?.inflight} calls in flight`,
      );
      await new Promise((r) => setTimeout(r, 400)); // past the new timeout: the old calls must not time out
      release();
      const results = await Promise.allSettled(calls);
      const failed = results.filter((r) => r.status === "rejected");
      assert.equal(
        failed.length,
        0,
        `${failed.length} of 1000 failed: ${String((failed[0] as PromiseRejectedResult | undefined)?.reason)}`,
      );
      assert.deepEqual(
        results.map((r) => (r as PromiseFulfilledResult<{ i: number }>).value.i),
        Array.from({ length: 1000 }, (_, i) => i),
      );
      // A call started after init runs under the new options: 300 ms is too short for Slow.
      await assert.rejects(
        client.call(background(), newRequest(name, "Work.Slow", {})),
        (e: unknown) => e instanceof MicroError && e.code === 408,
      );
    } finally {
      stopWatch.abort();
      await wiring;
      await config.close();
      await source.close();
      await client.close();
      await service.stop();
      await (await jetstreamManager(nc)).streams.delete(`KV_${showBucket}`).catch(() => {});
    }
  });
});
