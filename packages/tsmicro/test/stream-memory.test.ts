/**
 * 1 GiB through a stream to a slow consumer, client and server in this process: the
 * process's RSS must stay bounded (flow control holds the producer back) and the producer
 * may never run more than one window ahead of what the consumer has read.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { newClient } from "../src/client/client.js";
import { background } from "../src/context.js";
import { defineContract, serverStream } from "../src/contract/contract.js";
import { implement } from "../src/contract/implement.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { newService } from "../src/service/service.js";
import { STREAM_WINDOW_BYTES } from "../src/transport/mux-stream.js";

const TOTAL = 1024 * 1024 * 1024;
const CHUNK = 256 * 1024;
const MESSAGES = TOTAL / CHUNK;
/**
 * RSS may grow by at most this over the baseline while 1 GiB flows (8x below the data): the
 * garbage of encoding and framing 256 KiB messages, collected as V8 sees fit, not buffering.
 */
const RSS_BOUND = 128 * 1024 * 1024;
/** And it must not trend upwards: the last three quarters may peak at most this above the first. */
const RSS_TREND_BOUND = 32 * 1024 * 1024;

const Bulk = defineContract("Bulk", {
  download: serverStream<{ messages: number; size: number }, { seq: number; data: Uint8Array }>(),
});

test("1 GiB through a slow consumer keeps RSS bounded and the producer within one window", {
  timeout: 120_000,
}, async () => {
  let produced = 0;
  let consumed = 0;
  let maxAhead = 0;
  const registry = createMemoryRegistry();
  const service = newService({ name: "bulk", registry }).handle(
    implement(Bulk, {
      async *download(_ctx, req) {
        // One buffer reused: the producer itself allocates nothing per message.
        const data = Buffer.alloc(req.size, 7);
        for (let seq = 0; seq < req.messages; seq++) {
          produced++;
          maxAhead = Math.max(maxAhead, produced - consumed);
          yield { seq, data };
        }
      },
    }),
  );
  await service.start();
  const client = newClient({ registry, contentType: "application/msgpack" });
  const bulk = client.service(Bulk, "bulk");
  try {
    global.gc?.();
    await sleep(50);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let peakEarly = baseline;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      if (consumed < MESSAGES / 4) peakEarly = peak;
    }, 20);
    const started = Date.now();
    let bytes = 0;
    let expected = 0;
    try {
      for await (const m of bulk.download(background(), { messages: MESSAGES, size: CHUNK })) {
        assert.equal(m.seq, expected++, "messages arrive in order");
        bytes += m.data.length;
        consumed++;
        // The slow consumer: a pause every 8 messages (2 MiB), 512 pauses in all.
        if (consumed % 8 === 0) await sleep(1);
        if (Date.now() - started > 90_000) assert.fail(`only ${bytes} bytes after 90 s: the stream is stuck`);
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const growth = peak - baseline;
    const trend = peak - peakEarly;
    const windowMessages = Math.ceil(STREAM_WINDOW_BYTES / (CHUNK + 16)) + 2;
    console.log(
      `# 1 GiB in ${seconds.toFixed(1)} s (${(TOTAL / 2 ** 20 / seconds).toFixed(0)} MiB/s); RSS ${(baseline / 2 ** 20).toFixed(0)} MiB → peak ${(peak / 2 ** 20).toFixed(0)} MiB (+${(growth / 2 ** 20).toFixed(0)} MiB, bound ${RSS_BOUND / 2 ** 20} MiB; after the first quarter +${(trend / 2 ** 20).toFixed(0)} MiB, bound ${RSS_TREND_BOUND / 2 ** 20} MiB); producer at most ${maxAhead} messages ahead (window ${windowMessages})`,
    );
    assert.equal(bytes, TOTAL);
    assert.ok(
      maxAhead <= windowMessages,
      `producer ran ${maxAhead} messages ahead; the window allows ${windowMessages}`,
    );
    assert.ok(growth < RSS_BOUND, `RSS grew by ${(growth / 2 ** 20).toFixed(0)} MiB streaming 1 GiB`);
    assert.ok(
      trend < RSS_TREND_BOUND,
      `RSS kept growing: +${(trend / 2 ** 20).toFixed(0)} MiB after the first quarter of the data`,
    );
  } finally {
    await client.close();
    await service.stop();
  }
});
