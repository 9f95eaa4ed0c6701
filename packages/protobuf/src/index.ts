/** @tsmicro/protobuf: Protocol Buffers for tsmicro, on @bufbuild/protobuf. */
export {
  createProtobufCodec,
  PROTOBUF_CONTENT_TYPE,
  type ProtobufCodecOptions,
  withProtobuf,
} from "./codec.js";
export { contractFromService, type ProtoEndpoints, serde } from "./contract.js";
