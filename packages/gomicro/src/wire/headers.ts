/**
 * go-micro's RPC headers (transport/headers in go-micro v4) and their mapping to tsmicro's
 * request headers: service, endpoint, content type, the caller's remaining time (`Timeout`,
 * nanoseconds), metadata (every other header) and errors (`Micro-Error`, go-micro's error JSON).
 */
import { MicroError } from "tsmicro";
import type { RequestHeaders } from "tsmicro/plugin";
import { checkHeaderValue } from "./http1.js";

export const H = {
  id: "Micro-Id",
  service: "Micro-Service",
  endpoint: "Micro-Endpoint",
  method: "Micro-Method",
  error: "Micro-Error",
  stream: "Micro-Stream",
  topic: "Micro-Topic",
  contentType: "Content-Type",
  timeout: "Timeout",
  /** tsmicro's call chain; go-micro passes it along as metadata. */
  chain: "Micro-Chain",
} as const;

/** The end of a stream, in either direction, travels as this error text. */
export const END_OF_STREAM = "EOS";

/** go-micro's server assumes this content type when a request has none. */
export const GO_MICRO_DEFAULT_CONTENT_TYPE = "application/protobuf";

/** Headers that are part of the protocol (or of HTTP), never metadata. */
const RESERVED = new Set(
  [
    "Host",
    "Content-Length",
    "Content-Type",
    "Accept",
    "Accept-Encoding",
    "User-Agent",
    "Connection",
    "Transfer-Encoding",
    "Timeout",
    "Local",
    "Remote",
    ...Object.values(H),
  ].map((h) => h.toLowerCase()),
);

const isReserved = (key: string) => {
  const k = key.toLowerCase();
  return RESERVED.has(k) || (k.startsWith("x-micro-") && RESERVED.has(k.slice(2)));
};

/** The headers of a request (or a stream's first message) tsmicro sends to a go-micro server. */
export function requestHeadersOut(h: RequestHeaders, id: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.metadata ?? {})) {
    if (isReserved(k)) continue;
    checkHeaderValue(k, v);
    out[k] = v;
  }
  out[H.contentType] = h.contentType;
  out.Accept = h.contentType;
  out[H.id] = id;
  out[H.service] = h.service;
  out[H.endpoint] = h.endpoint;
  out[H.method] = h.endpoint;
  if (h.timeoutMs !== undefined) out[H.timeout] = String(Math.max(1, Math.round(h.timeoutMs)) * 1_000_000);
  if (h.chain && h.chain.length > 0) out[H.chain] = encodeURIComponent(JSON.stringify(h.chain));
  return out;
}

const header = (headers: Record<string, string>, key: string) =>
  headers[key] || headers[`X-${key}`] || undefined;

/** tsmicro's request headers of a message a go-micro client sent; metadata keys lower-cased. */
export function requestHeadersIn(headers: Record<string, string>): RequestHeaders {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!isReserved(k)) metadata[k.toLowerCase()] = v;
  const out: RequestHeaders = {
    service: header(headers, H.service) ?? "",
    endpoint: header(headers, H.endpoint) ?? header(headers, H.method) ?? "",
    contentType: headers[H.contentType] || GO_MICRO_DEFAULT_CONTENT_TYPE,
    metadata,
  };
  const ns = Number(headers[H.timeout]);
  if (headers[H.timeout] !== undefined && Number.isFinite(ns) && ns > 0)
    out.timeoutMs = Math.max(1, Math.ceil(ns / 1_000_000));
  const chain = headers[H.chain];
  if (chain) {
    try {
      const v = JSON.parse(decodeURIComponent(chain));
      if (Array.isArray(v)) out.chain = v.filter((x): x is string => typeof x === "string");
    } catch {
      // A chain that does not parse is dropped, not fatal: it is only for diagnostics.
    }
  }
  return out;
}

/** go-micro's error JSON ({id, code, detail, status}), safe as a header value (non-ASCII escaped). */
export function errorHeader(err: MicroError): string {
  const o: Record<string, unknown> = { id: err.id, code: err.code, detail: err.detail, status: err.status };
  if (err.chain.length > 0) o.chain = err.chain;
  return JSON.stringify(o).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The MicroError a `Micro-Error` value stands for: go-micro's JSON, or plain text (code 500). */
export function errorFromHeader(value: string, id: string): MicroError {
  try {
    const o = JSON.parse(value);
    // go-micro's errors.Parse leaves code 0 for errors made without one: treat those as 500.
    if (typeof o === "object" && o !== null && typeof o.code === "number")
      return MicroError.parse({ ...o, code: o.code || 500 });
  } catch {}
  return new MicroError({ id, code: 500, detail: value });
}
