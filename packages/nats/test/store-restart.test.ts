// Restarts a PRIVATE nats-server (its own loopback port and JetStream directory), never the shared one.
import { after, before, describe } from "node:test";
import { storeRestartTest } from "tsmicro/testing";
import { createNatsStore } from "../src/index.js";
import { type PrivateNats, startPrivateNats } from "./nats-server.js";

let nats: PrivateNats;

describe("NATS KV store: server restart", { timeout: 180_000 }, () => {
  before(async () => {
    nats = await startPrivateNats();
  });
  after(() => nats?.stop());
  storeRestartTest("nats kv store (file storage, SIGKILL)", {
    create: () => createNatsStore({ servers: nats.server, timeoutMs: 2000 }),
    restart: async () => {
      await nats.kill();
      await nats.restart();
    },
  });
});
