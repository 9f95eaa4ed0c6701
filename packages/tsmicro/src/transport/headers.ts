/**
 * Request and response headers on the TCP wire: compact JSON with short keys, validated on
 * the way in so a hostile peer gets a 400 naming the bad field, never a crash.
 */
import { badRequest } from "../errors.js";
import { MAX_TIMER_MS } from "../util/deadline.js";
import type { RequestHeaders } from "./transport.js";

/** Limits on what a peer may send in one header. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
export const DEFAULT_MAX_METADATA_ENTRIES = 128;
const MAX_CHAIN = 1024;
/**
 * Longest request timeout a server honours, in ms: Node's timers overflow past 2^31 - 1 and
 * would fire after 1 ms (with a warning per request), so a longer one is clamped to the
 * timer cap (util/deadline.ts) as it is decoded.
 */
export const MAX_TIMEOUT_MS = MAX_TIMER_MS;

/** The constant start of the header per (service, endpoint, content type): a few calls repeat endlessly. */
const prefixes = new Map<string, string>();
const MAX_PREFIXES = 4096;

function prefixOf(h: RequestHeaders): string {
  const key = `${h.service}\u0000${h.endpoint}\u0000${h.contentType}`;
  let p = prefixes.get(key);
  if (p === undefined) {
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    p = `{"s":${JSON.stringify(h.service)},"e":${JSON.stringify(h.endpoint)},"c":${JSON.stringify(h.contentType)}`;
    prefixes.set(key, p);
  }
  return p;
}

export function encodeRequestHeaders(h: RequestHeaders): string {
  // Hand-assembled: JSON.stringify of a fresh object is the hot path's largest cost otherwise.
  let s = prefixOf(h);
  if (h.timeoutMs !== undefined && Number.isFinite(h.timeoutMs))
    s += `,"t":${Math.max(0, Math.ceil(h.timeoutMs))}`;
  if (h.metadata !== undefined) {
    for (const _ in h.metadata) {
      s += `,"m":${JSON.stringify(h.metadata)}`;
      break;
    }
  }
  if (h.chain !== undefined && h.chain.length > 0) s += `,"h":${JSON.stringify(h.chain)}`;
  return s + "}";
}

export interface HeaderLimits {
  maxHeaderBytes: number;
  maxMetadataEntries: number;
}

export function decodeRequestHeaders(raw: Buffer, limits: HeaderLimits): RequestHeaders {
  if (raw.length > limits.maxHeaderBytes) {
    throw badRequest(
      "tsmicro",
      `request header of ${raw.length} bytes exceeds the limit of ${limits.maxHeaderBytes}`,
    );
  }
  let o: unknown;
  try {
    o = JSON.parse(raw.toString("utf8"));
  } catch {
    throw badRequest("tsmicro", "request header is not valid JSON");
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw badRequest("tsmicro", "request header is not a JSON object");
  }
  const h = o as Record<string, unknown>;
  if (typeof h.s !== "string" || h.s.length === 0)
    throw badRequest("tsmicro", "request header lacks the service name");
  if (typeof h.e !== "string" || h.e.length === 0)
    throw badRequest("tsmicro", "request header lacks the endpoint");
  if (typeof h.c !== "string") throw badRequest("tsmicro", "request header lacks the content type");
  const out: RequestHeaders = { service: h.s, endpoint: h.e, contentType: h.c };
  if (h.t !== undefined) {
    if (typeof h.t !== "number" || !(h.t >= 0))
      throw badRequest("tsmicro", "request header timeout is not a number ≥ 0");
    out.timeoutMs = Math.min(h.t, MAX_TIMEOUT_MS);
  }
  if (h.m !== undefined) out.metadata = decodeMetadata(h.m, limits.maxMetadataEntries);
  if (h.h !== undefined) {
    if (!Array.isArray(h.h) || h.h.length > MAX_CHAIN || !h.h.every((x) => typeof x === "string")) {
      throw badRequest("tsmicro", `request header chain is not a list of at most ${MAX_CHAIN} strings`);
    }
    out.chain = h.h as string[];
  }
  return out;
}

function decodeMetadata(m: unknown, maxEntries: number): Record<string, string> {
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    throw badRequest("tsmicro", "request metadata is not an object of strings");
  }
  const entries = Object.entries(m);
  if (entries.length > maxEntries) {
    throw badRequest(
      "tsmicro",
      `request metadata has ${entries.length} entries, over the limit of ${maxEntries}`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v !== "string") throw badRequest("tsmicro", `request metadata "${key}" is not a string`);
    // Keys are case-insensitive, lower-cased as gRPC does: "Authorization" is "authorization",
    // so a check on one spelling cannot be walked around with another.
    const k = key.toLowerCase();
    // Assigning it would be silently ignored (a string cannot become a prototype): refuse it.
    if (k === "__proto__") throw badRequest("tsmicro", `request metadata key "__proto__" is not allowed`);
    if (Object.hasOwn(out, k))
      throw badRequest("tsmicro", `request metadata key "${k}" appears twice (keys are case-insensitive)`);
    out[k] = v;
  }
  return out;
}

export function encodeResponseHeaders(contentType: string): string {
  return contentType === "application/json" ? "" : `{"c":${JSON.stringify(contentType)}}`;
}

export function decodeResponseContentType(raw: Buffer): string {
  if (raw.length === 0) return "application/json";
  try {
    const o = JSON.parse(raw.toString("utf8")) as { c?: unknown };
    return typeof o?.c === "string" ? o.c : "application/json";
  } catch {
    return "application/json";
  }
}
