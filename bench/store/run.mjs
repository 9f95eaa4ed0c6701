#!/usr/bin/env node
// Store benchmark (issue 18): read and write ops/s and p99 per backend, tsmicro's Store beside
// the raw driver doing the same operation (the same Lua script, SQL statement or KV call, on the
// same server, with the same 100 B value), closed loop with a fixed number of operations in
// flight. Servers: the shared loopback ones (bash scripts/services.sh).
//
//   node bench/store/run.mjs [--quick] [--only memory,file,redis,postgres,nats] [--rounds N] [--ms N]
//
// Rounds alternate raw and tsmicro; the table shows medians over the rounds.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { median, runLoad } from "../lib/stats.mjs";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    ms: { type: "string" },
  },
});
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const durationMs = Number(args.ms ?? (args.quick ? 700 : 2000));
const warmupMs = Math.min(500, durationMs / 2);
const concurrency = 16;
const KEYS = 1000;
const BACKENDS = ["memory", "file", "redis", "postgres", "nats"];
const backends = args.only ? args.only.split(",") : BACKENDS;

const root = new URL("../../", import.meta.url);
const fromPackage = (pkg, name) => createRequire(new URL(`packages/${pkg}/package.json`, root)).resolve(name);
const tsmicro = await import("tsmicro");
const value = Buffer.alloc(100, 0x61);
const run = randomUUID().replaceAll("-", "").slice(0, 8);
const database = `bench_${run}`;
const table = "t";
let seq = 0;
const nextKey = () => `key/${seq++ % KEYS}`;

// Each setup returns { raw: { read, write }, store: Store, close }.
const SETUPS = {
  async memory() {
    const map = new Map();
    let v = 0;
    return {
      raw: {
        read: async (k) => map.get(k),
        write: async (k) => void map.set(k, { value, metadata: {}, expiresAt: undefined, version: ++v }),
      },
      store: tsmicro.createMemoryStore({ database, table }),
      close: async () => {},
    };
  },
  async file() {
    const dir = mkdtempSync(path.join(tmpdir(), "tsmicro-bench-store-"));
    const { createFileStore } = await import("@tsmicro/sqlite");
    const Database = (await import(fromPackage("sqlite", "better-sqlite3"))).default;
    const store = createFileStore({ path: path.join(dir, "store.db"), database, table });
    await store.write({ key: "warm", value }); // creates the schema
    const db = new Database(path.join(dir, "store.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const get = db.prepare(
      "SELECT key, value, metadata, expires_at, version FROM tsmicro_records WHERE db = ? AND tbl = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
    );
    const next = db.prepare("UPDATE tsmicro_version SET n = n + 1 WHERE id = 1 RETURNING n");
    const upsert = db.prepare(
      `INSERT INTO tsmicro_records (db, tbl, key, value, metadata, expires_at, version) VALUES (?, ?, ?, ?, '{}', NULL, ?)
       ON CONFLICT (db, tbl, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, expires_at = excluded.expires_at, version = excluded.version`,
    );
    const write = db.transaction((k) => upsert.run(database, table, k, value, next.get().n));
    return {
      raw: {
        read: async (k) => get.get(database, table, k, Date.now()),
        write: async (k) => write.immediate(k),
      },
      store,
      close: async () => {
        db.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async redis() {
    const { createRedisStore, REDIS_STORE_WRITE_SCRIPT } = await import("@tsmicro/redis");
    const { Redis } = await import(fromPackage("redis", "ioredis"));
    const redis = new Redis("redis://127.0.0.1:6379");
    redis.defineCommand("benchWrite", { numberOfKeys: 3, lua: REDIS_STORE_WRITE_SCRIPT });
    const base = `bench:{${database}/${table}}:`;
    return {
      raw: {
        read: (k) => redis.hmgetBuffer(`${base}r:${k}`, "v", "m", "e", "ver"),
        write: (k) => redis.benchWrite(`${base}r:${k}`, `${base}idx`, `${base}seq`, k, value, "{}", "", ""),
      },
      store: createRedisStore({ database, table }),
      close: async () => {
        const keys = [
          ...(await redis.keys(`bench:{${database}/*`)),
          ...(await redis.keys(`tsmicro:store:{${database}/*`)),
        ];
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      },
    };
  },
  async postgres() {
    const { createPostgresStore, DEFAULT_POSTGRES_URL } = await import("@tsmicro/postgres");
    const pg = (await import(fromPackage("postgres", "pg"))).default;
    const schema = `tsmicro_bench_${run}`;
    const store = createPostgresStore({ schema, database, table });
    await store.write({ key: "warm", value }); // creates the schema
    const pool = new pg.Pool({ connectionString: DEFAULT_POSTGRES_URL, max: 10 });
    const t = `"${schema}".records`;
    return {
      raw: {
        read: (k) =>
          pool.query(
            `SELECT key, value, metadata, expires_at, version FROM ${t} WHERE db = $1 AND tbl = $2 AND (expires_at IS NULL OR expires_at > $3) AND key = $4`,
            [database, table, Date.now(), k],
          ),
        write: (k) =>
          pool.query(
            `INSERT INTO ${t} (db, tbl, key, value, metadata, expires_at, version)
             SELECT $1, $2, $4, $5, $6, $7, nextval('"${schema}".record_version') WHERE $3::bigint IS NOT NULL
             ON CONFLICT (db, tbl, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
               expires_at = excluded.expires_at, version = excluded.version RETURNING version`,
            [database, table, Date.now(), k, value, {}, null],
          ),
      },
      store,
      close: async () => {
        await store.close();
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pool.end();
      },
    };
  },
  async nats() {
    const { createNatsStore } = await import("@tsmicro/nats");
    const { connect } = await import(fromPackage("nats", "@nats-io/transport-node"));
    const { jetstream, jetstreamManager } = await import(fromPackage("nats", "@nats-io/jetstream"));
    const { Kvm } = await import(fromPackage("nats", "@nats-io/kv"));
    const nc = await connect({ servers: "127.0.0.1:4222" });
    const bucketPrefix = `tsmicro-bench-${run}`;
    const kv = await new Kvm(jetstream(nc)).create(`${bucketPrefix}-raw`, { history: 1 });
    const head = Buffer.from(JSON.stringify({ m: {} }));
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, head.length]), head, value]);
    return {
      raw: {
        read: (k) => kv.get(k.replace("/", "=2F")),
        write: (k) => kv.put(k.replace("/", "=2F"), envelope),
      },
      store: createNatsStore({ bucketPrefix, database, table }),
      close: async () => {
        const jsm = await jetstreamManager(nc);
        for await (const s of jsm.streams.list())
          if (s.config.name.startsWith(`KV_${bucketPrefix}`)) await jsm.streams.delete(s.config.name);
        await nc.close();
      },
    };
  },
};

