// Child process of the seed demo: serves TestService, whose handlers call through
// `defaultClient` (or a `newClient()` with --client=new) and re-initialise it meanwhile.
import { createMemoryRegistry, defaultClient, newClient, newService } from "tsmicro";
import { createTestService, stormInit } from "./test-service.mjs";

const useNew = process.argv.includes("--client=new");
const client = useNew ? newClient({ requestTimeoutMs: 10_000 }) : defaultClient;
if (!useNew) defaultClient.init({ requestTimeoutMs: 10_000 });
const service = newService({ name: "TestService", address: "127.0.0.1:0", registry: createMemoryRegistry() });
service.handle(
  createTestService(
    () => client,
    () => service.address,
    stormInit,
  ),
);
await service.start();
process.send?.({ address: service.address });
process.on("disconnect", () => service.stop().then(() => process.exit(0)));
