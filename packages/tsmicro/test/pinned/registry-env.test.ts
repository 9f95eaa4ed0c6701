/**
 * Pinned behaviours of choosing a registry by name (registry/default.ts) that the integration
 * tests leave open: the packages named (workspace packages that exist), which names can name a
 * package, what a refused name's registry says on every use and on watch, the name shown before
 * loading, and the lazily loaded registry's forwarding: calls, watches (filtered, ended with the
 * backend's, never started for a watcher stopped first) and close.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { REGISTRY_KINDS, REGISTRY_PACKAGES, registryFromEnv } from "../../src/registry/default.js";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry, RegistryEvent, WatchOptions } from "../../src/registry/registry.js";
import { within } from "../helpers.js";
import { isolateEnv, workspacePackageNames } from "../support/env-vars.js";
import { node, service } from "../support/selector-nodes.js";

const ENV = ["MICRO_REGISTRY", "MICRO_REGISTRY_ADDRESS"] as const;

/** A backend package whose registry is a memory registry, recording what it was asked. */
function backendPackage() {
  const inner = createMemoryRegistry();
  const made: { kind: string; address: string | undefined }[] = [];
  const watches: WatchOptions[] = [];
  const specifiers: string[] = [];
  let stopped = 0;
  const registry: Registry = {
    ...inner,
    name: "fake",
    watch: (o) => {
      watches.push(o ?? {});
      const w = inner.watch(o);
      const stop = w.stop.bind(w);
      w.stop = () => {
        stopped++;
        stop();
      };
      return w;
    },
  };
  const load = async (spec: string) => {
    specifiers.push(spec);
    return {
      registryFromAddress: (kind: string, o: { address?: string }) => {
        made.push({ kind, address: o.address });
        return registry;
      },
    };
  };
  return { inner, made, watches, specifiers, load, stopped: () => stopped };
}

