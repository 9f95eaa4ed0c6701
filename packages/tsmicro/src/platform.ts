/**
 * The platform packages (issue 18) for applications: store, config and cache. One file so the
 * public surface lists them in one place; index.ts re-exports it.
 */

export { type Cache, type CacheCallOption, withCache } from "./cache/cache.js";
export { createMemoryCache, DEFAULT_MEMORY_CACHE_OPTIONS, type MemoryCacheOptions } from "./cache/memory.js";
export { type CacheWrapperOptions, cacheWrapper } from "./cache/wrapper.js";
export { type Config, type ConfigChange, type LoadConfigOptions, loadConfig } from "./config/config.js";
export type { ConfigSource, ConfigValues } from "./config/source.js";
export {
  defaultsSource,
  type EnvSourceOptions,
  envSource,
  type FileSourceOptions,
  type FlagSourceOptions,
  fileSource,
  flagSource,
} from "./config/sources.js";
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
