// @grpc/grpc-js server for the streaming benchmark, bytes passthrough.
import grpc from "@grpc/grpc-js";
import { exitWithParent, report } from "../lib/stats.mjs";
import { answerCpuQueries, benchService, parseDownload } from "./services.mjs";

const server = new grpc.Server();
server.addService(benchService, {
  Echo: (call, callback) => callback(null, call.request),
  Download: (call) => {
    const { count, size } = parseDownload(call.request);
    const chunk = Buffer.alloc(size, 0x61);
    let i = 0;
    let cancelled = false;
    call.on("cancelled", () => {
      cancelled = true;
    });
    // Write while the stream takes more; wait for "drain" when it does not (backpressure).
    const pump = () => {
      while (i < count && !cancelled) {
        i++;
        if (!call.write(chunk)) return call.once("drain", pump);
      }
      if (!cancelled) call.end();
    };
    pump();
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  report({ type: "ready", address: `127.0.0.1:${port}` });
});
answerCpuQueries();
exitWithParent(() => server.forceShutdown());
