/**
 * Registry records are validated on every read path (issue 19): the record fuzzer over the
 * memory and local registries, and the findings as regression tests on the local registry's
 * files (a record planted by another writer): no expiry, a URL for an address, 20,000
 * metadata entries.
 *
 * Before and after (run 2026-12-01 on a081c18, the parent of fix ae78f19, with
 * ae78f19's validate.ts present only as the tests' oracle, not wired into any read path): 3 of
 * 3 failed. Memory fuzzer: "getService returned a record validation refuses: node id is over
 * 256 characters" after 1 case; local fuzzer: "... node id holds a control character" after 1
 * case; planted files: read back ['n1', 'n2', 'n3', 'n4', 'ok'], expected ['ok']. After: 3 of 3 pass.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createLocalRegistry } from "../../src/registry/local.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import { registryRefusals } from "../../src/registry/validate.js";
import { registryRecordFuzz } from "../support/registry-fuzz.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-sec-reg-"));
after(() => rmSync(dir, { recursive: true, force: true }));

registryRecordFuzz("memory", { create: () => createMemoryRegistry(), runs: 200 });
registryRecordFuzz("local", { create: () => createLocalRegistry({ dir: join(dir, "fuzz"), pollMs: 50 }) });

describe("security: planted local registry records are refused", () => {
  const planted = (name: string, node: object, expiresAt: number) =>
    JSON.stringify({ name, version: "", metadata: {}, endpoints: [], node, expiresAt });

  test("no expiry, a URL address, 20,000 metadata entries: none is read; each refusal logged once", async () => {
    const d = join(dir, "planted");
    const r = createLocalRegistry({ dir: d, pollMs: 50 });
    const logs: string[] = [];
    const log = registryRefusals.log;
    registryRefusals.log = (m) => logs.push(m);
    try {
      await r.register(
        {
          name: "seed",
          version: "",
          metadata: {},
          endpoints: [],
          nodes: [{ id: "s", address: "127.0.0.1:1", metadata: {} }],
        },
        { ttlMs: 30_000 },
      );
      assert.equal(readdirSync(d).length, 1);
      const suffix = ".lease.json";
      const soon = Date.now() + 30_000;
      const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, "v"]));
      writeFileSync(
        join(d, `pay@@n1${suffix}`),
        planted("pay", { id: "n1", address: "127.0.0.1:7001", metadata: {} }, 0),
      );
      writeFileSync(
        join(d, `pay@@n2${suffix}`),
        planted("pay", { id: "n2", address: "http://evil.example:80/x", metadata: {} }, soon),
      );
      writeFileSync(
        join(d, `pay@@n3${suffix}`),
        planted("pay", { id: "n3", address: "127.0.0.1:7003", metadata: many }, soon),
      );
      writeFileSync(
        join(d, `pay@@n4${suffix}`),
        planted(
          "pay",
          { id: "n4", address: "127.0.0.1:7004", metadata: {} },
          Date.now() + 400 * 24 * 3600_000,
        ),
      );
      writeFileSync(
        join(d, `pay@@ok${suffix}`),
        planted("pay", { id: "ok", address: "127.0.0.1:7005", metadata: {} }, soon),
      );
      const got = await r.getService("pay");
      assert.deepEqual(
        got.flatMap((s) => s.nodes.map((n) => n.id)),
        ["ok"],
      );
      await r.getService("pay");
      for (const id of ["n1", "n2", "n3", "n4"]) {
        assert.equal(
          logs.filter((l) => l.includes(`node ${id} refused`)).length,
          1,
          `${id}: ${logs.join("\n")}`,
        );
      }
      assert.match(logs.find((l) => l.includes("node n1"))!, /never expires/);
      assert.match(logs.find((l) => l.includes("node n2"))!, /address "http:\/\/evil\.example:80\/x"/);
      assert.match(logs.find((l) => l.includes("node n3"))!, /more than 64 entries/);
    } finally {
      registryRefusals.log = log;
      await r.close();
    }
  });
});
