/**
 * The store conformance suite: every Store implementation runs it unchanged (memory, file,
 * Redis, PostgreSQL, NATS KV). Each case works in a table of its own, so runs that share a
 * server do not see each other. Call it from a test file:
 *
 *   storeConformance("redis", { create: () => createRedisStore({ url, database: runId }) });
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { MicroError } from "../errors.js";
import type { Store } from "../store/store.js";
import { waitFor } from "./wait.js";

export interface StoreConformanceOptions {
  /** A store on the backend under test; called more than once (instances must see each other's writes). */
  create(): Store | Promise<Store>;
  /** The TTL the expiry case writes with, ms. @default 400 */
  ttlMs?: number;
  /** How long after the TTL the record may still show, ms. @default 2000 */
  expirySlackMs?: number;
  /** Stores the 50 compare-and-set writers are spread over (separate connections). @default 3 */
  casClients?: number;
  /** Compare-and-set rounds. @default 5 */
  casRounds?: number;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Asserts `p` rejects with a MicroError of `code` whose detail contains every `words`. */
export async function rejectsMicro(
  p: Promise<unknown>,
  code: number,
  ...words: string[]
): Promise<MicroError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a MicroError ${code}, but the call succeeded`);
  assert.ok(caught instanceof MicroError, `expected a MicroError, got ${String(caught)}`);
  assert.equal(caught.code, code, `code of: ${caught.detail}`);
  for (const w of words) assert.ok(caught.detail.includes(w), `"${caught.detail}" names ${w}`);
  return caught;
}

export function storeConformance(name: string, options: StoreConformanceOptions): void {
  const ttlMs = options.ttlMs ?? 400;
  const slack = options.expirySlackMs ?? 2000;
  const casClients = options.casClients ?? 3;
  const casRounds = options.casRounds ?? 5;
  const opened: Store[] = [];
  const open = async () => {
    const s = await options.create();
    opened.push(s);
    return s;
  };
  const freshTable = () => `t_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

  describe(`store conformance: ${name}`, { timeout: 120_000 }, () => {
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it("writes, reads and deletes a record with its bytes, metadata and version", async () => {
      const s = await open();
      const table = freshTable();
      assert.deepEqual(await s.read("missing", { table }), []);
      const value = new Uint8Array([0, 1, 2, 255, 254, 0]);
      const w = await s.write(
        { key: "greeting", value, metadata: { lang: "en", "x-ü": "grüße" } },
        { table },
      );
      assert.ok(Number.isSafeInteger(w.version) && w.version > 0, `version ${w.version}`);
      const [r, ...rest] = await s.read("greeting", { table });
      assert.equal(rest.length, 0);
      assert.equal(r!.key, "greeting");
      assert.deepEqual([...r!.value], [...value]);
      assert.deepEqual(r!.metadata, { lang: "en", "x-ü": "grüße" });
      assert.equal(r!.version, w.version);
      assert.equal(r!.expiresAt, undefined);
      const other = await open();
      assert.deepEqual(
        [...(await other.read("greeting", { table }))[0]!.value],
        [...value],
        "another instance sees it",
      );
      const w2 = await s.write({ key: "greeting", value: bytes("v2") }, { table });
      assert.notEqual(w2.version, w.version, "a write changes the version");
      const [r2] = await s.read("greeting", { table });
      assert.equal(text(r2!.value), "v2");
      assert.deepEqual(r2!.metadata, {}, "an overwrite replaces the metadata");
      await s.delete("greeting", { table });
      assert.deepEqual(await s.read("greeting", { table }), []);
      await s.delete("greeting", { table }); // absent: not an error
      assert.deepEqual(await s.list({ table }), []);
    });

    it("compare-and-set: ifVersion 0 creates only, a stale version is refused with 409 and writes nothing", async () => {
      const s = await open();
      const table = freshTable();
      const v1 = (await s.write({ key: "lock", value: bytes("a") }, { table, ifVersion: 0 })).version;
      await rejectsMicro(s.write({ key: "lock", value: bytes("b") }, { table, ifVersion: 0 }), 409, "lock");
      const v2 = (await s.write({ key: "lock", value: bytes("c") }, { table, ifVersion: v1 })).version;
      await rejectsMicro(s.write({ key: "lock", value: bytes("d") }, { table, ifVersion: v1 }), 409, "lock");
      const [r] = await s.read("lock", { table });
      assert.equal(text(r!.value), "c");
      assert.equal(r!.version, v2);
      await s.delete("lock", { table });
      await rejectsMicro(s.write({ key: "lock", value: bytes("e") }, { table, ifVersion: v2 }), 409);
      assert.ok((await s.write({ key: "lock", value: bytes("f") }, { table, ifVersion: 0 })).version > 0);
    });

    it(`compare-and-set under 50 concurrent writers: exactly one wins each of ${casRounds} rounds`, async () => {
      const stores = await Promise.all(Array.from({ length: casClients }, () => open()));
      const table = freshTable();
      let version = (await stores[0]!.write({ key: "counter", value: bytes("0") }, { table })).version;
      for (let round = 1; round <= casRounds; round++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 50 }, (_, w) =>
            stores[w % stores.length]!.write(
              { key: "counter", value: bytes(`${round}:${w}`) },
              { table, ifVersion: version },
            ),
          ),
        );
        const won = outcomes.flatMap((o, w) =>
          o.status === "fulfilled" ? [{ w, version: o.value.version }] : [],
        );
        const lost = outcomes.filter((o) => o.status === "rejected");
        assert.equal(won.length, 1, `round ${round}: ${won.length} writers won`);
        for (const o of lost) {
          const e = (o as PromiseRejectedResult).reason;
          assert.ok(e instanceof MicroError && e.code === 409, `a loser gets 409, got ${String(e)}`);
        }
        const [r] = await stores[1 % stores.length]!.read("counter", { table });
        assert.equal(text(r!.value), `${round}:${won[0]!.w}`, "the winner's value is stored");
        assert.equal(r!.version, won[0]!.version);
        version = r!.version;
      }
    });

    it("expires a record after its TTL (read, prefix read and list), keeps one without", async () => {
      const s = await open();
      const table = freshTable();
      const started = Date.now();
      await s.write({ key: "ttl/short", value: bytes("x") }, { table, ttlMs });
      await s.write({ key: "ttl/long", value: bytes("y") }, { table });
      const expiresBy = Date.now() + ttlMs;
      const [r] = await s.read("ttl/short", { table });
      if (Date.now() - started < ttlMs / 2) {
        assert.ok(r !== undefined, "readable right after the write");
        assert.ok(
          r.expiresAt !== undefined && Math.abs(r.expiresAt - expiresBy) < ttlMs + 1000,
          `expiresAt ${r.expiresAt} near ${expiresBy}`,
        );
      }
      await waitFor(`ttl/short to expire (ttl ${ttlMs} ms)`, ttlMs + slack, async () =>
        (await s.read("ttl/short", { table })).length === 0 ? true : undefined,
      );
      assert.ok(Date.now() >= started + ttlMs - 5, "not before its TTL");
      assert.deepEqual(await s.list({ table }), ["ttl/long"]);
      assert.deepEqual(
        (await s.read("ttl/", { table, prefix: true })).map((x) => x.key),
        ["ttl/long"],
      );
      // An absolute expiry on the record works the same way.
      await s.write({ key: "abs", value: bytes("z"), expiresAt: Date.now() + ttlMs }, { table });
      await waitFor("abs to expire", ttlMs + slack, async () =>
        (await s.list({ table, prefix: "abs" })).length === 0 ? true : undefined,
      );
    });

    it("prefix, suffix, limit and offset select keys in ascending order", async () => {
      const s = await open();
      const table = freshTable();
      const keys = [
        "user/10",
        "user/2",
        "user/1",
        "order/1.json",
        "user/3.json",
        "users",
        "a",
        "user/1.json",
      ];
      for (const k of keys) await s.write({ key: k, value: bytes(`v:${k}`) }, { table });
      const sorted = [...keys].sort();
      assert.deepEqual(await s.list({ table }), sorted);
      assert.deepEqual(await s.list({ table, prefix: "user/" }), [
        "user/1",
        "user/1.json",
        "user/10",
        "user/2",
        "user/3.json",
      ]);
      assert.deepEqual(await s.list({ table, suffix: ".json" }), [
        "order/1.json",
        "user/1.json",
        "user/3.json",
      ]);
      assert.deepEqual(await s.list({ table, prefix: "user/", suffix: ".json" }), [
        "user/1.json",
        "user/3.json",
      ]);
      assert.deepEqual(await s.list({ table, prefix: "user/", limit: 2 }), ["user/1", "user/1.json"]);
      assert.deepEqual(await s.list({ table, prefix: "user/", limit: 2, offset: 2 }), ["user/10", "user/2"]);
      assert.deepEqual(await s.list({ table, prefix: "user/", offset: 4 }), ["user/3.json"]);
      assert.deepEqual(await s.list({ table, prefix: "user/", offset: 9 }), []);
      assert.deepEqual(await s.list({ table, limit: 0 }), []);
      assert.deepEqual(await s.list({ table, prefix: "nothing" }), []);
      const read = await s.read("user/", { table, prefix: true, offset: 1, limit: 3 });
      assert.deepEqual(
        read.map((r) => [r.key, text(r.value)]),
        [
          ["user/1.json", "v:user/1.json"],
          ["user/10", "v:user/10"],
          ["user/2", "v:user/2"],
        ],
      );
      assert.deepEqual(
        (await s.read(".json", { table, suffix: true })).map((r) => r.key),
        ["order/1.json", "user/1.json", "user/3.json"],
      );
      // "user" as an exact key does not exist; as a prefix it matches "users" and user/*.
      assert.deepEqual(await s.read("user", { table }), []);
      assert.equal((await s.read("user", { table, prefix: true })).length, 6);
    });

    it("isolates tables and databases: the same key in each holds its own record", async () => {
      const s = await open();
      const t1 = freshTable();
      const t2 = freshTable();
      const db2 = `db_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
      await s.write({ key: "k", value: bytes("one") }, { table: t1 });
      await s.write({ key: "k", value: bytes("two") }, { table: t2 });
      await s.write({ key: "k", value: bytes("three") }, { table: t1, database: db2 });
      await s.write({ key: "only-in-t2", value: bytes("x") }, { table: t2 });
      assert.equal(text((await s.read("k", { table: t1 }))[0]!.value), "one");
      assert.equal(text((await s.read("k", { table: t2 }))[0]!.value), "two");
      assert.equal(text((await s.read("k", { table: t1, database: db2 }))[0]!.value), "three");
      assert.deepEqual(await s.list({ table: t1 }), ["k"]);
      assert.deepEqual(await s.list({ table: t2 }), ["k", "only-in-t2"]);
      await s.delete("k", { table: t1 });
      assert.deepEqual(await s.read("k", { table: t1 }), []);
      assert.equal((await s.read("k", { table: t2 })).length, 1, "deleting in t1 leaves t2");
      assert.equal((await s.read("k", { table: t1, database: db2 })).length, 1, "and the other database");
      await s.delete("k", { table: t1, database: db2 });
    });

    it("refuses bad keys, names and oversized values with a MicroError naming the limit, and writes nothing", async () => {
      const s = await open();
      const table = freshTable();
      const { maxKeyBytes, maxValueBytes } = s.limits;
      await rejectsMicro(s.write({ key: "", value: bytes("x") }, { table }), 400, "empty");
      await rejectsMicro(s.write({ key: "a\nb", value: bytes("x") }, { table }), 400, "control character");
      await rejectsMicro(
        s.write({ key: "k".repeat(maxKeyBytes + 1), value: bytes("x") }, { table }),
        400,
        `maxKeyBytes=${maxKeyBytes}`,
      );
      await rejectsMicro(s.read("é".repeat(maxKeyBytes), { table }), 400, `maxKeyBytes=${maxKeyBytes}`);
      await rejectsMicro(
        s.write({ key: "big", value: new Uint8Array(maxValueBytes + 1) }, { table }),
        413,
        `maxValueBytes=${maxValueBytes}`,
        `${maxValueBytes + 1} bytes`,
      );
      await rejectsMicro(
        s.write({ key: "str", value: "text" as unknown as Uint8Array }, { table }),
        400,
        "Uint8Array",
      );
      await rejectsMicro(
        s.write({ key: "k", value: bytes("x") }, { table: "no-dashes!" }),
        400,
        "table name",
      );
      await rejectsMicro(s.list({ table, limit: -1 }), 400, "limit");
      await rejectsMicro(s.write({ key: "k", value: bytes("x") }, { table, ttlMs: 0 }), 400, "ttlMs");
      assert.deepEqual(await s.list({ table }), [], "nothing was written");
      // At the limits exactly: accepted and read back whole.
      const full = new Uint8Array(maxValueBytes).map((_, i) => i % 251);
      const longKey = "k".repeat(maxKeyBytes);
      await s.write({ key: longKey, value: full }, { table });
      const [r] = await s.read(longKey, { table });
      assert.equal(r!.value.byteLength, maxValueBytes);
      assert.ok(Buffer.from(r!.value).equals(Buffer.from(full)), "the largest value round-trips");
    });

    it("many concurrent writes of different keys all land", async () => {
      const s = await open();
      const table = freshTable();
      const n = 200;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          s.write({ key: `k${String(i).padStart(3, "0")}`, value: bytes(String(i)) }, { table }),
        ),
      );
      const keys = await s.list({ table });
      assert.equal(keys.length, n);
      const recs = await s.read("k", { table, prefix: true });
      assert.deepEqual(
        recs.map((r) => text(r.value)),
        Array.from({ length: n }, (_, i) => String(i)),
      );
    });
  });
}
