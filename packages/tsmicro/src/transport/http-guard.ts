/**
 * What every tsmicro HTTP listener (health, metrics, the HTTP broker) checks before routing:
 * a request target it can read, and a Host header it serves. Neither may throw: a request is
 * answered 400 or 421, never allowed to take the process down.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Host names a loopback-bound listener answers to (against DNS rebinding). */
export const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "localhost", "[::1]", "::1"];

/**
 * The default Host allow-list for a listener bound to `host`: loopback names when bound to a
 * loopback address, `undefined` (any Host) otherwise, e.g. a pod's `0.0.0.0` probed by IP.
 */
export function defaultAllowedHosts(host: string): readonly string[] | undefined {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || h.startsWith("127.") ? LOOPBACK_HOSTS : undefined;
}

/** True when the Host header (port ignored, case-insensitive) is in `allowed`. */
export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return false;
  const name = header.replace(/:\d*$/, "").toLowerCase();
  return allowed.includes(name);
}

/**
 * The decoded path of an origin-form request target (`/a/b?x`), or `undefined` for anything
 * else: an absolute or authority form, a bad percent escape, a NUL. Never throws.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (target === undefined || target[0] !== "/" || target[1] === "/") return undefined;
  const q = target.search(/[?#]/);
  const raw = q < 0 ? target : target.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return path.includes("\u0000") ? undefined : path;
}

/**
 * Checks a request's target and Host; when either is bad, answers it (400 or 421, JSON
 * `{ code, detail }`) and returns `undefined`, else returns the decoded path.
 */
export function guardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  allowedHosts: readonly string[] | undefined,
): string | undefined {
  if (allowedHosts !== undefined && !hostAllowed(req.headers.host, allowedHosts)) {
    answer(
      res,
      421,
      `host "${req.headers.host ?? ""}" is not served here; allowed: ${allowedHosts.join(", ")}`,
    );
    return undefined;
  }
  const path = requestPath(req.url);
  if (path === undefined) {
    answer(res, 400, 'the request target must be a path starting with one "/", percent-encoded correctly');
    return undefined;
  }
  return path;
}

function answer(res: ServerResponse, code: number, detail: string): void {
  if (res.headersSent) return;
  res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify({ code, detail }));
}
