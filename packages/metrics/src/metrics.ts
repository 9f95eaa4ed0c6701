/**
 * Prometheus metrics for tsmicro (prom-client): a client CallWrapper and a server
 * HandlerWrapper counting calls, errors by code, latency histograms and in-flight gauges per
 * service and endpoint, plus connection-pool gauges read from clients at scrape time.
 */
import type { RequestListener } from "node:http";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { type CallWrapper, type Client, type HandlerWrapper, MicroError } from "tsmicro";
import { breakerGauge } from "./breaker.js";
import { type MetricsServer, type MetricsServerOptions, metricsHandler, serveMetrics } from "./http.js";
import { EndpointSeries } from "./series.js";

/** Seconds; from half a millisecond (loopback calls) to ten seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface MetricsOptions {
  /** Where the metrics are registered. @default a new prom-client Registry (not the global one) */
  register?: Registry;
  /** Prefix of every metric name. @default "tsmicro_" */
  prefix?: string;
  /** Latency histogram buckets, in seconds. @default DEFAULT_BUCKETS (0.5 ms … 10 s) */
  buckets?: readonly number[];
  /** Also collect Node's process metrics (CPU, memory, event loop lag) into the same registry. @default false */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly register: Registry;
  /** Put in `newClient({ wrappers })` or `client.init({ wrappers })`. */
  readonly client: CallWrapper;
  /** Put in `newService({ wrappers })`. */
  readonly server: HandlerWrapper;
  /**
   * Reports `client`'s pooled connections, calls in flight and circuit breaker states (per
   * service and node: 0 closed, 1 half-open, 2 open) as gauges labelled `client="<name>"`.
   */
  observeClient(client: Client, name?: string): void;
  /** The exposition text, as a scrape would get it. */
  text(): Promise<string>;
  /** Answers a scrape: mount it at `/metrics` of an HTTP server (the gateway's or a health server's `routes`). */
  readonly handler: RequestListener;
  /** Serves the metrics on a listener of their own. */
  serve(options?: MetricsServerOptions): Promise<MetricsServer>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const register = options.register ?? new Registry();
  const prefix = options.prefix ?? "tsmicro_";
  const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)];
  if (options.processMetrics) collectDefaultMetrics({ register, prefix });

  const client = new EndpointSeries(buckets);
  const server = new EndpointSeries(buckets);
  client.register(
    register,
    (suffix) => `${prefix}client_${suffix}`,
    "Calls made by this process's clients (retries included)",
  );
  server.register(
    register,
    (suffix) => `${prefix}server_${suffix}`,
    "Requests handled by this process's services",
  );

  const observed = new Map<string, Client>();
  new Gauge({
    name: `${prefix}client_pool_connections`,
    help: "Open pooled connections of an observed client (pool size bounds sockets per address, not calls)",
    labelNames: ["client"],
    registers: [register],
    collect() {
      this.reset();
      for (const [name, c] of observed) this.set({ client: name }, c.stats().connections);
    },
  });
  new Gauge({
    name: `${prefix}client_tracked_inflight`,
    help: "Calls in flight in an observed client's in-flight table (the stall doctor's view)",
    labelNames: ["client"],
    registers: [register],
    collect() {
      this.reset();
      for (const [name, c] of observed) this.set({ client: name }, c.stats().inflight);
    },
  });

  breakerGauge(register, prefix, observed);

  const instrument = <A extends unknown[], R>(
    series: EndpointSeries,
    key: (...args: A) => [string, string],
    next: (...args: A) => Promise<R>,
  ) => {
    return async (...args: A): Promise<R> => {
      const [service, endpoint] = key(...args);
      const e = series.entry(service, endpoint);
      e.inflight++;
      const started = performance.now();
      let code: number | undefined;
      try {
        return await next(...args);
      } catch (err) {
        code = MicroError.from(err, service).code;
        throw err;
      } finally {
        series.finish(e, (performance.now() - started) / 1000, code);
      }
    };
  };

  return {
    register,
    client: (next) => instrument(client, (_ctx, req) => [req.service, req.endpoint], next),
    server: (next) => instrument(server, (_ctx, req) => [req.service, req.endpoint], next),
    observeClient(c, name = "default") {
      observed.set(name, c);
    },
    text: () => register.metrics(),
    handler: metricsHandler(register),
    serve: (opts) => serveMetrics(register, opts),
  };
}
