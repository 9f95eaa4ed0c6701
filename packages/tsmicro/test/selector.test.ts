/**
 * The selector: strategies (random, round robin, least in flight), filters, ejection with
 * back-off and re-probe, and a ServiceNotFound that names the registry and what it holds.
 * Updates from the registry watch without polling are a case of the registry conformance
 * suite, so every registry runs it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { isMicroError } from "../src/errors.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Node } from "../src/registry/registry.js";
import { createSelector } from "../src/selector/selector.js";
import {
  filterMetadata,
  filterVersion,
  leastInflight,
  type NodeLoad,
  random,
  roundRobin,
  type Strategy,
} from "../src/selector/strategy.js";
import { delay, fixture, rejection, within } from "./helpers.js";
import { node, recorder, service } from "./support/selector-nodes.js";

describe("strategies", () => {
  const nodes = [node("a"), node("b"), node("c")];
  const idle: NodeLoad = { inflight: () => 0 };

  it("round robin visits every node in turn", () => {
    const next = roundRobin()(nodes, idle);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const id = next().id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [100, 100, 100]);
  });

  it("random picks only candidates, and all of them", () => {
    const next = random(nodes, idle);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(next().id);
    assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
  });

  it("least in flight picks the least busy node and rotates among equals", () => {
    const busy = new Map([
      ["a", 3],
      ["b", 1],
      ["c", 2],
    ]);
    const load: NodeLoad = { inflight: (n) => busy.get(n.id) ?? 0 };
    const next = leastInflight()(nodes, load);
    for (let i = 0; i < 10; i++) assert.equal(next().id, "b");
    busy.set("c", 0);
    assert.equal(next().id, "c", "reads the load on every pick");
    const tie = leastInflight()(nodes, idle);
    assert.deepEqual(new Set([tie().id, tie().id, tie().id]).size, 3, "idle nodes share the load");
  });
});

describe("selector", () => {
  it("filters by version and by node or service metadata", async () => {
    const registry = createMemoryRegistry();
    await registry.register(service("f", [node("a", { zone: "z1" }), node("b", { zone: "z2" })], "1"));
    await registry.register(service("f", [node("c")], "2", { zone: "z3" }));
    const selector = createSelector({ registry });
    const r = recorder();
    await selector.select("f", { strategy: r.strategy, filters: [filterVersion("2")] });
    assert.deepEqual(r.seen(), ["c"]);
    await selector.select("f", { strategy: r.strategy, filters: [filterVersion("1", "2")] });
    assert.deepEqual(r.seen(), ["a", "b", "c"]);
    await selector.select("f", { strategy: r.strategy, filters: [filterMetadata("zone", "z2")] });
    assert.deepEqual(r.seen(), ["b"]);
    await selector.select("f", { strategy: r.strategy, filters: [filterMetadata("zone", "z3")] });
    assert.deepEqual(r.seen(), ["c"], "service metadata applies to its nodes");
    const e = await rejection(selector.select("f", { filters: [filterVersion("9")] }));
    assert.equal(e.code, 404);
    assert.match(e.detail, /service "f" has no node matching the filters in registry memory/);
    selector.close();
    await registry.close();
  });

  it("ejects a failing node with a growing back-off, re-probes it, and forgets on success", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("e", [a, node("b")]));
    const selector = createSelector({ registry, ejectMs: 100, maxEjectMs: 1000 });
    const r = recorder();
    const seen = async () => {
      await selector.select("e", { strategy: r.strategy });
      return r.seen();
    };
    assert.deepEqual(await seen(), ["a", "b"]);
    selector.mark("e", a, new Error("connection refused"));
    assert.deepEqual(await seen(), ["b"], "ejected");
    await delay(130);
    assert.deepEqual(await seen(), ["a", "b"], "re-probed after the first back-off (100 ms)");
    selector.mark("e", a, new Error("connection refused"));
    await delay(130);
    assert.deepEqual(await seen(), ["b"], "second failure: ejected for 200 ms");
    await delay(100);
    assert.deepEqual(await seen(), ["a", "b"]);
    selector.mark("e", a); // the probe worked
    selector.mark("e", a, new Error("refused again"));
    await delay(130);
    assert.deepEqual(await seen(), ["a", "b"], "a success reset the back-off to 100 ms");
    // Every node ejected: they are all tried rather than failing without a probe.
    selector.mark("e", a, new Error("x"));
    selector.mark("e", node("b"), new Error("x"));
    assert.deepEqual(await seen(), ["a", "b"]);
    selector.close();
    await registry.close();
  });

  it("says which registry was asked and what it holds for similar names", async () => {
    const registry = createMemoryRegistry();
    const selector = createSelector({ registry });
    let e = await rejection(selector.select("greeter"));
    assert.ok(isMicroError(e));
    assert.equal(e.code, 404);
    assert.equal(e.detail, 'service "greeter" not found in registry memory; it holds no services');
    await registry.register(service("greeter", [node("g")]));
    await registry.register(service("greeter-admin", [node("h")]));
    await registry.register(service("billing", [node("i")]));
    e = await rejection(selector.select("greter"));
    assert.match(
      e.detail,
      /^service "greter" not found in registry memory; it holds 3 service\(s\), similar: /,
    );
    assert.match(e.detail, /similar: greeter(, greeter-admin)?$/);
    assert.ok(!e.detail.includes("billing"), "billing is not similar");
    e = await rejection(selector.select("zzz"));
    assert.match(e.detail, /holds 3 service\(s\): (greeter|greeter-admin|billing)/);
    selector.close();
    await registry.close();
  });
});

describe("least in flight through the client", () => {
  const f = fixture();
  after(() => f.close());

  it("sends most calls to the fast node; round robin (control) splits them evenly", async (t) => {
    class Work {
      constructor(readonly pause: number) {}
      async run() {
        await delay(this.pause);
        return { pid: this.pause };
      }
    }
    await f.start("lif", [new Work(1)]);
    await f.start("lif", [new Work(60)]);
    const share = async (strategy: Strategy) => {
      const client = f.client({ retries: 0 });
      const counts = new Map<number, number>();
      const end = Date.now() + 800;
      // Four callers in a closed loop: a fast node finishes sooner, so has fewer in flight.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (Date.now() < end) {
            const rsp = await client.call<{ pid: number }>(background(), newRequest("lif", "Work.run", {}), {
              select: { strategy },
            });
            counts.set(rsp.pid, (counts.get(rsp.pid) ?? 0) + 1);
          }
        }),
      );
      const fast = counts.get(1) ?? 0;
      return fast / (fast + (counts.get(60) ?? 0));
    };
    const lif = await within(share(leastInflight()), 10_000, "least-in-flight load");
    const rr = await within(share(roundRobin()), 10_000, "round-robin load");
    t.diagnostic(
      `fast node share: least in flight ${(lif * 100).toFixed(0)}%, round robin ${(rr * 100).toFixed(0)}%`,
    );
    assert.ok(lif > 0.7, `least in flight sent ${(lif * 100).toFixed(0)}% to the fast node`);
    assert.ok(rr > 0.35 && rr < 0.65, `round robin sent ${(rr * 100).toFixed(0)}% to the fast node`);
  });

  it("counts every call it starts as finished, however it ends", async () => {
    let load: NodeLoad | undefined;
    let nodes: readonly Node[] = [];
    const spy: Strategy = (ns, l) => {
      load = l;
      nodes = ns;
      return roundRobin()(ns, l);
    };
    class Fail {
      async boom() {
        throw new Error("handler failed");
      }
      async slow() {
        await delay(30);
        return {};
      }
    }
    await f.start("counted", [new Fail()]);
    const client = f.client({ retries: 0 });
    const calls = [
      ...Array.from({ length: 5 }, () =>
        client.call(background(), newRequest("counted", "Fail.slow", {}), { select: { strategy: spy } }),
      ),
      ...Array.from({ length: 5 }, () =>
        client
          .call(background(), newRequest("counted", "Fail.boom", {}), { select: { strategy: spy } })
          .catch(() => {}),
      ),
      client
        .call(background(), newRequest("counted", "Fail.slow", {}), {
          select: { strategy: spy },
          requestTimeoutMs: 5,
        })
        .catch(() => {}),
    ];
    await delay(10);
    assert.ok(load!.inflight(nodes[0]!) > 0, "calls in flight are counted");
    await within(Promise.all(calls), 5000, "the calls");
    assert.equal(load!.inflight(nodes[0]!), 0, "successes, errors and timeouts all finished");
  });
});
