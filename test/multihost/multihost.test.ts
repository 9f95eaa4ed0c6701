/**
 * Beyond one machine: four "hosts" in their own Linux network namespaces on a private bridge.
 * `reg` runs NATS (JetStream) and etcd; `a` and `b` run a service bound to 0.0.0.0 with
 * subscribers on the default http broker and on NATS; `cli` runs a client in a call loop that
 * also publishes. Run once with etcd and once with NATS as the registry:
 *
 * 1. the services register their namespace's address (never 0.0.0.0) and serve across hosts;
 *    messages published from `cli` reach both hosts over both brokers;
 * 2. a node registered from `a` is seen by a watcher in `cli` (propagation p99);
 * 3. SIGKILL `a`: attempts stop failing within the registry TTL, no call lost; a restarted `a`
 *    takes traffic again;
 * 4. `b`'s cable cut (its veth down): the same, and when the link comes back `b` returns by
 *    itself and takes traffic;
 * 5. `reg` partitioned: calls keep working from the selector's cache; when it heals, every
 *    node is registered again.
 *
 * Needs root and iproute2 (`ip netns`): without them the test fails, saying so.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  checkNetns,
  cleanLeftovers,
  createNetwork,
  describeHost,
  type Network,
  ownNamespaces,
} from "./netns.js";

const here = new URL(".", import.meta.url).pathname;
const root = join(here, "..", "..");
const TTL_MS = 3000;
const REFRESH_MS = 1000;
const CALLERS = 4;
const MESSAGES = 50;
const PROBES = 50;

interface ClientStats {
  calls: number;
  ok: number;
  failed: { t: number; detail: string }[];
  perNode: Record<string, number>;
  lastOk: Record<string, number>;
  removed: Record<string, number>;
  added: Record<string, number>;
  probes: Record<string, number>;
  attemptFailures: { t: number; node: string; detail: string }[];
}
interface InstanceStats {
  http: number[];
  nats: number[];
  served: number;
  registered: boolean;
}

const log = (line: string) => console.log(`multihost: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const children = new Set<ChildProcess>();
let net: Network | undefined;
let tmp: string | undefined;

function run(ns: string, args: string[], env: Record<string, string> = {}, ipc = false): ChildProcess {
  const child = spawn("ip", ["netns", "exec", ns, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ipc ? ["ignore", "inherit", "inherit", "ipc"] : ["ignore", "ignore", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

const node = (ns: string, file: string, env: Record<string, string>) =>
  run(ns, [process.execPath, "--import", "tsx", join(here, file)], env, true);

function nextMessage<T>(child: ChildProcess, pick: (m: any) => T | undefined, ms: number, what: string) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`the process exited (${code ?? signal}) while waiting for ${what}`));
    };
    const on = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", on);
      child.off("exit", onExit);
    };
    child.on("message", on);
    child.once("exit", onExit);
  });
}

function ask<T>(
  child: ChildProcess,
  msg: object,
  pick: (m: any) => T | undefined,
  what: string,
  ms = 15_000,
) {
  const p = nextMessage(child, pick, ms, what);
  child.send(msg);
  return p;
}

const clientStats = (c: ChildProcess) =>
  ask(c, { cmd: "stats" }, (m) => m.stats as ClientStats | undefined, "client stats");
const instanceStats = (c: ChildProcess, what: string) =>
  ask(c, { cmd: "stats" }, (m) => m.stats as InstanceStats | undefined, `${what} stats`);

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
  return Date.now() - start;
}

/** Whether a TCP connection from namespace `ns` to ip:port succeeds within 500 ms. */
function canConnect(ns: string, ip: string, port: number): Promise<boolean> {
  const probe = run(ns, [
    process.execPath,
    "-e",
    `const s=require("net").connect(${port},"${ip}");s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),500)`,
  ]);
  return new Promise<boolean>((r) => probe.once("exit", (code) => r(code === 0)));
}

/** Resolves once something in namespace `ns` accepts TCP on ip:port (bounded). */
async function reachable(ns: string, ip: string, port: number, ms: number, what: string) {
  await until(what, ms, () => canConnect(ns, ip, port));
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};

before(() => {
  // Fails (never skips) where namespaces are unavailable.
  checkNetns();
  cleanLeftovers(log);
});

