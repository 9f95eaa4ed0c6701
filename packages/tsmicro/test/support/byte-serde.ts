/** A one-byte binary wire format for contract tests: `{ n }` as the byte n. */
import type { Serde } from "../../src/contract/contract.js";

export type Msg = { n: number };

/** n as one byte; a plain value `{ n }` converts, `{ bad: true }` throws; back to plain as `{ n, plain: true }`. */
export const byte: Serde<Msg> = {
  encode: (m) => Uint8Array.of(m.n),
  decode: (b) => {
    if (b.length !== 1) throw new Error(`want 1 byte, got ${b.length}`);
    return { n: b[0]! };
  },
  fromValue: (v) => {
    if ((v as { bad?: boolean }).bad) throw new Error("not a message");
    return { n: Number((v as Msg).n) };
  },
  toValue: (m) => ({ n: m.n, plain: true }),
};

/** The same bytes without the plain-value converters. */
export const bytesOnly: Serde<Msg> = { encode: byte.encode, decode: byte.decode };

/** The format as an endpoint's wire option. */
export const byteWire = { contentType: "application/x-byte", request: byte, response: byte };
