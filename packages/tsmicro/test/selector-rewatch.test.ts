/**
 * The selector's registry watch ends (the stream closes, or fails): the selector watches
 * again on its next select and sees later changes through the new watch, without waiting
 * for its cache TTL (issue 20).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryRegistry } from "../src/registry/memory.js";
import type { Node, Registry, RegistryEvent, Service, Watcher } from "../src/registry/registry.js";
import { createSelector } from "../src/selector/selector.js";
import type { Strategy } from "../src/selector/strategy.js";
import { waitFor } from "../src/testing/wait.js";

const node = (id: string): Node => ({ id, address: `127.0.0.1:${1000 + id.length}`, metadata: {} });
const service = (nodes: Node[]): Service => ({
  name: "rw",
  version: "1",
  metadata: {},
  endpoints: [],
  nodes,
});

/** A memory registry whose watches the test can end (cleanly or with an error), counting lookups. */
function endable() {
  const inner = createMemoryRegistry();
  const ends: ((err?: Error) => void)[] = [];
  let lookups = 0;
  let watches = 0;
  const registry: Registry = {
    ...inner,
    name: inner.name,
    register: (s, o) => inner.register(s, o),
    deregister: (s) => inner.deregister(s),
    getService: (n) => {
      lookups++;
      return inner.getService(n);
    },
    listServices: () => inner.listServices(),
    close: () => inner.close(),
    watch(o) {
      watches++;
      const w = inner.watch(o);
      let fail: Error | undefined;
      const it = w[Symbol.asyncIterator]();
      ends.push((err) => {
        fail = err;
        w.stop();
      });
      const wrapped: Watcher = {
        stop: () => w.stop(),
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<RegistryEvent>> => {
            const r = await it.next();
            if (r.done && fail !== undefined) throw fail;
            return r;
          },
        }),
      };
      return wrapped;
    },
  };
  return {
    registry,
    inner,
    lookups: () => lookups,
    watches: () => watches,
    /** Ends the latest watch. */
    end: (err?: Error) => ends.at(-1)?.(err),
  };
}

/** The nodes offered on a select, through a strategy that records them. */
async function offered(selector: ReturnType<typeof createSelector>): Promise<string[]> {
  let seen: string[] = [];
  const strategy: Strategy = (nodes) => {
    seen = nodes.map((n) => n.id).sort();
    return () => nodes[0]!;
  };
  await selector.select("rw", { strategy });
  return seen;
}

describe("selector re-watch", () => {
  for (const how of ["ends", "fails"] as const) {
    it(`when the watch ${how}, the selector watches again and sees later changes`, async () => {
      const r = endable();
      // A cache TTL far beyond the test: only a watch can bring news.
      const selector = createSelector({ registry: r.registry, cacheTtlMs: 600_000, graceMs: 0 });
      try {
        await r.registry.register(service([node("a")]));
        assert.deepEqual(await offered(selector), ["a"]);
        assert.equal(r.watches(), 1);
        // Through the first watch.
        await r.registry.register(service([node("b")]));
        await waitFor("b through the first watch", 3000, async () =>
          (await offered(selector)).includes("b") ? true : undefined,
        );

        r.end(how === "fails" ? new Error("watch stream broken") : undefined);
        // Events may have been missed meanwhile: the next select looks up and watches again.
        await r.registry.deregister(service([node("a")]));
        await waitFor("the selector to watch again", 3000, async () => {
          await offered(selector);
          return r.watches() === 2 ? true : undefined;
        });
        assert.deepEqual(await offered(selector), ["b"], "the change missed while unwatched is seen");

        const lookups = r.lookups();
        await r.registry.register(service([node("c")]));
        await waitFor("c through the new watch", 3000, async () =>
          (await offered(selector)).includes("c") ? true : undefined,
        );
        assert.equal(r.lookups(), lookups, "seen through the watch, not a lookup");
      } finally {
        selector.close();
        await r.registry.close();
      }
    });
  }
});
