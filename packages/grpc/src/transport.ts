/**
 * The gRPC transport: `newService({ transport: createGrpcTransport() })` serves a tsmicro service
 * over gRPC, and `newClient({ transport: createGrpcTransport() })` calls gRPC servers (grpc-js,
 * grpc-go, ...). Endpoints map to paths one to one: `pkg.Service.Method` ↔ `/pkg.Service/Method`.
 */
import { checkTlsOptions, type Transport } from "tsmicro/plugin";
import { dialGrpc } from "./connection.js";
import { type GrpcTransportOptions, resolveGrpcOptions } from "./options.js";
import { listenGrpc } from "./server.js";

export function createGrpcTransport(options: GrpcTransportOptions = {}): Transport {
  const o = resolveGrpcOptions(options);
  if (o.tls !== undefined) checkTlsOptions(o.tls, "grpc transport");
  return {
    name: "grpc",
    dial: (address, dialOptions) => dialGrpc(address, dialOptions, o),
    listen: (address, handler, streamHandler) => listenGrpc(address, handler, streamHandler, o),
  };
}
