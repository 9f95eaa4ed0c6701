// The local registry under many concurrent reads (issue 16): reads share directory listings,
// and every read still gets its own service's leases, all of them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLocalRegistry } from "../src/registry/local.js";
import type { Service } from "../src/registry/registry.js";

const service = (name: string, nodes = 3): Service => ({
  name,
  version: "1",
  metadata: {},
  endpoints: [],
  nodes: Array.from({ length: nodes }, (_, j) => ({
    id: `${name}-${j}`,
    address: `127.0.0.1:${9000 + j}`,
    metadata: {},
  })),
});

describe("local registry: concurrent reads", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-local-reads-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("200 concurrent getService calls each get their own service's nodes", async () => {
    const w = createLocalRegistry({ dir });
    const names = Array.from({ length: 200 }, (_, i) => `svc-${i}`);
    await Promise.all(names.map((n) => w.register(service(n), { ttlMs: 60_000 })));
    const r = createLocalRegistry({ dir });
    const got = await Promise.all(names.map((n) => r.getService(n)));
    got.forEach((s, i) => {
      assert.equal(s.length, 1, `svc-${i}: one version`);
      assert.equal(s[0]!.name, `svc-${i}`);
      assert.deepEqual(
        s[0]!.nodes.map((n) => n.id).sort(),
        [0, 1, 2].map((j) => `svc-${i}-${j}`),
      );
    });
  });
});
