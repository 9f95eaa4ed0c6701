/**
 * A rate limit per client: a token bucket per caller (its account id when it sent a valid
 * token, else its IP address). Over the limit a request is a 429 with `retry-after`.
 * The table of buckets is bounded: the least recently seen client is forgotten first.
 */

export interface RateLimitOptions {
  /** Requests a second each client may make, sustained. */
  requestsPerSecond: number;
  /** Requests a client may make at once after being idle. @default requestsPerSecond */
  burst?: number;
  /** Clients tracked at once. @default 10000 */
  maxClients?: number;
}

export interface RateLimiter {
  /** Takes one token for `client`: 0 when allowed, else the seconds to wait. */
  take(client: string, now?: number): number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const rate = options.requestsPerSecond;
  if (!(rate > 0)) throw new TypeError(`rateLimit.requestsPerSecond must be > 0, got ${rate}`);
  const burst = options.burst ?? rate;
  const maxClients = options.maxClients ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(client, now = performance.now()) {
      let b = buckets.get(client);
      if (b === undefined) {
        if (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value as string);
        b = { tokens: burst, at: now };
      } else {
        buckets.delete(client);
        b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
        b.at = now;
      }
      // Re-inserted: the map's order is least recently seen first.
      buckets.set(client, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rate));
    },
  };
}
