/**
 * Registry records read from etcd are validated (issue 19): the record fuzzer, and a key
 * planted without a lease (it would never expire) or with a URL for an address is not read.
 *
 * Before and after (run 2026-12-01 on a081c18, the parent of fix ae78f19, validate.ts present
 * only as the oracle): 2 of 2 failed. Fuzzer: "getService returned a record validation refuses:
 * node id is empty"; planted keys read back ['forever', 'ok', 'url'], expected ['ok']. After:
 * 2 of 2 pass.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { Etcd3 } from "etcd3";
import { registryRefusals } from "tsmicro/plugin";
import { registryRecordFuzz } from "../../tsmicro/test/support/registry-fuzz.js";
import { createEtcdRegistry } from "../src/index.js";
import { startEtcd } from "../src/testing/index.js";

const etcd = await startEtcd();
after(() => etcd.stop());
const prefix = `/tsmicro-test/${randomUUID().slice(0, 8)}/`;

registryRecordFuzz("etcd", {
  create: () => createEtcdRegistry({ endpoints: etcd.endpoint, prefix }),
  runs: 40,
  refusals: registryRefusals,
});

test("security: etcd keys planted without a lease or with a URL address are not read", async () => {
  const r = createEtcdRegistry({ endpoints: etcd.endpoint, prefix });
  const raw = new Etcd3({ hosts: etcd.endpoint });
  try {
    await r.register(
      {
        name: "pay",
        version: "",
        metadata: {},
        endpoints: [],
        nodes: [{ id: "ok", address: "127.0.0.1:7005", metadata: {} }],
      },
      { ttlMs: 30_000 },
    );
    const row = (id: string, address: string) =>
      JSON.stringify({
        name: "pay",
        version: "",
        metadata: {},
        endpoints: [],
        node: { id, address, metadata: {} },
      });
    // No lease: etcd keeps it forever.
    await raw.put(`${prefix}pay//forever`).value(row("forever", "127.0.0.1:7001"));
    const lease = raw.lease(30);
    await lease.put(`${prefix}pay//url`).value(row("url", "http://evil.example/x"));
    const ids = (await r.getService("pay")).flatMap((s) => s.nodes.map((n) => n.id));
    assert.deepEqual(ids, ["ok"]);
    await lease.revoke();
  } finally {
    raw.close();
    await r.close();
  }
});
