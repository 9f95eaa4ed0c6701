import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { registryConformance } from "tsmicro/testing";
import { createEtcdRegistry } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";

const etcd = await startEtcd();
after(() => etcd.stop());

// A prefix per run: TSMICRO_TEST_ETCD may point at a server others use too.
const prefix = `/tsmicro-test/${randomUUID().slice(0, 8)}/`;
registryConformance("etcd", {
  create: () => createEtcdRegistry({ endpoints: etcd.endpoint, prefix }),
  // etcd leases are whole seconds.
  ttlMs: 1000,
  expirySlackMs: 2500,
});
