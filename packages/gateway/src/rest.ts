/**
 * REST routes onto endpoints: `GET /orders/{id}` → `orders` `Orders.Get`. The request the
 * endpoint gets is the JSON body (for methods with one), then the query parameters, then the
 * path parameters, later ones winning: `GET /orders/7?full=1` → `{ full: "1", id: "7" }`.
 */
import { badRequest, type MicroError } from "tsmicro";
import { decodeSegment } from "./target.js";

export interface RestRoute {
  /** HTTP method, e.g. `"GET"`. */
  method: string;
  /** Path with `{name}` parameters, each one whole segment: `/orders/{id}`. */
  path: string;
  service: string;
  /** Wire name, `Orders.Get`. */
  endpoint: string;
}

export interface RestMatch {
  route: RestRoute;
  params: Record<string, string>;
}

export interface RestTable {
  readonly routes: readonly RestRoute[];
  /** The route for this method and path; `allow` lists the methods when only the path matches. */
  match(method: string, pathname: string): RestMatch | { allow: string[] } | MicroError | undefined;
}

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export function parseRouteKey(key: string): { method: string; path: string } {
  const m = /^([A-Z]+) (\/\S*)$/.exec(key.trim());
  if (m === null) throw new TypeError(`REST route "${key}" must be "METHOD /path", e.g. "GET /orders/{id}"`);
  return { method: m[1]!, path: m[2]! };
}

export function createRestTable(routes: readonly RestRoute[]): RestTable {
  const compiled = routes.map((route) => {
    if (!route.path.startsWith("/"))
      throw new TypeError(`REST route path "${route.path}" must start with "/"`);
    const segments = route.path.split("/").slice(1);
    const names: (string | undefined)[] = segments.map((s) => PARAM.exec(s)?.[1]);
    for (const [i, s] of segments.entries()) {
      if (names[i] === undefined && /[{}]/.test(s)) {
        throw new TypeError(`REST route "${route.path}": a parameter must be a whole segment, as {id}`);
      }
    }
    return { route: { ...route, method: route.method.toUpperCase() }, segments, names };
  });
  for (const [i, a] of compiled.entries()) {
    for (const b of compiled.slice(i + 1)) {
      if (a.route.method === b.route.method && shape(a.segments) === shape(b.segments)) {
        throw new TypeError(`REST routes "${a.route.method} ${a.route.path}" and "${b.route.path}" overlap`);
      }
    }
  }
  return {
    routes: compiled.map((c) => c.route),
    match(method, pathname) {
      const parts = pathname.split("/").slice(1);
      const allow: string[] = [];
      for (const c of compiled) {
        if (c.segments.length !== parts.length) continue;
        const params: Record<string, string> = {};
        let ok = true;
        for (const [i, seg] of c.segments.entries()) {
          const name = c.names[i];
          if (name === undefined) {
            if (seg !== parts[i]) ok = false;
          } else if (parts[i] === "") ok = false;
          else {
            const v = decodeSegment(parts[i]!);
            if (v === undefined)
              return badRequest("gateway", `path parameter {${name}} is not valid percent-encoding`);
            params[name] = v;
          }
          if (!ok) break;
        }
        if (!ok) continue;
        if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) {
          return { route: c.route, params };
        }
        allow.push(c.route.method);
      }
      return allow.length > 0 ? { allow } : undefined;
    },
  };
}

function shape(segments: string[]): string {
  return segments.map((s) => (PARAM.test(s) ? "{}" : s)).join("/");
}
