/**
 * Pinned behaviours of loading a backend by name (util/driver.ts, store/env.ts): the packages
 * each MICRO_STORE kind names (workspace packages that exist), what the errors say and that they
 * are not retryable, a load that fails with no error object, a load begun before a reset that
 * fails after it, and the store's name, limits and default kind before anything is loaded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { STORE_KINDS, STORE_PACKAGES, storeFromEnv } from "../../src/store/env.js";
import { DEFAULT_STORE_DATABASE, DEFAULT_STORE_LIMITS, DEFAULT_STORE_TABLE } from "../../src/store/store.js";
import { importDriver, lazyBackend } from "../../src/util/driver.js";
import { isolateEnv, workspacePackageNames } from "../support/env-vars.js";

const ENV = ["MICRO_STORE", "MICRO_STORE_ADDRESS"] as const;

describe("loading a backend package (pinned)", { timeout: 10_000 }, () => {
  it("a load that fails with no error object: a non-retryable 500 from tsmicro naming the package", async () => {
    const err = await importDriver({
      chosenBy: "MICRO_STORE=redis",
      specifier: "@tsmicro/redis",
      exportName: "storeFromAddress",
      load: () => Promise.reject(undefined),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.id, "tsmicro");
    assert.equal(err.code, 500);
    assert.equal(err.retryable, false);
    assert.equal(err.detail, "could not load @tsmicro/redis for MICRO_STORE=redis: undefined");
  });

  it("a package without the factory: a non-retryable 500 from tsmicro saying what it must export", async () => {
    const err = await importDriver({
      chosenBy: "MICRO_STORE=redis",
      specifier: "@tsmicro/redis",
      exportName: "storeFromAddress",
      load: async () => ({ other: () => {} }),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.id, "tsmicro");
    assert.equal(err.retryable, false);
    assert.match(err.detail, /@tsmicro\/redis does not export storeFromAddress\(\)/);
  });

  it("a load begun before a reset that fails after a new load began does not make a third load", async () => {
    let loads = 0;
    const pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
    const lazy = lazyBackend<() => string, string>(
      {
        chosenBy: "test",
        specifier: "x",
        exportName: "make",
        load: () => {
          loads++;
          return new Promise((resolve, reject) => pending.push({ resolve, reject }));
        },
      },
      (make) => make(),
    );
    const first = lazy.get().catch((e: unknown) => e);
    // The reset waits for the first load to settle, so it is not awaited here.
    const reset = lazy.reset(async () => {});
    const second = lazy.get();
    assert.equal(loads, 2);
    pending[0]!.reject(new Error("first load failed"));
    await first;
    await reset;
    assert.equal(lazy.get(), second, "the second load is still the one in progress");
    assert.equal(loads, 2);
    pending[1]!.resolve({ make: () => "made" });
    assert.equal(await second, "made");
    assert.equal(lazy.current, "made");
  });
});

describe("storeFromEnv (pinned)", { timeout: 10_000 }, () => {
  isolateEnv(ENV);

  it("the defaults: go-micro's database and table names, 1 KiB keys, 1 MiB values", () => {
    assert.equal(DEFAULT_STORE_DATABASE, "micro");
    assert.equal(DEFAULT_STORE_TABLE, "micro");
    assert.deepEqual(DEFAULT_STORE_LIMITS, { maxKeyBytes: 1024, maxValueBytes: 1_048_576 });
    assert.ok(Object.isFrozen(DEFAULT_STORE_LIMITS));
  });

  it("each kind names a package of this workspace", () => {
    const names = workspacePackageNames();
    assert.deepEqual(STORE_PACKAGES, {
      file: "@tsmicro/sqlite",
      sqlite: "@tsmicro/sqlite",
      redis: "@tsmicro/redis",
      postgres: "@tsmicro/postgres",
      nats: "@tsmicro/nats",
    });
    for (const p of Object.values(STORE_PACKAGES)) assert.ok(names.has(p), `${p} is a workspace package`);
    assert.deepEqual(STORE_KINDS, ["memory", "file", "sqlite", "redis", "postgres", "nats"]);
  });

  it("an unknown MICRO_STORE: every use fails with a non-retryable 400 that names the variable and the kinds", async () => {
    process.env.MICRO_STORE = "Bogus";
    const s = storeFromEnv();
    assert.equal(s.name, "unavailable (MICRO_STORE=bogus)");
    const err = await s.read("k").catch((e: unknown) => e);
    assert.ok(err instanceof MicroError, String(err));
    assert.equal(err.id, "tsmicro.store");
    assert.equal(err.code, 400);
    assert.equal(err.retryable, false);
    assert.equal(
      err.detail,
      "unknown MICRO_STORE=bogus; choose one of: memory, file, sqlite, redis, postgres, nats",
    );
    const byOption = await storeFromEnv({ kind: "bogus" })
      .read("k")
      .catch((e: unknown) => e);
    assert.match(
      (byOption as MicroError).detail,
      /^unknown store "bogus"/,
      "chosen by the option, not the variable",
    );
    await s.close();
  });

  it("MICRO_STORE unset or blank is the memory store, with the limits given", async () => {
    delete process.env.MICRO_STORE;
    for (const v of [undefined, "  "]) {
      if (v !== undefined) process.env.MICRO_STORE = v;
      const s = storeFromEnv({ limits: { maxKeyBytes: 10 } });
      assert.equal(s.name, "memory", `MICRO_STORE=${JSON.stringify(v)}`);
      assert.equal(s.limits.maxKeyBytes, 10);
      await s.close();
    }
  });

  it("before its package loads, the store is named after its kind and MICRO_STORE_ADDRESS, with the limits given", async () => {
    process.env.MICRO_STORE = "redis";
    process.env.MICRO_STORE_ADDRESS = "redis://127.0.0.1:1";
    const never = () => new Promise<never>(() => {});
    const s = storeFromEnv({ load: never, limits: { maxKeyBytes: 12 } });
    assert.equal(s.name, "redis (redis://127.0.0.1:1, not loaded yet)");
    assert.equal(s.limits.maxKeyBytes, 12);
    process.env.MICRO_STORE_ADDRESS = "";
    assert.equal(storeFromEnv({ load: never }).name, "redis (default address, not loaded yet)");
    delete process.env.MICRO_STORE_ADDRESS;
    assert.equal(storeFromEnv({ load: never }).name, "redis (default address, not loaded yet)");
  });

  it("the address and limits reach the backend's factory", async () => {
    process.env.MICRO_STORE_ADDRESS = "redis://127.0.0.1:2";
    let got: { kind: string; address: unknown; maxKeyBytes: unknown } | undefined;
    const s = storeFromEnv({
      kind: "redis",
      limits: { maxKeyBytes: 14 },
      load: async () => ({
        storeFromAddress: (kind: string, o: { address?: string; limits?: { maxKeyBytes?: number } }) => {
          got = { kind, address: o.address, maxKeyBytes: o.limits?.maxKeyBytes };
          return { name: "made", limits: {}, close: async () => {}, read: async () => [] };
        },
      }),
    });
    await s.read("k");
    assert.deepEqual(got, { kind: "redis", address: "redis://127.0.0.1:2", maxKeyBytes: 14 });
    assert.equal(s.name, "made");
    await s.close();
  });
});
