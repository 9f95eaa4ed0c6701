/**
 * Pinned behaviours of the selector that the full mutation run of selector/selector.ts found
 * untested (MUTATION.md): ejection bookkeeping, the cache's updates from the watch, concurrent
 * and closed fetches, and the words of "service not found".
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryRegistry } from "../../src/registry/memory.js";
import type { Registry, Service } from "../../src/registry/registry.js";
import { createSelector } from "../../src/selector/selector.js";
import { filterMetadata } from "../../src/selector/strategy.js";
import { delay, rejection, within } from "../helpers.js";
import { node, recorder, service } from "../support/selector-nodes.js";

/** Polls `check` until it holds, failing after 2 s with what was awaited. */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`waited 2 s for ${what}`);
    await delay(5);
  }
}

describe("selector: ejections", () => {
  it("a node stays ejected when others register, and its record goes when it leaves", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("e", [a, node("b")]));
    const selector = createSelector({ registry, ejectMs: 60_000 });
    const r = recorder();
    const seen = async () => {
      await selector.select("e", { strategy: r.strategy });
      return r.seen();
    };
    await seen();
    selector.mark("e", a, new Error("connection refused"));
    await registry.register(service("e", [node("c")]));
    await until(async () => (await seen()).includes("c"), "node c to arrive by the watch");
    assert.deepEqual(await seen(), ["b", "c"], "an update of the service keeps a's ejection");
    await registry.deregister(service("e", [a]));
    await until(() => selector.stats?.().ejected === 0, "a's ejection record to go with a");
    await registry.register(service("e", [a]));
    await until(async () => (await seen()).includes("a"), "a to come back, selectable at once");
    selector.close();
    await registry.close();
  });

  it("failures of calls already in flight count once: the back-off does not double", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("e", [a, node("b")]));
    const selector = createSelector({ registry, ejectMs: 100, maxEjectMs: 10_000 });
    const r = recorder();
    await selector.select("e");
    selector.mark("e", a, new Error("refused"));
    selector.mark("e", a, new Error("refused"));
    selector.mark("e", a, new Error("refused"));
    await delay(150);
    await selector.select("e", { strategy: r.strategy });
    assert.deepEqual(r.seen(), ["a", "b"], "ejected for 100 ms, not 400");
    selector.close();
    await registry.close();
  });

  it("ejects a node of any version of the service, and keeps no record once closed", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("v", [a], "1"));
    await registry.register(service("v", [node("b")], "2"));
    const selector = createSelector({ registry, ejectMs: 60_000 });
    const r = recorder();
    await selector.select("v");
    selector.mark("v", a, new Error("refused"));
    assert.equal(selector.stats?.().ejected, 1, "a is in version 1 only, and is ejected");
    await selector.select("v", { strategy: r.strategy });
    assert.deepEqual(r.seen(), ["b"]);
    selector.close();
    selector.mark("v", node("b"), new Error("refused"));
    assert.equal(selector.stats?.().ejected, 0, "closed: nothing recorded");
    await registry.close();
  });

  it("sweeps expired ejections of nodes it no longer knows once the map reaches 64, keeping known ones", async () => {
    const registry = createMemoryRegistry();
    const known = node("known");
    await registry.register(service("k", [known]));
    const selector = createSelector({ registry, ejectMs: 1, maxEjectMs: 1 });
    await selector.select("k");
    selector.mark("k", known, new Error("refused"));
    // Nodes of a service that is not cached: the watch will never report them gone.
    for (let i = 0; i < 62; i++) selector.mark("gone", node(`g${i}`), new Error("refused"));
    await delay(10);
    selector.mark("gone", node("g62"), new Error("refused"));
    assert.equal(selector.stats?.().ejected, 64, "63 below the sweep mark, then the 64th");
    await delay(10);
    selector.mark("gone", node("g63"), new Error("refused"));
    assert.equal(
      selector.stats?.().ejected,
      2,
      "at 64: the expired unknown ones swept; the known node and the new one kept",
    );
    selector.close();
    await registry.close();
  });
});

