/**
 * Per-endpoint call statistics kept as plain numbers on the hot path, and handed to
 * prom-client's Registry as metrics at scrape time. prom-client's own labelled `inc`/`observe`
 * validate and hash the labels on every call (microseconds each, four per call per side);
 * here a call costs a Map lookup and a few additions, and the Registry still does the
 * exposition format, content types and merging with other metrics.
 */
import type { Registry } from "prom-client";

interface Entry {
  labels: Record<string, string>;
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

/** Names of the four metrics of a series (after the prefix). */
export interface SeriesNames {
  count: string;
  errors: string;
  duration: string;
  inflight: string;
}

/** `<side>_calls_total`, `<side>_errors_total`, `<side>_duration_seconds`, `<side>_inflight`. */
export function callNames(side: string): SeriesNames {
  return {
    count: `${side}_calls_total`,
    errors: `${side}_errors_total`,
    duration: `${side}_duration_seconds`,
    inflight: `${side}_inflight`,
  };
}

/** Label value that stands for every value past `maxSeries`. */
export const OTHER = "_other";

export class EndpointSeries {
  readonly #entries = new Map<string, Entry>();
  readonly #bounds: readonly number[];
  readonly #labels: readonly [string] | readonly [string, string];
  readonly #max: number;

  /**
   * `labels` names the labels (`service`, `endpoint`; a single one takes `entry`'s first value);
   * past `maxSeries` distinct entries, new ones are counted under `_other` so that caller-chosen
   * names (topics) cannot grow the series forever.
   */
  constructor(
    bounds: readonly number[],
    labels: readonly [string] | readonly [string, string] = ["service", "endpoint"],
    maxSeries = Number.POSITIVE_INFINITY,
  ) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
    this.#labels = labels;
    this.#max = maxSeries;
  }

  /** The entry of one label pair; callers keep it for the whole call. */
  entry(service: string, endpoint = ""): Entry {
    let key = `${service}\u0000${endpoint}`;
    let e = this.#entries.get(key);
    if (e === undefined && this.#entries.size >= this.#max) {
      key = `${OTHER}\u0000${OTHER}`;
      service = endpoint = OTHER;
      e = this.#entries.get(key);
    }
    if (e === undefined) {
      e = {
        labels:
          this.#labels.length === 1
            ? { [this.#labels[0]]: service }
            : { [this.#labels[0]]: service, [this.#labels[1]]: endpoint },
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

  /** Registers the four metrics `names` (count, errors by code, duration histogram, in flight), each through `name`. */
  register(register: Registry, name: (suffix: string) => string, what: string, names: SeriesNames): void {
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
      metric(names.count, "counter", `${what}, finished (successes and errors)`, () =>
        entries().map((e) => ({ labels: e.labels, value: e.calls })),
      ),
      metric(names.errors, "counter", `${what} that failed, by MicroError code`, () =>
        entries().flatMap((e) =>
          [...e.errors].map(([code, n]) => ({ labels: { ...e.labels, code: String(code) }, value: n })),
        ),
      ),
      metric(names.duration, "histogram", `${what}: time to the answer or error, in seconds`, () => {
        const hist = name(names.duration);
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
      metric(names.inflight, "gauge", `${what} in flight now`, () =>
        entries().map((e) => ({ labels: e.labels, value: e.inflight })),
      ),
    ];
    for (const m of all) register.registerMetric(m as unknown as Parameters<Registry["registerMetric"]>[0]);
  }
}
