// Restarts a PRIVATE redis-server (its own loopback port, append-only file fsynced per write), never the shared one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { freePort, processServer, storeRestartTest } from "tsmicro/testing";
import { createRedisStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-redis-store-"));
const port = await freePort();
const server = processServer({
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

describe("Redis store: server restart", { timeout: 120_000 }, () => {
  before(() => server.start());
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  storeRestartTest("redis store (AOF, fsync always)", {
    create: () => createRedisStore({ url: `redis://127.0.0.1:${port}` }),
    restart: async () => {
      await server.kill();
      await server.start();
    },
  });
});
