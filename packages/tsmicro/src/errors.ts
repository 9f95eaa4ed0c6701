/**
 * MicroError: the one error class that crosses the wire, after go-micro's `errors.Error`
 * (`id`, `code`, `detail`, `status`) plus a `retryable` flag the client's retry logic reads
 * and the call `chain` the error travelled through.
 */

const BRAND = Symbol.for("tsmicro.MicroError");

/**
 * The codes tsmicro raises, named after go-micro's error helpers and the HTTP statuses they
 * carry. A MicroError's `code` is one of these or any other HTTP-style number an application
 * chooses.
 */
export const Code = Object.freeze({
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Timeout: 408,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  /** The caller cancelled (no HTTP equivalent; nginx's convention). */
  Cancelled: 499,
  InternalServerError: 500,
  NotImplemented: 501,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
  /** A call chain nested deeper than `maxCallDepth` (a loop between services). */
  LoopDetected: 508,
} as const);

/** HTTP-style status texts for the codes tsmicro uses. */
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  508: "Loop Detected",
};

export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? "Unknown";
}

export interface MicroErrorInit {
  /**
   * Who raised it (go-micro's `Id`): the name of the service whose code or whose side of a
   * call produced the error — the called service for what its handler or server raised, the
   * callee for what the client raised about a call to it (timeouts, unreachable nodes, bad
   * responses) — and `"tsmicro"` for what the framework raised outside any one service
   * (a bad address, a context deadline). Never a hop or an endpoint: those are in `chain`.
   */
  id: string;
  /** HTTP-style code: 400, 404, 408, 500, ... */
  code: number;
  /** What failed, where and why, for a person. */
  detail: string;
  /** Text of the code; derived from `code` when omitted. */
  status?: string;
  /** Whether the client may retry the call on another attempt. Default: by code (408, 429, 502, 503, 504). */
  retryable?: boolean;
  /** Hops (`service.endpoint@node`, rendered) the failing call passed through. */
  chain?: readonly string[];
  cause?: unknown;
}

const RETRYABLE_CODES = new Set<number>([
  Code.Timeout,
  Code.TooManyRequests,
  Code.BadGateway,
  Code.ServiceUnavailable,
  Code.GatewayTimeout,
]);

/**
 * The one error class on the wire: `code` says what kind of failure, `detail` what, where
 * and why, `id` who raised it (see MicroErrorInit.id), `chain` the hops it passed through.
 */
export class MicroError extends Error {
  readonly id: string;
  readonly code: number;
  readonly detail: string;
  readonly status: string;
  readonly retryable: boolean;
  readonly chain: readonly string[];

