/**
 * The store: go-micro's `store.Store` (Read, Write, Delete, List, Close) for the state a service
 * keeps: records with a key, bytes, metadata and an expiry, scoped by database and table. One
 * addition go-micro lacks: every record has a version, and `write(record, { ifVersion })` is a
 * compare-and-set, so services that coordinate (leases, counters, claims) need no second system.
 */

/** One record. `value` is bytes; encode structured values with a codec. */
export interface StoreRecord {
  key: string;
  value: Uint8Array;
  /** Free-form string metadata, stored with the value. @default {} */
  metadata?: Readonly<Record<string, string>>;
  /**
   * go-micro's `Expiry`, as an absolute time (ms since the epoch); undefined: never expires.
   * On write, `ttlMs` takes precedence over it.
   */
  expiresAt?: number | undefined;
}

/** A record as read back: always carries its metadata and version. */
export interface StoredRecord extends StoreRecord {
  metadata: Readonly<Record<string, string>>;
  /**
   * Changes on every write of the key (a positive integer, growing per key while it exists);
   * pass it as `ifVersion` to write only if nobody wrote in between.
   */
  version: number;
}

/** Which database and table a call works on (go-micro's `store.ReadFrom` / `WriteTo`). */
export interface StoreScope {
  /** @default the store's `database` ($MICRO_STORE_DATABASE, else "micro") */
  database?: string;
  /** @default the store's `table` ($MICRO_STORE_TABLE, else "micro") */
  table?: string;
}

/** Selecting keys: go-micro's ReadPrefix / ReadSuffix / ReadLimit / ReadOffset. Results are ascending by key. */
export interface StoreQuery extends StoreScope {
  /** Match every key that starts with the given text (for `read`, the key is the prefix). @default false / none */
  prefix?: boolean | string;
  /** Match every key that ends with the given text (for `read`, the key is the suffix). @default false / none */
  suffix?: boolean | string;
  /** At most this many results. @default no limit */
  limit?: number;
  /** Skip this many results first. @default 0 */
  offset?: number;
}

export interface ReadOptions extends StoreScope {
  /** Read every record whose key starts with `key`. @default false */
  prefix?: boolean;
  /** Read every record whose key ends with `key`. @default false */
  suffix?: boolean;
  /** @default no limit */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

export interface ListOptions extends StoreScope {
  /** Only keys that start with this. @default "" */
  prefix?: string;
  /** Only keys that end with this. @default "" */
  suffix?: string;
  /** @default no limit */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

export interface WriteOptions extends StoreScope {
  /** Expire the record this many ms after the write. @default the record's `expiresAt`, else never */
  ttlMs?: number;
  /**
   * Compare-and-set: write only if the key's current version is this one (0: only if the key
   * does not exist). A mismatch is a MicroError 409 and nothing is written. @default unconditional
   */
  ifVersion?: number;
}

export interface WriteResult {
  /** The version the record now has. */
  version: number;
}

export interface StoreLimits {
  /** Longest key, in UTF-8 bytes. */
  maxKeyBytes: number;
  /** Largest value, in bytes. */
  maxValueBytes: number;
}

/** Records by key in databases and tables (go-micro's store.Store): read, write, delete, list. */
export interface Store {
  /** For logs and errors: `memory`, `redis (127.0.0.1:6379)`, ... */
  readonly name: string;
  readonly limits: StoreLimits;
  /** The records at `key` (or under it, with `prefix`/`suffix`); an empty array when none. */
  read(key: string, options?: ReadOptions): Promise<StoredRecord[]>;
  write(record: StoreRecord, options?: WriteOptions): Promise<WriteResult>;
  /** Deleting a key that does not exist is not an error. */
  delete(key: string, options?: StoreScope): Promise<void>;
  /** Keys, ascending. */
  list(options?: ListOptions): Promise<string[]>;
  close(): Promise<void>;
}

/** The options every store factory takes. */
export interface StoreOptions {
  /** @default $MICRO_STORE_DATABASE, else "micro" */
  database?: string;
  /** @default $MICRO_STORE_TABLE, else "micro" */
  table?: string;
  /** @default DEFAULT_STORE_LIMITS (a backend may lower them) */
  limits?: Partial<StoreLimits>;
}

export const DEFAULT_STORE_DATABASE = "micro";
export const DEFAULT_STORE_TABLE = "micro";

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
});
