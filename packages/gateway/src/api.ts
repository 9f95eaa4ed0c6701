/**
 * Calls through the gateway: `POST /api/{service}/{endpoint}` and the REST routes. Only
 * endpoints a registered service lists are called; a JSON body (plus REST parameters) in, the
 * service's JSON answer out, or Server-Sent Events for a server stream. Headers become call
 * metadata, `x-micro-timeout` / `grpc-timeout` the deadline, and an error comes back as
 * `application/problem+json`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Account } from "@tsmicro/auth";
import { background, type Client, MicroError, newRequest, notFound } from "tsmicro";
import { readJsonBody } from "./body.js";
import type { Catalog } from "./catalog.js";
import type { EdgeAuth } from "./edge-auth.js";
import { metadataFromHeaders, timeoutFromHeaders } from "./headers.js";
import { sendError, sendJson } from "./http-error.js";
import { sendEvents } from "./sse-call.js";
import type { Stats } from "./stats.js";
import { clip, decodeSegment } from "./target.js";

export const API_PREFIX = "/api/";

export interface ApiOptions {
  client: Client;
  stats: Stats;
  catalog: Catalog;
  maxBodyBytes: number;
  redact: boolean;
  auth?: EdgeAuth | undefined;
}

/** Who is calling, as far as the gateway knows. */
export interface Caller {
  requestId: string;
  account?: Account | undefined;
  /** Loopback or an admin account: may see the registry's contents in a 404. */
  trusted: boolean;
}

export interface CallTarget {
  service: string;
  endpoint: string;
  /** REST parameters merged over the body. */
  params?: Record<string, string>;
  /** How the path was reached, for details: `POST /api/a/B.c` or `GET /orders/{id}`. */
  via: string;
}

/** Splits `/api/{service}/{endpoint}`; undefined when the path has another shape or bad escapes. */
export function parseApiPath(pathname: string): { service: string; endpoint: string } | undefined {
  const parts = pathname.slice(API_PREFIX.length).split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return undefined;
  const service = decodeSegment(parts[0]!);
  const endpoint = decodeSegment(parts[1]!);
  return service === undefined || endpoint === undefined ? undefined : { service, endpoint };
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function callEndpoint(
  options: ApiOptions,
  caller: Caller,
  req: IncomingMessage,
  res: ServerResponse,
  target: CallTarget,
): Promise<void> {
  const echo = { "x-request-id": caller.requestId };
  const fail = (err: unknown, extra: Record<string, string> = {}) =>
    sendError(res, err, { ...echo, ...extra }, { redact: options.redact, requestId: caller.requestId });
  const { service, endpoint } = target;
  const what = `${service}.${endpoint}`;

  // Known endpoints only: junk names never reach the client, its metrics or the stats.
  const versions = await options.catalog.service(service);
  if (versions === undefined) {
    fail(
      notFound("gateway", `service "${clip(service)}" is not registered${await listing(options, caller)}`),
    );
    return;
  }
  const known = options.catalog.endpoint(versions, endpoint);
  if (known === undefined) {
    const has = caller.trusted
      ? `; it has: ${options.catalog.names(versions).join(", ") || "no endpoints"}`
      : "";
    fail(notFound("gateway", `endpoint "${clip(endpoint)}" not found on service "${clip(service)}"${has}`));
    return;
  }
  try {
    options.auth?.authorize(caller.account, service, endpoint);
  } catch (err) {
    fail(err);
    return;
  }
  if (known.kind === "client" || known.kind === "bidi") {
    fail(
      new MicroError({
        id: "gateway",
        code: 501,
        detail: `${what} is a ${known.kind} stream: HTTP callers get unary calls and server streams only`,
      }),
    );
    return;
  }
  const method = req.method ?? "GET";
  const viaApi = target.params === undefined;
  if (viaApi && method !== "POST" && !(known.kind === "server" && method === "GET")) {
    const allow = known.kind === "server" ? "POST, GET" : "POST";
    fail(
      new MicroError({
        id: "gateway",
        code: 405,
        detail: `${method} ${target.via}: calls are ${allow} with a JSON body`,
      }),
      { allow },
    );
    return;
  }

  let body: unknown = {};
  let timeoutMs: number | undefined;
  try {
    timeoutMs = timeoutFromHeaders(req.headers);
    if (BODY_METHODS.has(method)) body = await readJsonBody(req, options.maxBodyBytes, what, !viaApi);
  } catch (err) {
    // The rest of an oversized body is not read: close the connection instead of draining it.
    fail(err, { connection: "close" });
    return;
  }
  if (target.params !== undefined || method === "GET") {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      fail(
        new MicroError({
          id: "gateway",
          code: 400,
          detail: `${target.via}: the body must be a JSON object to add parameters to`,
        }),
      );
      return;
    }
    body = { ...(body as object), ...queryOf(req), ...(target.params ?? {}) };
  }

  // The caller hanging up cancels the call, and the cancellation travels to the service.
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished)
      controller.abort(new MicroError({ id: "gateway", code: 499, detail: "the HTTP client went away" }));
  };
  res.on("close", onClose);
  const metadata = { ...metadataFromHeaders(req.headers), "x-request-id": caller.requestId };
  const callOptions = {
    metadata,
    signal: controller.signal,
    ...(timeoutMs === undefined ? {} : { requestTimeoutMs: timeoutMs }),
  };
  const started = performance.now();
  try {
    if (known.kind === "server") {
      const stream = await options.client.stream(
        background(),
        newRequest(service, endpoint, body),
        callOptions,
      );
      const ok = await sendEvents(res, stream, echo, () => ({
        redact: options.redact,
        requestId: caller.requestId,
      }));
      options.stats.record(service, endpoint, performance.now() - started, ok);
      return;
    }
    const result = await options.client.call(background(), newRequest(service, endpoint, body), callOptions);
    const ms = performance.now() - started;
    options.stats.record(service, endpoint, ms, true);
    sendJson(res, 200, result ?? null, { ...echo, "server-timing": `call;dur=${ms.toFixed(2)}` });
  } catch (err) {
    const ms = performance.now() - started;
    options.stats.record(service, endpoint, ms, false);
    fail(err, { "server-timing": `call;dur=${ms.toFixed(2)}` });
  } finally {
    res.off("close", onClose);
  }
}

/** The registered services, for a trusted caller's 404; nothing for anyone else. */
async function listing(options: ApiOptions, caller: Caller): Promise<string> {
  if (!caller.trusted) return "";
  const names = await options.catalog.list();
  return `; registered: ${names.join(", ") || "none"}`;
}

function queryOf(req: IncomingMessage): Record<string, string> {
  const q = req.url?.indexOf("?") ?? -1;
  if (q < 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(req.url!.slice(q + 1))) {
    // The prototype's own names are never set from the outside.
    if (k !== "__proto__" && k !== "constructor" && k !== "prototype") out[k] = v;
  }
  return out;
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s.slice(0, 200);
}
