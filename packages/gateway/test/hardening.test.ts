/**
 * Issue 19's gateway findings, each against the real gateway and a real service on loopback:
 * request targets that used to kill the process, dashboard streams that grew without bound,
 * junk endpoints that became permanent metric series, and details that reached anonymous callers.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { createGateway, type Gateway } from "@tsmicro/gateway";
import { createMetrics } from "@tsmicro/metrics";
import { createMemoryRegistry, type MicroService, newClient } from "tsmicro";
import { waitFor } from "tsmicro/testing";
import { startOrders } from "./fixture.js";
import { get, rawRequest, splitAddress } from "./raw.js";

const registry = createMemoryRegistry();
let service: MicroService;

before(async () => {
  service = await startOrders(registry);
});
after(async () => {
  await service.stop();
});

describe("no request target kills the gateway", () => {
  let gateway: Gateway;
  let at: string;
  before(async () => {
    gateway = createGateway({ address: "127.0.0.1:0", registry });
    at = await gateway.listen();
  });
  after(() => gateway.close());

  for (const target of [
    "//%zz",
    "http://[::1/x",
    "/health/%",
    "/health/%zz",
    "/api/orders/%E0%A4%A",
    "//",
    "http://",
  ]) {
    test(`GET ${target} is a 400 problem, and the gateway serves the next request`, async () => {
      const bad = await rawRequest(at, get(target));
      assert.equal(bad.status, 400, `${target}: ${bad.head}`);
      assert.match(bad.head, /content-type: application\/problem\+json/i);
      const ok = await rawRequest(at, get("/health"));
      assert.equal(ok.status, 200, "the gateway still answers /health");
    });
  }
  test("a request head over maxHeaderBytes is a 431, and the gateway serves the next request", async () => {
    const r = await rawRequest(at, get("/health", `x-pad: ${"y".repeat(20_000)}\r\n`));
    assert.equal(r.status, 431);
    assert.equal((await rawRequest(at, get("/health"))).status, 200);
  });
  test("of the built-in Debug endpoints only Debug.Health is callable through the gateway", async () => {
    const call = (endpoint: string) =>
      fetch(`http://${at}/api/orders/${endpoint}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(5000),
      });
    const health = await call("Debug.Health");
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const inflight = await call("Debug.Inflight");
    assert.equal(inflight.status, 404, "the topology and live traffic stay behind the dashboard");
    await inflight.text();
  });
  test("a request target over maxUrlBytes is a 414", async () => {
    const r = await rawRequest(at, get(`/api/orders/${"x".repeat(9000)}`));
    assert.equal(r.status, 414);
  });
});

describe("/_/events is bounded", () => {
  test("a client that never reads has its stream closed once maxBufferedBytes are queued", async () => {
    const gateway = createGateway({
      address: "127.0.0.1:0",
      registry,
      dashboard: { pushIntervalMs: 10, maxBufferedBytes: 256 * 1024 },
    });
    // Big frames: many endpoints in the stats pushed every 10 ms.
    for (let i = 0; i < 50; i++) gateway.stats.record("orders", `Big.endpoint${i}`, 1, true);
    const at = await gateway.listen();
    const [host, port] = splitAddress(at);
    const socket = connect({ host, port });
    try {
      socket.on("error", () => {});
      socket.write(get("/_/events").replace("connection: close\r\n", ""));
      socket.pause(); // never reads: the kernel's buffers fill, then the gateway's
      await waitFor("the stream to open", 5000, async () => (gateway.streams === 1 ? true : undefined));
      await waitFor("the gateway to close the stream of a client that does not read", 15_000, async () =>
        gateway.streams === 0 ? true : undefined,
      );
    } finally {
      socket.destroy();
      await gateway.close();
    }
  });
  test("streams beyond maxStreams are a 503", async () => {
    const gateway = createGateway({ address: "127.0.0.1:0", registry, dashboard: { maxStreams: 2 } });
    const at = await gateway.listen();
    const ctl = new AbortController();
    try {
      const open = [];
      for (let i = 0; i < 2; i++) open.push(await fetch(`http://${at}/_/events`, { signal: ctl.signal }));
      assert.deepEqual(
        open.map((r) => r.status),
        [200, 200],
      );
      const third = await fetch(`http://${at}/_/events`, { signal: AbortSignal.timeout(5000) });
      assert.equal(third.status, 503);
      assert.match(((await third.json()) as { detail: string }).detail, /maxStreams/);
    } finally {
      ctl.abort();
      await gateway.close();
    }
  });
});

describe("metrics cardinality", () => {
  test("300 invented /api/{s}/{e} make no metric series and no dashboard chart (gateway set up as its README shows)", async () => {
    const metrics = createMetrics();
    const client = newClient({ registry, wrappers: [metrics.client] });
    const gateway = createGateway({
      address: "127.0.0.1:0",
      registry,
      client,
      routes: { "/metrics": metrics.handler },
    });
    const at = await gateway.listen();
    try {
      const call = (path: string) =>
        fetch(`http://${at}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
          signal: AbortSignal.timeout(5000),
        });
      const good = await call("/api/orders/Api.echo");
      assert.equal(good.status, 200);
      await good.text();
      const statuses = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const r = await call(i % 2 === 0 ? `/api/junk${i}/X.y${i}` : `/api/orders/Nope.e${i}`);
        statuses.add(r.status);
        await r.text();
      }
      assert.deepEqual([...statuses], [404]);
      const text = await (await fetch(`http://${at}/metrics`)).text();
      const series = text.split("\n").filter((l) => l.startsWith("tsmicro_client_calls_total{"));
      assert.deepEqual(series, ['tsmicro_client_calls_total{service="orders",endpoint="Api.echo"} 1']);
      assert.ok(text.length < 64 * 1024, `/metrics is ${text.length} bytes`);
      const charts = gateway.stats.snapshot().map((s) => `${s.service}.${s.endpoint}`);
      assert.deepEqual(charts, ["orders.Api.echo"], "only the real endpoint has a chart");
    } finally {
      await gateway.close();
      await client.close();
    }
  });
});

describe("what anonymous callers see", () => {
  /** The gateway's handler, configured for a public address, mounted on a loopback listener of the test's own. */
  async function publicGateway(extra: Parameters<typeof createGateway>[0] = {}) {
    const warnings: string[] = [];
    const gateway = createGateway({
      address: "0.0.0.0:8080",
      registry,
      log: (m) => warnings.push(m),
      ...extra,
    });
    const server: Server = createServer(gateway.handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    return {
      base: `http://127.0.0.1:${port}`,
      warnings,
      close: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await gateway.close();
      },
    };
  }
  const post = (base: string, path: string) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(5000),
    });

  test("beyond loopback, 5xx details and chains are redacted by default; the request id stays", async () => {
    const g = await publicGateway();
    try {
      for (const path of ["/api/orders/Api.leak", "/api/orders/Api.down"]) {
        const r = await post(g.base, path);
        assert.equal(r.status, 500);
        const text = await r.text();
        assert.doesNotMatch(text, /s3cret|db\.internal|postgres|orders-/, `${path} leaks: ${text}`);
        const body = JSON.parse(text) as { detail: string; chain: string[] };
        assert.deepEqual(body.chain, []);
        assert.match(body.detail, new RegExp(`request id ${r.headers.get("x-request-id")}`));
      }
      const client = await post(g.base, "/api/orders/Orders.create");
      assert.equal(client.status, 400, "4xx details still say what was wrong");
      assert.match(((await client.json()) as { detail: string }).detail, /item/);
      assert.ok(
        g.warnings.some((w) => /beyond loopback and no auth/.test(w)),
        `a warning: ${g.warnings}`,
      );
    } finally {
      await g.close();
    }
  });
  test("beyond loopback, /health/{service} gives anonymous callers counts, not node addresses", async () => {
    const g = await publicGateway();
    try {
      const r = await fetch(`${g.base}/health/orders`, { signal: AbortSignal.timeout(5000) });
      assert.equal(r.status, 200);
      const text = await r.text();
      assert.deepEqual(JSON.parse(text), { service: "orders", healthy: true, nodes: 1, ok: 1 });
      assert.doesNotMatch(text, /127\.0\.0\.1|orders-/);
    } finally {
      await g.close();
    }
  });
  test("on loopback, details and chains are kept (redactErrors defaults to false there)", async () => {
    const gateway = createGateway({ address: "127.0.0.1:0", registry, log: () => {} });
    const at = await gateway.listen();
    try {
      const r = await post(`http://${at}`, "/api/orders/Api.down");
      const body = (await r.json()) as { detail: string; chain: string[] };
      assert.match(body.detail, /pool exhausted/);
      assert.match(body.chain[0] ?? "", /^orders\.Api\.down@orders-/);
    } finally {
      await gateway.close();
    }
  });
  test("an unknown service's 404 lists the registry to loopback callers of a loopback gateway only", async () => {
    const g = await publicGateway();
    const gateway = createGateway({ address: "127.0.0.1:0", registry });
    const at = await gateway.listen();
    try {
      const anon = (await (await post(g.base, "/api/bogus/X.y")).json()) as { detail: string };
      assert.equal(anon.detail, 'service "bogus" is not registered');
      const local = (await (await post(`http://${at}`, "/api/bogus/X.y")).json()) as { detail: string };
      assert.equal(local.detail, 'service "bogus" is not registered; registered: orders');
      const ep = (await (await post(g.base, "/api/orders/X.y")).json()) as { detail: string };
      assert.doesNotMatch(ep.detail, /Api\.echo/, "an anonymous caller is not told the endpoints either");
    } finally {
      await g.close();
      await gateway.close();
    }
  });
});
