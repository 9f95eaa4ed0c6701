// @grpc/grpc-js unary echo server on 127.0.0.1, bytes passthrough.
import grpc from "@grpc/grpc-js";
import { echoService } from "../lib/grpc-echo.mjs";
import { exitWithParent, report } from "../lib/stats.mjs";

const server = new grpc.Server();
server.addService(echoService, { Echo: (call, callback) => callback(null, call.request) });
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  report({ type: "ready", address: `127.0.0.1:${port}` });
});
exitWithParent(() => server.forceShutdown());
