// tsmicro unary echo load generator over gRPC (grpc-js's is bench/stacks/grpc-client.mjs).
import { createGrpcTransport } from "@tsmicro/grpc";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { payloadBytes, runClient } from "../lib/stats.mjs";

runClient(async ({ address }) => {
  const client = newClient({
    registry: createMemoryRegistry(),
    transport: createGrpcTransport(),
    codecs: withProtobuf(),
    contentType: "application/protobuf",
    requestTimeoutMs: 10_000,
    retries: 0,
    poolSize: 1,
    trackInflight: false,
  });
  const ctx = background();
  const options = { address };
  await client.call(ctx, newRequest("bench", "bench.Echo.Echo", payloadBytes(1)), options);
  const makeCall = (size) => {
    const req = newRequest("bench", "bench.Echo.Echo", payloadBytes(size));
    return async () => {
      const rsp = await client.call(ctx, req, options);
      if (rsp.length !== size) throw new Error("tsmicro: wrong echo size");
    };
  };
  return { makeCall, close: () => client.close() };
});
