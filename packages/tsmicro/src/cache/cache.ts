/**
 * The cache: where `cacheWrapper` keeps responses of cacheable calls (go-micro's client cache,
 * Moleculer's cachers). A small byte store with a TTL per entry; the wrapper does the keying,
 * encoding and single flight, so a backend only stores bytes.
 */
export interface Cache {
  /** For logs and errors: `memory (lru 10000)`, `redis (127.0.0.1:6379)`. */
  readonly name: string;
  /** The bytes under `key`, or undefined when absent or expired. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` for `ttlMs` (> 0). */
  set(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How a call is cached: go-micro's `client.WithCache(d)`. */
export interface CacheCallOption {
  /** How long the response is served from the cache. */
  ttlMs: number;
}

/** A call option: `client.call(ctx, req, withCache(60_000))`, as go-micro's `client.WithCache(time.Minute)`. */
export function withCache(ttlMs: number): { cache: CacheCallOption } {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new TypeError(`withCache: ttlMs must be a positive number, got ${ttlMs}`);
  return { cache: { ttlMs } };
}
