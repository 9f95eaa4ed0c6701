/**
 * What a store backend implements: the primitive operations, on input that `defineStore` has
 * already checked and normalised. `defineStore` turns a backend into a `Store`: it validates
 * keys, values and scopes, resolves defaults, and wraps every driver failure into a MicroError
 * 503 that names the store, so that backends stay short and all of them refuse the same things.
 */
import { MicroError } from "../errors.js";
import {
  checkAffix,
  checkCount,
  checkKey,
  checkMetadata,
  checkName,
  checkTtl,
  checkValue,
  checkVersion,
} from "./check.js";
import {
  DEFAULT_STORE_DATABASE,
  DEFAULT_STORE_LIMITS,
  DEFAULT_STORE_TABLE,
  type Store,
  type StoredRecord,
  type StoreLimits,
  type StoreOptions,
  type StoreScope,
} from "./store.js";

/** A checked scope: both names present and valid. */
export interface Scope {
  database: string;
  table: string;
}

/** A checked query: ascending by key, then offset, then limit. */
export interface Query {
  prefix: string;
  suffix: string;
  limit: number | undefined;
  offset: number;
}

export interface BackendWrite {
  key: string;
  value: Uint8Array;
  metadata: Record<string, string>;
  /** Absolute expiry, ms since the epoch; undefined: never. */
  expiresAt: number | undefined;
  /** Compare-and-set: 0 = must be absent; undefined = unconditional. */
  ifVersion: number | undefined;
}

export interface StoreBackend {
  name: string;
  /** Lower limits than the defaults, when the backend cannot hold more (NATS payloads). */
  limits?: Partial<StoreLimits>;
  /** Unexpired records matching the query (exact key when `exact` is set). */
  read(scope: Scope, query: Query & { exact?: string }): Promise<StoredRecord[]>;
  /** Returns the new version, or throws the MicroError of `versionConflict`. */
  write(scope: Scope, record: BackendWrite): Promise<number>;
  delete(scope: Scope, key: string): Promise<void>;
  list(scope: Scope, query: Query): Promise<string[]>;
  close(): Promise<void>;
}

/** Database and table from the options, else the environment, else "micro". */
export function storeDefaults(options: StoreOptions): Scope {
  return {
    database: options.database ?? (process.env.MICRO_STORE_DATABASE || DEFAULT_STORE_DATABASE),
    table: options.table ?? (process.env.MICRO_STORE_TABLE || DEFAULT_STORE_TABLE),
  };
}

export function defineStore(backend: StoreBackend, options: StoreOptions = {}): Store {
  const limits: StoreLimits = Object.freeze({
    ...DEFAULT_STORE_LIMITS,
    ...backend.limits,
    ...options.limits,
  });
  const name = backend.name;
  const defaults = storeDefaults(options);
  checkName(name, defaults.database, "database");
  checkName(name, defaults.table, "table");
  let closed = false;
  const scopeOf = (o: StoreScope | undefined): Scope => ({
    database: o?.database === undefined ? defaults.database : checkName(name, o.database, "database"),
    table: o?.table === undefined ? defaults.table : checkName(name, o.table, "table"),
  });
  const queryOf = (
    o: { limit?: number; offset?: number } | undefined,
    prefix: string,
    suffix: string,
  ): Query => ({
    prefix: checkAffix(name, prefix, limits, "prefix"),
    suffix: checkAffix(name, suffix, limits, "suffix"),
    limit: checkCount(name, o?.limit, "limit"),
    offset: checkCount(name, o?.offset, "offset") ?? 0,
  });
  const run = async <T>(op: string, f: () => Promise<T>): Promise<T> => {
    if (closed) {
      throw new MicroError({
        id: "tsmicro.store",
        code: 503,
        detail: `store ${name}: ${op} after close()`,
        retryable: false,
      });
    }
    try {
      return await f();
    } catch (err) {
      if (err instanceof MicroError) throw err;
      throw new MicroError({
        id: "tsmicro.store",
        code: 503,
        detail: `store ${name}: ${op} failed: ${(err as Error)?.message ?? String(err)}`,
        cause: err,
      });
    }
  };
  return {
    get name() {
      return backend.name;
    },
    limits,
    async read(key, o) {
      const scope = scopeOf(o);
      const affix = o?.prefix === true || o?.suffix === true;
      checkKey(name, key, limits, affix ? "key prefix/suffix" : "key");
      const query = queryOf(o, o?.prefix === true ? key : "", o?.suffix === true ? key : "");
      return run("read", () => backend.read(scope, affix ? query : { ...query, exact: key }));
    },
    async write(record, o) {
      const scope = scopeOf(o);
      const key = checkKey(name, record?.key, limits);
      const value = checkValue(name, key, record.value, limits);
      const metadata = checkMetadata(name, key, record.metadata);
      const ttl = checkTtl(name, o?.ttlMs);
      const ifVersion = checkVersion(name, o?.ifVersion);
      const expiresAt = ttl === undefined ? record.expiresAt : Date.now() + ttl;
      if (expiresAt !== undefined && (typeof expiresAt !== "number" || !Number.isFinite(expiresAt))) {
        throw new MicroError({
          id: "tsmicro.store",
          code: 400,
          detail: `store ${name}: expiresAt of ${JSON.stringify(key)} must be ms since the epoch`,
          retryable: false,
        });
      }
      const version = await run("write", () =>
        backend.write(scope, { key, value, metadata, expiresAt, ifVersion }),
      );
      return { version };
    },
    async delete(key, o) {
      const scope = scopeOf(o);
      checkKey(name, key, limits);
      await run("delete", () => backend.delete(scope, key));
    },
    async list(o) {
      const scope = scopeOf(o);
      return run("list", () => backend.list(scope, queryOf(o, o?.prefix ?? "", o?.suffix ?? "")));
    },
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
}

/** For backends that filter in memory: suffix, ascending order, offset, limit. */
export function applyQuery<T>(items: T[], keyOf: (t: T) => string, query: Query): T[] {
  const matching = items.filter((t) => {
    const k = keyOf(t);
    return k.startsWith(query.prefix) && k.endsWith(query.suffix);
  });
  matching.sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const from = query.offset;
  return matching.slice(from, query.limit === undefined ? undefined : from + query.limit);
}

/** Ascending by UTF-8 bytes, the order SQL `COLLATE "C"` and Redis lexicographic ranges use. */
export function compareKeys(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
