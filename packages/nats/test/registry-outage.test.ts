/**
 * NATS going away and coming back: reads are served from the last answer, the nodes this
 * registry holds are written again on reconnect (even to a server that lost its JetStream
 * data), a watch keeps reporting, and a shared connection outlives the registry on it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Registry } from "tsmicro";
import type { RegistryEvent, Service } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createNatsConnection, createNatsRegistry } from "../src/index.js";
import { type PrivateNats, startPrivateNats } from "./nats-server.js";

function svc(name: string, id: string): Service {
  return {
    name,
    version: "1",
    metadata: {},
    endpoints: [],
    nodes: [{ id, address: "127.0.0.1:1", metadata: {} }],
  };
}

describe("nats registry across a NATS outage", { timeout: 60_000 }, () => {
  let nats: PrivateNats;
  let a: Registry;
  let b: Registry;
  before(async () => {
    nats = await startPrivateNats();
    a = createNatsRegistry({ servers: nats.server, timeoutMs: 1000, reconnectMs: 100 });
    b = createNatsRegistry({ servers: nats.server, timeoutMs: 1000 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it("serves reads from cache while NATS is down and re-registers when it is back", async () => {
    const events: RegistryEvent[] = [];
    const w = b.watch({ service: "outage" });
    void (async () => {
      for await (const e of w) events.push(e);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await a.register(svc("outage", "n1"), { ttlMs: 30_000 });
    assert.deepEqual(
      (await b.getService("outage"))[0]?.nodes.map((n) => n.id),
      ["n1"],
    );
    await waitFor("the watch to report n1", 5000, async () => (events.length >= 1 ? true : undefined));
    await nats.kill({ wipe: true });

    const t0 = Date.now();
    const cached = await b.getService("outage");
    assert.deepEqual(
      cached[0]?.nodes.map((n) => n.id),
      ["n1"],
      "served from cache",
    );
    assert.ok(Date.now() - t0 < 5000, `cached read took ${Date.now() - t0} ms`);
    await assert.rejects(b.getService("never-read"), (e: any) => e.code === 503 && /nats/.test(e.detail));

    await nats.restart();
    // A client with no cache: only the server's answer counts.
    const fresh = createNatsRegistry({ servers: nats.server });
    try {
      const back = await waitFor("n1 to be re-registered in the restarted NATS", 15_000, async () => {
        const nodes = (await fresh.getService("outage"))[0]?.nodes.map((n) => n.id);
        return nodes?.includes("n1") ? nodes : undefined;
      });
      assert.deepEqual(back, ["n1"]);
      // Negative control: a node nobody holds is not resurrected.
      assert.deepEqual(await fresh.getService("never-registered"), []);
    } finally {
      await fresh.close();
    }
    w.stop();
    assert.equal(events[0]?.type, "create");
  });

  it("leaves a shared connection open when the registry closes", async () => {
    const nc = await createNatsConnection({ servers: nats.server });
    const r = createNatsRegistry({ connection: nc, bucket: "shared-check" });
    await r.register(svc("shared", "s1"), { ttlMs: 30_000 });
    await r.close();
    assert.equal(nc.isClosed(), false, "the registry closed a connection it did not own");
    const again = createNatsRegistry({ connection: nc, bucket: "shared-check" });
    assert.deepEqual(
      (await again.getService("shared"))[0]?.nodes.map((n) => n.id),
      ["s1"],
    );
    await again.close();
    await nc.close();
  });
});
