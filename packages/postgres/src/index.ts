/** @tsmicro/postgres: a PostgreSQL store for tsmicro (MICRO_STORE=postgres). */
export {
  createPostgresStore,
  DEFAULT_POSTGRES_URL,
  type PostgresStoreOptions,
  storeFromAddress,
} from "./store.js";
