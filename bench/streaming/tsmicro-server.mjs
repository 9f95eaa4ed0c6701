// tsmicro server for the streaming benchmark, on TCP or gRPC (config.transport), bytes passthrough.
import { createGrpcTransport } from "@tsmicro/grpc";
import { withProtobuf } from "@tsmicro/protobuf";
import { createMemoryRegistry, defineContract, implement, newService, serverStream, unary } from "tsmicro";
import { childConfig, exitWithParent, report } from "../lib/stats.mjs";
import { answerCpuQueries, parseDownload } from "./services.mjs";

const { transport } = childConfig();
const Echo = defineContract("bench.Echo", { Echo: unary() });
const Stream = defineContract("bench.Stream", { Download: serverStream() });

const service = newService({
  name: "bench",
  registry: createMemoryRegistry(),
  codecs: withProtobuf(),
  transport: transport === "grpc" ? createGrpcTransport() : undefined,
  trackInflight: false,
})
  .handle(implement(Echo, { Echo: async (_ctx, body) => body }))
  .handle(
    implement(Stream, {
      async *Download(_ctx, req) {
        const { count, size } = parseDownload(req);
        const chunk = Buffer.alloc(size, 0x61);
        for (let i = 0; i < count; i++) yield chunk;
      },
    }),
  );
await service.start();
report({ type: "ready", address: service.address });
answerCpuQueries();
exitWithParent(() => service.stop());
