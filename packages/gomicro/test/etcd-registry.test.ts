/**
 * Discovery through etcd in go-micro's layout, both ways, against go-micro v4.10.2 processes
 * using the go-micro etcd plugin: records, watch events, TTL expiry after a SIGKILL.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startEtcd } from "@tsmicro/etcd/testing";
import { Etcd3 } from "etcd3";
import { newService } from "tsmicro";
import { createSelector } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createGoMicroEtcdRegistry } from "../src/index.js";
import { buildGoPrograms, startGo } from "../src/testing/index.js";
import { collect, goCall, uniqueName, watchIsLive } from "./harness/fleet.js";

const build = await buildGoPrograms();
const etcd = await startEtcd({ private: true });
after(() => etcd.stop());
const registryFlags = ["-registry", "etcd", "-registry_address", etcd.endpoint];

test("tsmicro finds a go-micro service in etcd, sees it created, and its selector drops it after SIGKILL", {
  timeout: 60_000,
}, async () => {
  const name = uniqueName("go-greeter");
  const registry = createGoMicroEtcdRegistry({ endpoints: etcd.endpoint });
  const watch = collect(registry.watch({ service: name }));
  const selector = createSelector({ registry });
  await watchIsLive(registry, name, watch);
  const greeter = startGo(build, "greeter", [...registryFlags, "-name", name, "-ttl", "2s"]);
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
    assert.equal(created.service.version, "1.0.0");
    assert.equal(created.service.nodes[0]!.metadata.stack, "go-micro");
    assert.equal(created.service.nodes[0]!.metadata.transport, "http");
    assert.ok(
      created.service.endpoints.some((e) => e.name === "Greeter.Hello"),
      "endpoints are read",
    );
    // go-micro's key layout and value, read raw.
    const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    try {
      const value = await raw.get(`/micro/registry/${name}/${id}`).string();
      assert.ok(value, `no key /micro/registry/${name}/${id}`);
      const record = JSON.parse(value);
      assert.deepEqual(
        record.nodes.map((n: { id: string }) => n.id),
        [id],
      );
      assert.equal(record.nodes[0].metadata.protocol, "mucp");
    } finally {
      raw.close();
    }
    const [svc] = await registry.getService(name);
    assert.deepEqual(
      svc?.nodes.map((n) => n.address),
      [listening],
    );
    const next = await selector.select(name);
    assert.equal(next().address, listening);

    greeter.child.kill("SIGKILL");
    const t0 = Date.now();
    await watch.next(
      "a delete event after the go-micro node's lease ran out",
      10_000,
      (e) => e.type === "delete" && e.service.nodes[0]?.id === id,
    );
    const goneAfterMs = Date.now() - t0;
    await waitFor("the selector to drop the killed node", 5000, async () =>
      (await selector.select(name).then(
        () => undefined,
        () => true,
      ))
        ? true
        : undefined,
    );
    console.error(`etcd: SIGKILLed go-micro node removed after ${goneAfterMs} ms (TTL 2 s)`);
  } finally {
    await greeter.kill();
    selector.close();
    await registry.close();
  }
});

test("go-micro finds a tsmicro service in etcd, with create and delete watch events", {
  timeout: 60_000,
}, async () => {
  const name = uniqueName("ts-greeter");
  const registry = createGoMicroEtcdRegistry({ endpoints: etcd.endpoint });
  const watcher = startGo(build, "caller", [
    ...registryFlags,
    "-case",
    "watch",
    "-service",
    name,
    "-watch_for",
    "30s",
  ]);
  const service = newService({
    name,
    version: "2.0.0",
    registry,
    metadata: { stack: "tsmicro" },
    registerTtlMs: 3000,
    registerIntervalMs: 1000,
  });
  service.handle(
    new (class Greeter {
      async Hello() {
        return {};
      }
    })(),
  );
  try {
    await watcher.json("the go-micro watcher to start", 20_000, (v) => "watching" in v);
    type Ev = {
      action: string;
      service: {
        name: string;
        version: string;
        nodes: { id: string; address: string }[];
        endpoints: { name: string }[];
      };
    };
    // The watch is live once it reports a probe node.
    const probe = {
      name,
      version: "probe",
      metadata: {},
      endpoints: [],
      nodes: [{ id: "probe", address: "127.0.0.1:1", metadata: {} }],
    };
    await registry.register(probe, { ttlMs: 30_000 });
    await watcher.json<Ev>(
      "go-micro's watch to see a probe node",
      10_000,
      (v) => v.action === "create" && v.service.nodes[0]?.id === "probe",
    );
    await registry.deregister(probe);
    await service.start();
    const created = await watcher.json<Ev>(
      "go-micro's create event for the tsmicro node",
      10_000,
      (v) => v.action === "create" && v.service.nodes[0]?.id === service.nodeId,
    );
    assert.equal(created.service.name, name);
    assert.equal(created.service.version, "2.0.0");
    assert.deepEqual(
      created.service.nodes.map((n) => [n.id, n.address]),
      [[service.nodeId, service.address]],
    );
    assert.ok(created.service.endpoints.some((e) => e.name === "Greeter.Hello"));
    const lookup = await goCall(build, [...registryFlags, "-case", "lookup", "-service", name]);
    assert.equal(lookup.ok, true, lookup.raw);
    assert.deepEqual(
      lookup.services?.[0]?.nodes.map((n) => n.address),
      [service.address],
    );
    await service.stop();
    const deleted = await watcher.json<Ev>(
      "go-micro's delete event for the tsmicro node",
      10_000,
      (v) => v.action === "delete" && v.service.nodes[0]?.id === service.nodeId,
    );
    assert.equal(deleted.service.nodes[0]?.id, service.nodeId);
  } finally {
    await watcher.kill();
    await service.stop().catch(() => {});
    await registry.close();
  }
});
