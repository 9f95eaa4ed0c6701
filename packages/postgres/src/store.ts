/**
 * The PostgreSQL store: every database and table of a store in one table of a schema of its
 * own (`<schema>.records`, keys `COLLATE "C"` so they sort by bytes), versions from one
 * sequence. A compare-and-set is a single statement (`UPDATE ... WHERE version = $n`, or an
 * insert that only replaces an expired row), so PostgreSQL's row locks decide the winner and
 * no transaction is held open across a round trip. Expired rows are invisible at once and
 * deleted by a periodic sweep.
 */
import pg from "pg";
import type { Store } from "tsmicro";
import {
  defineStore,
  type StoreBackendQuery as Query,
  STORE_NAME_PATTERN,
  type StoredRecord,
  type StoreOptions,
  startInterval,
  stopInterval,
  versionConflict,
} from "tsmicro/plugin";
import { resolvePostgresStoreOptions } from "./options.js";

export { DEFAULT_POSTGRES_URL } from "./options.js";

export interface PostgresStoreOptions extends StoreOptions {
  /** The server, `postgres://user:password@host:port/database`. @default $DATABASE_URL, else "postgres://tsmicro:tsmicro@127.0.0.1:5432/tsmicro" */
  url?: string;
  /** The schema the store's table and sequence live in (created if missing). @default "tsmicro_store" */
  schema?: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
  /** Bound on connecting and on each statement, ms. @default 5000 */
  timeoutMs?: number;
  /** How often expired rows are deleted, ms. @default 60000 */
  sweepIntervalMs?: number;
}

interface Row {
  key: string;
  value: Buffer;
  metadata: Record<string, string>;
  expires_at: string | null;
  version: string;
}

export function createPostgresStore(given: PostgresStoreOptions = {}): Store {
  const options = resolvePostgresStoreOptions(given);
  const { url, schema } = options;
  if (!STORE_NAME_PATTERN.test(schema))
    throw new TypeError(`schema ${JSON.stringify(schema)} must be 1 to 64 of A-Z a-z 0-9 _`);
  const timeoutMs = options.timeoutMs;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // A server that goes away breaks idle connections; the next query reports it to its caller.
  pool.on("error", () => {});
  const t = `"${schema}".records`;
  const seq = `"${schema}".record_version`;
  const name = `postgres (${new URL(url).host}/${schema})`;
  let ready: Promise<void> | undefined;
  const setup = async () => {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      // Two stores creating the same schema at once would collide on the catalog.
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`tsmicro_store:${schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await c.query(`CREATE SEQUENCE IF NOT EXISTS ${seq}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${t} (
        db text NOT NULL, tbl text NOT NULL, key text COLLATE "C" NOT NULL,
        value bytea NOT NULL, metadata jsonb NOT NULL, expires_at bigint, version bigint NOT NULL,
        PRIMARY KEY (db, tbl, key))`);
      await c.query("COMMIT");
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  };
  const q = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    ready ??= setup().catch((err) => {
      ready = undefined; // the server may be back next time
      throw err;
    });
    await ready;
    return pool.query<R>(text, values);
  };
  const live = "(expires_at IS NULL OR expires_at > $3)";
  const where = (query: Query, values: unknown[]) => {
    let sql = `db = $1 AND tbl = $2 AND ${live}`;
    if (query.prefix !== "") {
      values.push(query.prefix);
      sql += ` AND key >= $${values.length} AND starts_with(key, $${values.length})`;
    }
    if (query.suffix !== "") {
      values.push(query.suffix);
      sql += ` AND right(key, char_length($${values.length})) = $${values.length}`;
    }
    sql += " ORDER BY key";
    if (query.limit !== undefined) sql += ` LIMIT ${query.limit}`;
    if (query.offset > 0) sql += ` OFFSET ${query.offset}`;
    return sql;
  };
  const toRecord = (r: Row): StoredRecord => ({
    key: r.key,
    value: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    metadata: r.metadata,
    expiresAt: r.expires_at === null ? undefined : Number(r.expires_at),
    version: Number(r.version),
  });
  const cols = "key, value, metadata, expires_at, version";
  const sweep = startInterval(
    () => {
      if (ready !== undefined)
        void pool.query(`DELETE FROM ${t} WHERE expires_at <= $1`, [Date.now()]).catch(() => {});
    },
    options.sweepIntervalMs,
    true,
  );

  return defineStore(
    {
      name,
      async read(s, query) {
        if (query.exact !== undefined) {
          const r = await q<Row>(
            `SELECT ${cols} FROM ${t} WHERE db = $1 AND tbl = $2 AND ${live} AND key = $4`,
            [s.database, s.table, Date.now(), query.exact],
          );
          return r.rows.map(toRecord);
        }
        const values: unknown[] = [s.database, s.table, Date.now()];
        const sql = where(query, values);
        return (await q<Row>(`SELECT ${cols} FROM ${t} WHERE ${sql}`, values)).rows.map(toRecord);
      },
      async write(s, w) {
        const now = Date.now();
        const args = [
          s.database,
          s.table,
          now,
          w.key,
          Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength),
          w.metadata,
          w.expiresAt === undefined ? null : Math.ceil(w.expiresAt),
        ];
        let r: pg.QueryResult<{ version: string }>;
        if (w.ifVersion === undefined || w.ifVersion === 0) {
          // Unconditional, or "only if absent": an expired row counts as absent.
          const guard =
            w.ifVersion === 0 ? ` WHERE ${t}.expires_at IS NOT NULL AND ${t}.expires_at <= $3` : "";
          r = await q(
            `INSERT INTO ${t} (db, tbl, key, value, metadata, expires_at, version)
             SELECT $1, $2, $4, $5, $6, $7, nextval('${seq}') WHERE $3::bigint IS NOT NULL -- $3 (now) typed even when unused
             ON CONFLICT (db, tbl, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
               expires_at = excluded.expires_at, version = excluded.version${guard}
             RETURNING version`,
            args,
          );
        } else {
          r = await q(
            `UPDATE ${t} SET value = $5, metadata = $6, expires_at = $7, version = nextval('${seq}')
             WHERE db = $1 AND tbl = $2 AND key = $4 AND ${live} AND version = $8 RETURNING version`,
            [...args, w.ifVersion],
          );
        }
        if (r.rows.length === 1) return Number(r.rows[0]!.version);
        const current = await q<{ version: string }>(
          `SELECT version FROM ${t} WHERE db = $1 AND tbl = $2 AND ${live} AND key = $4`,
          [s.database, s.table, Date.now(), w.key],
        );
        throw versionConflict(name, w.key, w.ifVersion!, Number(current.rows[0]?.version ?? 0));
      },
      async delete(s, key) {
        await q(`DELETE FROM ${t} WHERE db = $1 AND tbl = $2 AND key = $3`, [s.database, s.table, key]);
      },
      async list(s, query) {
        const values: unknown[] = [s.database, s.table, Date.now()];
        const sql = where(query, values);
        return (await q<{ key: string }>(`SELECT key FROM ${t} WHERE ${sql}`, values)).rows.map((r) => r.key);
      },
      async close() {
        stopInterval(sweep);
        await pool.end();
      },
    },
    options,
  );
}

/** For MICRO_STORE=postgres: the address is the connection URL. */
export function storeFromAddress(
  _kind: string,
  options: StoreOptions & { address?: string | undefined },
): Store {
  const { address, ...rest } = options;
  return createPostgresStore({ ...rest, ...(address === undefined ? {} : { url: address }) });
}
