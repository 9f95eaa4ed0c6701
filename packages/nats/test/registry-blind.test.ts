/**
 * A watcher cut off from NATS (the server silent, connections open: a partition) sees no
 * refreshes, which is no evidence that nodes died. It keeps them while it cannot read the
 * server, and once it can, gives every node a full TTL to show a refresh: a node that is
 * alive is never reported gone; one that really stopped is, a TTL after the server is back.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Registry } from "tsmicro";
import type { RegistryEvent, Service } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createNatsRegistry } from "../src/index.js";
import { type PrivateNats, startPrivateNats } from "./nats-server.js";

const TTL_MS = 1500;
const svc = (id: string): Service => ({
  name: "blind",
  version: "1",
  metadata: {},
  endpoints: [],
  nodes: [{ id, address: "127.0.0.1:1", metadata: {} }],
});

describe("nats registry watcher across a partition", { timeout: 60_000 }, () => {
  let nats: PrivateNats;
  let alive: Registry;
  let dead: Registry;
  let watching: Registry;
  before(async () => {
    nats = await startPrivateNats();
    alive = createNatsRegistry({ servers: nats.server, timeoutMs: 500, reconnectMs: 100 });
    dead = createNatsRegistry({ servers: nats.server, timeoutMs: 500 });
    watching = createNatsRegistry({ servers: nats.server, timeoutMs: 500 });
  });
  after(async () => {
    nats?.thaw();
    await Promise.allSettled([alive?.close(), dead?.close(), watching?.close()]);
    await nats?.stop();
  });

  it("keeps nodes it cannot judge, and drops only the one that stopped, a TTL after it sees again", async () => {
    const events: { t: number; e: RegistryEvent }[] = [];
    const w = watching.watch({ service: "blind" });
    void (async () => {
      for await (const e of w) events.push({ t: Date.now(), e });
    })();
    await new Promise((r) => setTimeout(r, 200));
    // "alive" refreshes like a service (errors while the server is silent are expected).
    let refreshing = true;
    const refresher = (async () => {
      while (refreshing) {
        await alive.register(svc("alive"), { ttlMs: TTL_MS }).catch(() => {});
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await dead.register(svc("dead"), { ttlMs: TTL_MS });
      await dead.close(); // registered once, never refreshed: it expires
      await waitFor("the watch to report both nodes", 5000, async () =>
        events.filter((x) => x.e.type === "create").length === 2 ? true : undefined,
      );

      const frozenAt = Date.now();
      nats.freeze();
      await new Promise((r) => setTimeout(r, TTL_MS * 2));
      const thawedAt = Date.now();
      nats.thaw();
      const deletes = () => events.filter((x) => x.e.type === "delete");
      assert.deepEqual(
        deletes().filter((x) => x.t < thawedAt),
        [],
        `no node reported gone while the server was silent (${thawedAt - frozenAt} ms, TTL ${TTL_MS} ms)`,
      );

      // The node that stopped is dropped: a TTL after the watcher reads the server again (plus one re-check).
      const gone = await waitFor("the stopped node to be reported gone", TTL_MS + 1000 + 3000, async () =>
        deletes().find((x) => x.e.service.nodes[0]?.id === "dead"),
      );
      assert.ok(
        gone.t - thawedAt >= TTL_MS,
        `dropped ${gone.t - thawedAt} ms after the thaw, not before a TTL`,
      );
      // The live one, refreshed again since the thaw, never is.
      await new Promise((r) => setTimeout(r, TTL_MS));
      refreshing = false;
      await refresher;
      assert.deepEqual(
        deletes().map((x) => x.e.service.nodes[0]?.id),
        ["dead"],
        "only the stopped node was reported gone",
      );
    } finally {
      refreshing = false;
      nats.thaw();
      w.stop();
    }
  });
});
