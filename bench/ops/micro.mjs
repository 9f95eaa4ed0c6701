// The ops wrappers' own cost per call, without the network: the client and server wrappers of
// each configuration around a handler that returns at once, called back to back in one process.
// Prints one JSON line per configuration: {config, nsPerCall}.
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createLogging } from "@tsmicro/logging";
import { createMetrics } from "@tsmicro/metrics";
import { createTracing } from "@tsmicro/otel";
import { background, newRequest } from "tsmicro";

const iterations = Number(process.argv[2] ?? 200_000);
const dropExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };

function chain(config) {
  const client = [];
  const server = [];
  if (config === "metrics" || config === "all") {
    const m = createMetrics();
    client.push(m.client);
    server.push(m.server);
  }
  if (config === "tracing" || config === "all") {
    const t = createTracing({
      tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(dropExporter)] }),
    });
    client.push(t.client);
    server.push(t.server);
  }
  if (config === "logging" || config === "all") {
    const l = createLogging({ level: "warn" });
    client.push(l.client);
    server.push(l.server);
  }
  const handler = server.reduceRight(
    (next, wrap) => wrap(next),
    async (_ctx, req) => req.body,
  );
  // The "transport" hands the client's metadata to the server, as the wire would.
  const wire = async (ctx, req, opts) =>
    handler(ctx, {
      service: req.service,
      endpoint: req.endpoint,
      contentType: "application/json",
      body: req.body,
      metadata: { ...ctx.metadata, ...opts.metadata },
    });
  return client.reduceRight((next, wrap) => wrap(next), wire);
}

const req = newRequest("bench", "Echo.echo", { x: 1 });
const ctx = background();
for (const config of ["off", "metrics", "tracing", "logging", "all"]) {
  const call = chain(config);
  for (let i = 0; i < iterations / 4; i++) await call(ctx, req, {});
  const t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await call(ctx, req, {});
  const ns = Number(process.hrtime.bigint() - t) / iterations;
  process.stdout.write(`${JSON.stringify({ config, nsPerCall: Math.round(ns) })}\n`);
}
