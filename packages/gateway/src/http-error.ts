/**
 * MicroError ⇄ HTTP: the status a gateway answers with, and the body: RFC 9457 problem details
 * (`application/problem+json`) carrying the MicroError's fields (`id`, `code`, `retryable`,
 * `chain`) as extension members, so that HTTP tools and tsmicro callers both read it.
 */
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import { MicroError } from "tsmicro";

/**
 * The HTTP status for a MicroError code: its own code when it is an HTTP error status
 * (400–599, including nginx's 499 for a caller that gave up), else 500.
 */
export function httpStatus(err: MicroError): number {
  return Number.isInteger(err.code) && err.code >= 400 && err.code <= 599 ? err.code : 500;
}

/** An RFC 9457 problem with the MicroError's fields. */
export interface Problem {
  type: "about:blank";
  /** The HTTP status's phrase (`Not Found`), as go-micro's `status`. */
  title: string;
  /** The HTTP status code. */
  status: number;
  detail: string;
  /** The request id, to find the call in logs. */
  instance?: string;
  id: string;
  code: number;
  retryable: boolean;
  chain: string[];
}

export interface ProblemOptions {
  /**
   * Hide what a caller should not see: a 5xx's detail becomes a generic sentence naming the
   * request id, and every error's chain of node ids is left out.
   */
  redact: boolean;
  requestId?: string | undefined;
}

export function problemOf(err: unknown, options: ProblemOptions): Problem {
  const e = MicroError.from(err, "gateway");
  const status = httpStatus(e);
  const title = STATUS_CODES[status] ?? e.status ?? "Error";
  const hide = options.redact && status >= 500;
  const rid = options.requestId;
  return {
    type: "about:blank",
    title,
    status,
    detail: hide ? `${title.toLowerCase()}${rid === undefined ? "" : `; request id ${rid}`}` : e.detail,
    ...(rid === undefined ? {} : { instance: `urn:request:${rid}` }),
    id: hide ? "gateway" : e.id,
    code: hide ? status : e.code,
    retryable: e.retryable === true,
    chain: options.redact ? [] : [...(e.chain ?? [])],
  };
}

/** Answers with `body` as JSON, unless the response was already sent (a client that left). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  type = "application/json; charset=utf-8",
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Answers with the error as `application/problem+json`. */
export function sendError(
  res: ServerResponse,
  err: unknown,
  headers: Record<string, string> = {},
  options: ProblemOptions = { redact: false },
): void {
  const p = problemOf(err, options);
  // RFC 9110: a 401 names the scheme it wants.
  const challenge: Record<string, string> = p.status === 401 ? { "www-authenticate": "Bearer" } : {};
  sendJson(res, p.status, p, { ...challenge, ...headers }, "application/problem+json; charset=utf-8");
}
