import type { Codec } from "./codec.js";

/** JSON, the default codec. `undefined` encodes as an empty body and decodes back to `{}`. */
export function createJsonCodec(): Codec {
  return {
    contentType: "application/json",
    encode(value) {
      return value === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(value), "utf8");
    },
    decode(bytes) {
      if (bytes.length === 0) return {};
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      return JSON.parse(buf.toString("utf8"));
    },
  };
}
