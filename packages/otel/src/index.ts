/** @tsmicro/otel: OpenTelemetry tracing wrappers for tsmicro clients and servers. */
export { createTracing, TRACER_NAME, type Tracing, type TracingOptions } from "./tracing.js";
