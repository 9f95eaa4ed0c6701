// Unary echo load generator over gRPC: config.client = "grpc-js" or "tsmicro".
import grpc from "@grpc/grpc-js";
import { createGrpcTransport } from "@tsmicro/grpc";
import { withProtobuf } from "@tsmicro/protobuf";
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { payloadBytes, runClient } from "../lib/stats.mjs";
import { benchService } from "./services.mjs";

runClient(async ({ address, client: kind }) => {
  if (kind === "grpc-js") {
    const Client = grpc.makeGenericClientConstructor(benchService, "Bench");
    const client = new Client(address, grpc.credentials.createInsecure());
    await new Promise((resolve, reject) =>
      client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
    );
    const makeCall = (size) => {
      const payload = payloadBytes(size);
      return () =>
        new Promise((resolve, reject) => {
          client.Echo(payload, { deadline: Date.now() + 10_000 }, (err, rsp) => {
            if (err) reject(err);
            else if (rsp.length !== size) reject(new Error("grpc-js: wrong echo size"));
            else resolve();
          });
        });
    };
    return { makeCall, close: () => client.close() };
  }
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
