/**
 * Pinned behaviours of the local registry (registry/local.ts) on a temporary directory: one lease
 * file per node, named by its encoded name, version and id, written whole (no temporary file
 * left); a lease without a TTL refused by readers; expired leases are skipped and swept by readers; a read of one
 * service reads only its files; stray and half-written files are ignored; a watcher sees a
 * registration made right after it started, updates, deregistrations and expiries (by the poll),
 * and ends with close().
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { createLocalRegistry, DEFAULT_LOCAL_POLL_MS } from "../../src/registry/local.js";
import type { RegistryEvent, Service } from "../../src/registry/registry.js";
import { until, within } from "../helpers.js";
import { captureRefusals } from "../support/refusals.js";

const svc = (name: string, id: string, address = "127.0.0.1:1", version = "1"): Service => ({
  name,
  version,
  metadata: {},
  endpoints: [],
  nodes: [{ id, address, metadata: {} }],
});

const LEASE = { ttlMs: 60_000 };

describe("local registry (pinned)", { timeout: 20_000 }, () => {
  const refusals = captureRefusals();
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const newDir = () => {
    const root = mkdtempSync(join(tmpdir(), "tsmicro-local-pin-"));
    dirs.push(root);
    return join(root, "reg");
  };

  it("one lease file per node, named by encoded name, version and id; no temporary file left; named after its directory", async () => {
    const dir = newDir();
    const r = createLocalRegistry({ dir });
    assert.equal(r.name, `local (${dir})`);
    assert.equal(DEFAULT_LOCAL_POLL_MS, 500);
    await r.register(svc("a/b c", "n@1", "127.0.0.1:5", "v 2"), { ttlMs: 60_000 });
    await r.register(
      { ...svc("two", "x"), nodes: [svc("two", "x").nodes[0]!, svc("two", "y").nodes[0]!] },
      LEASE,
    );
    assert.deepEqual(readdirSync(dir).sort(), [
      "a%2Fb%20c@v%202@n%401.lease.json",
      "two@1@x.lease.json",
      "two@1@y.lease.json",
    ]);
    const [got] = await r.getService("a/b c");
    assert.equal(got?.version, "v 2");
    assert.equal(got.nodes[0]?.id, "n@1");
    assert.deepEqual((await r.listServices()).map((s) => s.name).sort(), ["a/b c", "two"]);
    await r.deregister(svc("two", "x"));
    await r.deregister(svc("never", "registered"));
    assert.deepEqual(
      (await r.getService("two")).flatMap((s) => s.nodes.map((n) => n.id)),
      ["y"],
    );
    await r.close();
  });

  it("register without a TTL, or with one past the limit, is a 400 that writes nothing", async () => {
    const dir = newDir();
    const r = createLocalRegistry({ dir });
    for (const [opts, why] of [
      [undefined, "it never expires \\(no TTL\\)"],
      [{ ttlMs: 0 }, "it never expires \\(no TTL\\)"],
      [{ ttlMs: 60 * 60 * 1000 + 60_000 }, "it expires more than 3600000 ms from now"],
    ] as const) {
      const e = await r.register(svc("lease", "l"), opts).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(e instanceof MicroError, `a MicroError for ${JSON.stringify(opts)}`);
      assert.equal(e.code, 400);
      assert.equal(e.id, "tsmicro");
      assert.match(
        e.detail,
        new RegExp(`^local registry: cannot register lease: ${why}; pass ttlMs between 1 and 3600000$`),
      );
    }
    await r.register(svc("lease", "l"), { ttlMs: 60 * 60 * 1000 - 60_000 });
    assert.deepEqual(readdirSync(dir), ["lease@1@l.lease.json"], "only the valid lease was written");
    await r.close();
  });

  it("a lease without a TTL is refused by readers (logged); an expired one is skipped and swept; a service's read is its own", async () => {
    const dir = newDir();
    const r = createLocalRegistry({ dir });
    await r.register(svc("forever", "f"), LEASE);
    // Written by another writer (or an older version): readers refuse a lease without expiry.
    writeFileSync(
      join(dir, "no-ttl@1@n.lease.json"),
      JSON.stringify({
        name: "no-ttl",
        version: "1",
        metadata: {},
        endpoints: [],
        node: { id: "n", address: "127.0.0.1:1", metadata: {} },
        expiresAt: 0,
      }),
    );
    assert.deepEqual(await r.getService("no-ttl"), []);
    assert.match(refusals.join("\n"), /registry record of no-ttl node n refused: it never expires/);
    await r.register(svc("brief", "b"), { ttlMs: 30 });
    await r.register(svc("brief-other", "o"), { ttlMs: 30 });
    await new Promise((res) => setTimeout(res, 60));
    assert.equal((await r.getService("forever")).length, 1);
    assert.deepEqual(await r.getService("brief"), []);
    assert.ok(!readdirSync(dir).includes("brief@1@b.lease.json"), "the expired lease was swept");
    assert.ok(
      readdirSync(dir).includes("brief-other@1@o.lease.json"),
      "another service's file is not even read",
    );
    assert.deepEqual(
      (await r.listServices()).map((s) => s.name),
      ["forever"],
    );
    assert.deepEqual(readdirSync(dir).sort(), ["forever@1@f.lease.json", "no-ttl@1@n.lease.json"]);
    await r.close();
  });

  it("stray files, unparsable leases and half-written ones are ignored by reads and watchers", async () => {
    const dir = newDir();
    const r = createLocalRegistry({ dir, pollMs: 20 });
    await r.register(svc("ok", "1"), LEASE);
    writeFileSync(join(dir, "notes.txt"), "hello");
    writeFileSync(join(dir, "bad@1@x.lease.json"), "{not json");
    writeFileSync(join(dir, "too@many@at@signs.lease.json"), "{}");
    writeFileSync(join(dir, "%E0%A4%A@1@x.lease.json"), "{}");
    writeFileSync(join(dir, "ok@1@2.lease.json.123.abc.tmp"), "{}");
    assert.deepEqual(
      (await r.listServices()).map((s) => s.name),
      ["ok"],
    );
    const events: RegistryEvent[] = [];
    const w = r.watch();
    const reading = (async () => {
      for await (const e of w) events.push(e);
    })();
    writeFileSync(join(dir, "junk@@.lease.json"), "[]");
    writeFileSync(join(dir, "%ZZ@1@x.lease.json"), "{}");
    await r.register(svc("ok", "3"), LEASE);
    await until(() => events.some((e) => e.service.nodes[0]?.id === "3"), "the watcher to see the new node");
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.service.name} ${e.service.nodes[0]?.id}`),
      ["create ok 3"],
    );
    await r.close();
    await within(reading, 2000, "the watch to end with close()");
  });

  it("a watcher sees a registration made right after it started, updates, deregistrations and expiries", async () => {
    const dir = newDir();
    const r = createLocalRegistry({ dir, pollMs: 20 });
    await r.register(svc("before", "b"), LEASE);
    const events: string[] = [];
    const w = r.watch();
    await r.register(svc("w", "1"), { ttlMs: 60_000 });
    const reading = (async () => {
      for await (const e of w) events.push(`${e.type} ${e.service.name} ${e.service.nodes[0]?.address}`);
    })();
    await until(() => events.length === 1, "the create");
    await r.register(svc("w", "1", "127.0.0.1:2"), { ttlMs: 60_000 });
    await until(() => events.length === 2, "the update");
    await r.register(svc("w", "1", "127.0.0.1:2"), { ttlMs: 60_000 });
    await r.register(svc("short", "s"), { ttlMs: 150 });
    await until(() => events.length === 3, "the short lease's create");
    await r.deregister(svc("w", "1"));
    await until(() => events.length === 4, "the delete");
    await until(() => events.length === 5, "the short lease's expiry, found by the poll", 5000);
    assert.deepEqual(events, [
      "create w 127.0.0.1:1",
      "update w 127.0.0.1:2",
      "create short 127.0.0.1:1",
      "delete w 127.0.0.1:2",
      "delete short 127.0.0.1:1",
    ]);
    await until(
      () => !readdirSync(dir).includes("short@1@s.lease.json"),
      "the expired lease's file to be swept",
    );
    await r.close();
    await within(reading, 2000, "the watch to end with close()");
  });
});
