/**
 * Per-endpoint call statistics kept as plain numbers on the hot path, and handed to
 * prom-client's Registry as metrics at scrape time. prom-client's own labelled `inc`/`observe`
 * validate and hash the labels on every call (microseconds each, four per call per side);
 * here a call costs a Map lookup and a few additions, and the Registry still does the
 * exposition format, content types and merging with other metrics.
 */
import type { Registry } from "prom-client";

interface Entry {
  labels: { service: string; endpoint: string };
  calls: number;
  inflight: number;
  errors: Map<number, number>;
  /** Per bucket, not cumulative; the last one is +Inf. */
  buckets: number[];
  sum: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric (duck-typed, as its own metrics are). */
interface CollectorMetric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  aggregator: "sum";
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: "sum" }>;
  reset(): void;
}

export class EndpointSeries {
  readonly #entries = new Map<string, Entry>();
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  /** The entry of one service/endpoint; callers keep it for the whole call. */
  entry(service: string, endpoint: string): Entry {
    const key = `${service}\u0000${endpoint}`;
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = {
        labels: { service, endpoint },
        calls: 0,
        inflight: 0,
        errors: new Map(),
        buckets: new Array(this.#bounds.length + 1).fill(0),
        sum: 0,
      };
      this.#entries.set(key, e);
    }
    return e;
  }

  /** Records a finished call: `seconds` long, failed with `code` when given. */
  finish(e: Entry, seconds: number, code: number | undefined): void {
    e.inflight--;
    e.calls++;
    e.sum += seconds;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    e.buckets[i]!++;
    if (code !== undefined) e.errors.set(code, (e.errors.get(code) ?? 0) + 1);
  }

  /** Registers `<prefix><side>_calls_total`, `_errors_total`, `_duration_seconds`, `_inflight` in `register`. */
  register(register: Registry, name: (suffix: string) => string, what: string): void {
    const entries = () => [...this.#entries.values()];
    const metric = (
      suffix: string,
      type: CollectorMetric["type"],
      help: string,
      values: () => MetricValue[],
    ): CollectorMetric => {
      const full = name(suffix);
      return {
        name: full,
        help,
        type,
        aggregator: "sum",
        get: async () => ({ name: full, help, type, values: values(), aggregator: "sum" }),
        reset: () => this.#entries.clear(),
      };
    };
    const all = [
      metric("calls_total", "counter", `${what}, finished (successes and errors)`, () =>
        entries().map((e) => ({ labels: e.labels, value: e.calls })),
      ),
      metric("errors_total", "counter", `${what} that failed, by MicroError code`, () =>
        entries().flatMap((e) =>
          [...e.errors].map(([code, n]) => ({ labels: { ...e.labels, code: String(code) }, value: n })),
        ),
      ),
      metric("duration_seconds", "histogram", `${what}: time to the answer or error, in seconds`, () => {
        const hist = name("duration_seconds");
        return entries().flatMap((e) => {
          const out: MetricValue[] = [];
          let cumulative = 0;
          this.#bounds.forEach((le, i) => {
            cumulative += e.buckets[i]!;
            out.push({ metricName: `${hist}_bucket`, labels: { le, ...e.labels }, value: cumulative });
          });
          out.push({ metricName: `${hist}_bucket`, labels: { le: "+Inf", ...e.labels }, value: e.calls });
          out.push({ metricName: `${hist}_sum`, labels: e.labels, value: e.sum });
          out.push({ metricName: `${hist}_count`, labels: e.labels, value: e.calls });
          return out;
        });
      }),
      metric("inflight", "gauge", `${what} in flight now`, () =>
        entries().map((e) => ({ labels: e.labels, value: e.inflight })),
      ),
    ];
    for (const m of all) register.registerMetric(m as unknown as Parameters<Registry["registerMetric"]>[0]);
  }
}