describe("selector: the cache", () => {
  it("updates a version's metadata and a node in place, and drops a version whose nodes all left", async () => {
    const registry = createMemoryRegistry();
    await registry.register(service("m", [node("a", { n: "1" }), node("b")], "1", { zone: "z1" }));
    await registry.register(service("m", [node("c")], "2"));
    const selector = createSelector({ registry });
    const r = recorder();
    await selector.select("m");
    await registry.register(service("m", [node("a", { n: "2" })], "1", { zone: "z2" }));
    await until(
      async () =>
        (await selector.select("m", { strategy: r.strategy, filters: [filterMetadata("zone", "z2")] }).then(
          () => true,
          () => false,
        )) === true,
      "version 1's new metadata",
    );
    assert.deepEqual(r.seen(), ["a", "b"], "a updated in place, not added twice");
    const picked = (await selector.select("m", { filters: [filterMetadata("n", "2")] }))();
    assert.equal(picked.id, "a", "a's new metadata");
    await registry.deregister(service("m", [node("a"), node("b")], "1"));
    await until(async () => {
      await selector.select("m", { strategy: r.strategy });
      return r.seen().length === 1;
    }, "version 1's nodes to leave");
    assert.deepEqual(r.seen(), ["c"], "version 2 stays");
    selector.close();
    await registry.close();
  });

  it("fetches a service once for concurrent selects, and keeps nothing when closed meanwhile", async () => {
    const inner = createMemoryRegistry();
    await inner.register(service("slow", [node("a")]));
    let gets = 0;
    const registry: Registry = Object.assign(Object.create(inner) as Registry, {
      async getService(name: string) {
        gets++;
        await delay(30);
        return inner.getService(name);
      },
    });
    const selector = createSelector({ registry });
    const picks = await within(
      Promise.all(Array.from({ length: 5 }, () => selector.select("slow"))),
      2000,
      "5 concurrent selects",
    );
    assert.equal(gets, 1, "one fetch for five selects");
    assert.deepEqual(
      picks.map((n) => n().id),
      ["a", "a", "a", "a", "a"],
    );
    const other = createSelector({ registry });
    const pending = other.select("slow");
    other.close();
    assert.equal((await pending)().id, "a", "the select under way is answered");
    assert.equal(other.stats?.().cached, 0, "closed meanwhile: nothing cached");
    selector.close();
    await inner.close();
  });

  it("a service listed with no nodes is not found", async () => {
    const inner = createMemoryRegistry();
    const registry: Registry = Object.assign(Object.create(inner) as Registry, {
      async getService() {
        return [service("empty", [])];
      },
    });
    const selector = createSelector({ registry, graceMs: 0 });
    const e = await rejection(selector.select("empty"));
    assert.equal(e.code, 404);
    selector.close();
    await inner.close();
  });
});

describe("selector: not found", () => {
  it("names similar services by prefix, by containment and by a few typos, and lists at most 10 otherwise", async () => {
    const registry = createMemoryRegistry();
    for (const name of ["greeter", "inventoryservice", ...Array.from({ length: 11 }, (_, i) => `s${i}x`)])
      await registry.register(service(name, [node(`${name}-1`)]));
    const selector = createSelector({ registry });
    const detail = async (name: string) => (await rejection(selector.select(name))).detail as string;
    assert.equal(
      await detail("greet"),
      'service "greet" not found in registry memory; it holds 13 service(s), similar: greeter',
    );
    assert.match(await detail("greeter-admin"), /, similar: greeter$/);
    assert.match(await detail("inventroyservise"), /, similar: inventoryservice$/, "3 typos in 16 letters");
    const none = await detail("zzzzzzzzzzzz");
    assert.match(none, /^service "zzzzzzzzzzzz" not found in registry memory; it holds 13 service\(s\): /);
    assert.equal(none.split(": ")[1]!.split(", ").length, 10, "at most 10 names listed");
    selector.close();
    await registry.close();
  });

  it("says only what it knows when the registry cannot list its services", async () => {
    const inner = createMemoryRegistry();
    const registry: Registry = Object.assign(Object.create(inner) as Registry, {
      async listServices(): Promise<Service[]> {
        throw new Error("listing refused");
      },
    });
    const selector = createSelector({ registry });
    const e = await rejection(selector.select("nowhere"));
    assert.equal(e.detail, 'service "nowhere" not found in registry memory');
    assert.equal(e.id, "tsmicro", "the framework, not a service, says it");
    selector.close();
    await inner.close();
  });
});
