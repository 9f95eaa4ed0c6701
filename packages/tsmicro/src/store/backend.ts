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
  const scopeOf = (o: StoreScope | undefined): Scope =>
    o?.database === undefined && o?.table === undefined
      ? defaults // the common case allocates nothing
      : {
          database: o.database === undefined ? defaults.database : checkName(name, o.database, "database"),
          table: o.table === undefined ? defaults.table : checkName(name, o.table, "table"),
        };
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
  const failed = (op: string) => (err: unknown) => {
    if (err instanceof MicroError) throw err;
    throw new MicroError({
      id: "tsmicro.store",
      code: 503,
      detail: `store ${name}: ${op} failed: ${(err as Error)?.message ?? String(err)}`,
      cause: err,
    });
  };
  // Checks run synchronously and the backend's promise is returned as is (plus the error
  // mapping): no extra async frames on the hot path, which the benchmark compares to raw drivers.
  const run = <T>(op: string, f: () => Promise<T>): Promise<T> => {
    try {
      if (closed) {
        throw new MicroError({
          id: "tsmicro.store",
          code: 503,
          detail: `store ${name}: ${op} after close()`,
          retryable: false,
        });
      }
      return f().catch(failed(op));
    } catch (err) {
      // A check's MicroError as is; a backend that threw instead of rejecting, mapped the same way.
      return Promise.reject(err).catch(failed(op));
    }
  };
  const exactQuery = (key: string): Query & { exact: string } => ({
    exact: key,
    prefix: "",
    suffix: "",
    limit: undefined,
    offset: 0,
  });
  return {
    get name() {
      return backend.name;
    },
    limits,
    read(key, o) {
      return run("read", () => {
        const scope = scopeOf(o);
        const prefix = o?.prefix === true;
        const suffix = o?.suffix === true;
        checkKey(name, key, limits, prefix || suffix ? "key prefix/suffix" : "key");
        if (!prefix && !suffix) return backend.read(scope, exactQuery(key));
        return backend.read(scope, queryOf(o, prefix ? key : "", suffix ? key : ""));
      });
    },
    write(record, o) {
      return run("write", () => {
        const scope = scopeOf(o);
        const key = checkKey(name, record?.key, limits);
        const value = checkValue(name, key, record.value, limits);
        const metadata = checkMetadata(name, key, record.metadata);
        const ttl = checkTtl(name, o?.ttlMs);
        const ifVersion = checkVersion(name, o?.ifVersion);
        const expiresAt = ttl === undefined ? record.expiresAt : Date.now() + ttl;
        if (expiresAt !== undefined && !Number.isFinite(expiresAt)) {
          throw new MicroError({
            id: "tsmicro.store",
            code: 400,
            detail: `store ${name}: expiresAt of ${JSON.stringify(key)} must be ms since the epoch`,
            retryable: false,
          });
        }
        return backend
          .write(scope, { key, value, metadata, expiresAt, ifVersion })
          .then((version) => ({ version }));
      });
    },
    delete(key, o) {
      return run("delete", () => {
        const scope = scopeOf(o);
        checkKey(name, key, limits);
        return backend.delete(scope, key);
      });
    },
    list(o) {
      return run("list", () => backend.list(scopeOf(o), queryOf(o, o?.prefix ?? "", o?.suffix ?? "")));
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
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
