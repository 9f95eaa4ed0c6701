/**
 * The registry-record fuzzer of the security suite, run by every registry implementation
 * (memory, local, etcd, NATS) as the conformance suite is: hostile records (URLs and paths for
 * addresses, user info, bad ports, control characters, oversized metadata, too many endpoints)
 * are registered next to a good node, then read back through `getService`, `listServices`,
 * `watch` and a client call. The property: nothing read is a record validate.ts refuses, and
 * the client dials only plain `host:port` addresses.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { newClient } from "../../src/client/client.js";
import { newRequest } from "../../src/client/request.js";
import { background } from "../../src/context.js";
import { serviceUnavailable } from "../../src/errors.js";
import type { Node, Registry, Service } from "../../src/registry/registry.js";
import { checkAddress, checkRow, registryRefusals } from "../../src/registry/validate.js";
import type { Transport } from "../../src/transport/transport.js";

export interface RegistryFuzzOptions {
  create(): Registry | Promise<Registry>;
  /** Cases; each registers, reads back and calls. @default 100 */
  runs?: number;
  /** TTL given to every registration (stores refuse records that never expire). @default 30000 */
  ttlMs?: number;
  /**
   * The refusal log of the tsmicro the registry runs on (a package outside the core loads
   * tsmicro's build, not these sources). @default this source tree's
   */
  refusals?: { log: (message: string) => void };
}

const hostileAddress = fc.oneof(
  fc.constantFrom(
    "http://evil.example:80/steal",
    "evil.example:80/path",
    "user:pw@evil.example:80",
    "evil.example",
    ":80",
    "[::1",
    "evil.example:0",
    "evil.example:65536",
    "evil.example:80 ",
    " evil.example:80",
    "evil example:80",
    "evil.example:80#x",
    "evil.example:80?x=1",
    "..:80",
    "evil\u0000.example:80",
    "evil.example:-1",
    "unix:/tmp/sock",
    "",
  ),
  fc.string({ maxLength: 40 }),
  fc.tuple(fc.webUrl(), fc.nat({ max: 70000 })).map(([u, p]) => `${u}:${p}`),
  // Valid ones too: the property is about what is read, not that everything is refused.
  fc
    .tuple(
      fc.constantFrom("127.0.0.1", "localhost", "[::1]", "node-1.svc"),
      fc.integer({ min: 1, max: 65535 }),
    )
    .map(([h, p]) => `${h}:${p}`),
);

const hostileMetadata = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 8 }),
  fc
    .integer({ min: 65, max: 400 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]))),
  fc.constant({ big: "x".repeat(20_000) }),
);

const hostileNode = fc.record({
  id: fc.oneof(fc.uuid(), fc.string({ maxLength: 20 }), fc.constant("a\nb"), fc.constant("x".repeat(300))),
  address: hostileAddress,
  metadata: hostileMetadata,
});

/** A transport that records each dialled address and connects nowhere. */
function recordingTransport(dialled: string[]): Transport {
  return {
    name: "recording",
    async dial(address) {
      dialled.push(address);
      throw serviceUnavailable("fuzz", `recording transport: not dialling ${address}`);
    },
    async listen() {
      throw new Error("recording transport does not listen");
    },
  };
}

function assertAcceptable(services: Service[], where: string): void {
  for (const s of services) {
    for (const n of s.nodes) {
      const reason = checkRow({ ...s, node: n, expiresAt: 0 });
      assert.equal(reason, undefined, `${where} returned a record validation refuses: ${reason}`);
    }
  }
}

export function registryRecordFuzz(name: string, options: RegistryFuzzOptions): void {
  const runs = options.runs ?? 100;
  const ttlMs = options.ttlMs ?? 30_000;
  describe(`security: registry record fuzzer, ${name} (${runs} cases)`, { timeout: 300_000 }, () => {
    const opened: Registry[] = [];
    const logged: string[] = [];
    const refusals = options.refusals ?? registryRefusals;
    const log = refusals.log;
    after(async () => {
      refusals.log = log;
      await Promise.all(opened.map((r) => r.close()));
    });

    it("a hostile record is never read back, and a client dials only validated host:port", async () => {
      refusals.log = (m) => logged.push(m);
      const r = await options.create();
      opened.push(r);
      const dialled: string[] = [];
      const client = newClient({ registry: r, transport: recordingTransport(dialled), retries: 0 });
      const watcher = r.watch();
      const seen: Node[] = [];
      void (async () => {
        for await (const e of watcher) if (e.type !== "delete") seen.push(...e.service.nodes);
      })();
      try {
        await fc.assert(
          fc.asyncProperty(
            hostileNode,
            fc.integer({ min: 0, max: 1100 }),
            hostileMetadata,
            async (bad, endpoints, serviceMetadata) => {
              const svcName = `fuzz-${randomUUID().slice(0, 8)}`;
              const good: Node = {
                id: `good-${randomUUID().slice(0, 8)}`,
                address: "127.0.0.1:9",
                metadata: {},
              };
              const svc: Service = {
                name: svcName,
                version: "1",
                metadata: serviceMetadata,
                endpoints: Array.from({ length: endpoints }, (_, i) => ({ name: `E.m${i}` })),
                nodes: [bad, good],
              };
              try {
                await r.register(svc, { ttlMs });
              } catch {
                return; // a registry may refuse to store it at all: nothing to read back
              }
              try {
                assertAcceptable(await r.getService(svcName), "getService");
                assertAcceptable(
                  (await r.listServices()).filter((s) => s.name === svcName),
                  "listServices",
                );
                dialled.length = 0;
                await client
                  .call(background(), newRequest(svcName, "E.m0", {}), { retries: 0 })
                  .catch(() => {});
                for (const a of dialled)
                  assert.equal(checkAddress(a), undefined, `the client dialled "${a}"`);
                for (const n of seen.splice(0))
                  assert.equal(checkAddress(n.address), undefined, `watch delivered "${n.address}"`);
              } finally {
                await r.deregister(svc).catch(() => {});
              }
            },
          ),
          { numRuns: runs },
        );
      } finally {
        watcher.stop();
        await client.close();
      }
      // Refusals were logged, each once per node and reason.
      assert.ok(logged.length > 0, "no refusal was logged");
      assert.equal(new Set(logged).size, logged.length, "a refusal was logged twice");
    });
  });
}