after(() => {
  for (const c of children) c.kill("SIGKILL");
  net?.destroy();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("multi-host: network namespaces on a private bridge", { timeout: 300_000 }, () => {
  let natsUrl = "";
  let etcdUrl = "";

  before(async () => {
    net = createNetwork(["reg", "a", "b", "cli"]);
    tmp = mkdtempSync(join(tmpdir(), "tsmicro-multihost-"));
    const reg = net.hosts.reg!;
    log(
      `subnet ${net.subnet}: ${Object.values(net.hosts)
        .map((h) => `${h.role}=${h.ip} (${h.ns})`)
        .join(", ")}`,
    );
    // Traffic cannot leave the bridge: each host has its bridge address only, and no default route.
    for (const h of Object.values(net.hosts)) {
      const { addresses, routes } = describeHost(h);
      assert.deepEqual(addresses, [`${h.ip}/24`], `${h.role}: only its bridge address`);
      assert.ok(
        !routes.some((r) => r.startsWith("default")),
        `${h.role}: no default route (${routes.join("; ")})`,
      );
    }
    run(reg.ns, [
      "nats-server",
      "-a",
      reg.ip,
      "-p",
      "4222",
      "-js",
      "-sd",
      join(tmp, "nats"),
      "-n",
      "tsmicro-mh",
    ]);
    const peer = `http://${reg.ip}:2380`;
    run(reg.ns, [
      "etcd",
      "--name=tsmicro-mh",
      `--data-dir=${join(tmp, "etcd")}`,
      `--listen-client-urls=http://${reg.ip}:2379`,
      `--advertise-client-urls=http://${reg.ip}:2379`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=tsmicro-mh=${peer}`,
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--log-level=error",
      "--logger=zap",
    ]);
    natsUrl = `${reg.ip}:4222`;
    etcdUrl = `${reg.ip}:2379`;
    // Checked from the client host: across the bridge, not from inside `reg`.
    await reachable(
      net.hosts.cli!.ns,
      reg.ip,
      4222,
      20_000,
      "NATS to accept connections from the client host",
    );
    await reachable(
      net.hosts.cli!.ns,
      reg.ip,
      2379,
      20_000,
      "etcd to accept connections from the client host",
    );
  });

  for (const kind of ["etcd", "nats"] as const) {
    it(`with ${kind} as the registry`, async (t) => {
      const report = (line: string) => {
        t.diagnostic(line);
        log(`${kind}: ${line}`);
      };
      await scenario(kind, kind === "etcd" ? etcdUrl : `nats://${natsUrl}`, `nats://${natsUrl}`, report);
    });
  }

  it("removes everything it created", () => {
    for (const c of children) c.kill("SIGKILL");
    net?.destroy();
    assert.deepEqual(ownNamespaces(), [], "no namespace of this run is left");
  });
});

async function scenario(
  kind: "etcd" | "nats",
  registryAddress: string,
  nats: string,
  report: (line: string) => void,
): Promise<void> {
  const n = net!;
  const id = randomUUID().slice(0, 8);
  const env = {
    MICRO_REGISTRY: kind,
    MICRO_REGISTRY_ADDRESS: registryAddress,
    MH_SERVICE: `mh-${id}`,
    MH_TOPIC_HTTP: `mh.http.${id}`,
    MH_TOPIC_NATS: `mh.nats.${id}`,
    MH_NATS: nats,
    MH_TTL_MS: String(TTL_MS),
    MH_REFRESH_MS: String(REFRESH_MS),
    MH_CALLERS: String(CALLERS),
  };
  // Services bind every interface, nothing advertised explicitly; their default http broker
  // follows the service's bind (no MICRO_BROKER_ADDRESS).
  const hostEnv = (role: string) => ({
    ...env,
    MH_HOST: role,
    MICRO_SERVER_ADDRESS: "0.0.0.0:0",
    MICRO_BROKER: "http",
  });
  interface Ready {
    ready: string;
    bound: string;
    advertised: string;
    brokerNodes: string[];
  }
  const startInstance = async (role: "a" | "b") => {
    const child = node(n.hosts[role]!.ns, "instance.ts", hostEnv(role));
    const ready = await nextMessage(
      child,
      (m) => (m.ready ? (m as Ready) : undefined),
      30_000,
      `instance ${role} ready`,
    );
    return { child, ...ready };
  };
  const inst = { a: await startInstance("a"), b: await startInstance("b") };
  try {
    // 1. Registered addresses: the namespace's own, not the wildcard it bound.
    for (const role of ["a", "b"] as const) {
      const i = inst[role];
      assert.match(i.bound, /^0\.0\.0\.0:\d+$/, `${role} bound the wildcard`);
      assert.equal(
        i.advertised,
        `${n.hosts[role]!.ip}:${i.bound.split(":")[1]}`,
        `${role} registers its host address`,
      );
      assert.ok(
        i.brokerNodes.length > 0 &&
          i.brokerNodes.some((a) => a.startsWith(`${n.hosts[role]!.ip}:`)) &&
          i.brokerNodes.every((a) => [n.hosts.a!.ip, n.hosts.b!.ip].includes(a.split(":")[0]!)),
        `the http broker's subscribers are registered with dialable addresses: ${i.brokerNodes.join(", ")}`,
      );
    }
    const client = node(n.hosts.cli!.ns, "client.ts", env);
    await nextMessage(client, (m) => (m.ready ? true : undefined), 30_000, "client ready");
    client.send({ cmd: "start" });
    await until("both hosts to serve calls from the client host", 15_000, async () => {
      const s = await clientStats(client);
      return (s.perNode[inst.a.ready] ?? 0) > 20 && (s.perNode[inst.b.ready] ?? 0) > 20;
    });
    assert.deepEqual((await clientStats(client)).failed, [], "no call fails in steady state");

    // Messages across hosts, both brokers: every host gets every message (broadcast).
    const pubsub = async (from: number, label: string) => {
      const published = await ask(
        client,
        { cmd: "publish", n: MESSAGES, from },
        (m) => m.published as { http: number; nats: number; failed: string[] } | undefined,
        "publishes",
        30_000,
      );
      assert.deepEqual(published.failed, [], `${label}: every publish succeeded`);
      const want = Array.from({ length: MESSAGES }, (_, i) => from + i);
      const got = { a: { http: 0, nats: 0 }, b: { http: 0, nats: 0 } };
      await until(
        `${label}: both hosts to handle all ${MESSAGES} messages on both brokers`,
        10_000,
        async () => {
          for (const role of ["a", "b"] as const) {
            const s = await instanceStats(inst[role].child, role);
            got[role].http = want.filter((x) => s.http.includes(x)).length;
            got[role].nats = want.filter((x) => s.nats.includes(x)).length;
          }
          return [got.a.http, got.a.nats, got.b.http, got.b.nats].every((x) => x === MESSAGES);
        },
      );
      report(
        `${label}: published http ${published.http}, nats ${published.nats}; handled http a=${got.a.http} b=${got.b.http}, nats a=${got.a.nats} b=${got.b.nats}`,
      );
    };
    await pubsub(0, "messages before faults");

    // 2. The registry on the wire: registered in `a`, seen by the watcher in `cli`.
    const lags: number[] = [];
    const probeName = `${env.MH_SERVICE}-probe`;
    for (let i = 0; i < PROBES; i++) {
      const pid = `p${i}`;
      const { t0 } = await ask(
        inst.a.child,
        { cmd: "probe", name: probeName, id: pid },
        (m) => (m.probed === pid ? (m as { t0: number }) : undefined),
        "probe registered",
      );
      let seen = Number.NaN;
      await until(`watch probe ${pid} to reach the client host`, 5000, async () => {
        seen = (await clientStats(client)).probes[pid] ?? Number.NaN;
        return !Number.isNaN(seen);
      });
      lags.push(seen - t0);
    }
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    report(
      `watch propagation a → cli over ${PROBES} registrations: p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...lags)} ms`,
    );
    // The stated bound (DEPLOYMENT.md); typical p99 is tens of ms, the margin is for a loaded CI machine.
    assert.ok(p99 < 2000, `watch propagation p99 ${p99} ms is under 2 s`);

    // 3. SIGKILL `a`: no deregistration; it leaves when its registration expires.
    const phase = async (label: string, cut: () => void, gone: string, waitMs: number, slackMs: number) => {
      const before = await clientStats(client);
      const at = Date.now();
      cut();
      await sleep(waitMs);
      const s = await clientStats(client);
      const failures = s.attemptFailures.filter((f) => f.t >= at);
      const recoveryMs = Math.max(0, ...failures.map((f) => f.t - at));
      const lost = s.failed.length - before.failed.length;
      const calls = s.calls - before.calls;
      const removedMs = (s.removed[gone] ?? Number.NaN) - at;
      report(
        `${label}: recovery ${recoveryMs} ms (last failed attempt), removed from the registry after ${removedMs} ms ` +
          `(TTL ${TTL_MS} ms), ${calls} calls, ${failures.length} attempts retried elsewhere, ${lost} lost`,
      );
      assert.equal(lost, 0, `${label}: calls lost: ${JSON.stringify(s.failed.slice(-3))}`);
      assert.ok(failures.length > 0, `${label}: negative control: the cut node was really called and failed`);
      assert.ok(
        failures.every((f) => f.node === gone),
        `${label}: only the cut node failed`,
      );
      assert.ok(
        recoveryMs <= TTL_MS + slackMs,
        `${label}: attempts kept failing ${recoveryMs} ms after the cut`,
      );
      assert.ok(calls > 100, `${label}: load kept going (${calls} calls)`);
      return s;
    };
    // etcd revokes expired leases on a 500 ms tick; the NATS registry's watchers expire nodes exactly.
    const slack = kind === "etcd" ? 1000 : 500;
    await phase("SIGKILL a", () => inst.a.child.kill("SIGKILL"), inst.a.ready, TTL_MS + 1500, slack);
    inst.a = await startInstance("a");
    const back = await until("the restarted a to take traffic", 15_000, async () => {
      return ((await clientStats(client)).perNode[inst.a.ready] ?? 0) > 20;
    });
    report(`restarted a takes traffic ${back} ms after it registered`);

    // 4. Cut `b`'s cable: no RST, no deregistration; the client's keepalive and the TTL do the work.
    await phase("link down b", () => n.link("b", false), inst.b.ready, TTL_MS + 2500, slack);
    const upAt = Date.now();
    const servedBefore = (await clientStats(client)).perNode[inst.b.ready] ?? 0;
    n.link("b", true);
    const returned = await until("b to take traffic again after its link came back", 20_000, async () => {
      return ((await clientStats(client)).perNode[inst.b.ready] ?? 0) > servedBefore + 20;
    });
    const reAdded = ((await clientStats(client)).added[inst.b.ready] ?? Number.NaN) - upAt;
    report(`link up b: back in the registry after ${reAdded} ms, taking traffic again after ${returned} ms`);

    // 5. Partition the registry host: the selector's cache keeps calls going.
    const beforePartition = await clientStats(client);
    const cutAt = Date.now();
    n.link("reg", false);
    await sleep(TTL_MS + 2000);
    const during = await clientStats(client);
    const partitionCalls = during.calls - beforePartition.calls;
    const partitionLost = during.failed.length - beforePartition.failed.length;
    const servedBoth = [inst.a.ready, inst.b.ready].every((id) => (during.lastOk[id] ?? 0) > cutAt + TTL_MS);
    // Negative control: the partition is real (NATS and etcd cannot be reached from the client host).
    const regIp = n.hosts.reg!.ip;
    const cut =
      !(await canConnect(n.hosts.cli!.ns, regIp, 4222)) && !(await canConnect(n.hosts.cli!.ns, regIp, 2379));
    n.link("reg", true);
    const healAt = Date.now();
    const healed = await until("both nodes registered again after the partition healed", 30_000, async () => {
      const [sa, sb] = await Promise.all([
        instanceStats(inst.a.child, "a"),
        instanceStats(inst.b.child, "b"),
      ]);
      if (!sa.registered || !sb.registered) return false;
      const found = await ask(
        client,
        { cmd: "lookup", name: env.MH_SERVICE },
        (m) => m.lookup as string[] | undefined,
        "lookup",
      );
      return found.includes(inst.a.ready) && found.includes(inst.b.ready);
    });
    await sleep(1000);
    const afterHeal = await clientStats(client);
    const healFailures = afterHeal.failed.slice(during.failed.length);
    const healLost = healFailures.length;
    const healWindow =
      healLost === 0
        ? 0
        : Math.max(...healFailures.map((f) => f.t)) - Math.min(...healFailures.map((f) => f.t));
    report(
      `registry partitioned for ${healAt - cutAt} ms: ${partitionCalls} calls, ${partitionLost} lost, both nodes served ` +
        `after the TTL passed: ${servedBoth} (last answers ${[inst.a.ready, inst.b.ready].map((id) => (during.lastOk[id] ?? 0) - cutAt).join(", ")} ms after the cut; attempt failures ${during.attemptFailures.length - beforePartition.attemptFailures.length}); registrations recovered ${healed} ms after it healed, ${healLost} calls lost meanwhile (within ${healWindow} ms)`,
    );
    assert.ok(cut, "negative control: during the partition the registry host cannot be reached");
    assert.equal(
      partitionLost,
      0,
      `calls lost during the partition: ${JSON.stringify(during.failed.slice(-3))}`,
    );
    assert.ok(partitionCalls > 100, `load kept going during the partition (${partitionCalls} calls)`);
    assert.ok(servedBoth, "both nodes kept serving from the selector's cache after the TTL had passed");
    // etcd's lessor revokes every lease during the partition (the server cannot tell a cut from
    // a death): on healing the watch delivers those deletes before the services have registered
    // again. The selector's grace (graceMs) keeps the nodes that just left selectable meanwhile.
    assert.equal(
      healLost,
      0,
      `calls lost as the partition healed: ${JSON.stringify(healFailures.slice(-3))}`,
    );

    await pubsub(MESSAGES, "messages after faults");
    const end = await ask(
      client,
      { cmd: "stop" },
      (m) => (m.stopped ? (m.stats as ClientStats) : undefined),
      "client stop",
      20_000,
    );
    report(
      `total: ${end.calls} calls, ${end.ok} ok, ${end.failed.length} lost, ${end.attemptFailures.length} attempts retried on another node`,
    );
    assert.equal(end.failed.length, 0, "no call lost over the whole run");
  } finally {
    for (const i of [inst.a, inst.b]) i.child.kill("SIGKILL");
  }
}