const rows = [];
for (const backend of backends) {
  const setup = SETUPS[backend];
  if (!setup) throw new Error(`unknown backend ${backend}; known: ${BACKENDS.join(", ")}`);
  const s = await setup();
  const ops = {
    raw: { write: () => s.raw.write(nextKey()), read: () => s.raw.read(nextKey()) },
    tsmicro: { write: () => s.store.write({ key: nextKey(), value }), read: () => s.store.read(nextKey()) },
  };
  // Every key exists before reads are measured, in both layouts.
  for (let i = 0; i < KEYS; i++) {
    await s.raw.write(`key/${i}`);
    await s.store.write({ key: `key/${i}`, value });
  }
  const results = { raw: { write: [], read: [] }, tsmicro: { write: [], read: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const op of ["write", "read"]) {
      for (const stack of r % 2 === 0 ? ["raw", "tsmicro"] : ["tsmicro", "raw"]) {
        const res = await runLoad(ops[stack][op], { concurrency, warmupMs, durationMs });
        if (res.errors > 0)
          console.error(`${backend}/${stack}/${op}: ${res.errors} errors, first: ${res.firstError}`);
        results[stack][op].push(res);
      }
    }
  }
  await s.store.close();
  await s.close();
  const med = (stack, op, f) => median(results[stack][op].map(f));
  for (const op of ["write", "read"]) {
    const raw = { rps: med("raw", op, (x) => x.rps), p99: med("raw", op, (x) => x.p99) };
    const ts = { rps: med("tsmicro", op, (x) => x.rps), p99: med("tsmicro", op, (x) => x.p99) };
    rows.push({ backend, op, raw, ts });
    process.stderr.write(
      `${backend} ${op}: raw ${raw.rps.toFixed(0)} ops/s, tsmicro ${ts.rps.toFixed(0)} ops/s\n`,
    );
  }
}

const fmt = (n) => (Number.isNaN(n) ? "–" : n >= 100 ? n.toFixed(0) : n.toFixed(2));
const lines = [
  `Store: ${concurrency} operations in flight, 100 B values over ${KEYS} keys, ${durationMs} ms per measurement, median of ${rounds} round(s)${args.quick ? " (--quick)" : ""}`,
  "",
  "| backend | op | raw driver ops/s | tsmicro ops/s | overhead | raw p99 ms | tsmicro p99 ms |",
  "|---|---|---:|---:|---:|---:|---:|",
];
for (const { backend, op, raw, ts } of rows) {
  lines.push(
    `| ${backend} | ${op} | ${fmt(raw.rps)} | ${fmt(ts.rps)} | ${(((raw.rps - ts.rps) / raw.rps) * 100).toFixed(0)}% | ${fmt(raw.p99 / 1000)} | ${fmt(ts.p99 / 1000)} |`,
  );
}
lines.push(
  "",
  "raw driver = the same operation without tsmicro: memory a Map; file the same better-sqlite3 statements in one IMMEDIATE transaction; redis the same Lua script through ioredis (write) and HMGET (read); postgres the same SQL through a pg Pool; nats the same KV put/get of the same envelope. overhead = (raw − tsmicro) / raw ops/s; target < 15%.",
);
console.log(lines.join("\n"));
process.exit(0);
