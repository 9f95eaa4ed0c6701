import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { Kvm } from "@nats-io/kv";
import { registryConformance } from "tsmicro/testing";
import { createNatsConnection, createNatsRegistry } from "../src/index.js";

// NATS on this machine (scripts/services.sh), or TSMICRO_TEST_NATS; a bucket per run.
const servers = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";
const bucket = `tsmicro-test-${randomUUID().slice(0, 8)}`;
after(async () => {
  const nc = await createNatsConnection({ servers });
  await (await new Kvm(nc).open(bucket)).destroy().catch(() => {});
  await nc.close();
});

registryConformance("nats", { create: () => createNatsRegistry({ servers, bucket }) });

// The same suite on one shared connection: registries built on it leave it open.
const shared = createNatsConnection({ servers });
after(async () => (await shared).close());
registryConformance("nats (shared connection)", {
  create: () => createNatsRegistry({ connection: shared, bucket }),
});
