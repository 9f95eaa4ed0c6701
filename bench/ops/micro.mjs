// The ops wrappers' own cost per call, without the network: the client and server wrappers of
// each configuration around a handler that returns at once, called back to back in one process.
// Prints one JSON line per configuration: {config, nsPerCall}.
import { background, newRequest } from "tsmicro";
import { CONFIGS, opsWrappers } from "./wrappers.mjs";

const iterations = Number(process.argv[2] ?? 200_000);
function chain(config) {
  const { client, server } = opsWrappers(config);
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
for (const config of CONFIGS) {
  const call = chain(config);
  for (let i = 0; i < iterations / 4; i++) await call(ctx, req, {});
  const t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await call(ctx, req, {});
  const ns = Number(process.hrtime.bigint() - t) / iterations;
  process.stdout.write(`${JSON.stringify({ config, nsPerCall: Math.round(ns) })}\n`);
}
