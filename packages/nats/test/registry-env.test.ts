/** MICRO_REGISTRY=nats: the core imports this package on first use and talks to NATS through it. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Service } from "tsmicro/plugin";
import { registryFromEnv } from "tsmicro/plugin";
import { createNatsRegistry } from "../src/index.js";

const servers = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";

it("MICRO_REGISTRY=nats with MICRO_REGISTRY_ADDRESS reaches NATS through @tsmicro/nats", async () => {
  process.env.MICRO_REGISTRY = "nats";
  process.env.MICRO_REGISTRY_ADDRESS = servers;
  const viaEnv = registryFromEnv();
  delete process.env.MICRO_REGISTRY;
  delete process.env.MICRO_REGISTRY_ADDRESS;
  const direct = createNatsRegistry({ servers });
  const svc: Service = {
    name: `env-${process.pid}-${Date.now()}`,
    version: "1",
    metadata: {},
    endpoints: [],
    nodes: [{ id: "via-env", address: "127.0.0.1:1", metadata: {} }],
  };
  await viaEnv.register(svc, { ttlMs: 10_000 });
  assert.match(viaEnv.name, /^nats \(/);
  assert.deepEqual(
    (await direct.getService(svc.name))[0]?.nodes.map((n) => n.id),
    ["via-env"],
    "the node is in the NATS bucket itself",
  );
  await viaEnv.deregister(svc);
  assert.deepEqual(await direct.getService(svc.name), []);
  await viaEnv.close();
  await direct.close();
});
