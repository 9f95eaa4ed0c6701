/** HTTP probes against real services on loopback: ready, not ready, and why. */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { createHealthServer, type HealthServer } from "@tsmicro/health";
import {
  createMemoryBroker,
  createMemoryRegistry,
  type MicroService,
  newService,
  type Registry,
} from "tsmicro";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

class Ping {
  async ping() {
    return "pong";
  }
}

async function started(registry: Registry, extra: Partial<Parameters<typeof newService>[0]> = {}) {
  const service = newService({ name: "probed", registry, ...extra });
  service.handle(new Ping());
  await service.start();
  cleanup.push(() => service.stop());
  return service;
}

async function probe(service: MicroService, options: Parameters<typeof createHealthServer>[1] = {}) {
  const server = await createHealthServer(service, { address: "127.0.0.1:0", ...options });
  cleanup.push(() => server.close());
  return server;
}

async function get(server: HealthServer, path: string) {
  const res = await fetch(`http://${server.address}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as any };
}

test("a running, registered service is live and ready; every check is listed", async () => {
  const service = await started(createMemoryRegistry());
  const server = await probe(service);
  const live = await get(server, "/livez");
  assert.equal(live.status, 200);
  assert.equal(live.body.status, "alive");
  const ready = await get(server, "/readyz");
  assert.equal(ready.status, 200, JSON.stringify(ready.body));
  assert.equal(ready.body.status, "ready");
  for (const c of ["rpc", "listening", "registered", "broker", "registry"]) {
    assert.equal(ready.body.checks[c]?.ok, true, `check ${c}: ${JSON.stringify(ready.body.checks)}`);
  }
  assert.equal(ready.body.health.checks.broker, "unused", "no subscribers: the broker is not needed");
  assert.equal((await get(server, "/health")).body.health.node, service.nodeId);
});

test("a failing check of yours makes it not ready (503) and says which", async () => {
  const service = await started(createMemoryRegistry());
  const server = await probe(service, { checks: { database: () => false, cache: async () => true } });
  const ready = await get(server, "/readyz");
  assert.equal(ready.status, 503);
  assert.equal(ready.body.checks.database.ok, false);
  assert.match(ready.body.checks.database.detail, /database check returned false/);
  assert.equal(ready.body.checks.cache.ok, true);
  assert.equal((await get(server, "/livez")).status, 200, "liveness does not depend on readiness");
});

test("a check that hangs is bounded by timeoutMs", async () => {
  const service = await started(createMemoryRegistry());
  const server = await probe(service, {
    timeoutMs: 200,
    checks: { slow: () => new Promise<boolean>(() => {}) },
  });
  const t0 = Date.now();
  const ready = await get(server, "/readyz");
  assert.equal(ready.status, 503);
  assert.match(ready.body.checks.slow.detail, /no answer within 200 ms/);
  assert.ok(Date.now() - t0 < 2000);
});

test("a stopped service is not ready (its transport no longer answers)", async () => {
  const service = await started(createMemoryRegistry());
  const server = await probe(service, { timeoutMs: 1000 });
  assert.equal((await get(server, "/readyz")).status, 200);
  await service.stop();
  const ready = await get(server, "/readyz");
  assert.equal(ready.status, 503);
  assert.equal(ready.body.checks.rpc.ok, false);
  assert.equal(ready.body.checks.registry.ok, false, "deregistered");
});

test("a service whose registration refresh fails reports registered=false and is not ready", async () => {
  const inner = createMemoryRegistry();
  let failing = false;
  const registry: Registry = {
    ...inner,
    name: inner.name,
    register: (s, o) => (failing ? Promise.reject(new Error("registry down")) : inner.register(s, o)),
    deregister: (s) => inner.deregister(s),
    getService: (n) => inner.getService(n),
    listServices: () => inner.listServices(),
    watch: (o) => inner.watch(o),
    close: () => inner.close(),
  };
  const service = await started(registry, { registerIntervalMs: 50 });
  const server = await probe(service);
  assert.equal((await get(server, "/readyz")).status, 200);
  failing = true;
  let ready = await get(server, "/readyz");
  const deadline = Date.now() + 3000;
  while (ready.body.checks.registered?.ok !== false && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    ready = await get(server, "/readyz");
  }
  assert.equal(ready.status, 503);
  assert.equal(ready.body.checks.registered.ok, false);
  assert.equal(ready.body.health.checks.registered, false);
});

test("a service with subscribers reports its broker connected", async () => {
  const service = newService({
    name: "probed-sub",
    registry: createMemoryRegistry(),
    broker: createMemoryBroker(),
  });
  service.handle(new Ping());
  service.subscribe("topic", () => {});
  await service.start();
  cleanup.push(() => service.stop());
  const server = await probe(service);
  const ready = await get(server, "/readyz");
  assert.equal(ready.status, 200, JSON.stringify(ready.body));
  assert.equal(ready.body.health.checks.broker, "connected");
});

test("extra routes (e.g. /metrics) share the listener; unknown paths are 404", async () => {
  const service = await started(createMemoryRegistry());
  const server = await probe(service, {
    routes: {
      "/metrics": (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("up 1\n");
      },
    },
  });
  const m = await fetch(`http://${server.address}/metrics`);
  assert.equal(await m.text(), "up 1\n");
  assert.equal((await get(server, "/nope")).status, 404);
});
