/**
 * `selectNow`: the selector's answer without a promise, when it has one at once (a fresh
 * cached service with a node that passes the filters). A call through the registry uses it
 * to pick its node in the turn it starts; anything else (a first fetch, an expired entry,
 * no node, a closed selector) goes to `select`, which fetches, waits or explains.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { createMemoryRegistry } from "../src/registry/memory.js";
import { createSelector, type Selector } from "../src/selector/selector.js";
import { filterVersion } from "../src/selector/strategy.js";
import { delay, fixture, within } from "./helpers.js";
import { node, recorder, service } from "./support/selector-nodes.js";

/** Polls `check` every 5 ms until it holds, failing after `ms` with what was awaited. */
async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`waited ${ms} ms for ${what}`);
    await delay(5);
  }
}

describe("selectNow", () => {
  it("answers only from a fresh cache: not before the first select, not after the TTL, not once closed", async () => {
    const registry = createMemoryRegistry();
    await registry.register(service("s", [node("a")]));
    const selector = createSelector({ registry, cacheTtlMs: 400 });
    assert.equal(selector.selectNow?.("s"), undefined, "nothing cached yet");
    assert.equal(selector.stats?.().cached, 0, "selectNow fetched nothing");
    assert.equal((await selector.select("s"))().id, "a");
    assert.equal(selector.selectNow?.("s")?.().id, "a", "cached and fresh");
    await delay(450);
    assert.equal(selector.selectNow?.("s"), undefined, "past cacheTtlMs (400 ms)");
    await selector.select("s");
    assert.equal(selector.selectNow?.("s")?.().id, "a", "select fetched it again");
    selector.close();
    assert.equal(selector.selectNow?.("s"), undefined, "closed: select answers from the registry");
    await registry.close();
  });

  it("applies the filters, the strategy and ejections as select does, and leaves failures to select", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("f", [a, node("b")], "1"));
    const selector = createSelector({ registry, ejectMs: 60_000 });
    await selector.select("f");
    const r = recorder();
    assert.equal(selector.selectNow?.("f", { strategy: r.strategy })?.().id, "a");
    assert.deepEqual(r.seen(), ["a", "b"], "one version, no filters: every node");
    selector.mark("f", a, new Error("connection refused"));
    selector.selectNow?.("f", { strategy: r.strategy });
    assert.deepEqual(r.seen(), ["b"], "the ejected node is left out");
    selector.mark("f", node("b"), new Error("connection refused"));
    selector.selectNow?.("f", { strategy: r.strategy });
    assert.deepEqual(r.seen(), ["a", "b"], "all ejected: all are tried");
    await registry.register(service("f", [node("c")], "2"));
    await until(
      () => selector.selectNow?.("f", { filters: [filterVersion("2")] }) !== undefined,
      "version 2 to arrive by the watch",
    );
    selector.selectNow?.("f", { strategy: r.strategy, filters: [filterVersion("2")] });
    assert.deepEqual(r.seen(), ["c"], "the filters apply");
    assert.equal(
      selector.selectNow?.("f", { filters: [filterVersion("9")] }),
      undefined,
      "no node passes: undefined, so select can say why",
    );
    selector.close();
    await registry.close();
  });

  it("follows the watch, and leaves a service whose nodes all left to select", async () => {
    const registry = createMemoryRegistry();
    const a = node("a");
    await registry.register(service("w", [a]));
    const selector = createSelector({ registry });
    await selector.select("w");
    const r = recorder();
    await registry.register(service("w", [node("b")]));
    await until(() => {
      selector.selectNow?.("w", { strategy: r.strategy });
      return r.seen().length === 2;
    }, "node b to arrive by the watch");
    assert.deepEqual(r.seen(), ["a", "b"]);
    await registry.deregister(service("w", [a, node("b")]));
    await until(
      () => selector.selectNow?.("w") === undefined,
      "the last node's removal to arrive by the watch",
    );
    selector.close();
    await registry.close();
  });
});

describe("calls through the registry", () => {
  const f = fixture();
  after(() => f.close());

  /** Wraps a selector, counting each way it is asked; `now` false hides selectNow, as a custom selector may. */
  function counting(inner: Selector, now: boolean): Selector & { selects: number; nows: number } {
    const s = {
      selects: 0,
      nows: 0,
      select(name: string, o?: Parameters<Selector["select"]>[1]) {
        s.selects++;
        return inner.select(name, o);
      },
      mark: inner.mark,
      started: inner.started,
      finished: inner.finished,
      close: inner.close,
      ...(now
        ? {
            selectNow(name: string, o?: Parameters<Selector["select"]>[1]) {
              s.nows++;
              return inner.selectNow?.(name, o);
            },
          }
        : {}),
    };
    return s;
  }

  class Echo {
    async say(_ctx: unknown, req: { n: number }) {
      return req;
    }
  }

  it("pick the cached node at once after the first call; a selector without selectNow is asked every time", async () => {
    await f.start("now-echo", [new Echo()]);
    const fast = counting(createSelector({ registry: f.registry }), true);
    const c = f.client({ selector: fast });
    for (let n = 0; n < 20; n++) {
      const res = await within(
        c.call(background(), newRequest("now-echo", "Echo.say", { n })),
        5000,
        `call ${n}`,
      );
      assert.deepEqual(res, { n });
    }
    assert.equal(fast.selects, 1, "only the first call (nothing cached) waits for select");
    assert.equal(fast.nows, 20);
    const plain = counting(createSelector({ registry: f.registry }), false);
    const d = f.client({ selector: plain });
    for (let n = 0; n < 5; n++)
      await within(d.call(background(), newRequest("now-echo", "Echo.say", { n })), 5000, `plain call ${n}`);
    assert.equal(plain.selects, 5, "no selectNow: select for every call");
    fast.close();
    plain.close();
  });
});
