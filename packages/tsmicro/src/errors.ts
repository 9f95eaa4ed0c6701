/**
 * MicroError: the one error class that crosses the wire, after go-micro's `errors.Error`
 * (`id`, `code`, `detail`, `status`) plus a `retryable` flag the client's retry logic reads
 * and the call `chain` the error travelled through.
 */

const BRAND = Symbol.for("tsmicro.MicroError");

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
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? "Unknown";
}

export interface MicroErrorInit {
  /** Who raised it: usually the service name (go-micro's `Id`). */
  id: string;
  /** HTTP-style code: 400, 404, 408, 500, ... */
  code: number;
  /** What failed, where and why, for a person. */
  detail: string;
  /** Text of the code; derived from `code` when omitted. */
  status?: string;
  /** Whether the client may retry the call on another attempt. Default: by code (408, 429, 502, 503, 504). */
  retryable?: boolean;
  /** Hops (`service.endpoint@node`) the failing call passed through. */
  chain?: readonly string[];
  cause?: unknown;
}

const RETRYABLE_CODES = new Set([408, 429, 502, 503, 504]);

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

export const badRequest = helper(400);
export const unauthorized = helper(401);
export const forbidden = helper(403);
export const notFound = helper(404);
export const methodNotAllowed = helper(405);
export const timeout = helper(408);
export const conflict = helper(409);
export const payloadTooLarge = helper(413);
export const tooManyRequests = helper(429);
export const internalServerError = helper(500);
export const serviceUnavailable = helper(503);

/** Code 499: the caller cancelled (no HTTP equivalent; nginx's convention). */
export const cancelled = helper(499);

/**
 * The error for an aborted signal: its reason when that is a MicroError (a deadline, a
 * cancel), otherwise a 499 — `controller.abort()` with no reason means "the caller cancelled".
 */
export function abortError(reason: unknown, id = "tsmicro"): MicroError {
  if (reason instanceof MicroError) return reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return cancelled(id, why ? `the caller cancelled: ${why}` : "the caller cancelled", { cause: reason });
}

export function isMicroError(value: unknown): value is MicroError {
  return value instanceof MicroError;
}
