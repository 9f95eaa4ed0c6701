/**
 * The server-restart test: a private broker server (started by the test on a free loopback
 * port, never the shared one) is killed with SIGKILL while a publisher keeps publishing, then
 * started again on the same port and data directory. The brokers must reconnect by themselves
 * (no new broker, no new subscribe); a publish during the outage waits or fails with a
 * MicroError, never resolves and vanishes; on an at-least-once broker every publish that
 * resolved is handled.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { it } from "node:test";
import { type Broker, HEADER } from "../broker/broker.js";
import { MicroError } from "../errors.js";

/** A server process the test owns: started, killed and started again on the same port. */
export interface ProcessServer {
  readonly port: number;
  start(): Promise<void>;
  /** SIGKILL (the whole process group), then waits for the exit. */
  kill(): Promise<void>;
}

export function processServer(spec: {
  command: string;
  args: string[];
  port: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Bound on waiting for the port to accept connections. @default 30000 */
  readyTimeoutMs?: number;
}): ProcessServer {
  let child: ChildProcess | undefined;
  let output = "";
  return {
    port: spec.port,
    async start() {
      output = "";
      const c = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group: kill() reaches every process it starts
      });
      child = c;
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-3000);
      };
      c.stdout!.on("data", keep);
      c.stderr!.on("data", keep);
      const end = Date.now() + (spec.readyTimeoutMs ?? 30_000);
      while (!(await accepts(spec.port))) {
        if (c.exitCode !== null || c.signalCode !== null) {
          throw new Error(
            `${spec.command} exited (${c.exitCode ?? c.signalCode}) before listening: ${output}`,
          );
        }
        if (Date.now() > end)
          throw new Error(`${spec.command} not listening on 127.0.0.1:${spec.port}: ${output}`);
        await delay(100);
      }
    },
    async kill() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        c.kill("SIGKILL");
      }
      await exited;
      // The port is free once nothing accepts on it any more.
      while (await accepts(spec.port)) await delay(50);
    },
  };
}

export interface BrokerRestartOptions {
  /** The private server, already started. */
  server: ProcessServer;
  /** A broker on that server. */
  create(): Broker | Promise<Broker>;
  /** Every publish that resolved must be handled. */
  durable: boolean;
  /** The broker has queue groups (the test subscribes in one); else a broadcast subscription. @default true */
  queueGroups?: boolean;
  /** How long the server stays down. @default 1500 */
  downMs?: number;
  /** Bound on the whole run. @default 90000 */
  timeoutMs?: number;
}

export function brokerRestartTest(name: string, options: BrokerRestartOptions): void {
  const timeoutMs = options.timeoutMs ?? 90_000;
  it(`${name}: the server restarted while publishing; publisher and subscriber recover by themselves${options.durable ? ", nothing that was confirmed is lost" : ""}`, {
    timeout: timeoutMs + 10_000,
  }, async () => {
    const end = Date.now() + timeoutMs;
    const topic = `restart.${name.replace(/[^A-Za-z0-9]/g, "-")}.${randomUUID().slice(0, 8)}`;
    const sub = await options.create();
    const pub = await options.create();
    const handled = new Set<string>();
    try {
      const group = options.queueGroups === false ? {} : { queue: "restart" };
      await sub.subscribe(topic, (e) => void handled.add(e.message.headers[HEADER.id]!), group);
      const resolved: string[] = [];
      const failures: string[] = [];
      const state = { phase: "before" as "before" | "down" | "after" };
      let afterRestart = 0;
      let stop = false;
      const publishing = (async () => {
        for (let i = 0; !stop; i++) {
          const id = `r${i}`;
          try {
            await pub.publish(
              topic,
              { headers: { [HEADER.id]: id }, body: Buffer.from(id) },
              { timeoutMs: 20_000 },
            );
            resolved.push(id);
            if (state.phase === "after") afterRestart++;
          } catch (err) {
            assert.ok(err instanceof MicroError, `a failed publish is a MicroError, got ${String(err)}`);
            failures.push(`${id}: ${err.code} ${err.detail}`);
          }
          await delay(5);
        }
      })();
      await until(() => resolved.length >= 50, end, "50 publishes before the restart");
      await options.server.kill();
      state.phase = "down";
      // While it is down: a short publish fails clearly (it does not resolve and vanish).
      const probe = await pub
        .publish(topic, { headers: { [HEADER.id]: "probe" }, body: Buffer.from("probe") }, { timeoutMs: 300 })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(
        probe instanceof MicroError,
        `a publish while the server is down fails with a MicroError, got ${String(probe)}`,
      );
      assert.ok([408, 503].includes(probe.code), `408 or 503, got ${probe.code}: ${probe.detail}`);
      await delay(options.downMs ?? 1500);
      await options.server.start();
      state.phase = "after";
      const firstAfter = resolved.length;
      // Publisher and subscriber reconnect independently; on an at-most-once broker what is
      // published before the subscription is back is gone. So the proof that the original
      // subscriber resubscribed by itself: 20 consecutive publishes after the restart, all
      // handled by it (publishing goes on until then, within the bound).
      await until(
        () => afterRestart >= 50 && handledRun(resolved.slice(firstAfter), handled) >= 20,
        end,
        () =>
          `20 consecutive publishes after the restart at the original subscriber (${afterRestart} resolved after it, longest handled run ${handledRun(resolved.slice(firstAfter), handled)})`,
      );
      stop = true;
      await publishing;
      if (options.durable) {
        await until(
          () => resolved.every((id) => handled.has(id)),
          end,
          () => {
            const missing = resolved.filter((id) => !handled.has(id));
            return `every confirmed publish handled (missing ${missing.length}: ${missing.slice(0, 5).join(", ")})`;
          },
        );
      }
      const lost = resolved.filter((id) => !handled.has(id)).length;
      console.log(
        `[restart ${name}] resolved=${resolved.length} failed=${failures.length} handled=${handled.size} lost-of-resolved=${lost}${failures.length > 0 ? ` first failure: ${failures[0]}` : ""}`,
      );
      if (options.durable) assert.equal(lost, 0);
    } finally {
      await Promise.all([sub.disconnect(), pub.disconnect()].map((p) => p.catch(() => {})));
    }
  });
}

/** The longest run of consecutive `ids` that were all handled. */
function handledRun(ids: readonly string[], handled: ReadonlySet<string>): number {
  let best = 0;
  let run = 0;
  for (const id of ids) {
    run = handled.has(id) ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function until(done: () => boolean, end: number, what: string | (() => string)): Promise<void> {
  while (!done()) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await delay(20);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
