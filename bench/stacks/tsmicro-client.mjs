// tsmicro load generator: one client (its multiplexed connection pool), calls straight to the
// server's address; JSON body by default, MessagePack with contentType "application/msgpack".
// With `registryDir`, calls name only the service: the default (local) registry in that
// directory and the selector find the node, as an application's calls do.
import { background, createMemoryRegistry, newClient, newRequest } from "tsmicro";
import { payloadJson, runClient } from "../lib/stats.mjs";

runClient(async ({ address, contentType, trackInflight = true, poolSize, registryDir }) => {
  if (registryDir) process.env.MICRO_REGISTRY_DIR = registryDir;
  const client = newClient({
    requestTimeoutMs: 10_000,
    contentType,
    trackInflight,
    ...(poolSize === undefined ? {} : { poolSize }),
    ...(registryDir ? {} : { registry: createMemoryRegistry() }),
  });
  const options = registryDir ? {} : { address };
  const makeCall = (size) => {
    const body = payloadJson(size);
    return async () => {
      const rsp = await client.call(background(), newRequest("echo", "Echo.Echo", body), options);
      if (rsp.data.length !== size) throw new Error("tsmicro: wrong echo size");
    };
  };
  await makeCall(1)(); // connect before reporting ready
  return { makeCall, close: () => client.close() };
});
