/**
 * The file store: every database and table of a store in one SQLite file (better-sqlite3).
 * SQLite because it is the most-used embedded engine there is: a transaction per write with
 * a write-ahead log, so an acknowledged write survives the process being killed; ordered
 * B-tree keys, so prefix reads are index ranges; several processes on one host may open the
 * same file. better-sqlite3 (version 12: 13 needs Node 22) is synchronous: each operation
 * is a few microseconds, shorter than the promise round trip around it.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Store } from "tsmicro";
import {
  defineStore,
  type StoreBackendQuery as Query,
  type StoreBackendScope as Scope,
  type StoreOptions,
  versionConflict,
} from "tsmicro/plugin";
import { resolveFileStoreOptions } from "./options.js";

export { DEFAULT_STORE_FILE } from "./options.js";

export interface FileStoreOptions extends StoreOptions {
  /** The database file; created with its directory if missing. @default "tsmicro-store.db" in the working directory */
  path?: string;
  /**
   * SQLite's `synchronous` in WAL mode: "NORMAL" keeps every acknowledged write through a
   * process crash; "FULL" also through a power loss, at an fsync per write. @default "NORMAL"
   */
  synchronous?: "NORMAL" | "FULL";
  /** How long a write waits for another process's write to finish, ms. @default 5000 */
  busyTimeoutMs?: number;
}

interface Row {
  key: string;
  value: Buffer;
  metadata: string;
  expires_at: number | null;
  version: number;
}

// GLOB, unlike LIKE, is case-sensitive and uses the key index for a fixed prefix.
const globEscape = (s: string) => s.replace(/[*?[]/g, (c) => `[${c}]`);

export function createFileStore(given: FileStoreOptions = {}): Store {
  const options = resolveFileStoreOptions(given);
  const path = options.path;
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: options.busyTimeoutMs });
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous}`);
  db.exec(`
    CREATE TABLE IF NOT EXISTS tsmicro_records (
      db TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL,
      value BLOB NOT NULL, metadata TEXT NOT NULL, expires_at INTEGER, version INTEGER NOT NULL,
      PRIMARY KEY (db, tbl, key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS tsmicro_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT OR IGNORE INTO tsmicro_version (id, n) VALUES (1, 0);
  `);
  const live = "(expires_at IS NULL OR expires_at > @now)";
  const cols = "key, value, metadata, expires_at, version";
  // Hot statements take positional parameters: binding them is cheaper than named ones.
  const getOne = db.prepare<[string, string, string, number], Row>(
    `SELECT ${cols} FROM tsmicro_records WHERE db = ? AND tbl = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)`,
  );
  const currentVersion = db.prepare<
    { db: string; tbl: string; key: string; now: number },
    { version: number }
  >(`SELECT version FROM tsmicro_records WHERE db = @db AND tbl = @tbl AND key = @key AND ${live}`);
  const nextVersion = db.prepare<[], { n: number }>(
    "UPDATE tsmicro_version SET n = n + 1 WHERE id = 1 RETURNING n",
  );
  const upsert = db.prepare(
    `INSERT INTO tsmicro_records (db, tbl, key, value, metadata, expires_at, version)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (db, tbl, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
       expires_at = excluded.expires_at, version = excluded.version`,
  );
  const remove = db.prepare("DELETE FROM tsmicro_records WHERE db = @db AND tbl = @tbl AND key = @key");
  const queryRows = (s: Scope, q: Query, what: string): unknown[] => {
    const limit = q.limit === undefined ? -1 : q.limit; // SQLite: a negative LIMIT is no limit
    return db
      .prepare(
        `SELECT ${what} FROM tsmicro_records WHERE db = @db AND tbl = @tbl AND key GLOB @glob AND ${live}
         ORDER BY key LIMIT @limit OFFSET @offset`,
      )
      .all({
        db: s.database,
        tbl: s.table,
        glob: `${globEscape(q.prefix)}*${globEscape(q.suffix)}`,
        now: Date.now(),
        limit,
        offset: q.offset,
      });
  };
  const write = db.transaction(
    (
      s: Scope,
      key: string,
      value: Uint8Array,
      metadata: string,
      expiresAt: number | null,
      ifVersion?: number,
    ) => {
      const args = { db: s.database, tbl: s.table, key, now: Date.now() };
      if (ifVersion !== undefined) {
        const current = currentVersion.get(args)?.version ?? 0;
        if (current !== ifVersion) throw versionConflict(name, key, ifVersion, current);
      }
      const version = nextVersion.get()!.n;
      upsert.run(s.database, s.table, key, value, metadata, expiresAt, version);
      return version;
    },
  );
  const toRecord = (r: Row) => ({
    key: r.key,
    value: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    expiresAt: r.expires_at ?? undefined,
    version: r.version,
  });
  const name = `file (${path})`;
  return defineStore(
    {
      name,
      async read(s, q) {
        if (q.exact !== undefined) {
          const r = getOne.get(s.database, s.table, q.exact, Date.now());
          return r === undefined ? [] : [toRecord(r)];
        }
        return (queryRows(s, q, cols) as Row[]).map(toRecord);
      },
      async write(s, w) {
        // IMMEDIATE: take the write lock before reading the version, so two processes cannot both pass the check.
        return write.immediate(
          s,
          w.key,
          w.value,
          JSON.stringify(w.metadata),
          w.expiresAt ?? null,
          w.ifVersion,
        );
      },
      async delete(s, key) {
        remove.run({ db: s.database, tbl: s.table, key });
      },
      async list(s, q) {
        return (queryRows(s, q, "key") as { key: string }[]).map((r) => r.key);
      },
      async close() {
        db.close();
      },
    },
    options,
  );
}

/** For MICRO_STORE=file: the address is the file's path. */
export function storeFromAddress(
  _kind: string,
  options: StoreOptions & { address?: string | undefined },
): Store {
  const { address, ...rest } = options;
  return createFileStore({ ...rest, ...(address === undefined ? {} : { path: address }) });
}
