/**
 * The gRPC transport: `newService({ transport: createGrpcTransport() })` serves a tsmicro service
 * over gRPC, and `newClient({ transport: createGrpcTransport() })` calls gRPC servers (grpc-js,
 * grpc-go, ...). Endpoints map to paths one to one: `pkg.Service.Method` ↔ `/pkg.Service/Method`.
 */
import { checkTlsOptions, type Transport } from "tsmicro/plugin";
import { dialGrpc } from "./connection.js";
import { DEFAULT_GRPC_OPTIONS, type GrpcTransportOptions, type ResolvedGrpcOptions } from "./options.js";
import { listenGrpc } from "./server.js";

export function createGrpcTransport(options: GrpcTransportOptions = {}): Transport {
  const o: ResolvedGrpcOptions = { ...DEFAULT_GRPC_OPTIONS, ...stripUndefined(options) };
  if (o.tls !== undefined) checkTlsOptions(o.tls, "grpc transport");
  return {
    name: "grpc",
    dial: (address, dialOptions) => dialGrpc(address, dialOptions, o),
    listen: (address, handler, streamHandler) => listenGrpc(address, handler, streamHandler, o),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
