import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { storeConformance } from "tsmicro/testing";
import { createMemoryStore } from "../src/index.js";
import { storeFromEnv } from "../src/plugin.js";

// One process, one memory: every "instance" of the suite is the same store.
const memory = createMemoryStore();
storeConformance("memory", { create: () => memory });

describe("storeFromEnv", () => {
  it("defaults to memory and takes database/table from the environment", async () => {
    const s = storeFromEnv({ kind: "memory", database: "d1", table: "t1" });
    await s.write({ key: "k", value: new Uint8Array([1]) });
    assert.equal((await s.read("k", { database: "d1", table: "t1" })).length, 1);
    assert.equal((await s.read("k", { table: "other" })).length, 0);
    await s.close();
  });

  it("names the package to install for a backend that is not installed, and unknown kinds", async () => {
    const missing = storeFromEnv({
      kind: "postgres",
      load: async (spec) => {
        const e = new Error(`Cannot find package '${spec}'`) as NodeJS.ErrnoException;
        e.code = "ERR_MODULE_NOT_FOUND";
        throw e;
      },
    });
    await assert.rejects(
      missing.list(),
      /needs the package @tsmicro\/postgres.*npm install @tsmicro\/postgres/,
    );
    const unknown = storeFromEnv({ kind: "mongo" });
    await assert.rejects(unknown.list(), /unknown store "mongo".*memory, file/);
  });

  it("loads a backend package lazily through storeFromAddress", async () => {
    let calledWith: unknown;
    const s = storeFromEnv({
      kind: "redis",
      address: "redis://x",
      table: "tt",
      load: async () => ({
        storeFromAddress: (kind: string, o: unknown) => {
          calledWith = { kind, o };
          return createMemoryStore({ table: "tt" });
        },
      }),
    });
    assert.match(s.name, /not loaded yet/);
    await s.write({ key: "a", value: new Uint8Array([1]) });
    assert.deepEqual(await s.list({ table: "tt" }), ["a"]);
    assert.deepEqual(calledWith, {
      kind: "redis",
      o: { database: "micro", table: "tt", address: "redis://x" },
    });
    await s.close();
  });
});
