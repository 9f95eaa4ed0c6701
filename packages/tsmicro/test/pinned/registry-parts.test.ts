/**
 * Pinned behaviours of the parts registries are built from (registry/watchers.ts,
 * registry/read-through.ts) that no test checked directly: a watcher's service filter and
 * signal, the last watcher's exit, and serving the last answer while the server is away.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createReadThrough } from "../../src/registry/read-through.js";
import type { RegistryEvent, Watcher } from "../../src/registry/registry.js";
import { createWatcherSet } from "../../src/registry/watchers.js";
import { within } from "../helpers.js";
import { countingSignal } from "../support/counting-signal.js";
import { node, service } from "../support/selector-nodes.js";

const event = (name: string, id: string): RegistryEvent => ({
  type: "create",
  service: service(name, [node(id)]),
});

/** The events a watcher has queued, read until one does not come within a few ms. */
async function drain(w: Watcher): Promise<string[]> {
  const out: string[] = [];
  const it = w[Symbol.asyncIterator]();
  for (;;) {
    const r = await Promise.race([it.next(), new Promise<"none">((r) => setTimeout(() => r("none"), 20))]);
    if (r === "none" || r.done) return out;
    out.push(`${r.value.service.name}/${r.value.service.nodes[0]!.id}`);
  }
}

describe("registry watchers (pinned)", { timeout: 10_000 }, () => {
  it("a watcher for one service gets only its events; one for all gets every event, in order", async () => {
    const set = createWatcherSet();
    const one = set.add({ service: "a" });
    const all = set.add();
    set.emit([event("a", "1"), event("b", "2"), event("a", "3")]);
    assert.deepEqual(await drain(one), ["a/1", "a/3"]);
    assert.deepEqual(await drain(all), ["a/1", "b/2", "a/3"]);
    set.stopAll();
  });

  it("stop() ends the iteration, leaves the set, and the last to leave calls onEmpty once", async () => {
    let empty = 0;
    const set = createWatcherSet(() => empty++);
    const w1 = set.add();
    const w2 = set.add();
    assert.equal(set.size, 2);
    const pending = w1[Symbol.asyncIterator]().next();
    w1.stop();
    assert.equal((await within(pending, 1000, "a stopped watcher's next() to finish")).done, true);
    assert.equal(set.size, 1);
    assert.equal(empty, 0, "one watcher is left");
    w2.stop();
    w2.stop();
    assert.equal(set.size, 0);
    assert.equal(empty, 1);
    set.emit([event("a", "1")]);
    assert.deepEqual(await drain(w2), [], "a stopped watcher gets nothing");
  });

  it("a watcher ends when its signal aborts, and an already-aborted signal ends it at once", async () => {
    const set = createWatcherSet();
    const c = new AbortController();
    const w = set.add({ signal: c.signal });
    const pending = w[Symbol.asyncIterator]().next();
    c.abort();
    assert.equal((await within(pending, 1000, "the aborted watcher's next()")).done, true);
    assert.equal(set.size, 0);

    const dead = set.add({ signal: AbortSignal.abort() });
    assert.equal(set.size, 0, "an aborted signal's watcher is not kept");
    set.emit([event("a", "1")]);
    assert.deepEqual(await drain(dead), []);
  });

  it("a watcher stopped by hand leaves no listener on its signal", () => {
    const signal = countingSignal();
    const set = createWatcherSet();
    const w = set.add({ signal: signal.asAbortSignal });
    assert.equal(signal.listeners, 1);
    w.stop();
    assert.equal(signal.listeners, 0);
  });

  it("stopAll ends every watcher", async () => {
    let empty = 0;
    const set = createWatcherSet(() => empty++);
    const ws = [set.add(), set.add({ service: "x" }), set.add()];
    set.stopAll();
    assert.equal(set.size, 0);
    assert.equal(empty, 1);
    for (const w of ws)
      assert.equal((await within(w[Symbol.asyncIterator]().next(), 1000, "next()")).done, true);
  });
});

describe("registry read-through (pinned)", { timeout: 10_000 }, () => {
  const failed = (cause: unknown) => new Error(`registry unreachable: ${(cause as Error).message}`);

  it("serves the last answer for that key while fetches fail, and a fresh one once they work", async () => {
    const read = createReadThrough();
    const first = [service("a", [node("1")])];
    assert.equal(await read("a", async () => first, failed), first);
    const down = async () => {
      throw new Error("ECONNREFUSED");
    };
    assert.equal(await read("a", down, failed), first, "the last answer, while the server is away");
    const next = [service("a", [node("2")])];
    assert.equal(await read("a", async () => next, failed), next);
    assert.equal(await read("a", down, failed), next, "the newest answer is the one remembered");
  });

  it("a key never answered fails with the caller's error, naming the cause", async () => {
    const read = createReadThrough();
    await read("a", async () => [], failed);
    await assert.rejects(
      read(
        "b",
        async () => {
          throw new Error("ECONNREFUSED");
        },
        failed,
      ),
      /^Error: registry unreachable: ECONNREFUSED$/,
    );
  });
});
