/**
 * `metrics.middleware` counts what the wrappers never saw, over a real service on loopback TCP
 * and the default http broker: published messages per topic (client side), handled deliveries
 * per service and topic with errors by code (redeliveries included), and client streams. The
 * numbers are read from the prom-client registry. Publish topics are capped (`maxTopics`).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { createMetrics } from "@tsmicro/metrics";
import {
  background,
  type Client,
  createMemoryBroker,
  createMemoryRegistry,
  defineContract,
  implement,
  internalServerError,
  type MicroService,
  newClient,
  newMessage,
  newService,
  serverStream,
  withTimeout,
} from "tsmicro";
import { waitFor } from "tsmicro/testing";

const Count = defineContract("Count", { up: serverStream<{ n: number }, { i: number }>() });
const id = randomUUID().slice(0, 8);
const name = `metrics-mw-${id}`;
const topic = `metrics.mw.${id}`;
const registry = createMemoryRegistry();
const metrics = createMetrics();
let service: MicroService;
let client: Client;
let plain: Client;
const handled: number[] = [];

before(async () => {
  service = newService({ name, registry, middleware: [metrics.middleware] })
    .handle(
      implement(Count, {
        async *up(_ctx, req) {
          for (let i = 0; i < req.n; i++) yield { i };
        },
      }),
    )
    .subscribe(topic, (_ctx, payload: { n: number; failOnce?: boolean }, event) => {
      // The first delivery of a `failOnce` message fails; the broker redelivers it.
      if (payload.failOnce && event.attempt === 1) throw internalServerError(name, "first delivery fails");
      handled.push(payload.n);
    });
  await service.start();
  client = newClient({ registry, middleware: [metrics.middleware] });
  plain = newClient({ registry });
});

after(async () => {
  await client.close();
  await plain.close();
  await service.stop();
});

/** The value of one sample line, or undefined when the series is absent. */
async function sample(series: string): Promise<number | undefined> {
  const text = await metrics.text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const ctx = () => withTimeout(background(), 5000);

test("published messages and handled deliveries are counted, errors by code, redeliveries included", async () => {
  for (let n = 1; n <= 3; n++) await client.publish(ctx(), newMessage(topic, { n }));
  await client.publish(ctx(), newMessage(topic, { n: 4, failOnce: true }));
  // Negative control: a client without the middleware publishes uncounted (the subscriber still counts it).
  await plain.publish(ctx(), newMessage(topic, { n: 5 }));
  await waitFor("all five messages handled (one after a redelivery)", 10_000, async () =>
    handled.length >= 5 ? true : undefined,
  );

  const t = `topic="${topic}"`;
  const st = `service="${name}",${t}`;
  assert.equal(
    await sample(`tsmicro_messages_published_total{${t}}`),
    4,
    "four published through the middleware",
  );
  assert.equal(await sample(`tsmicro_publish_duration_seconds_count{${t}}`), 4);
  assert.equal(await sample(`tsmicro_publish_errors_total{${t},code="500"}`), undefined, "no publish failed");
  await waitFor("the last delivery's handled count", 5000, async () =>
    (await sample(`tsmicro_messages_handled_total{${st}}`)) === 6 ? true : undefined,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}; got ${await sample(`tsmicro_messages_handled_total{${st}}`)}`);
  });
  assert.equal(
    await sample(`tsmicro_subscriber_errors_total{${st},code="500"}`),
    1,
    "the failed first delivery is an error",
  );
  assert.equal(await sample(`tsmicro_subscriber_duration_seconds_count{${st}}`), 6);
  assert.equal(await sample(`tsmicro_subscribers_inflight{${st}}`), 0);
});

test("client streams are counted when they end", async () => {
  const s = client.service(Count, name).up(ctx(), { n: 3 });
  const got: number[] = [];
  for await (const m of s) got.push(m.i);
  assert.deepEqual(got, [0, 1, 2]);
  const ep = `service="${name}",endpoint="Count.up"`;
  const streams = await waitFor("the finished stream counted", 5000, async () =>
    (await sample(`tsmicro_client_streams_total{${ep}}`)) === 1 ? 1 : undefined,
  );
  assert.equal(streams, 1);
  assert.equal(await sample(`tsmicro_client_streams_inflight{${ep}}`), 0);
  assert.equal(
    await sample(`tsmicro_server_calls_total{${ep}}`),
    1,
    "the stream handler is counted by the handler hook",
  );
});

test("publish topics are capped: past maxTopics, topics count as _other", async () => {
  const capped = createMetrics({ maxTopics: 2 });
  const c = newClient({ registry, broker: createMemoryBroker(), middleware: [capped.middleware] });
  try {
    for (let i = 0; i < 5; i++) await c.publish(ctx(), newMessage(`capped.${id}.${i}`, { i }));
    const text = await capped.text();
    const series = text.split("\n").filter((l) => l.startsWith("tsmicro_messages_published_total{"));
    assert.deepEqual(series, [
      `tsmicro_messages_published_total{topic="capped.${id}.0"} 1`,
      `tsmicro_messages_published_total{topic="capped.${id}.1"} 1`,
      'tsmicro_messages_published_total{topic="_other"} 3',
    ]);
  } finally {
    await c.close();
  }
});
