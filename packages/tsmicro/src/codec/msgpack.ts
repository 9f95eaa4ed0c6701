import { Packr } from "msgpackr";
import { badRequest } from "../errors.js";
import type { Codec } from "./codec.js";

/**
 * MessagePack through msgpackr; plain maps only (no records), so any msgpack peer can read it.
 * Decoding yields only what a JSON caller could send (objects, arrays, strings, numbers,
 * booleans, null) plus msgpack's own binary type: msgpackr's extensions (RegExp, Error, Set,
 * Map, BigInt, typed arrays, Date, cyclic references) are refused with a 400, so a peer cannot
 * hand a handler a regular expression to run or a graph that never ends.
 */
export function createMsgpackCodec(): Codec {
  const packr = new Packr({
    useRecords: false,
    mapsAsObjects: true,
    // Cyclic graphs (the 0x69/0x70 extensions) throw in msgpackr itself.
    structuredClone: false,
    // 64-bit integers become numbers, as JSON.parse would make them.
    int64AsType: "number",
  });
  return {
    contentType: "application/msgpack",
    encode(value) {
      return value === undefined ? new Uint8Array(0) : packr.pack(value);
    },
    decode(bytes) {
      if (bytes.length === 0) return {};
      const value: unknown = packr.unpack(bytes);
      assertJsonLike(value);
      return value;
    },
  };
}

/** Walks the decoded value (iteratively: depth is the peer's choice) and refuses non-JSON types. */
function assertJsonLike(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const v = pending.pop();
    if (v === null) continue;
    switch (typeof v) {
      case "string":
      case "number":
      case "boolean":
        continue;
      case "object":
        break;
      default:
        throw refused(typeof v);
    }
    if (Array.isArray(v)) {
      for (const x of v) pending.push(x);
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      for (const k in v) pending.push((v as Record<string, unknown>)[k]);
      continue;
    }
    // msgpack's bin type: a Buffer (or Uint8Array), exactly, not another typed array.
    if (v instanceof Uint8Array && (proto === Uint8Array.prototype || proto === Buffer.prototype)) continue;
    throw refused((v as object).constructor?.name ?? "object");
  }
}

function refused(kind: string) {
  return badRequest(
    "tsmicro",
    `msgpack body holds a ${kind}; only JSON-like values (objects, arrays, strings, numbers, booleans, null, binary) are accepted`,
  );
}
