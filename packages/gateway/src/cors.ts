/**
 * CORS for the API (`/api/…`, REST routes, `/openapi.json`): off unless configured. The
 * dashboard's own paths never get CORS headers, so another origin's page cannot read them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface CorsOptions {
  /** Origins allowed to call from a browser, exactly as sent (`https://shop.example`), or `"*"` for any. */
  origins: readonly string[] | "*";
  /** Methods allowed. @default ["GET", "POST", "PUT", "PATCH", "DELETE"] */
  methods?: readonly string[];
  /** Request headers allowed. @default ["content-type", "authorization", "x-micro-timeout", "grpc-timeout", "x-request-id"] */
  headers?: readonly string[];
  /** Response headers page scripts may read. @default ["x-request-id", "server-timing", "retry-after"] */
  exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. @default 600 */
  maxAgeSeconds?: number;
  /** Allow credentials (cookies, TLS client certificates); then `"*"` echoes the origin instead. @default false */
  credentials?: boolean;
}

export const DEFAULT_CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export const DEFAULT_CORS_HEADERS = [
  "content-type",
  "authorization",
  "x-micro-timeout",
  "grpc-timeout",
  "x-request-id",
] as const;

export interface Cors {
  /**
   * Handles a preflight (`OPTIONS` with `access-control-request-method`): answers 204 with the
   * grants, or 403 without them. Returns true when it answered.
   */
  preflight(req: IncomingMessage, res: ServerResponse): boolean;
  /** Adds the grant headers to an actual request's response when its origin is allowed. */
  decorate(req: IncomingMessage, res: ServerResponse): void;
}

export function createCors(options: CorsOptions): Cors {
  const o = {
    methods: DEFAULT_CORS_METHODS as readonly string[],
    headers: DEFAULT_CORS_HEADERS as readonly string[],
    exposeHeaders: ["x-request-id", "server-timing", "retry-after"] as readonly string[],
    maxAgeSeconds: 600,
    credentials: false,
    ...options,
  };
  const methods = new Set(o.methods.map((m) => m.toUpperCase()));
  const headers = new Set(o.headers.map((h) => h.toLowerCase()));
  const allowed = (origin: string | undefined): origin is string =>
    origin !== undefined && (o.origins === "*" || o.origins.includes(origin));
  const grant = (origin: string, res: ServerResponse) => {
    const any = o.origins === "*" && !o.credentials;
    res.setHeader("access-control-allow-origin", any ? "*" : origin);
    if (!any) res.appendHeader("vary", "origin");
    if (o.credentials) res.setHeader("access-control-allow-credentials", "true");
  };
  return {
    preflight(req, res) {
      const method = req.headers["access-control-request-method"];
      if (req.method !== "OPTIONS" || typeof method !== "string") return false;
      const origin = req.headers.origin;
      const asked = String(req.headers["access-control-request-headers"] ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== "");
      const ok = allowed(origin) && methods.has(method.toUpperCase()) && asked.every((h) => headers.has(h));
      if (!ok) {
        // No grant headers: the browser refuses the actual request.
        res.writeHead(403, { "content-length": 0, vary: "origin" });
        res.end();
        return true;
      }
      grant(origin, res);
      res.writeHead(204, {
        "access-control-allow-methods": [...methods].join(", "),
        "access-control-allow-headers": [...headers].join(", "),
        "access-control-max-age": String(o.maxAgeSeconds),
        "content-length": 0,
      });
      res.end();
      return true;
    },
    decorate(req, res) {
      const origin = req.headers.origin;
      if (!allowed(origin)) return;
      grant(origin, res);
      res.setHeader("access-control-expose-headers", o.exposeHeaders.join(", "));
    },
  };
}
