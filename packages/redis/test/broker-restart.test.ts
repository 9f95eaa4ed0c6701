// Restarts a PRIVATE redis-server (its own loopback port, append-only file fsynced per write), never the shared one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { brokerRestartTest, freePort, type ProcessServer, processServer } from "tsmicro/testing";
import { createRedisBroker, createRedisPubSubBroker } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-redis-restart-"));
const port = await freePort();
const server: ProcessServer = processServer({
  command: "redis-server",
  args: [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
  ],
  port,
});
const url = `redis://127.0.0.1:${port}`;

describe("Redis server restart", { timeout: 240_000 }, () => {
  before(() => server.start());
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  brokerRestartTest("redis streams", {
    server,
    create: () => createRedisBroker({ url, claimIdleMs: 3000 }),
    durable: true,
  });
  brokerRestartTest("redis pub/sub", {
    server,
    create: () => createRedisPubSubBroker({ url }),
    durable: false,
    queueGroups: false,
  });
});
