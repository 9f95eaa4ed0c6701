/**
 * A throw-away etcd for tests and benchmarks: the `etcd` binary (Debian's etcd-server,
 * installed by scripts/services.sh) on free 127.0.0.1 ports with a temporary data
 * directory, stopped and removed by `stop()`. With TSMICRO_TEST_ETCD set
 * (`host:port[,host:port]`), that server is used instead and nothing is started.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "tsmicro/testing";

export interface EtcdServer {
  /** Client endpoint, `127.0.0.1:<port>` (or TSMICRO_TEST_ETCD). */
  readonly endpoint: string;
  /** Whether this helper started the server (false for TSMICRO_TEST_ETCD). */
  readonly owned: boolean;
  /** Kills the server, keeping its ports (and data unless `wipe`), to test outages. */
  kill(options?: { wipe?: boolean }): Promise<void>;
  /** Starts it again on the same ports after `kill()`. */
  restart(): Promise<void>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** The etcd binary. @default "etcd" (PATH) */
  binary?: string;
  /** How long to wait for etcd to answer /health, ms. @default 20000 */
  startTimeoutMs?: number;
  /** Ignore TSMICRO_TEST_ETCD and start a private server (outage tests need one). @default false */
  private?: boolean;
  /** Where the temporary data directory goes. @default /dev/shm if present (etcd fsyncs every write), else the OS tmpdir */
  dataRoot?: string;
}

export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const external = process.env.TSMICRO_TEST_ETCD;
  if (external && !options.private) {
    const endpoint = external.split(",")[0]!.replace(/^https?:\/\//, "");
    return {
      endpoint,
      owned: false,
      kill: () => Promise.reject(new Error("TSMICRO_TEST_ETCD: an external etcd cannot be killed")),
      restart: () => Promise.reject(new Error("TSMICRO_TEST_ETCD: an external etcd cannot be restarted")),
      stop: async () => {},
    };
  }
  const binary = options.binary ?? "etcd";
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataRoot = options.dataRoot ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  let dataDir = mkdtempSync(join(dataRoot, "tsmicro-etcd-"));
  const endpoint = `127.0.0.1:${clientPort}`;
  let child: ChildProcess | undefined;
  let output = "";

  const launch = async () => {
    const peer = `http://127.0.0.1:${peerPort}`;
    output = "";
    const proc = spawn(
      binary,
      [
        "--name=tsmicro-test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=http://${endpoint}`,
        `--advertise-client-urls=http://${endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=tsmicro-test=${peer}`,
        // A short election timeout lowers etcd's minimum lease TTL (1.5 × election) below 1 s.
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = proc;
    // A test that dies without stop() must not leave etcd running.
    process.once("exit", () => proc.kill("SIGKILL"));
    proc.stderr!.on("data", (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once("error", (err) =>
        reject(new Error(`cannot start ${binary} (run: bash scripts/services.sh): ${err.message}`)),
      );
      proc.once("exit", (code) =>
        reject(new Error(`${binary} exited with ${code} before it was healthy: ${output}`)),
      );
    });
    exited.catch(() => {});
    await Promise.race([waitHealthy(endpoint, startTimeoutMs, () => output), exited]);
  };

  const kill = async (wipe = false) => {
    const proc = child;
    child = undefined;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill("SIGKILL");
      await gone;
    }
    if (wipe) {
      rmSync(dataDir, { recursive: true, force: true });
      dataDir = mkdtempSync(join(dataRoot, "tsmicro-etcd-"));
    }
  };

  await launch().catch(async (err) => {
    await kill();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    endpoint,
    owned: true,
    kill: (o = {}) => kill(o.wipe ?? false),
    restart: launch,
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(endpoint: string, ms: number, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.ok && body.includes('"true"')) return;
      last = body;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd on ${endpoint} not healthy after ${ms} ms (last: ${last}); etcd said: ${output()}`);
}
