/**
 * Metadata on HTTP/2 headers. tsmicro metadata is `Record<string, string>`; a `-bin` key's
 * value is its base64 text, as on the wire (grpc-js hands those to its users as Buffers).
 * Deadlines travel as `grpc-timeout`; the tsmicro service name and call chain as
 * `tsmicro-service` and `tsmicro-chain`, which other gRPC peers ignore.
 */
import { badRequest } from "tsmicro";

export const SERVICE_HEADER = "tsmicro-service";
export const CHAIN_HEADER = "tsmicro-chain";

const RESERVED = new Set([
  "content-type",
  "te",
  "user-agent",
  "host",
  "content-length",
  "accept-encoding",
  "connection",
  SERVICE_HEADER,
  CHAIN_HEADER,
]);
const KEY = /^[0-9a-z_.-]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Metadata as request or response headers; a bad key or `-bin` value is a 400 naming it. */
export function metadataToHeaders(
  md: Readonly<Record<string, string>> | undefined,
  out: Record<string, string>,
): void {
  if (md === undefined) return;
  for (const key in md) {
    const value = md[key]!;
    if (!KEY.test(key) || key.startsWith("grpc-") || RESERVED.has(key)) {
      throw badRequest(
        "tsmicro",
        `metadata key "${key}" cannot be sent over gRPC (reserved or not [0-9a-z_.-])`,
      );
    }
    if (key.endsWith("-bin")) {
      if (!BASE64.test(value)) throw badRequest("tsmicro", `metadata "${key}" must be base64 (a -bin key)`);
    } else if (!/^[\x20-\x7e]*$/.test(value)) {
      throw badRequest("tsmicro", `metadata "${key}" must be printable ASCII (use a -bin key for bytes)`);
    }
    out[key] = value;
  }
}

/** User metadata from received headers: pseudo-headers, gRPC's own and transport headers left out. */
export function headersToMetadata(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const md: Record<string, string> = {};
  for (const key in headers) {
    if (key.startsWith(":") || key.startsWith("grpc-") || RESERVED.has(key) || key === "tsmicro-error-bin")
      continue;
    const v = headers[key];
    if (v === undefined) continue;
    md[key] = Array.isArray(v) ? v.join(",") : v;
  }
  return md;
}

/** `grpc-timeout` for `ms` milliseconds (at most 8 digits, per the spec). */
export function encodeTimeout(ms: number): string {
  const n = Math.max(0, Math.ceil(ms));
  if (n < 1e8) return `${n}m`;
  if (n / 1000 < 1e8) return `${Math.ceil(n / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(n / 3_600_000))}H`;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Milliseconds of a `grpc-timeout` value; undefined when absent; a 400 when malformed. */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value[0]! : value;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (m === null)
    throw badRequest("tsmicro", `grpc-timeout "${v}" is not 1-8 digits and a unit (H M S m u n)`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** `application/grpc[+x]` ↔ tsmicro content types: protobuf by default, `+json` is JSON. */
export function fromGrpcContentType(ct: string | undefined): string | undefined {
  if (ct === undefined || !ct.startsWith("application/grpc")) return undefined;
  const rest = ct.slice("application/grpc".length);
  if (rest === "" || rest.startsWith(";")) return "application/protobuf";
  if (!rest.startsWith("+")) return undefined;
  const sub = rest.slice(1).split(";")[0]!;
  return sub === "proto" ? "application/protobuf" : `application/${sub}`;
}

export function toGrpcContentType(contentType: string): string {
  if (contentType === "application/protobuf") return "application/grpc";
  return `application/grpc+${contentType.slice(contentType.indexOf("/") + 1)}`;
}

/** `/pkg.Service/Method` ↔ the tsmicro endpoint `pkg.Service.Method`. */
export function pathOf(endpoint: string): string {
  const i = endpoint.lastIndexOf(".");
  return i < 0 ? `/${endpoint}` : `/${endpoint.slice(0, i)}/${endpoint.slice(i + 1)}`;
}

export function endpointOf(path: string): string | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m === null ? undefined : `${m[1]}.${m[2]}`;
}
