/** MicroError ⇄ HTTP: the status a gateway answers with, and the JSON body it sends. */
import type { ServerResponse } from "node:http";
import { MicroError } from "tsmicro";

/**
 * The HTTP status for a MicroError code: its own code when it is an HTTP error status
 * (400–599, including nginx's 499 for a caller that gave up), else 500.
 */
export function httpStatus(err: MicroError): number {
  return Number.isInteger(err.code) && err.code >= 400 && err.code <= 599 ? err.code : 500;
}

/** Answers with `body` as JSON, unless the response was already sent (a client that left). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** Answers with the MicroError's wire form (go-micro's `{id, code, detail, status}` plus chain). */
export function sendError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const e = MicroError.from(err, "gateway");
  sendJson(res, httpStatus(e), e.toJSON(), headers);
}
