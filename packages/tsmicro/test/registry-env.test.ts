/** Choosing the registry by option and by MICRO_REGISTRY / MICRO_REGISTRY_ADDRESS. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { isMicroError } from "../src/errors.js";
import { REGISTRY_KINDS, registryFromEnv } from "../src/registry/default.js";
import type { Registry, Service } from "../src/registry/registry.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-env-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const svc: Service = {
  name: "env-greeter",
  version: "1",
  metadata: {},
  endpoints: [],
  nodes: [{ id: "e1", address: "127.0.0.1:1", metadata: {} }],
};

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function roundTrip(r: Registry): Promise<string[]> {
  await r.register(svc, { ttlMs: 10_000 });
  const ids = (await r.getService(svc.name))[0]?.nodes.map((n) => n.id) ?? [];
  await r.deregister(svc);
  await r.close();
  return ids;
}

describe("registryFromEnv", () => {
  it("builds local with MICRO_REGISTRY_ADDRESS as its directory", async () => {
    const leases = join(dir, "leases");
    const r = withEnv({ MICRO_REGISTRY: "local", MICRO_REGISTRY_ADDRESS: leases }, () => registryFromEnv());
    assert.equal(r.name, `local (${leases})`);
    assert.deepEqual(await roundTrip(r), ["e1"]);
  });

  it("defaults to local when MICRO_REGISTRY is unset, and takes memory by name", async () => {
    const r = withEnv({ MICRO_REGISTRY: undefined, MICRO_REGISTRY_ADDRESS: join(dir, "d") }, () =>
      registryFromEnv(),
    );
    assert.match(r.name, /^local /);
    await r.close();
    const m = withEnv({ MICRO_REGISTRY: "MEMORY" }, () => registryFromEnv());
    assert.equal(m.name, "memory");
    assert.deepEqual(await roundTrip(m), ["e1"]);
  });

  it("prefers the option over the environment", () => {
    const r = withEnv({ MICRO_REGISTRY: "local" }, () => registryFromEnv({ kind: "memory" }));
    assert.equal(r.name, "memory");
  });

  it("rejects a name that cannot name a package, with the built-in ones", async () => {
    const r = withEnv({ MICRO_REGISTRY: "zoo/keeper" }, () => registryFromEnv());
    await assert.rejects(r.getService("x"), (e: unknown) => {
      assert.ok(isMicroError(e));
      assert.equal(e.code, 400);
      assert.match(e.detail, /MICRO_REGISTRY=zoo\/keeper is not a registry name/);
      for (const k of REGISTRY_KINDS) assert.ok(e.detail.includes(k), `lists ${k}`);
      return true;
    });
    // Its watch ends at once instead of throwing.
    const events = [];
    for await (const e of r.watch()) events.push(e);
    assert.equal(events.length, 0);
  });

  it("loads any other kind from @tsmicro/<kind>, and says to install it when missing", async () => {
    const r = withEnv({ MICRO_REGISTRY: "zookeeper" }, () => registryFromEnv());
    await assert.rejects(
      r.getService("x"),
      /MICRO_REGISTRY=zookeeper needs the package @tsmicro\/zookeeper, which is not installed/,
    );
  });

  it("says which package to install when a backend's package is missing", async () => {
    // A loader outside the workspace: node really cannot find @tsmicro/etcd from there.
    const loader = join(dir, "loader.mjs");
    writeFileSync(loader, "export default (specifier) => import(specifier);\n");
    const load = (await import(pathToFileURL(loader).href)).default as (s: string) => Promise<unknown>;
    const r = withEnv({ MICRO_REGISTRY: "etcd", MICRO_REGISTRY_ADDRESS: "127.0.0.1:1" }, () =>
      registryFromEnv({ load }),
    );
    assert.match(r.name, /^etcd \(127\.0\.0\.1:1, not loaded yet\)/);
    for (const op of [() => r.getService("x"), () => r.register(svc), () => r.listServices()]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(isMicroError(e));
        assert.equal(e.code, 500);
        assert.equal(
          e.detail,
          "MICRO_REGISTRY=etcd needs the package @tsmicro/etcd, which is not installed: run npm install @tsmicro/etcd",
        );
        return true;
      });
    }
    const nats = registryFromEnv({ kind: "nats", load });
    await assert.rejects(nats.getService("x"), /registry "nats" needs the package @tsmicro\/nats/);
  });

  it("tells a broken package apart from a missing one, and tries the import again on the next use", async () => {
    let calls = 0;
    const r = registryFromEnv({
      kind: "etcd",
      load: async () => {
        calls++;
        return calls === 1
          ? { somethingElse: true }
          : { registryFromAddress: () => registryFromEnv({ kind: "memory" }) };
      },
    });
    await assert.rejects(r.getService("x"), /@tsmicro\/etcd does not export registryFromAddress\(\)/);
    assert.deepEqual(await roundTrip(r), ["e1"], "the second use loads again and works");
    assert.equal(calls, 2);
  });

  it("forwards a watch through the lazily loaded registry", async () => {
    const inner = registryFromEnv({ kind: "memory" });
    const r = registryFromEnv({
      kind: "etcd",
      address: "somewhere:2379",
      load: async () => ({
        registryFromAddress: (kind: string, o: { address?: string }) => {
          assert.equal(kind, "etcd");
          assert.equal(o.address, "somewhere:2379");
          return inner;
        },
      }),
    });
    const w = r.watch({ service: svc.name });
    const got: string[] = [];
    const done = (async () => {
      for await (const e of w) {
        got.push(`${e.type}:${e.service.nodes[0]!.id}`);
        if (got.length === 2) break;
      }
    })();
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(r.name, "memory", "named after the loaded registry");
    await r.register(svc, { ttlMs: 10_000 });
    await r.deregister(svc);
    await Promise.race([
      done,
      new Promise((_, rej) => setTimeout(() => rej(new Error("timed out waiting for 2 watch events")), 2000)),
    ]);
    assert.deepEqual(got, ["create:e1", "delete:e1"]);
    await r.close();
  });
});
