/** @tsmicro/metrics: Prometheus metrics for tsmicro clients and servers. */

export {
  DEFAULT_METRICS_ADDRESS,
  type MetricsServer,
  type MetricsServerOptions,
  metricsHandler,
  serveMetrics,
} from "./http.js";
export {
  createMetrics,
  DEFAULT_BUCKETS,
  DEFAULT_MAX_TOPICS,
  type Metrics,
  type MetricsOptions,
} from "./metrics.js";
