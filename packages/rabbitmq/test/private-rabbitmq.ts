/**
 * A private RabbitMQ node that requires TLS, for the TLS tests: its own node name, ports,
 * data, log, config and Erlang cookie in a temporary directory, a TLS listener on a free
 * loopback port and no plaintext one (`listeners.tcp = none`), no plugins. The shared node on
 * 5672 is not touched; the shared epmd on loopback only learns one more name. Run as its own
 * process group so stop() ends the shell script and the Erlang VM it started, nothing else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "tsmicro/testing";

const SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
/** A node boots in ~20 s on a quiet machine; the shared 2-core one is not quiet. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

export interface PrivateRabbitTls {
  /** PEM: the server's certificate and key, and the CA clients must present certificates of. */
  server: { cert: string; key: string };
  clientCa: string;
  /** Require a client certificate signed by `clientCa` (mutual TLS). @default false */
  requireClientCert?: boolean;
}

export interface PrivateRabbit {
  /** The TLS port on 127.0.0.1. */
  readonly port: number;
  readonly node: string;
  stop(): Promise<void>;
}

export async function startPrivateRabbit(tls: PrivateRabbitTls): Promise<PrivateRabbit> {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-rabbit-tls-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const port = await freePort();
  const distPort = await freePort();
  const node = `tsmicro-tls-${randomUUID().slice(0, 8)}@localhost`;
  const mutual = tls.requireClientCert === true;
  const config = file(
    "rabbitmq.conf",
    [
      "listeners.tcp = none",
      `listeners.ssl.default = 127.0.0.1:${port}`,
      `ssl_options.cacertfile = ${file("ca.crt", tls.clientCa)}`,
      `ssl_options.certfile = ${file("server.crt", tls.server.cert)}`,
      `ssl_options.keyfile = ${file("server.key", tls.server.key)}`,
      `ssl_options.verify = ${mutual ? "verify_peer" : "verify_none"}`,
      `ssl_options.fail_if_no_peer_cert = ${mutual}`,
      "",
    ].join("\n"),
  );
  for (const d of ["home", "mnesia", "log"]) mkdirSync(join(dir, d));
  const env = {
    ...process.env,
    HOME: join(dir, "home"), // its own Erlang cookie
    // Not /etc/rabbitmq/rabbitmq-env.conf, which may name the shared node.
    RABBITMQ_CONF_ENV_FILE: file("rabbitmq-env.conf", ""),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_CONFIG_FILE: config,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: file("enabled_plugins", "[].\n"),
    // Erlang distribution on loopback only.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
  };
  const child: ChildProcess = spawn(SERVER, [], {
    env,
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {} // already gone
  };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killGroup("SIGTERM");
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS)),
    ]);
    // The VM may outlive the script briefly; the group is ours alone.
    killGroup("SIGKILL");
    process.removeListener("exit", onExit);
    rmSync(dir, { recursive: true, force: true });
    if (!gone) throw new Error(`private RabbitMQ ${node} did not stop within ${STOP_TIMEOUT_MS} ms`);
  };

  // Ready when the script prints that the broker started and the TLS port accepts.
  const end = Date.now() + START_TIMEOUT_MS;
  while (!(/Starting broker\.\.\. completed/.test(output) && (await accepts(port)))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
      const why = Date.now() > end ? `did not start within ${START_TIMEOUT_MS} ms` : "exited";
      await stop().catch(() => {});
      throw new Error(`private RabbitMQ ${node} on 127.0.0.1:${port} ${why}: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { port, node, stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
