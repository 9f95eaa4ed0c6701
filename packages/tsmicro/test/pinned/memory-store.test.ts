/**
 * Pinned behaviours of the in-memory store (store/memory.ts) that the mutation run found
 * untested: its name in errors, copies in both directions, and a sweep timer that never keeps
 * the process alive.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryStore } from "../../src/store/memory.js";
import { exitsAlone } from "../support/exits-alone.js";

describe("memory store (pinned)", { timeout: 30_000 }, () => {
  it("is named memory, and its version conflicts say so", async () => {
    const s = createMemoryStore();
    assert.equal(s.name, "memory");
    await s.write({ key: "k", value: new Uint8Array([1]) });
    await assert.rejects(s.write({ key: "k", value: new Uint8Array([2]) }, { ifVersion: 0 }), {
      code: 409,
      detail: /^store memory: "k" is at version \d+, not absent as ifVersion required; nothing was written$/,
    });
    await s.close();
  });

  it("keeps its own copy of written bytes and hands out copies", async () => {
    const s = createMemoryStore();
    const v = new Uint8Array([1, 2, 3]);
    await s.write({ key: "k", value: v });
    v[0] = 9;
    const [first] = await s.read("k");
    assert.deepEqual([...first!.value], [1, 2, 3], "a change to the written array is not stored");
    first!.value[1] = 9;
    const [again] = await s.read("k");
    assert.deepEqual([...again!.value], [1, 2, 3], "a change to a read record is not stored");
    const [listed] = await s.read("k", { prefix: true });
    listed!.value[2] = 9;
    assert.deepEqual([...(await s.read("k"))[0]!.value], [1, 2, 3], "nor to a record read by prefix");
    await s.close();
  });

  it("a store never closed does not keep the process alive (its sweep timer is unref'd)", async () => {
    const src = new URL("../../src/store/memory.ts", import.meta.url).href;
    await exitsAlone(
      `import { createMemoryStore } from ${JSON.stringify(src)}; globalThis.kept = createMemoryStore()`,
      "an open memory store",
    );
  });
});
