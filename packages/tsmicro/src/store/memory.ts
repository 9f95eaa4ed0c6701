/**
 * The in-memory store (the default, as go-micro's): one process, nothing survives a restart.
 * Expiry is checked on every read, so it is exact to the millisecond; expired records are
 * dropped when met and by a sweep at most every `sweepIntervalMs`.
 */
import { startInterval, stopInterval } from "../util/deadline.js";
import { applyQuery, defineStore, type Scope } from "./backend.js";
import { versionConflict } from "./check.js";
import type { Store, StoredRecord, StoreOptions } from "./store.js";

export interface MemoryStoreOptions extends StoreOptions {
  /** How often expired records are swept out (the sweep timer does not keep the process alive). @default 60000 */
  sweepIntervalMs?: number;
}

interface Entry {
  value: Uint8Array;
  metadata: Record<string, string>;
  expiresAt: number | undefined;
  version: number;
}

/** A store inside this process (go-micro's memory store), for tests and single-process apps. */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const tables = new Map<string, Map<string, Entry>>();
  const tableOf = (s: Scope) => {
    const id = `${s.database}\u0000${s.table}`;
    let t = tables.get(id);
    if (t === undefined) {
      t = new Map();
      tables.set(id, t);
    }
    return t;
  };
  const live = (e: Entry | undefined, now: number) =>
    e !== undefined && (e.expiresAt === undefined || e.expiresAt > now) ? e : undefined;
  const toRecord = (key: string, e: Entry): StoredRecord => ({
    key,
    value: e.value.slice(), // a copy: the caller may change its bytes
    metadata: { ...e.metadata },
    expiresAt: e.expiresAt,
    version: e.version,
  });
  const sweep = startInterval(
    () => {
      const now = Date.now();
      for (const t of tables.values()) for (const [k, e] of t) if (!live(e, now)) t.delete(k);
    },
    options.sweepIntervalMs ?? 60_000,
    true,
  );
  let versions = 0; // one counter: a key deleted and written again never reuses a version

  return defineStore(
    {
      name: "memory",
      async read(scope, q) {
        const t = tableOf(scope);
        const now = Date.now();
        if (q.exact !== undefined) {
          const e = live(t.get(q.exact), now);
          return e === undefined ? [] : [toRecord(q.exact, e)];
        }
        const found: StoredRecord[] = [];
        for (const [k, e] of t) if (live(e, now)) found.push(toRecord(k, e));
        return applyQuery(found, (r) => r.key, q);
      },
      async write(scope, w) {
        const t = tableOf(scope);
        const current = live(t.get(w.key), Date.now());
        if (w.ifVersion !== undefined && (current?.version ?? 0) !== w.ifVersion) {
          throw versionConflict("memory", w.key, w.ifVersion, current?.version ?? 0);
        }
        const version = ++versions;
        t.set(w.key, { value: w.value.slice(), metadata: w.metadata, expiresAt: w.expiresAt, version });
        return version;
      },
      async delete(scope, key) {
        tableOf(scope).delete(key);
      },
      async list(scope, q) {
        const now = Date.now();
        const keys: string[] = [];
        for (const [k, e] of tableOf(scope)) if (live(e, now)) keys.push(k);
        return applyQuery(keys, (k) => k, q);
      },
      async close() {
        stopInterval(sweep);
        tables.clear();
      },
    },
    options,
  );
}
