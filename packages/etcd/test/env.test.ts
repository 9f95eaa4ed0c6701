/** MICRO_REGISTRY=etcd: the core imports this package on first use and talks to etcd through it. */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import type { Service } from "tsmicro/plugin";
import { registryFromEnv } from "tsmicro/plugin";
import { createEtcdRegistry } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";

const etcd = await startEtcd();
after(() => etcd.stop());

it("MICRO_REGISTRY=etcd with MICRO_REGISTRY_ADDRESS reaches etcd through @tsmicro/etcd", async () => {
  process.env.MICRO_REGISTRY = "etcd";
  process.env.MICRO_REGISTRY_ADDRESS = etcd.endpoint;
  const viaEnv = registryFromEnv();
  delete process.env.MICRO_REGISTRY;
  delete process.env.MICRO_REGISTRY_ADDRESS;
  const direct = createEtcdRegistry({ endpoints: etcd.endpoint });
  const svc: Service = {
    name: `env-${process.pid}`,
    version: "1",
    metadata: {},
    endpoints: [],
    nodes: [{ id: "via-env", address: "127.0.0.1:1", metadata: {} }],
  };
  await viaEnv.register(svc, { ttlMs: 10_000 });
  assert.match(viaEnv.name, new RegExp(`^etcd \\(http://${etcd.endpoint}`));
  assert.deepEqual(
    (await direct.getService(svc.name))[0]?.nodes.map((n) => n.id),
    ["via-env"],
    "the node is in etcd itself",
  );
  await viaEnv.deregister(svc);
  assert.deepEqual(await direct.getService(svc.name), []);
  await viaEnv.close();
  await direct.close();
});
