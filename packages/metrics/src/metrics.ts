/**
 * Prometheus metrics for tsmicro (prom-client): one middleware (or a client CallWrapper and a
 * server HandlerWrapper) counting calls, client streams, published and handled messages,
 * errors by code, latency histograms and in-flight gauges per service and endpoint (per topic
 * for messages), plus connection-pool gauges read from clients at scrape time.
 */
import type { RequestListener } from "node:http";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { type CallWrapper, type Client, type HandlerWrapper, MicroError } from "tsmicro";
import type { Middleware } from "tsmicro/plugin";
import { breakerGauge } from "./breaker.js";
import { type MetricsServer, type MetricsServerOptions, metricsHandler, serveMetrics } from "./http.js";
import { messageMiddleware } from "./messages.js";
import { callNames, EndpointSeries } from "./series.js";

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
  /**
   * Distinct topics the publish metrics label (publishers choose topic names, so they are
   * bounded); later topics are counted under `topic="_other"`. @default 256
   */
  maxTopics?: number;
}

export const DEFAULT_MAX_TOPICS = 256;

export interface Metrics {
  readonly register: Registry;
  /** Put in `newClient({ wrappers })` or `client.init({ wrappers })`. */
  readonly client: CallWrapper;
  /** Put in `newService({ wrappers })`. */
  readonly server: HandlerWrapper;
  /**
   * Every path at once: put in `newService({ middleware })` (handlers, subscribers and the
   * service's own client) or `newClient({ middleware })`. Its `call` and `handler` are `client`
   * and `server`; it adds client streams, publishes and subscribers.
   */
  readonly middleware: Middleware;
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
  const full = (suffix: string) => `${prefix}${suffix}`;
  client.register(
    register,
    full,
    "Calls made by this process's clients (retries included)",
    callNames("client"),
  );
  server.register(register, full, "Requests handled by this process's services", callNames("server"));

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

  const clientWrapper: CallWrapper = (next) =>
    instrument(client, (_ctx, req) => [req.service, req.endpoint], next);
  const serverWrapper: HandlerWrapper = (next) =>
    instrument(server, (_ctx, req) => [req.service, req.endpoint], next);
  return {
    register,
    client: clientWrapper,
    server: serverWrapper,
    middleware: {
      name: "metrics",
      call: clientWrapper,
      handler: serverWrapper,
      ...messageMiddleware(register, full, buckets, options.maxTopics ?? DEFAULT_MAX_TOPICS),
    },
    observeClient(c, name = "default") {
      observed.set(name, c);
    },
    text: () => register.metrics(),
    handler: metricsHandler(register),
    serve: (opts) => serveMetrics(register, opts),
  };
}
