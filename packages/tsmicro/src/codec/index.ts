import { CodecRegistry } from "./codec.js";
import { createJsonCodec } from "./json.js";
import { createMsgpackCodec } from "./msgpack.js";

export { type Codec, CodecRegistry } from "./codec.js";
export { createJsonCodec } from "./json.js";
export { createMsgpackCodec } from "./msgpack.js";

/** JSON and MessagePack. */
export function defaultCodecs(): CodecRegistry {
  return new CodecRegistry([createJsonCodec(), createMsgpackCodec()]);
}
