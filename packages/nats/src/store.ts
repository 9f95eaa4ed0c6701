/**
 * The NATS store, on JetStream KV: one bucket per database and table
 * (`<bucketPrefix>-<database>-<table>`, file storage, history 1), created on first use. A
 * record's version is its KV revision, so a compare-and-set is KV's own `update(key, value,
 * revision)` (or `create`), decided by the server. KV keys allow few characters, so keys are
 * escaped (`=` + hex for anything outside `[A-Za-z0-9/_-]`) and prefix, suffix and order are
 * applied after listing the bucket's keys. NATS before 2.11 has no per-key TTL, so the expiry
 * travels in the value and readers judge it, to the millisecond; an expired record takes
 * space until it is overwritten or deleted.
 */
import { jetstream } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { Store } from "tsmicro";
import {
  defineStore,
  type StoreBackendQuery as Query,
  type StoreBackendScope as Scope,
  type StoredRecord,
  type StoreOptions,
  versionConflict,
} from "tsmicro/plugin";
import { type NatsConnectionOptions, natsConnectionHandle } from "./connection.js";
import { resolveNatsStoreOptions } from "./options.js";

export interface NatsStoreOptions extends StoreOptions, NatsConnectionOptions {
  /** Buckets are `<bucketPrefix>-<database>-<table>`. @default "tsmicro-store" */
  bucketPrefix?: string;
  /** Bound on each JetStream request, ms. @default 5000 */
  timeoutMs?: number;
  /** Replicas of a bucket this store creates. @default 1 */
  replicas?: number;
}

/** A NATS message is at most 1 MiB by default (max_payload); the value shares it with the envelope. */
export const NATS_STORE_MAX_VALUE_BYTES = 1_000_000;

const PLAIN_KEY = /^[A-Za-z0-9/_-]+$/;

export function escapeKey(key: string): string {
  if (PLAIN_KEY.test(key)) return key; // most keys: nothing to escape
  let out = "";
  for (const ch of key) {
    if (/^[A-Za-z0-9/_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function unescapeKey(escaped: string): string {
  if (!escaped.includes("=")) return escaped;
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === "=") {
      bytes.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(escaped.charCodeAt(i));
  }
  return Buffer.from(bytes).toString("utf8");
}

// The value's envelope: 4-byte header length, header JSON { m: metadata, e: expiresAt }, then the bytes.
function wrap(
  value: Uint8Array,
  metadata: Record<string, string>,
  expiresAt: number | undefined,
): Uint8Array {
  const head = Buffer.from(
    JSON.stringify(expiresAt === undefined ? { m: metadata } : { m: metadata, e: expiresAt }),
  );
  const out = Buffer.allocUnsafe(4 + head.length + value.byteLength);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  out.set(value, 4 + head.length);
  return out;
}

function unwrap(key: string, e: KvEntry): StoredRecord {
  const buf = Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength);
  const n = buf.readUInt32BE(0);
  const head = JSON.parse(buf.subarray(4, 4 + n).toString()) as { m: Record<string, string>; e?: number };
  return { key, value: buf.subarray(4 + n), metadata: head.m, expiresAt: head.e, version: e.revision };
}

const isConflict = (err: unknown) => /wrong last sequence|10071/.test(String((err as Error)?.message ?? err));

export function createNatsStore(given: NatsStoreOptions = {}): Store {
  const options = resolveNatsStoreOptions(given);
  const conn = natsConnectionHandle(options);
  const { bucketPrefix: prefix, timeoutMs } = options;
  const name = `nats (${conn.servers})`;
  const buckets = new Map<string, Promise<KV>>();
  const bucket = (s: Scope): Promise<KV> => {
    const b = `${prefix}-${s.database}-${s.table}`;
    let p = buckets.get(b);
    if (p === undefined) {
      p = conn.get().then(async (nc) => {
        const kvm = new Kvm(jetstream(nc, { timeout: timeoutMs }));
        try {
          return await kvm.create(b, { history: 1, replicas: options.replicas });
        } catch {
          return await kvm.open(b); // exists with another configuration: use it as it is
        }
      });
      p.catch(() => buckets.delete(b)); // the server may be back next time
      buckets.set(b, p);
    }
    return p;
  };
  const live = (r: StoredRecord | undefined, now: number) =>
    r !== undefined && (r.expiresAt === undefined || r.expiresAt > now) ? r : undefined;
  const getRecord = async (kv: KV, key: string): Promise<StoredRecord | undefined> => {
    const e = await kv.get(escapeKey(key));
    if (e === null || e.operation !== "PUT") return undefined;
    return unwrap(key, e);
  };
  const matching = async (kv: KV, q: Query): Promise<string[]> => {
    const keys: string[] = [];
    for await (const k of await kv.keys()) {
      const key = unescapeKey(k);
      if (key.startsWith(q.prefix) && key.endsWith(q.suffix)) keys.push(key);
    }
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  };
  // Expired records are still keys: fetch in order until offset + limit live ones are found.
  const scan = async (s: Scope, q: Query): Promise<StoredRecord[]> => {
    const kv = await bucket(s);
    const keys = await matching(kv, q);
    const want = q.limit === undefined ? Number.POSITIVE_INFINITY : q.offset + q.limit;
    const out: StoredRecord[] = [];
    const batch = 64;
    for (let i = 0; i < keys.length && out.length < want; i += batch) {
      const now = Date.now();
      const recs = await Promise.all(keys.slice(i, i + batch).map((k) => getRecord(kv, k)));
      for (const r of recs) if (live(r, now) && out.length < want) out.push(r!);
    }
    return out.slice(q.offset);
  };
  return defineStore(
    {
      name,
      limits: { maxValueBytes: NATS_STORE_MAX_VALUE_BYTES },
      async read(s, q) {
        if (q.exact !== undefined) {
          const r = live(await getRecord(await bucket(s), q.exact), Date.now());
          return r === undefined ? [] : [r];
        }
        return scan(s, q);
      },
      async write(s, w) {
        const kv = await bucket(s);
        const k = escapeKey(w.key);
        const data = wrap(w.value, w.metadata, w.expiresAt);
        if (w.ifVersion === undefined) return kv.put(k, data);
        const current = await getRecord(kv, w.key);
        const liveVersion = live(current, Date.now())?.version ?? 0;
        if (liveVersion !== w.ifVersion) throw versionConflict(name, w.key, w.ifVersion, liveVersion);
        try {
          // An expired record is absent to callers but is the KV's last revision: replace that one.
          if (current === undefined) return await kv.create(k, data);
          return await kv.update(k, data, current.version);
        } catch (err) {
          if (!isConflict(err)) throw err;
          const now = live(await getRecord(kv, w.key), Date.now())?.version ?? 0;
          throw versionConflict(name, w.key, w.ifVersion, now);
        }
      },
      async delete(s, key) {
        await (await bucket(s)).delete(escapeKey(key));
      },
      async list(s, q) {
        return (await scan(s, q)).map((r) => r.key);
      },
      async close() {
        buckets.clear();
        await conn.close();
      },
    },
    options,
  );
}
