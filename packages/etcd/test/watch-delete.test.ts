/**
 * A deleted key whose previous value the watch cannot read as a record (compacted away, or not
 * one of ours) is still the delete of the node its key names, and not a refused record: before,
 * it went through record validation with an empty address and logged
 * `... refused: address "" is not host:port` for a node nobody had registered badly.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { Etcd3 } from "etcd3";
import { type RegistryEvent, registryRefusals } from "tsmicro/plugin";
import { waitFor } from "tsmicro/testing";
import { createEtcdRegistry } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";

const etcd = await startEtcd();
after(() => etcd.stop());

const prefix = `/tsmicro-test/${randomUUID().slice(0, 8)}/`;

const service = (name: string) => ({
  name,
  version: "v1",
  metadata: {},
  endpoints: [],
  nodes: [{ id: `${name}-1`, address: "127.0.0.1:9", metadata: {} }],
});

describe("etcd registry watch: a delete without a readable previous value", () => {
  it("is the delete of the node its key names, with no refusal logged", async () => {
    const registry = createEtcdRegistry({ endpoints: etcd.endpoint, prefix });
    const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    const refusals: string[] = [];
    const log = registryRefusals.log;
    registryRefusals.log = (m) => refusals.push(m);
    const events: RegistryEvent[] = [];
    const watcher = registry.watch();
    const reading = (async () => {
      for await (const e of watcher) events.push(e);
    })();
    const seen = (type: string, name: string) =>
      waitFor(`a ${type} event for ${name}`, 10_000, async () =>
        events.find((e) => e.type === type && e.service.name === name) ? true : undefined,
      );
    try {
      // The watch is live once it reports a registration made after it started.
      await registry.register(service("before"), { ttlMs: 5000 });
      await seen("create", "before");
      // A value that is not a record (another writer's, or one etcd no longer has), deleted.
      await raw.put(`${prefix}ghost/v1/ghost-1`).value("not a registry record");
      await raw.delete().key(`${prefix}ghost/v1/ghost-1`);
      // etcd delivers in revision order: once this one is seen, the delete was handled.
      await registry.register(service("after"), { ttlMs: 5000 });
      await seen("create", "after");

      const ghost = events.filter((e) => e.service.name === "ghost");
      assert.deepEqual(
        ghost.map((e) => [e.type, e.service.version, e.service.nodes.map((n) => n.id)]),
        [["delete", "v1", ["ghost-1"]]],
        "one delete event naming the node, and no create for the foreign value",
      );
      assert.deepEqual(refusals, [], "no record was refused");
    } finally {
      registryRefusals.log = log;
      watcher.stop();
      await reading;
      await registry.deregister(service("before")).catch(() => {});
      await registry.deregister(service("after")).catch(() => {});
      await registry.close();
      raw.close();
    }
  });
});
