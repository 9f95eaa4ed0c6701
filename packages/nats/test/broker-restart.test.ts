// Restarts a PRIVATE nats-server (its own loopback port and JetStream directory), never the shared one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { brokerRestartTest, freePort, type ProcessServer, processServer } from "tsmicro/testing";
import { createJetStreamBroker, createNatsBroker } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-nats-restart-"));
const port = await freePort();
const server: ProcessServer = processServer({
  command: "nats-server",
  args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
  port,
});
const servers = `127.0.0.1:${port}`;

describe("NATS server restart", { timeout: 240_000 }, () => {
  before(() => server.start());
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  brokerRestartTest("jetstream", {
    server,
    create: () => createJetStreamBroker({ servers, ackWaitMs: 3000 }),
    durable: true,
  });
  brokerRestartTest("nats", { server, create: () => createNatsBroker({ servers }), durable: false });
});
