/**
 * `POST /api/{service}/{endpoint}`: a JSON body in, the service's JSON answer out.
 * Headers become call metadata, `x-micro-timeout` / `grpc-timeout` the deadline, and a
 * MicroError comes back as its HTTP status with the error as the JSON body.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { background, type Client, MicroError, newRequest, notFound } from "tsmicro";
import { readJsonBody } from "./body.js";
import { metadataFromHeaders, timeoutFromHeaders } from "./headers.js";
import { sendError, sendJson } from "./http-error.js";
import type { Stats } from "./stats.js";

export const API_PREFIX = "/api/";

export interface ApiOptions {
  client: Client;
  stats: Stats;
  maxBodyBytes: number;
}

/** Splits `/api/{service}/{endpoint}`; undefined when the path has another shape. */
export function parseApiPath(pathname: string): { service: string; endpoint: string } | undefined {
  const parts = pathname.slice(API_PREFIX.length).split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return undefined;
  try {
    return { service: decodeURIComponent(parts[0]!), endpoint: decodeURIComponent(parts[1]!) };
  } catch {
    return undefined;
  }
}

export async function handleApi(
  options: ApiOptions,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const requestId = headerValue(req, "x-request-id") ?? randomUUID();
  const echo = { "x-request-id": requestId };
  const target = parseApiPath(pathname);
  if (target === undefined) {
    sendError(
      res,
      notFound("gateway", `no route for ${pathname}: call a service as POST /api/{service}/{endpoint}`),
      echo,
    );
    return;
  }
  if (req.method !== "POST") {
    sendError(
      res,
      new MicroError({
        id: "gateway",
        code: 405,
        detail: `${req.method} ${pathname}: calls are POST with a JSON body`,
      }),
      { ...echo, allow: "POST" },
    );
    return;
  }
  const { service, endpoint } = target;
  const what = `${service}.${endpoint}`;
  let body: unknown;
  let timeoutMs: number | undefined;
  try {
    timeoutMs = timeoutFromHeaders(req.headers);
    body = await readJsonBody(req, options.maxBodyBytes, what);
  } catch (err) {
    // The rest of an oversized body is not read: close the connection instead of draining it.
    sendError(res, err, { ...echo, connection: "close" });
    return;
  }

  // The caller hanging up cancels the call, and the cancellation travels to the service.
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished)
      controller.abort(new MicroError({ id: "gateway", code: 499, detail: "the HTTP client went away" }));
  };
  res.on("close", onClose);
  const metadata = { ...metadataFromHeaders(req.headers), "x-request-id": requestId };
  const started = performance.now();
  try {
    const result = await options.client.call(background(), newRequest(service, endpoint, body), {
      metadata,
      signal: controller.signal,
      ...(timeoutMs === undefined ? {} : { requestTimeoutMs: timeoutMs }),
    });
    const ms = performance.now() - started;
    options.stats.record(service, endpoint, ms, true);
    sendJson(res, 200, result ?? null, { ...echo, "server-timing": `call;dur=${ms.toFixed(2)}` });
  } catch (err) {
    const ms = performance.now() - started;
    options.stats.record(service, endpoint, ms, false);
    sendError(res, err, { ...echo, "server-timing": `call;dur=${ms.toFixed(2)}` });
  } finally {
    res.off("close", onClose);
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s.slice(0, 200);
}
