/**
 * Live per-endpoint numbers for the dashboard, measured at the gateway: a ring of one-second
 * buckets per `service.endpoint` holding the count, the errors and a bounded sample of latencies.
 */

/** One endpoint over the window: a point per second, oldest first. */
export interface EndpointSeries {
  service: string;
  endpoint: string;
  /** Epoch seconds of each point. */
  t: number[];
  /** Requests per second. */
  rate: number[];
  /** Errors per second. */
  errors: number[];
  /** Latency percentiles in ms; null where a second had no calls. */
  p50: (number | null)[];
  p90: (number | null)[];
  p99: (number | null)[];
  /** Totals over the whole window. */
  total: { calls: number; errors: number; p50: number | null; p99: number | null };
}

export interface StatsOptions {
  /** Seconds kept. @default 60 */
  windowSeconds?: number;
  /** Latencies kept per second per endpoint (reservoir sampled beyond). @default 1000 */
  samplesPerSecond?: number;
  /** Endpoints tracked; calls to others are not recorded (bounds memory against junk paths). @default 500 */
  maxEndpoints?: number;
}

interface Bucket {
  second: number;
  calls: number;
  errors: number;
  latencies: number[];
}

export interface Stats {
  record(service: string, endpoint: string, latencyMs: number, ok: boolean): void;
  snapshot(now?: number): EndpointSeries[];
}

export function createStats(options: StatsOptions = {}): Stats {
  const windowSeconds = options.windowSeconds ?? 60;
  const samples = options.samplesPerSecond ?? 1000;
  const maxEndpoints = options.maxEndpoints ?? 500;
  const rings = new Map<string, { service: string; endpoint: string; buckets: Bucket[] }>();

  const bucketOf = (ring: Bucket[], second: number): Bucket => {
    const i = second % windowSeconds;
    let b = ring[i];
    if (b === undefined || b.second !== second) {
      b = { second, calls: 0, errors: 0, latencies: [] };
      ring[i] = b;
    }
    return b;
  };

  return {
    record(service, endpoint, latencyMs, ok) {
      const key = `${service}\u0000${endpoint}`;
      let ring = rings.get(key);
      if (ring === undefined) {
        if (rings.size >= maxEndpoints) return;
        ring = { service, endpoint, buckets: new Array(windowSeconds) };
        rings.set(key, ring);
      }
      const b = bucketOf(ring.buckets, Math.floor(Date.now() / 1000));
      b.calls++;
      if (!ok) b.errors++;
      if (b.latencies.length < samples) b.latencies.push(latencyMs);
      else {
        const j = Math.floor(Math.random() * b.calls);
        if (j < samples) b.latencies[j] = latencyMs;
      }
    },

    snapshot(now = Date.now()) {
      const last = Math.floor(now / 1000);
      const first = last - windowSeconds + 1;
      const out: EndpointSeries[] = [];
      for (const { service, endpoint, buckets } of rings.values()) {
        const s: EndpointSeries = {
          service,
          endpoint,
          t: [],
          rate: [],
          errors: [],
          p50: [],
          p90: [],
          p99: [],
          total: { calls: 0, errors: 0, p50: null, p99: null },
        };
        const all: number[] = [];
        for (let sec = first; sec <= last; sec++) {
          const b = buckets[sec % windowSeconds];
          const live = b !== undefined && b.second === sec ? b : undefined;
          const sorted = live === undefined ? [] : [...live.latencies].sort((x, y) => x - y);
          s.t.push(sec);
          s.rate.push(live?.calls ?? 0);
          s.errors.push(live?.errors ?? 0);
          s.p50.push(quantile(sorted, 0.5));
          s.p90.push(quantile(sorted, 0.9));
          s.p99.push(quantile(sorted, 0.99));
          s.total.calls += live?.calls ?? 0;
          s.total.errors += live?.errors ?? 0;
          all.push(...sorted);
        }
        if (s.total.calls === 0) continue;
        all.sort((x, y) => x - y);
        s.total.p50 = quantile(all, 0.5);
        s.total.p99 = quantile(all, 0.99);
        out.push(s);
      }
      return out.sort((a, b) => `${a.service}.${a.endpoint}`.localeCompare(`${b.service}.${b.endpoint}`));
    },
  };
}

/** Nearest-rank quantile of sorted values; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[rank]! * 100) / 100;
}