describe("registryFromEnv (pinned)", { timeout: 10_000 }, () => {
  isolateEnv(ENV);

  it("the packages named are workspace packages", () => {
    assert.deepEqual(REGISTRY_PACKAGES, { etcd: "@tsmicro/etcd", nats: "@tsmicro/nats" });
    assert.deepEqual(REGISTRY_KINDS, ["local", "memory", "etcd", "nats"]);
    const names = workspacePackageNames();
    for (const p of Object.values(REGISTRY_PACKAGES)) assert.ok(names.has(p), p);
  });

  it("a name that cannot name a package: every use fails with a non-retryable 400 naming the variable and the built-in ones", async () => {
    process.env.MICRO_REGISTRY = "Not_A Name";
    const r = registryFromEnv();
    assert.equal(r.name, "unavailable (MICRO_REGISTRY=not_a name)");
    for (const use of [
      () => r.getService("a"),
      () => r.listServices(),
      () => r.register(service("a", [node("n")])),
      () => r.deregister(service("a", [node("n")])),
    ]) {
      const e = await use().catch((err: unknown) => err);
      assert.ok(e instanceof MicroError, String(e));
      assert.equal(e.id, "tsmicro");
      assert.equal(e.code, 400);
      assert.equal(e.retryable, false);
      assert.equal(
        e.detail,
        "MICRO_REGISTRY=not_a name is not a registry name (letters, digits and dashes, loaded from @tsmicro/<name>); built in: local, memory, etcd, nats",
      );
    }
    const it = r.watch()[Symbol.asyncIterator]();
    const read = await within(
      it.next().then(
        (v) => v,
        (e: unknown) => e,
      ),
      1000,
      "the watch of a refused registry to end",
    );
    assert.ok(read instanceof MicroError || (read as IteratorResult<unknown>).done === true, String(read));
    await r.close();
    const byOption = await registryFromEnv({ kind: "-bad" })
      .listServices()
      .catch((e: unknown) => e);
    assert.match((byOption as MicroError).detail, /^registry "-bad" is not a registry name/);
  });

  it("a package name: lower-case letters, digits and dashes, at most 64, not starting with a dash", async () => {
    const p = backendPackage();
    const ok = `a${"b".repeat(63)}`;
    await registryFromEnv({ kind: ok, load: p.load }).listServices();
    assert.deepEqual(p.specifiers, [`@tsmicro/${ok}`]);
    const long = await registryFromEnv({ kind: `${ok}c`, load: p.load })
      .listServices()
      .catch((e: unknown) => e);
    assert.equal((long as MicroError).code, 400);
    assert.equal(p.specifiers.length, 1, "a 65-character name loads nothing");
  });

  it("blank is local; before loading, a backend is named by its kind and address", () => {
    process.env.MICRO_REGISTRY = "  ";
    process.env.MICRO_REGISTRY_ADDRESS = "";
    assert.match(registryFromEnv().name, /^local \(\//, "the local registry itself, on its directory");
    const never = () => new Promise<never>(() => {});
    assert.equal(
      registryFromEnv({ kind: "etcd", load: never }).name,
      "etcd (default address, not loaded yet)",
    );
    process.env.MICRO_REGISTRY_ADDRESS = "127.0.0.1:2379";
    assert.equal(
      registryFromEnv({ kind: "etcd", load: never }).name,
      "etcd (127.0.0.1:2379, not loaded yet)",
    );
    assert.equal(
      registryFromEnv({ kind: "etcd", address: "h:1", load: never }).name,
      "etcd (h:1, not loaded yet)",
    );
  });

  it("forwards every call to the backend made from its package, with the kind and address", async () => {
    const p = backendPackage();
    const r = registryFromEnv({ kind: "etcd", address: "h:1", load: p.load });
    await r.register(service("a", [node("n1")]));
    assert.deepEqual(
      (await r.getService("a")).map((s) => s.nodes.map((n) => n.id)),
      [["n1"]],
    );
    assert.deepEqual(
      (await r.listServices()).map((s) => s.name),
      ["a"],
    );
    await r.deregister(service("a", [node("n1")]));
    assert.deepEqual(await r.getService("a"), []);
    assert.deepEqual(p.made, [{ kind: "etcd", address: "h:1" }]);
    assert.deepEqual(p.specifiers, ["@tsmicro/etcd"]);
    assert.equal(r.name, "fake");
    await r.close();
  });

  it("watch: events from the backend, filtered by service; it ends when the backend's watch ends", async () => {
    const p = backendPackage();
    const r = registryFromEnv({ kind: "etcd", load: p.load });
    const w = r.watch({ service: "a" });
    const it = w[Symbol.asyncIterator]();
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(p.watches, [{ service: "a" }], "the backend's watch has the service filter");
    await p.inner.register(service("b", [node("nb")]));
    await p.inner.register(service("a", [node("na")]));
    const first = await within(it.next(), 2000, "the first event");
    assert.equal((first.value as RegistryEvent).service.name, "a");
    await p.inner.close(); // ends the backend's watch
    const end = await within(it.next(), 2000, "the watch to end with the backend's");
    assert.equal(end.done, true);

    const p2 = backendPackage();
    const all = registryFromEnv({ kind: "etcd", load: p2.load });
    const wAll = all.watch();
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(p2.watches, [{}], "no filter for a watch of every service");
    wAll.stop();
    assert.equal(p2.stopped(), 1, "stopping the last watcher stops the backend's watch");
  });

  it("watch: stopped before the package loaded, it starts no watch on the backend", async () => {
    const p = backendPackage();
    let loaded!: () => void;
    const gate = new Promise<void>((r) => {
      loaded = r;
    });
    const r = registryFromEnv({
      kind: "etcd",
      load: async (s) => {
        await gate;
        return p.load(s);
      },
    });
    const w = r.watch();
    w.stop();
    loaded();
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(p.watches, []);
  });

  it("watch: a package that cannot be loaded ends the watch", async () => {
    const r = registryFromEnv({ kind: "etcd", load: async () => ({}) });
    const it = r.watch()[Symbol.asyncIterator]();
    assert.equal((await within(it.next(), 2000, "the watch to end")).done, true);
  });

  it("close: the next use loads and makes a new backend", async () => {
    const p = backendPackage();
    const r = registryFromEnv({ kind: "etcd", load: p.load });
    await r.listServices();
    await r.close();
    await r.listServices();
    assert.equal(p.made.length, 2);
    await r.close();
  });
});
