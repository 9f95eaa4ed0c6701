/**
 * A process serving every HTTP-facing listener the security fuzzer targets: the health probe,
 * the metrics listener, the HTTP broker's subscriber endpoint and a gRPC service. Prints one
 * JSON line with their addresses, then serves until killed. Run as its own process so a crash
 * is seen as an exit, not as a failure inside the test runner.
 */
import { createGrpcTransport } from "@tsmicro/grpc";
import { createHealthServer } from "@tsmicro/health";
import { createMetrics } from "@tsmicro/metrics";
import { Registry } from "prom-client";
import { createMemoryRegistry, newService } from "tsmicro";
import { createHttpBroker } from "tsmicro/plugin";

class Echo {
  async echo(_ctx: unknown, req: unknown) {
    return req;
  }
}

const registry = createMemoryRegistry();
const broker = createHttpBroker({ registry });
const service = newService({ name: "fuzzed", registry, broker }).handle(new Echo());
await service.start();
await broker.subscribe("fuzz.topic", async () => {});
const grpc = newService({
  name: "fuzzed-grpc",
  registry,
  transport: createGrpcTransport(),
}).handle(new Echo());
await grpc.start();
const health = await createHealthServer(service, { address: "127.0.0.1:0" });
const metrics = createMetrics({ register: new Registry() });
const metricsServer = await metrics.serve({ address: "127.0.0.1:0" });
const [subscriber] = (await registry.listServices()).filter((s) => s.name.includes("fuzz.topic"));
const brokerNode = (await registry.getService(subscriber!.name))[0]!.nodes[0]!;
process.stdout.write(
  `${JSON.stringify({
    health: health.address,
    metrics: metricsServer.address,
    broker: brokerNode.address,
    brokerPath: brokerNode.metadata.path,
    grpc: grpc.address,
  })}\n`,
);
