/** What an HTTP request says about a call: its metadata and its deadline. */
import type { IncomingHttpHeaders } from "node:http";
import { badRequest } from "tsmicro";

/** Headers about the HTTP exchange itself, never forwarded as call metadata. */
const NOT_METADATA = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "content-type",
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "pragma",
  "cookie",
  "origin",
  "referer",
  "user-agent",
  "x-micro-timeout",
  "grpc-timeout",
]);

/** Request headers as call metadata: every header except the HTTP exchange's own (`sec-*`, `proxy-*` too). */
export function metadataFromHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const md: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_METADATA.has(name)) continue;
    if (name.startsWith("sec-") || name.startsWith("proxy-")) continue;
    md[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return md;
}

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * The call's timeout in ms from `x-micro-timeout` (milliseconds) or `grpc-timeout`
 * (gRPC's `<digits><H|M|S|m|u|n>`); undefined when neither is sent. A malformed value is a 400,
 * never silently ignored.
 */
export function timeoutFromHeaders(headers: IncomingHttpHeaders): number | undefined {
  const micro = headers["x-micro-timeout"];
  if (typeof micro === "string") {
    const ms = Number(micro.trim());
    if (!(Number.isFinite(ms) && ms > 0 && /^\d+(\.\d+)?$/.test(micro.trim()))) {
      throw badRequest(
        "gateway",
        `header x-micro-timeout must be a positive number of milliseconds, got "${micro}"`,
      );
    }
    return ms;
  }
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpc.trim());
    if (m === null || Number(m[1]) === 0) {
      throw badRequest(
        "gateway",
        `header grpc-timeout must be 1-8 digits and a unit (H, M, S, m, u, n), e.g. "500m", got "${grpc}"`,
      );
    }
    return Math.max(1, Math.ceil(Number(m[1]) * GRPC_UNITS[m[2]!]!));
  }
  return undefined;
}
