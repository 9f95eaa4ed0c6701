// Restarts a PRIVATE RabbitMQ node (its own node name, loopback ports, data directory and
// cookie), never the shared one on 5672. Takes ~10 s per start on this machine.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { brokerRestartTest, freePort, type ProcessServer, processServer } from "tsmicro/testing";
import { createRabbitBroker } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-rabbit-restart-"));
const [port, distPort] = [await freePort(), await freePort()];
writeFileSync(join(dir, ".erlang.cookie"), `TSMICROTEST${process.pid}`);
chmodSync(join(dir, ".erlang.cookie"), 0o400);
writeFileSync(join(dir, "enabled_plugins"), "[].\n"); // no management listener to collide with the shared node
writeFileSync(join(dir, "env.conf"), ""); // not /etc/rabbitmq/rabbitmq-env.conf, which names the shared node
writeFileSync(join(dir, "rabbitmq.conf"), `listeners.tcp.local = 127.0.0.1:${port}\n`);
const server: ProcessServer = processServer({
  command: process.env.RABBITMQ_SERVER ?? "/usr/lib/rabbitmq/bin/rabbitmq-server",
  args: [],
  port,
  readyTimeoutMs: 60_000,
  env: {
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, "env.conf"),
    RABBITMQ_NODENAME: `tsmicro-restart-${process.pid}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RABBITMQ_SERVER_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
  },
});
const url = `amqp://guest:guest@127.0.0.1:${port}`;

describe("RabbitMQ server restart", { timeout: 240_000 }, () => {
  before(() => server.start());
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  brokerRestartTest("rabbitmq", {
    server,
    create: () => createRabbitBroker({ url }),
    durable: true,
    timeoutMs: 120_000,
  });
});
