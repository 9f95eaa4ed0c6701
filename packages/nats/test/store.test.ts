import { randomUUID } from "node:crypto";
import { after } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { storeConformance } from "tsmicro/testing";
import { createNatsStore } from "../src/index.js";

// The shared server: buckets of our own per run, deleted afterwards.
const bucketPrefix = `tsmicro-test-${randomUUID().slice(0, 8)}`;
after(async () => {
  const nc = await connect({ servers: "127.0.0.1:4222" });
  const jsm = await jetstreamManager(nc);
  for await (const s of jsm.streams.list()) {
    if (s.config.name.startsWith(`KV_${bucketPrefix}`)) await jsm.streams.delete(s.config.name);
  }
  await nc.close();
});
// Each store opens its own connection; the CAS writers use three.
storeConformance("nats kv", { create: () => createNatsStore({ bucketPrefix }) });
