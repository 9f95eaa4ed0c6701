/**
 * gRPC status codes and MicroError codes, both ways. One table: each gRPC status has one
 * MicroError code and back, so a status survives gRPC → tsmicro → gRPC unchanged. Between
 * tsmicro peers nothing is lost either way: the whole MicroError (id, code, detail, status,
 * retryable, chain) also travels in the `tsmicro-error-bin` trailer.
 *
 * | gRPC status             | MicroError code | also from MicroError codes |
 * |-------------------------|-----------------|----------------------------|
 * | 0  OK                   | 200             |                            |
 * | 1  CANCELLED            | 499             |                            |
 * | 2  UNKNOWN              | 520             | any other code             |
 * | 3  INVALID_ARGUMENT     | 400             | 415, 422                   |
 * | 4  DEADLINE_EXCEEDED    | 408             | 504                        |
 * | 5  NOT_FOUND            | 404             | 410                        |
 * | 6  ALREADY_EXISTS       | 409             |                            |
 * | 7  PERMISSION_DENIED    | 403             |                            |
 * | 8  RESOURCE_EXHAUSTED   | 429             | 413                        |
 * | 9  FAILED_PRECONDITION  | 412             | 508 (call chain too deep)  |
 * | 10 ABORTED              | 425             |                            |
 * | 11 OUT_OF_RANGE         | 416             |                            |
 * | 12 UNIMPLEMENTED        | 501             | 405                        |
 * | 13 INTERNAL             | 500             | 502                        |
 * | 14 UNAVAILABLE          | 503             |                            |
 * | 15 DATA_LOSS            | 507             |                            |
 * | 16 UNAUTHENTICATED      | 401             |                            |
 *
 * An unknown endpoint is 404 on tsmicro's TCP transport; over gRPC it goes out as UNIMPLEMENTED,
 * as gRPC requires (the MicroError in the trailer keeps 404 for tsmicro callers).
 */
import { MicroError } from "tsmicro";

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** MicroError code of each gRPC status (index = status). */
const TO_MICRO = [200, 499, 520, 400, 408, 404, 409, 403, 429, 412, 425, 416, 501, 500, 503, 507, 401];

const EXTRA_TO_GRPC: Record<number, GrpcStatus> = {
  415: GrpcStatus.INVALID_ARGUMENT,
  422: GrpcStatus.INVALID_ARGUMENT,
  504: GrpcStatus.DEADLINE_EXCEEDED,
  410: GrpcStatus.NOT_FOUND,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  508: GrpcStatus.FAILED_PRECONDITION,
  405: GrpcStatus.UNIMPLEMENTED,
  502: GrpcStatus.INTERNAL,
};

const FROM_MICRO = new Map<number, GrpcStatus>();
TO_MICRO.forEach((code, status) => {
  FROM_MICRO.set(code, status as GrpcStatus);
});
for (const [code, status] of Object.entries(EXTRA_TO_GRPC)) FROM_MICRO.set(Number(code), status);

/** The MicroError code for a gRPC status (UNKNOWN's 520 for a status outside 0–16). */
export function microCodeOf(status: number): number {
  return TO_MICRO[status] ?? 520;
}

/** The gRPC status for a MicroError code (UNKNOWN for a code the table does not name). */
export function grpcStatusOf(code: number): GrpcStatus {
  return FROM_MICRO.get(code) ?? GrpcStatus.UNKNOWN;
}

/** gRPC's status when a response has no grpc-status, from its HTTP status (gRPC's http-grpc-status-mapping). */
export function statusFromHttp(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** grpc-message: percent-encoding of UTF-8 bytes outside printable ASCII, and of `%`. */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const b of Buffer.from(message, "utf8")) {
    out +=
      b < 0x20 || b > 0x7e || b === 0x25
        ? `%${b.toString(16).toUpperCase().padStart(2, "0")}`
        : String.fromCharCode(b);
  }
  return out;
}

export function decodeGrpcMessage(raw: string): string {
  if (!raw.includes("%")) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 && i + 2 < raw.length + 0 && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(raw[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The trailer that carries the whole MicroError between tsmicro peers. */
export const ERROR_TRAILER = "tsmicro-error-bin";

/** Status trailers for an error. */
export function errorTrailers(err: MicroError, status = grpcStatusOf(err.code)): Record<string, string> {
  return {
    "grpc-status": String(status),
    "grpc-message": encodeGrpcMessage(err.detail),
    [ERROR_TRAILER]: Buffer.from(JSON.stringify(err), "utf8").toString("base64"),
  };
}

/**
 * The MicroError for a failed status: the peer's own MicroError when it sent one, else one
 * built from grpc-status and grpc-message, with `id` naming the service called.
 */
export function errorFromTrailers(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  id: string,
): MicroError {
  const bin = headers[ERROR_TRAILER];
  if (typeof bin === "string") {
    try {
      const parsed = MicroError.parse(Buffer.from(bin, "base64").toString("utf8"));
      if (grpcStatusOf(parsed.code) === status || status === GrpcStatus.UNIMPLEMENTED) return parsed;
    } catch {
      /* fall back to the status */
    }
  }
  const raw = headers["grpc-message"];
  const message = typeof raw === "string" ? decodeGrpcMessage(raw) : "";
  return new MicroError({
    id,
    code: microCodeOf(status),
    detail: message || `gRPC status ${status} without a message`,
  });
}
