/**
 * Registry records read from NATS are validated (issue 19): the record fuzzer, and the probe
 * that captured a bearer token: an entry planted in the bucket (no TTL, a URL for an address,
 * 20,000 metadata entries) is not read, so no client dials it.
 *
 * Before and after (run 2026-12-01 on a081c18, the parent of fix ae78f19, validate.ts present
 * only as the oracle): 2 of 2 failed. Fuzzer: "getService returned a record validation refuses:
 * node id is over 256 characters"; planted entries read back ['forever', 'many', 'ok', 'url'],
 * expected ['ok']. After: 2 of 2 pass.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { registryRefusals } from "tsmicro/plugin";
import { registryRecordFuzz } from "../../tsmicro/test/support/registry-fuzz.js";
import { createNatsConnection, createNatsRegistry } from "../src/index.js";

const servers = process.env.TSMICRO_TEST_NATS || "127.0.0.1:4222";
const bucket = `tsmicro-test-${randomUUID().slice(0, 8)}`;
after(async () => {
  const nc = await createNatsConnection({ servers });
  await (await new Kvm(nc).open(bucket)).destroy().catch(() => {});
  await nc.close();
});

registryRecordFuzz("nats", {
  create: () => createNatsRegistry({ servers, bucket }),
  runs: 40,
  refusals: registryRefusals,
});

test("security: NATS entries planted with no TTL, a URL address or 20,000 metadata entries are not read", async () => {
  const r = createNatsRegistry({ servers, bucket });
  const nc = await createNatsConnection({ servers });
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
    const kv = await new Kvm(nc).open(bucket);
    const put = (id: string, address: string, ttlMs: number, metadata: Record<string, string> = {}) =>
      kv.put(
        `pay.=.${id}`,
        JSON.stringify({
          name: "pay",
          version: "",
          metadata: {},
          endpoints: [],
          node: { id, address, metadata },
          ttlMs,
        }),
      );
    await put("forever", "127.0.0.1:7001", 0);
    await put("url", "http://evil.example:80/x", 30_000);
    await put(
      "many",
      "127.0.0.1:7003",
      30_000,
      Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, "v"])),
    );
    const ids = (await r.getService("pay")).flatMap((s) => s.nodes.map((n) => n.id)).sort();
    assert.deepEqual(ids, ["ok"]);
  } finally {
    await nc.close();
    await r.close();
  }
});
