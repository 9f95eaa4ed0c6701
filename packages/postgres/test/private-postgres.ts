/**
 * A private PostgreSQL cluster for the restart test: initdb into a temporary directory, run as
 * the postgres user on a free loopback port, killed with SIGKILL. The postmaster is our own
 * child (spawned with the postgres uid, not through runuser), so its exit is reaped and the
 * next start does not find a zombie holding the lock file.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "tsmicro/testing";

const BIN = "/usr/lib/postgresql/15/bin";

export interface PrivatePostgres {
  readonly url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-pg-"));
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  execFileSync(`${BIN}/initdb`, ["-D", data, "--auth=trust", "-U", "postgres"], {
    uid,
    gid,
    stdio: "ignore",
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = "";
  const start = async () => {
    // The previous postmaster's children exit when they notice it died; until then a start fails.
    for (let attempt = 0; ; attempt++) {
      output = "";
      const c = spawn(
        `${BIN}/postgres`,
        ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"],
        {
          uid,
          gid,
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      child = c;
      c.stderr!.on("data", (d) => {
        output = (output + d).slice(-2000);
      });
      const end = Date.now() + 30_000;
      while (!(await accepts(port)) && c.exitCode === null && Date.now() < end) await sleep(100);
      if (c.exitCode === null && (await accepts(port))) return;
      if (attempt >= 20 || Date.now() >= end)
        throw new Error(`private postgres did not start on ${port}: ${output}`);
      await sleep(250);
    }
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
    while (await accepts(port)) await sleep(50);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
