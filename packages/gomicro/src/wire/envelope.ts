/**
 * go-micro's RPC envelopes. A go-micro client sends `application/json` as JSON-RPC
 * (`{"method","params":[body],"id"}`, answered with `{"id","result","error"}`) to nodes that
 * do not announce a `protocol` in their metadata, and `application/protobuf` as proto-rpc
 * (two length-prefixed frames: a `Request{service_method, seq}` header, then the body; the
 * answer a `Response{service_method, seq, error}` header, then the body). tsmicro servers
 * unwrap both to the plain content type and wrap the answer back, so handlers only ever see
 * the body; a tsmicro client calling with `application/proto-rpc` or `application/json-rpc`
 * wraps and unwraps the same way.
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { MicroError } from "tsmicro";

export const JSON_RPC = "application/json-rpc";
export const PROTO_RPC = "application/proto-rpc";
const PROTOBUF = "application/protobuf";

export interface Unwrapped {
  contentType: string;
  body: Uint8Array;
  /** Wraps the handler's answer for the caller. */
  wrap(body: Uint8Array | undefined, error?: string): Uint8Array;
}

export function unwrapRequest(contentType: string, body: Uint8Array): Unwrapped | undefined {
  if (contentType === PROTO_RPC) return unwrapProtoRpc(body);
  if (contentType !== JSON_RPC) return undefined;
  let req: { id?: unknown; params?: unknown };
  try {
    req = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch (err) {
    throw new MicroError({
      id: "go.micro.server",
      code: 400,
      detail: `JSON-RPC request does not parse: ${(err as Error).message}`,
    });
  }
  const params = Array.isArray(req.params) ? req.params[0] : req.params;
  const id = req.id ?? null;
  return {
    contentType: "application/json",
    body: params === undefined ? new Uint8Array() : Buffer.from(JSON.stringify(params)),
    wrap: (result, error) =>
      Buffer.from(
        `{"id":${JSON.stringify(String(id))},"result":${result && result.length > 0 ? Buffer.from(result).toString("utf8") : "null"},"error":${error === undefined ? "null" : JSON.stringify(error)}}\n`,
      ),
  };
}

/** A proto-rpc frame: a 4-byte big-endian length, then that many bytes. */
function frames(body: Uint8Array, what: string): [Uint8Array, Uint8Array] {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < 2; i++) {
    if (at + 4 > b.length) throw badEnvelope(`${what}: frame ${i + 1} has no length (${b.length} bytes)`);
    const n = b.readUInt32BE(at);
    if (at + 4 + n > b.length)
      throw badEnvelope(`${what}: frame ${i + 1} says ${n} bytes, ${b.length - at - 4} follow`);
    out.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return [out[0]!, out[1]!];
}

function frame(parts: Uint8Array[]): Uint8Array {
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, Buffer.from(p));
  }
  return Buffer.concat(out);
}

function badEnvelope(detail: string): MicroError {
  return new MicroError({ id: "go.micro.server", code: 400, detail: `proto-rpc ${detail}` });
}

/** The envelope header: service_method (1), seq (2, fixed64) and, on answers, error (3). */
function header(method: string, seq: bigint, error?: string): Uint8Array {
  const w = new BinaryWriter();
  if (method !== "") w.tag(1, WireType.LengthDelimited).string(method);
  if (seq !== 0n) w.tag(2, WireType.Bit64).fixed64(seq);
  if (error) w.tag(3, WireType.LengthDelimited).string(error);
  return w.finish();
}

function readHeader(bytes: Uint8Array): { method: string; seq: bigint; error: string } {
  const r = new BinaryReader(bytes);
  const h = { method: "", seq: 0n, error: "" };
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field === 1 && type === WireType.LengthDelimited) h.method = r.string();
    else if (field === 2 && type === WireType.Bit64) h.seq = BigInt(r.fixed64());
    else if (field === 3 && type === WireType.LengthDelimited) h.error = r.string();
    else r.skip(type, field);
  }
  return h;
}

function unwrapProtoRpc(body: Uint8Array): Unwrapped {
  let req: { method: string; seq: bigint };
  let payload: Uint8Array;
  try {
    const [h, p] = frames(body, "request");
    req = readHeader(h);
    payload = p;
  } catch (err) {
    throw err instanceof MicroError ? err : badEnvelope(`request header: ${(err as Error).message}`);
  }
  return {
    contentType: PROTOBUF,
    body: payload,
    wrap: (result, error) => frame([header(req.method, req.seq, error), result ?? new Uint8Array()]),
  };
}

/** A tsmicro client's proto-rpc request: the header frame, then the body frame. */
export function wrapProtoRpcRequest(method: string, body: Uint8Array): Uint8Array {
  return frame([header(method, 0n), body]);
}

/** The body of a proto-rpc answer; its header's error, if any, as a MicroError. */
export function unwrapProtoRpcResponse(body: Uint8Array, service: string): Uint8Array {
  let h: { error: string };
  let payload: Uint8Array;
  try {
    const [hb, p] = frames(body, "response");
    h = readHeader(hb);
    payload = p;
  } catch (err) {
    throw MicroError.from(err, "go.micro.client", 502);
  }
  if (h.error) throw MicroError.from(MicroError.parse(h.error), service);
  return payload;
}

/** A tsmicro client's JSON-RPC request: go-micro's `{"method","params":[body],"id"}`. */
export function wrapJsonRpcRequest(method: string, body: Uint8Array, id: string): Uint8Array {
  const params = body.length > 0 ? Buffer.from(body).toString("utf8") : "null";
  return Buffer.from(
    `{"method":${JSON.stringify(method)},"params":[${params}],"id":${JSON.stringify(Number(id))}}`,
  );
}

/** The `result` of a JSON-RPC answer as JSON bytes; its `error`, if any, as a MicroError. */
export function unwrapJsonRpcResponse(body: Uint8Array, service: string): Uint8Array {
  let rsp: { result?: unknown; error?: unknown };
  try {
    rsp = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch (err) {
    throw new MicroError({
      id: "go.micro.client",
      code: 502,
      detail: `JSON-RPC answer does not parse: ${(err as Error).message}`,
    });
  }
  if (rsp === null || typeof rsp !== "object") {
    throw new MicroError({ id: "go.micro.client", code: 502, detail: "JSON-RPC answer is not an object" });
  }
  if (rsp.error !== undefined && rsp.error !== null && rsp.error !== "") {
    throw MicroError.from(MicroError.parse(String(rsp.error)), service);
  }
  return Buffer.from(JSON.stringify(rsp.result ?? null));
}
