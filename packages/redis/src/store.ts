/**
 * The Redis store. A record is a hash (`v` bytes, `m` metadata JSON, `e` expiry, `ver`) whose
 * Redis TTL is its expiry, so Redis itself drops it; a sorted set per table indexes the keys
 * for ordered prefix scans (`ZRANGE BYLEX`). Writes and scans are Lua scripts, so a
 * compare-and-set and its write are one atomic step on the server, and a scan drops index
 * entries whose record expired. Keys of one table share a hash tag (`{db/table}`), so a table
 * lives in one cluster slot.
 */
import type { Redis } from "ioredis";
import type { Store } from "tsmicro";
import {
  defineStore,
  type StoreBackendQuery as Query,
  type StoreBackendScope as Scope,
  type StoredRecord,
  type StoreOptions,
  versionConflict,
} from "tsmicro/plugin";
import { openRedis, type RedisConnectionOptions, ready } from "./connection.js";
import { resolveRedisStoreOptions } from "./options.js";

export interface RedisStoreOptions extends StoreOptions, RedisConnectionOptions {
  /** Prefix of every key the store writes. @default "tsmicro:store:" */
  keyPrefix?: string;
  /** Bound on waiting for the connection (at start and while Redis is down), ms. @default 5000 */
  timeoutMs?: number;
}

// The write (exported for the benchmark's raw-driver baseline). KEYS: record, index, version counter.
// ARGV: key, value, metadata, expiresAt or "", ifVersion or "".
export const REDIS_STORE_WRITE_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if ARGV[5] ~= '' and cur ~= tonumber(ARGV[5]) then return {0, cur} end
local v = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'm', ARGV[3], 'e', ARGV[4], 'ver', v)
if ARGV[4] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {1, v}`;

// KEYS: index. ARGV: record key prefix, prefix, suffix, offset, limit (-1: none), with values (1/0).
// Returns key, v, m, e, ver per record (or only keys), ascending.
const SCAN = `
local members
if ARGV[2] == '' then members = redis.call('ZRANGE', KEYS[1], '-', '+', 'BYLEX')
else members = redis.call('ZRANGE', KEYS[1], '[' .. ARGV[2], '[' .. ARGV[2] .. '\\255', 'BYLEX') end
local suffix, skip, limit, out, n = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), {}, 0
for _, k in ipairs(members) do
  if limit >= 0 and n >= limit then break end
  if suffix == '' or (#k >= #suffix and string.sub(k, -#suffix) == suffix) then
    local rec = redis.call('HMGET', ARGV[1] .. k, 'v', 'm', 'e', 'ver')
    if rec[4] == false then redis.call('ZREM', KEYS[1], k)
    elseif skip > 0 then skip = skip - 1
    else
      n = n + 1
      out[#out + 1] = k
      if ARGV[6] == '1' then out[#out + 1] = rec[1]; out[#out + 1] = rec[2]; out[#out + 1] = rec[3]; out[#out + 1] = rec[4] end
    end
  end
end
return out`;

type Scripts = Redis & {
  tsmicroStoreWrite(...args: (string | Buffer | number)[]): Promise<[number, number]>;
  tsmicroStoreScanBuffer(...args: (string | number)[]): Promise<Buffer[]>;
};

export function createRedisStore(given: RedisStoreOptions = {}): Store {
  const options = resolveRedisStoreOptions(given);
  const redis = openRedis(options, "store") as Scripts;
  // Connection errors reach each caller as a failed or timed-out command; no "error" listener would crash the process.
  redis.on("error", () => {});
  redis.defineCommand("tsmicroStoreWrite", { numberOfKeys: 3, lua: REDIS_STORE_WRITE_SCRIPT });
  redis.defineCommand("tsmicroStoreScan", { numberOfKeys: 1, lua: SCAN });
  const { keyPrefix: prefix, timeoutMs } = options;
  const name = `redis (${options.url})`;
  const base = (s: Scope) => `${prefix}{${s.database}/${s.table}}:`;
  // Ready is the common case: no timer for it.
  const up = () =>
    redis.status === "ready" ? Promise.resolve() : ready(redis, AbortSignal.timeout(timeoutMs), name);
  const toRecord = (key: string, v: Buffer, m: Buffer, e: Buffer, ver: Buffer): StoredRecord => ({
    key,
    value: new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
    metadata: JSON.parse(m.toString()) as Record<string, string>,
    expiresAt: e.length === 0 ? undefined : Number(e.toString()),
    version: Number(ver.toString()),
  });
  const scan = async (s: Scope, q: Query, values: boolean) => {
    if (redis.status !== "ready") await up();
    const b = base(s);
    return redis.tsmicroStoreScanBuffer(
      `${b}idx`,
      `${b}r:`,
      q.prefix,
      q.suffix,
      q.offset,
      q.limit ?? -1,
      values ? 1 : 0,
    );
  };
  return defineStore(
    {
      name,
      async read(s, q) {
        if (q.exact !== undefined) {
          if (redis.status !== "ready") await up();
          const [v, m, e, ver] = await redis.hmgetBuffer(`${base(s)}r:${q.exact}`, "v", "m", "e", "ver");
          return ver === null ? [] : [toRecord(q.exact, v!, m!, e!, ver)];
        }
        const flat = await scan(s, q, true);
        const out: StoredRecord[] = [];
        for (let i = 0; i < flat.length; i += 5) {
          out.push(toRecord(flat[i]!.toString(), flat[i + 1]!, flat[i + 2]!, flat[i + 3]!, flat[i + 4]!));
        }
        return out;
      },
      async write(s, w) {
        if (redis.status !== "ready") await up();
        const b = base(s);
        const [ok, version] = await redis.tsmicroStoreWrite(
          `${b}r:${w.key}`,
          `${b}idx`,
          `${b}seq`,
          w.key,
          Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength),
          JSON.stringify(w.metadata),
          w.expiresAt === undefined ? "" : String(Math.ceil(w.expiresAt)),
          w.ifVersion === undefined ? "" : String(w.ifVersion),
        );
        if (ok === 0) throw versionConflict(name, w.key, w.ifVersion!, version);
        return version;
      },
      async delete(s, key) {
        if (redis.status !== "ready") await up();
        const b = base(s);
        await redis.multi().del(`${b}r:${key}`).zrem(`${b}idx`, key).exec();
      },
      async list(s, q) {
        return (await scan(s, q, false)).map((k) => k.toString());
      },
      async close() {
        redis.disconnect();
      },
    },
    options,
  );
}
