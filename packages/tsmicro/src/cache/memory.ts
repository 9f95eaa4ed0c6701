/**
 * The memory cache: least recently used entries go first once either bound is reached, so
 * memory use stays under `maxBytes` whatever the callers cache. Expiry is checked on get.
 */
import type { Cache } from "./cache.js";

export interface MemoryCacheOptions {
  /** Entries kept at most. @default 10000 */
  maxEntries?: number;
  /** Bytes of values (plus keys) kept at most. @default 67108864 (64 MiB) */
  maxBytes?: number;
}

export const DEFAULT_MEMORY_CACHE_OPTIONS = Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 });

interface Entry {
  value: Uint8Array;
  expiresAt: number;
  size: number;
}

export function createMemoryCache(
  options: MemoryCacheOptions = {},
): Cache & { readonly size: number; readonly bytes: number } {
  const { maxEntries, maxBytes } = { ...DEFAULT_MEMORY_CACHE_OPTIONS, ...options };
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, Entry>();
  let bytes = 0;
  const drop = (key: string, e: Entry) => {
    entries.delete(key);
    bytes -= e.size;
  };
  return {
    name: `memory (lru ${maxEntries} entries, ${maxBytes} bytes)`,
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
    async get(key) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      if (e.expiresAt <= Date.now()) {
        drop(key, e);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, e);
      return e.value;
    },
    async set(key, value, ttlMs) {
      const old = entries.get(key);
      if (old !== undefined) drop(key, old);
      const size = value.byteLength + key.length * 2;
      if (size > maxBytes) return; // larger than the whole cache: not kept
      const e = { value: value.slice(), expiresAt: Date.now() + ttlMs, size };
      entries.set(key, e);
      bytes += size;
      for (const [k, v] of entries) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        drop(k, v);
      }
    },
    async delete(key) {
      const e = entries.get(key);
      if (e !== undefined) drop(key, e);
    },
    async close() {
      entries.clear();
      bytes = 0;
    },
  };
}
