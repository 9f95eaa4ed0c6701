/**
 * etcd going away and coming back: reads are served from the last answer, a registration
 * that failed meanwhile is written again once etcd answers (even to an etcd that lost its
 * data), and a watch resumes after a restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Registry } from "tsmicro";
import type { RegistryEvent, Service } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createEtcdRegistry } from "../src/index.js";
import { type EtcdServer, startEtcd } from "../src/testing/index.js";

function svc(name: string, id: string): Service {
  return {
    name,
    version: "1",
    metadata: {},
    endpoints: [],
    nodes: [{ id, address: "127.0.0.1:1", metadata: {} }],
  };
}

describe("etcd registry across an etcd outage", { timeout: 60_000 }, () => {
  let etcd: EtcdServer;
  let a: Registry;
  let b: Registry;
  before(async () => {
    etcd = await startEtcd({ private: true });
    a = createEtcdRegistry({ endpoints: etcd.endpoint, timeoutMs: 1000, reconnectMs: 100 });
    b = createEtcdRegistry({ endpoints: etcd.endpoint, timeoutMs: 1000 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await etcd?.stop();
  });

  it("serves reads from cache while etcd is down and re-registers when it is back", async () => {
    await a.register(svc("outage", "n1"), { ttlMs: 30_000 });
    assert.deepEqual(
      (await b.getService("outage"))[0]?.nodes.map((n) => n.id),
      ["n1"],
    );
    await etcd.kill({ wipe: true });

    const t0 = Date.now();
    const cached = await b.getService("outage");
    assert.deepEqual(
      cached[0]?.nodes.map((n) => n.id),
      ["n1"],
      "served from cache",
    );
    assert.ok(Date.now() - t0 < 5000, `cached read took ${Date.now() - t0} ms`);
    await assert.rejects(b.getService("never-read"), (e: any) => e.code === 503 && /etcd/.test(e.detail));

    // The service's refresh fails while etcd is down...
    await assert.rejects(a.register(svc("outage", "n1"), { ttlMs: 30_000 }), (e: any) => e.code === 503);
    // ...and the registry writes the node again by itself once etcd is back (with no data).
    await etcd.restart();
    // A registry with no cache, so that only etcd's own answer counts.
    const fresh = createEtcdRegistry({ endpoints: etcd.endpoint });
    try {
      // Negative control: the restarted etcd starts empty.
      const empty = await waitFor("the restarted etcd to answer", 10_000, () => fresh.listServices());
      assert.ok(empty.length <= 1, "the wiped etcd holds at most the re-registered node");
      const back = await waitFor("n1 to be re-registered in the restarted etcd", 15_000, async () => {
        const nodes = (await fresh.getService("outage"))[0]?.nodes.map((n) => n.id);
        return nodes?.includes("n1") ? nodes : undefined;
      });
      assert.deepEqual(back, ["n1"]);
    } finally {
      await fresh.close();
    }
  });

  it("a watch resumes after etcd restarts", async () => {
    // A registry that saw no failures yet: b's client may still be backing off from the first test.
    const c = createEtcdRegistry({ endpoints: etcd.endpoint, timeoutMs: 1000 });
    const events: RegistryEvent[] = [];
    const w = c.watch({ service: "resume" });
    void (async () => {
      for await (const e of w) events.push(e);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await a.register(svc("resume", "r1"), { ttlMs: 30_000 });
    await waitFor("create of r1", 5000, async () => (events.length >= 1 ? true : undefined));
    await etcd.kill();
    await etcd.restart();
    await waitFor("a write after the restart", 15_000, async () => {
      await a.register(svc("resume", "r2"), { ttlMs: 30_000 });
      return true;
    });
    await waitFor("create of r2 after the restart", 15_000, async () =>
      events.some((e) => e.type === "create" && e.service.nodes[0]?.id === "r2") ? true : undefined,
    );
    w.stop();
    await c.close();
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.service.nodes[0]?.id}`),
      ["create:r1", "create:r2"],
    );
  });
});