  constructor(init: MicroErrorInit) {
    super(init.detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "MicroError";
    this.id = init.id;
    this.code = init.code;
    this.detail = init.detail;
    this.status = init.status ?? statusText(init.code);
    this.retryable = init.retryable ?? RETRYABLE_CODES.has(init.code);
    this.chain = init.chain ?? [];
    (this as unknown as Record<symbol, boolean>)[BRAND] = true;
  }

  /** Survives two copies of the package being loaded (connect-es does the same). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Normalises anything thrown into a MicroError; MicroErrors pass through unchanged. */
  static from(value: unknown, id = "tsmicro", code = 500): MicroError {
    if (value instanceof MicroError) return value;
    if (value instanceof Error) {
      return new MicroError({ id, code, detail: value.message || value.name, cause: value });
    }
    return new MicroError({ id, code, detail: String(value), cause: value });
  }

  /** Parses the wire form (JSON text or an object); anything unparsable becomes a 500 that quotes it. */
  static parse(raw: string | object): MicroError {
    let obj: unknown = raw;
    if (typeof raw === "string") {
      try {
        obj = JSON.parse(raw);
      } catch {
        return new MicroError({ id: "tsmicro", code: 500, detail: raw });
      }
    }
    if (typeof obj !== "object" || obj === null) {
      return new MicroError({ id: "tsmicro", code: 500, detail: String(raw) });
    }
    const o = obj as Record<string, unknown>;
    const code = typeof o.code === "number" && Number.isFinite(o.code) ? o.code : 500;
    return new MicroError({
      id: typeof o.id === "string" ? o.id : "tsmicro",
      code,
      detail: typeof o.detail === "string" ? o.detail : JSON.stringify(o),
      status: typeof o.status === "string" ? o.status : undefined,
      retryable: typeof o.retryable === "boolean" ? o.retryable : undefined,
      chain: Array.isArray(o.chain) ? o.chain.filter((h): h is string => typeof h === "string") : undefined,
    });
  }

  /** A copy with other fields (errors are immutable). */
  with(changes: Partial<MicroErrorInit>): MicroError {
    return new MicroError({ ...this.toJSON(), cause: this.cause, ...changes });
  }

  toJSON(): Required<Omit<MicroErrorInit, "cause">> {
    return {
      id: this.id,
      code: this.code,
      detail: this.detail,
      status: this.status,
      retryable: this.retryable,
      chain: this.chain,
    };
  }

  override toString(): string {
    const chain = this.chain.length > 0 ? ` [chain: ${this.chain.join(" -> ")}]` : "";
    return `MicroError ${this.code} ${this.status} (${this.id}): ${this.detail}${chain}`;
  }
}

function helper(code: number) {
  return (id: string, detail: string, options?: Partial<Omit<MicroErrorInit, "id" | "code" | "detail">>) =>
    new MicroError({ ...options, id, code, detail });
}

/** 400: the request is malformed (undecodable body, bad option, bad address). */
export const badRequest = helper(Code.BadRequest);
/** 401: no or bad credentials. */
export const unauthorized = helper(Code.Unauthorized);
/** 403: credentials that do not allow this call. */
export const forbidden = helper(Code.Forbidden);
/** 404: no such service, endpoint or node. */
export const notFound = helper(Code.NotFound);
/** 405: the endpoint exists but not for this kind of call. */
export const methodNotAllowed = helper(Code.MethodNotAllowed);
/** 408: a deadline passed (retryable). */
export const timeout = helper(Code.Timeout);
/** 409: the request conflicts with the current state. */
export const conflict = helper(Code.Conflict);
/** 413: a message or frame larger than the limit. */
export const payloadTooLarge = helper(Code.PayloadTooLarge);
/** 415: no codec for the content type. */
export const unsupportedMediaType = helper(Code.UnsupportedMediaType);
/** 429: a limit or queue is full (retryable). */
export const tooManyRequests = helper(Code.TooManyRequests);
/** 499: the caller cancelled (no HTTP equivalent; nginx's convention). */
export const cancelled = helper(Code.Cancelled);
/** 500: the handler or the framework failed. */
export const internalServerError = helper(Code.InternalServerError);
/** 501: the transport or server does not support this kind of call (streams over a unary transport). */
export const notImplemented = helper(Code.NotImplemented);
/** 502: an answer that cannot be decoded, or a connection lost mid-call (retryable). */
export const badGateway = helper(Code.BadGateway);
/** 503: no node to call, a node shutting down, a broker not connected (retryable). */
export const serviceUnavailable = helper(Code.ServiceUnavailable);
/** 504: an upstream gave up waiting (retryable). */
export const gatewayTimeout = helper(Code.GatewayTimeout);
/** 508: the call chain nested deeper than `maxCallDepth`. */
export const loopDetected = helper(Code.LoopDetected);

/**
 * The error for an aborted signal: its reason when that is a MicroError (a deadline, a
 * cancel), otherwise a 499 — `controller.abort()` with no reason means "the caller cancelled".
 */
export function abortError(reason: unknown, id = "tsmicro"): MicroError {
  if (reason instanceof MicroError) return reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return cancelled(id, why ? `the caller cancelled: ${why}` : "the caller cancelled", { cause: reason });
}

/** Whether `value` is a MicroError (from any copy of tsmicro). */
export function isMicroError(value: unknown): value is MicroError {
  return value instanceof MicroError;
}
