/** Metrics over a real service and client on loopback, scraped over HTTP as Prometheus would. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createMetrics, type MetricsServer } from "@tsmicro/metrics";
import {
  background,
  type Client,
  type Context,
  conflict,
  createMemoryRegistry,
  type MicroService,
  newClient,
  newRequest,
  newService,
  withTimeout,
} from "tsmicro";

const registry = createMemoryRegistry();
const metrics = createMetrics();
let service: MicroService;
let client: Client;
let plain: Client;
let server: MetricsServer;

class Echo {
  async ok(_ctx: Context, req: unknown) {
    return req;
  }
  async fail() {
    throw conflict("metered", "asked to fail");
  }
  async slow(ctx: Context, req: { ms: number }) {
    await new Promise((r) => setTimeout(r, req.ms));
    return ctx.chain;
  }
}

before(async () => {
  service = newService({ name: "metered", registry, wrappers: [metrics.server] });
  service.handle(new Echo());
  await service.start();
  client = newClient({ registry, wrappers: [metrics.client] });
  plain = newClient({ registry });
  metrics.observeClient(client, "test");
  server = await metrics.serve({ address: "127.0.0.1:0" });
});

after(async () => {
  await server.close();
  await client.close();
  await plain.close();
  await service.stop();
});

const ctx = () => withTimeout(background(), 5000);

async function scrape(): Promise<string> {
  const res = await fetch(server.url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
  return res.text();
}

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("calls, errors by code and latency histograms, client and server side, per service and endpoint", async () => {
  for (let i = 0; i < 3; i++) await client.call(ctx(), newRequest("metered", "Echo.ok", { i }));
  for (let i = 0; i < 2; i++) {
    await assert.rejects(client.call(ctx(), newRequest("metered", "Echo.fail", {}), { retries: 0 }));
  }
  await assert.rejects(client.call(ctx(), newRequest("metered", "Echo.missing", {})));
  // Negative control: a client without the wrapper is not counted on the client side.
  await plain.call(ctx(), newRequest("metered", "Echo.ok", {}));

  const text = await scrape();
  const ok = 'service="metered",endpoint="Echo.ok"';
  const fail = 'service="metered",endpoint="Echo.fail"';
  assert.equal(sample(text, `tsmicro_client_calls_total{${ok}}`), 3);
  assert.equal(
    sample(text, `tsmicro_server_calls_total{${ok}}`),
    4,
    "the plain client's call is handled (and counted) by the server",
  );
  assert.equal(sample(text, `tsmicro_client_errors_total{${fail},code="409"}`), 2);
  assert.equal(sample(text, `tsmicro_server_errors_total{${fail},code="409"}`), 2);
  assert.equal(
    sample(text, `tsmicro_client_errors_total{${ok},code="409"}`),
    undefined,
    "successes are not errors",
  );
  assert.equal(
    sample(text, 'tsmicro_client_errors_total{service="metered",endpoint="Echo.missing",code="404"}'),
    1,
    "an unknown endpoint is a client-side 404",
  );
  assert.equal(
    sample(text, 'tsmicro_server_calls_total{service="metered",endpoint="Echo.missing"}'),
    undefined,
    "the server refuses unknown endpoints before any wrapper: no label for junk names",
  );
  assert.equal(sample(text, `tsmicro_client_duration_seconds_count{${ok}}`), 3);
  assert.equal(sample(text, `tsmicro_server_duration_seconds_count{${ok}}`), 4);
  assert.equal(sample(text, `tsmicro_client_duration_seconds_bucket{le="+Inf",${ok}}`), 3);
  const sum = sample(text, `tsmicro_client_duration_seconds_sum{${ok}}`)!;
  assert.ok(sum > 0 && sum < 5, `latency sum is plausible: ${sum} s`);
  assert.ok(
    (sample(text, 'tsmicro_client_pool_connections{client="test"}') ?? 0) >= 1,
    "the pool has a connection",
  );
});

test("in-flight gauges count calls while they run and return to zero", async () => {
  const slow = 'service="metered",endpoint="Echo.slow"';
  const running = Promise.all([
    client.call(ctx(), newRequest("metered", "Echo.slow", { ms: 400 })),
    client.call(ctx(), newRequest("metered", "Echo.slow", { ms: 400 })),
  ]);
  await new Promise((r) => setTimeout(r, 150));
  const during = await scrape();
  assert.equal(sample(during, `tsmicro_client_inflight{${slow}}`), 2);
  assert.equal(sample(during, `tsmicro_server_inflight{${slow}}`), 2);
  assert.equal(sample(during, 'tsmicro_client_tracked_inflight{client="test"}'), 2);
  await running;
  const later = await scrape();
  assert.equal(sample(later, `tsmicro_client_inflight{${slow}}`), 0);
  assert.equal(sample(later, `tsmicro_server_inflight{${slow}}`), 0);
});

test("the metrics listener serves only its path", async () => {
  const res = await fetch(server.url.replace("/metrics", "/other"), { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 404);
  await res.text();
});
