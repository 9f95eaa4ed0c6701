/**
 * The protobuf codec. Protobuf's binary form does not say which message it holds, so the codec
 * passes bytes through and the endpoint, which knows its schemas (a contract made by
 * `contractFromService`), encodes and decodes them. Registered schemas also let it encode
 * messages handed to `client.call` directly.
 */
import { isMessage, type Registry, toBinary } from "@bufbuild/protobuf";
import { type Codec, type CodecRegistry, defaultCodecs } from "tsmicro/plugin";

/** The content type of protobuf bodies on tsmicro transports (gRPC's `application/grpc`). */
export const PROTOBUF_CONTENT_TYPE = "application/protobuf";

export interface ProtobufCodecOptions {
  /**
   * Schemas by which `encode` turns a message object (one with `$typeName`) into bytes, for
   * calls made without a contract. @default none: only bytes and contract endpoints
   */
  registry?: Registry;
}

export function createProtobufCodec(options: ProtobufCodecOptions = {}): Codec {
  const registry = options.registry;
  return {
    contentType: PROTOBUF_CONTENT_TYPE,
    encode(value) {
      if (value instanceof Uint8Array) return value;
      const typeName = (value as { $typeName?: unknown } | null)?.$typeName;
      const schema = typeof typeName === "string" ? registry?.getMessage(typeName) : undefined;
      if (schema !== undefined && isMessage(value, schema)) return toBinary(schema, value);
      throw new TypeError(
        typeof typeName === "string"
          ? `protobuf codec: message type ${typeName} is not in the codec's registry; use a contract from contractFromService or pass the schema's file in { registry }`
          : "protobuf codec: expected bytes or a protobuf message; use a contract from contractFromService",
      );
    },
    // Bytes as they came: the endpoint's contract knows the schema (see contract.ts).
    decode: (bytes) => bytes,
  };
}

/** `base` (JSON and MessagePack by default) with the protobuf codec added. */
export function withProtobuf(
  base: CodecRegistry = defaultCodecs(),
  options?: ProtobufCodecOptions,
): CodecRegistry {
  return base.with(createProtobufCodec(options));
}
