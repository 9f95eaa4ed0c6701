/**
 * The platform packages (issue 18) for applications: store, config and cache. One file so the
 * public surface lists them in one place; index.ts re-exports it.
 */

export {
  defaultStore,
  STORE_KINDS,
  STORE_PACKAGES,
  type StoreFromAddress,
  type StoreFromEnvOptions,
  storeFromEnv,
} from "./store/env.js";
export { createMemoryStore, type MemoryStoreOptions } from "./store/memory.js";
export {
  DEFAULT_STORE_DATABASE,
  DEFAULT_STORE_LIMITS,
  DEFAULT_STORE_TABLE,
  type ListOptions,
  type ReadOptions,
  type Store,
  type StoredRecord,
  type StoreLimits,
  type StoreOptions,
  type StoreQuery,
  type StoreRecord,
  type StoreScope,
  type WriteOptions,
  type WriteResult,
} from "./store/store.js";
