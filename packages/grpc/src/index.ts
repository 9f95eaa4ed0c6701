/** @tsmicro/grpc: gRPC (HTTP/2) for tsmicro — serve services to gRPC clients, call gRPC servers. */
export { encodeTimeout, parseTimeout } from "./metadata.js";
export { DEFAULT_GRPC_OPTIONS, type GrpcTlsOptions, type GrpcTransportOptions } from "./options.js";
export {
  decodeGrpcMessage,
  ERROR_TRAILER,
  encodeGrpcMessage,
  GrpcStatus,
  grpcStatusOf,
  microCodeOf,
} from "./status.js";
export { createGrpcTransport } from "./transport.js";
