/**
 * Discovery through go-micro's NATS registry (the go-micro nats plugin), both ways, on the
 * shared NATS at 127.0.0.1:4222 with unique service names: lookups, watch events, a SIGKILLed
 * go-micro node leaving tsmicro's selector, and a call each way found through it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { background, newClient, newRequest, newService, withTimeout } from "tsmicro";
import { createSelector } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createGoMicroNatsRegistry, createGoMicroTransport } from "../src/index.js";
import { buildGoPrograms, startGo } from "../src/testing/index.js";
import { collect, goCall, uniqueName, watchIsLive } from "./harness/fleet.js";

const build = await buildGoPrograms();
const NATS = process.env.TSMICRO_TEST_NATS ?? "127.0.0.1:4222";
const flags = ["-registry", "nats", "-registry_address", NATS];

test("tsmicro finds a go-micro service through NATS, calls it, and its selector drops it after SIGKILL", {
  timeout: 60_000,
}, async () => {
  const name = uniqueName("go-greeter");
  const registry = createGoMicroNatsRegistry({ servers: NATS, pollMs: 300, queryTimeoutMs: 500 });
  const watch = collect(registry.watch({ service: name }));
  const selector = createSelector({ registry });
  const client = newClient({ registry, transport: createGoMicroTransport(), retries: 0 });
  await watchIsLive(registry, name, watch);
  const greeter = startGo(build, "greeter", [...flags, "-name", name]);
  try {
    const { listening, id } = await greeter.json<{ listening: string; id: string }>(
      "the greeter's address",
      20_000,
      (v) => "listening" in v,
    );
    const created = await watch.next(
      "a create event for the go-micro node",
      10_000,
      (e) => e.type === "create" && e.service.nodes[0]?.id === id,
    );
    assert.equal(created.service.nodes[0]!.address, listening);
    assert.equal(created.service.nodes[0]!.metadata.registry, "nats");
    const [svc] = await registry.getService(name);
    assert.deepEqual(
      svc?.nodes.map((n) => n.id),
      [id],
    );
    assert.ok(svc?.endpoints.some((e) => e.name === "Greeter.Hello"));
    const rsp = (await client.call(
      withTimeout(background(), 5000),
      newRequest(name, "Greeter.Hello", { name: "Ada" }),
    )) as { msg: string };
    assert.match(rsp.msg, /^Hello Ada from go-micro/);
    assert.equal((await selector.select(name))().address, listening);

    greeter.child.kill("SIGKILL");
    const t0 = Date.now();
    await watch.next(
      "a delete event once the killed node stops answering",
      10_000,
      (e) => e.type === "delete" && e.service.nodes[0]?.id === id,
    );
    console.error(
      `nats: SIGKILLed go-micro node reported deleted after ${Date.now() - t0} ms (poll 300 ms, lookups 500 ms)`,
    );
    await waitFor("the selector to drop the killed node", 5000, async () =>
      (await selector.select(name).then(
        () => undefined,
        () => true,
      ))
        ? true
        : undefined,
    );
  } finally {
    await greeter.kill();
    selector.close();
    await client.close();
    await registry.close();
  }
});

test("go-micro finds a tsmicro service through NATS, with create and delete watch events, and calls it", {
  timeout: 60_000,
}, async () => {
  const name = uniqueName("ts-greeter");
  const registry = createGoMicroNatsRegistry({ servers: NATS, queryTimeoutMs: 500 });
  const watcher = startGo(build, "caller", [
    ...flags,
    "-case",
    "watch",
    "-service",
    name,
    "-watch_for",
    "30s",
  ]);
  const service = newService({ name, version: "2.0.0", registry, transport: createGoMicroTransport() });
  service.handle(
    new (class Greeter {
      async Hello(_ctx: unknown, req: { name: string }) {
        return { msg: `Hello ${req.name} from tsmicro` };
      }
    })(),
  );
  type Ev = {
    action: string;
    service: { name: string; version: string; nodes: { id: string; address: string }[] };
  };
  try {
    await watcher.json("the go-micro watcher to start", 20_000, (v) => "watching" in v);
    const probe = {
      name,
      version: "probe",
      metadata: {},
      endpoints: [],
      nodes: [{ id: "probe", address: "127.0.0.1:1", metadata: {} }],
    };
    await waitFor("go-micro's watch to see a probe node", 10_000, async () => {
      await registry.register(probe, { ttlMs: 30_000 });
      return watcher.stdout().includes('"id":"probe"') ? true : undefined;
    });
    await registry.deregister(probe);
    await service.start();
    const created = await watcher.json<Ev>(
      "go-micro's create event for the tsmicro node",
      10_000,
      (v) => v.action === "create" && v.service.nodes[0]?.id === service.nodeId,
    );
    assert.equal(created.service.version, "2.0.0");
    assert.equal(created.service.nodes[0]?.address, service.address);
    const lookup = await goCall(build, [...flags, "-case", "lookup", "-service", name]);
    assert.equal(lookup.ok, true, lookup.raw);
    assert.deepEqual(
      lookup.services?.[0]?.nodes.map((n) => n.id),
      [service.nodeId],
    );
    const call = await goCall(build, [...flags, "-case", "hello", "-service", name, "-name", "Gopher"]);
    assert.equal(call.ok, true, call.raw);
    assert.equal(call.response?.msg, "Hello Gopher from tsmicro");
    await service.stop();
    await watcher.json<Ev>(
      "go-micro's delete event for the tsmicro node",
      10_000,
      (v) => v.action === "delete" && v.service.nodes[0]?.id === service.nodeId,
    );
  } finally {
    await watcher.kill();
    await service.stop().catch(() => {});
    await registry.close();
  }
});
