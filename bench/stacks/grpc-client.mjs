// @grpc/grpc-js load generator: one channel (one HTTP/2 connection), N concurrent unary calls.
import grpc from "@grpc/grpc-js";
import { echoService } from "../lib/grpc-echo.mjs";
import { payloadBytes, runClient } from "../lib/stats.mjs";

const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

runClient(async ({ address }) => {
  const client = new EchoClient(address, grpc.credentials.createInsecure());
  await new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
  );
  const makeCall = (size) => {
    const payload = payloadBytes(size);
    return () =>
      new Promise((resolve, reject) => {
        client.Echo(payload, { deadline: Date.now() + 10_000 }, (err, rsp) => {
          if (err) reject(err);
          else if (rsp.length !== size) reject(new Error("grpc: wrong echo size"));
          else resolve();
        });
      });
  };
  return { makeCall, close: () => client.close() };
});
