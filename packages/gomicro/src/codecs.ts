/**
 * The codecs go-micro chooses by content type that tsmicro does not ship: raw bytes
 * (`application/octet-stream`) and protobuf in go-micro's proto-rpc envelope
 * (`application/proto-rpc`; the transport wraps and unwraps the envelope, the codec sees
 * the message bytes). `application/protobuf` is @tsmicro/protobuf's codec.
 */
import { type Codec, type CodecRegistry, createJsonCodec } from "tsmicro/plugin";
import { JSON_RPC, PROTO_RPC } from "./wire/envelope.js";

export const OCTET_STREAM = "application/octet-stream";
export { JSON_RPC, PROTO_RPC };

function bytesOnly(contentType: string, inner?: Codec): Codec {
  return {
    contentType,
    encode(value) {
      if (value instanceof Uint8Array) return value;
      if (inner !== undefined) return inner.encode(value);
      throw new TypeError(`${contentType} codec: expected bytes (a Uint8Array), got ${typeof value}`);
    },
    // Bytes as they came: the handler (or the caller) knows what they are.
    decode: (bytes) => bytes,
  };
}

/** `application/octet-stream`: bytes in, bytes out (go-micro's `bytes.Frame`). */
export function createOctetStreamCodec(): Codec {
  return bytesOnly(OCTET_STREAM);
}

/**
 * `application/proto-rpc`: protobuf bytes, encoding messages with `protobuf` when given (the
 * `application/protobuf` codec of @tsmicro/protobuf, which knows registered schemas).
 */
export function createProtoRpcCodec(protobuf?: Codec): Codec {
  return bytesOnly(PROTO_RPC, protobuf);
}

/**
 * `application/json-rpc`: JSON bodies; the transport wraps them in go-micro's JSON-RPC envelope
 * (`{"method","params":[body],"id"}`) and unwraps the answer's `result` or `error`.
 */
export function createJsonRpcCodec(): Codec {
  return { ...createJsonCodec(), contentType: JSON_RPC };
}

/**
 * `base` with octet-stream, JSON-RPC and proto-rpc added (proto-rpc encoding through base's
 * `application/protobuf` codec when it has one: pass `withProtobuf()` to have it).
 */
export function withGoMicroCodecs(base: CodecRegistry): CodecRegistry {
  const protobuf = base.has("application/protobuf") ? base.get("application/protobuf") : undefined;
  return base.with(createOctetStreamCodec()).with(createJsonRpcCodec()).with(createProtoRpcCodec(protobuf));
}
