/**
 * Multi-process failover, once through etcd and once through NATS: three instances of a
 * service in three processes and a client process under steady load, finding each other
 * through the registry (MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS). SIGKILL one instance: the
 * client's failed attempts stop within the registry TTL, each one retried on another node,
 * no call lost. SIGTERM another: it deregisters and drains first, so no call fails at all.
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type EtcdServer, startEtcd } from "@tsmicro/etcd/testing";

const here = new URL(".", import.meta.url).pathname;
const TTL_MS = 3000;
const REFRESH_MS = 1000;

interface Stats {
  removed: Record<string, number>;
  calls: number;
  ok: number;
  failed: { t: number; detail: string }[];
  perNode: Record<string, number>;
  attemptFailures: { t: number; node: string; detail: string }[];
}

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

function spawnChild(file: string, env: Record<string, string>): ChildProcess {
  const child = fork(join(here, file), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function nextMessage<T>(child: ChildProcess, pick: (m: any) => T | undefined, ms: number, what: string) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", on);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const on = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(v);
    };
    child.on("message", on);
  });
}

const stats = (client: ChildProcess, cmd = "stats") => {
  const p = nextMessage(client, (m) => m.stats as Stats | undefined, 15_000, `client ${cmd}`);
  client.send({ cmd });
  return p;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * `expirySlackMs`: how late the backend itself may remove an expired node. NATS: 0 (the
 * registry's watchers time nodes out exactly). etcd: 500 ms, the tick on which its lessor
 * revokes expired leases; a re-probe of the dead node (1 s + 2 s of ejection) can land
 * in that window and fail once more, and is retried like the others.
 */
async function failover(
  backend: string,
  address: string,
  expirySlackMs: number,
  log: (line: string) => void,
) {
  const env = {
    MICRO_REGISTRY: backend,
    MICRO_REGISTRY_ADDRESS: address,
    FAILOVER_SERVICE: `failover-${randomUUID().slice(0, 8)}`,
    FAILOVER_TTL_MS: String(TTL_MS),
    FAILOVER_REFRESH_MS: String(REFRESH_MS),
  };
  const instances = [0, 1, 2].map(() => spawnChild("instance.ts", env));
  const ids = await Promise.all(
    instances.map((c, i) =>
      nextMessage(c, (m) => m.ready as string | undefined, 30_000, `instance ${i} ready`),
    ),
  );
  const client = spawnChild("client.ts", env);
  await nextMessage(client, (m) => m.ready as true | undefined, 30_000, "client ready");
  client.send({ cmd: "start" });

  // Steady state: every instance serves.
  await until("all three instances to serve calls", 10_000, async () => {
    const s = await stats(client);
    return ids.every((id) => (s.perNode[id] ?? 0) > 20);
  });
  const before = await stats(client);
  assert.deepEqual(before.failed, [], "no call fails in steady state");

  // SIGKILL: no deregistration, the node disappears when its registration expires.
  const killed = ids[0]!;
  const killAt = Date.now();
  instances[0]!.kill("SIGKILL");
  await sleep(TTL_MS + 1500);
  const afterKill = await stats(client);
  const killFailures = afterKill.attemptFailures.filter((f) => f.t >= killAt);
  const lastFailure = Math.max(killAt, ...killFailures.map((f) => f.t));
  const recoveryMs = lastFailure - killAt;
  const lostOnKill = afterKill.failed.length;
  const killCalls = afterKill.calls - before.calls;
  const removedMs = (afterKill.removed[killed] ?? Number.NaN) - killAt;

  // SIGTERM: the instance deregisters, stops accepting, drains, then exits.
  const termAt = Date.now();
  const beforeTerm = afterKill;
  const exited = new Promise((r) => instances[1]!.once("exit", r));
  instances[1]!.kill("SIGTERM");
  await exited;
  const termExitMs = Date.now() - termAt;
  await sleep(1500);
  const end = await stats(client, "stop");
  const termFailed = end.failed.length - beforeTerm.failed.length;
  const termAttemptFailures = end.attemptFailures.filter((f) => f.t >= termAt).length;
  const termCalls = end.calls - beforeTerm.calls;

  log(
    `failover ${backend}: SIGKILL → recovery ${recoveryMs} ms, expired from the registry after ${removedMs} ms (TTL ${TTL_MS} ms, refresh ${REFRESH_MS} ms), ` +
      `${killCalls} calls, ${killFailures.length} attempts retried on another node, ${lostOnKill} lost; ` +
      `SIGTERM → exited after ${termExitMs} ms, ${termCalls} calls, ${termAttemptFailures} attempts retried, ${termFailed} failed`,
  );

  assert.equal(lostOnKill, 0, `calls lost after SIGKILL: ${JSON.stringify(afterKill.failed.slice(0, 3))}`);
  assert.ok(killFailures.length > 0, "negative control: the killed node was really called and failed");
  assert.ok(
    killFailures.every((f) => f.node === killed),
    "only the killed node failed",
  );
  assert.ok(
    recoveryMs <= TTL_MS + expirySlackMs,
    `attempts kept failing ${recoveryMs} ms after SIGKILL (TTL ${TTL_MS} ms + ${expirySlackMs} ms)`,
  );
  assert.ok(
    removedMs <= TTL_MS + expirySlackMs + 200,
    `the registry reported the dead node gone ${removedMs} ms after SIGKILL (TTL ${TTL_MS} ms)`,
  );
  assert.ok(killCalls > 100, `load kept going after SIGKILL (${killCalls} calls)`);
  assert.equal(termFailed, 0, `calls failed around SIGTERM: ${JSON.stringify(end.failed.slice(-3))}`);
  assert.ok(termCalls > 100, `load kept going after SIGTERM (${termCalls} calls)`);
  assert.ok((end.perNode[ids[2]!] ?? 0) > (beforeTerm.perNode[ids[2]!] ?? 0), "the last instance serves");
  instances[2]!.kill("SIGTERM");
}

describe("multi-process failover", { timeout: 120_000 }, () => {
  it("through etcd", async (t) => {
    const etcd: EtcdServer = await startEtcd();
    try {
      await failover("etcd", etcd.endpoint, 500, (line) => {
        t.diagnostic(line);
        console.log(line);
      });
    } finally {
      await etcd.stop();
    }
  });

  it("through NATS", async (t) => {
    const servers = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";
    await failover("nats", servers, 0, (line) => {
      t.diagnostic(line);
      console.log(line);
    });
  });
});
