/**
 * The request target, parsed without trusting it: `new URL` and `decodeURIComponent` throw on
 * inputs such as `//%zz`, `http://[::1/x` or `/health/%`, and a throw in a request listener
 * kills the process. Here every failure is a value, answered with a 400 by the caller.
 */
import { badRequest, type MicroError } from "tsmicro";

export interface Target {
  /** The path, still percent-encoded (`/api/a%2Fb/X.y`). */
  pathname: string;
  query: URLSearchParams;
}

/** Longest request target accepted, in bytes; longer ones are a 414. @default 8192 */
export const DEFAULT_MAX_URL_BYTES = 8192;

/** Parses `req.url` (origin form `/p?q`; absolute form `http://h/p?q` is accepted as proxies send it). */
export function parseTarget(raw: string | undefined): Target | MicroError {
  const url = raw ?? "/";
  // Origin form must start with one "/": "//x" would be read as a host by the URL parser.
  const origin = url.startsWith("/") && !url.startsWith("//");
  const absolute = /^https?:\/\//i.test(url);
  if (!origin && !absolute) {
    return badRequest("gateway", `request target "${clip(url)}" is not a path starting with "/"`);
  }
  let parsed: URL;
  try {
    parsed = new URL(origin ? `http://gateway${url}` : url);
  } catch {
    return badRequest("gateway", `request target "${clip(url)}" is not a valid URL`);
  }
  return { pathname: parsed.pathname, query: parsed.searchParams };
}

/** `decodeURIComponent` as a value: undefined for malformed escapes such as `%` or `%zz`. */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Keeps details short and printable whatever the caller sent. */
export function clip(s: string, max = 120): string {
  const printable = s.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
