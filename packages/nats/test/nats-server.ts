/** A private nats-server (with JetStream) on a free loopback port, for outage tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "tsmicro/testing";

export interface PrivateNats {
  readonly server: string;
  /** SIGKILL; with `wipe`, JetStream data is lost too (the bucket is gone on restart). */
  kill(options?: { wipe?: boolean }): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server goes silent with every connection left open, as across a partition. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  let dir = mkdtempSync(join(tmpdir(), "tsmicro-nats-"));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], {
      stdio: "ignore",
    });
    child = proc;
    process.once("exit", () => proc.kill("SIGKILL"));
    const end = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`nats-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (wipe = false) => {
    const proc = child;
    child = undefined;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await gone;
    }
    if (wipe) {
      rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), "tsmicro-nats-"));
    }
  };
  await launch();
  return {
    server: `127.0.0.1:${port}`,
    kill: (o = {}) => kill(o.wipe ?? false),
    restart: launch,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
