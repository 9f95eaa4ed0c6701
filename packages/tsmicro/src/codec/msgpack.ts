import { Packr } from "msgpackr";
import type { Codec } from "./codec.js";

/** MessagePack through msgpackr; plain maps only (no records), so any msgpack peer can read it. */
export function createMsgpackCodec(): Codec {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  return {
    contentType: "application/msgpack",
    encode(value) {
      return value === undefined ? new Uint8Array(0) : packr.pack(value);
    },
    decode(bytes) {
      if (bytes.length === 0) return {};
      return packr.unpack(bytes);
    },
  };
}
