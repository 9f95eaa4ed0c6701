// The wrappers each bench/ops configuration puts on the client and the server.
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createLogging } from "@tsmicro/logging";
import { createMetrics } from "@tsmicro/metrics";
import { createTracing } from "@tsmicro/otel";

export const CONFIGS = ["off", "metrics", "tracing", "logging", "all"];

/** Spans are made and ended for real, then dropped (an exporter that keeps nothing). */
const dropExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };

/** `{ client, server }` wrapper lists for one configuration. */
export function opsWrappers(config) {
  const client = [];
  const server = [];
  if (config === "metrics" || config === "all") {
    const m = createMetrics();
    client.push(m.client);
    server.push(m.server);
  }
  if (config === "tracing" || config === "all") {
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(dropExporter)] });
    const t = createTracing({ tracerProvider: provider });
    client.push(t.client);
    server.push(t.server);
  }
  if (config === "logging" || config === "all") {
    // The default level: wrappers run, nothing is written for successful calls.
    const l = createLogging({ level: "warn" });
    client.push(l.client);
    server.push(l.server);
  }
  return { client, server };
}
