/**
 * The HTTP gateway: `POST /api/{service}/{endpoint}` and REST routes call services,
 * `/openapi.json` describes them, `GET /health` answers for the gateway itself, and (unless
 * turned off) the dashboard is served at `/`. No request can throw out of the listener: a
 * malformed target is a 400, anything unexpected a 500.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { Account } from "@tsmicro/auth";
import {
  type Client,
  defaultRegistry,
  MicroError,
  newClient,
  notFound,
  type Registry,
  tooManyRequests,
} from "tsmicro";
import { listenAt, parseAddress } from "tsmicro/plugin";
import { API_PREFIX, type ApiOptions, type Caller, callEndpoint, headerValue, parseApiPath } from "./api.js";
import { type CatalogOptions, createCatalog } from "./catalog.js";
import { type CorsOptions, createCors } from "./cors.js";
import { createDashboard, type Dashboard } from "./dashboard/dashboard.js";
import { enrichServices } from "./dashboard/enrich.js";
import { createEdgeAuth, type GatewayAuthOptions } from "./edge-auth.js";
import { serviceHealth } from "./health.js";
import { sendError, sendJson } from "./http-error.js";
import {
  buildOpenApi,
  contractOperations,
  type OpenApiInfo,
  registryOperations,
  type ServiceApi,
} from "./openapi.js";
import { resolveGatewayOptions } from "./options.js";
import { createRateLimiter, type RateLimitOptions } from "./rate-limit.js";
import { createRestTable, parseRouteKey, type RestRoute } from "./rest.js";
import { createStats, type Stats, type StatsOptions } from "./stats.js";
import { clip, decodeSegment, parseTarget } from "./target.js";

export { DEFAULT_GATEWAY_ADDRESS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES } from "./options.js";

export interface DashboardSettings {
  /** How often stats and in-flight calls are pushed to open pages. @default 1000 */
  pushIntervalMs?: number;
  /** Live streams open at once. @default 16 */
  maxStreams?: number;
  /** Bytes queued for a page that does not read before its stream is closed. @default 1048576 */
  maxBufferedBytes?: number;
}

export interface GatewayOptions {
  /** `host:port` to listen on; port 0 picks a free one. @default "127.0.0.1:8080" */
  address?: string;
  /** Where services are found. @default the process default registry (MICRO_REGISTRY, else local) */
  registry?: Registry;
  /** The client calls go through (add metrics or tracing wrappers to it). @default newClient({ registry }) */
  client?: Client;
  /** Serve the web dashboard at `/` (settings, or false for none). @default true */
  dashboard?: boolean | DashboardSettings;
  /** Largest request body accepted, in bytes. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Largest request target (path and query), in bytes; longer is a 414. @default 8192 */
  maxUrlBytes?: number;
  /** Largest request head (all headers), in bytes; larger is a 431 from Node. @default 16384 */
  maxHeaderBytes?: number;
  /** Extra GET routes by exact path, e.g. `{ "/metrics": metrics.handler }`. @default {} */
  routes?: Record<string, RequestListener>;
  /** REST routes onto endpoints: `{ "GET /orders/{id}": { service: "orders", endpoint: "Orders.Get" } }`. @default {} */
  rest?: Record<string, { service: string; endpoint: string }>;
  /** Contracts of the services, for `/openapi.json`, the dashboard's shapes and contract-declared REST routes. @default [] */
  apis?: readonly ServiceApi[];
  /** `/openapi.json`'s title and version, or false to not serve it. @default { title: "tsmicro gateway", version: "0.0.0" } */
  openapi?: OpenApiInfo | false;
  /** CORS for the API routes. @default undefined (no CORS headers: browsers allow same-origin pages only) */
  cors?: CorsOptions;
  /** Verify tokens and apply rules at the gateway; guards the dashboard too. @default undefined (no auth) */
  auth?: GatewayAuthOptions;
  /** Requests per second per client (account, else IP) on the API routes. @default undefined (no limit) */
  rateLimit?: RateLimitOptions;
  /**
   * Leave 5xx details and call chains (node ids) out of error answers.
   * @default true when bound beyond loopback, false on loopback
   */
  redactErrors?: boolean;
  /** Registry answers are cached briefly to check endpoints before calling. @default see CatalogOptions */
  catalog?: CatalogOptions;
  /** Window and bounds of the per-endpoint stats the dashboard charts. @default see StatsOptions */
  stats?: StatsOptions;
  /**
   * Host header values accepted (guards a loopback-bound dashboard against DNS rebinding).
   * @default loopback names when bound to a loopback address, anything otherwise
   */
  allowedHosts?: readonly string[];
  /** Where warnings go (bound beyond loopback without auth, unexpected failures). @default console.warn */
  log?: (message: string) => void;
}

export interface Gateway {
  /** The request listener, to mount the gateway in another HTTP server. */
  readonly handler: RequestListener;
  readonly stats: Stats;
  /** Listens on `options.address`; resolves with the bound `host:port`. */
  listen(): Promise<string>;
  /** The bound `host:port`; throws before `listen()`. */
  readonly address: string;
  /** Dashboard live streams open now. */
  readonly streams: number;
  /** Stops listening, ends dashboard streams and closes the client it created. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"];

export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.replace(/^::ffff:/, "");
  return h === "::1" || h === "localhost" || h.startsWith("127.");
}

export function createGateway(given: GatewayOptions = {}): Gateway {
  const options = resolveGatewayOptions(given);
  const registry = options.registry ?? defaultRegistry();
  const client = options.client ?? newClient({ registry });
  const stats = createStats(options.stats);
  const { routes, log, address: listenAddress } = options;
  const { host } = parseAddress(listenAddress, "gateway address");
  const loopbackBound = isLoopback(host);
  const allowedHosts = options.allowedHosts ?? (loopbackBound ? LOOPBACK_HOSTS : undefined);
  const maxUrlBytes = options.maxUrlBytes;
  const redact = options.redactErrors ?? !loopbackBound;
  const apis = options.apis;
  const auth = options.auth === undefined ? undefined : createEdgeAuth(options.auth);
  const cors = options.cors === undefined ? undefined : createCors(options.cors);
  const limiter = options.rateLimit === undefined ? undefined : createRateLimiter(options.rateLimit);
  const catalog = createCatalog(registry, options.catalog);
  const rest = createRestTable(restRoutes(options.rest, apis));
  const settings = typeof options.dashboard === "object" ? options.dashboard : {};
  const dashboard: Dashboard | undefined =
    options.dashboard === false
      ? undefined
      : createDashboard({
          registry,
          client,
          stats,
          ...settings,
          enrich: (list) => enrichServices(list, apis),
        });
  const api: ApiOptions = {
    client,
    stats,
    catalog,
    maxBodyBytes: options.maxBodyBytes,
    redact,
    auth,
  };
  if (!loopbackBound && auth === undefined) {
    log(
      `gateway: address ${listenAddress} is beyond loopback and no auth is set: any caller that reaches it can call every registered endpoint${dashboard === undefined ? "" : " and use the dashboard"}; set the auth option`,
    );
  }
  const startedAt = Date.now();
  let bound: string | undefined;

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = headerValue(req, "x-request-id") ?? randomUUID();
    const fail = (err: unknown, headers: Record<string, string> = {}) =>
      sendError(res, err, { "x-request-id": requestId, ...headers }, { redact, requestId });
    if (allowedHosts !== undefined && !hostAllowed(req.headers.host, allowedHosts)) {
      fail(
        new MicroError({
          id: "gateway",
          code: 421,
          detail: `this host name is not served here; allowed: ${allowedHosts.join(", ")}`,
        }),
      );
      return;
    }
    if ((req.url?.length ?? 0) > maxUrlBytes) {
      fail(
        new MicroError({
          id: "gateway",
          code: 414,
          detail: `the request target is over ${maxUrlBytes} bytes`,
        }),
      );
      return;
    }
    const target = parseTarget(req.url);
    if (target instanceof MicroError) {
      fail(target);
      return;
    }
    const { pathname } = target;
    const method = req.method ?? "GET";
    const isGet = method === "GET" || method === "HEAD";
    const restMatch = rest.match(method, pathname);
    const isApi = pathname.startsWith(API_PREFIX) || restMatch !== undefined || pathname === "/openapi.json";

    if (isApi && cors !== undefined) {
      if (cors.preflight(req, res)) return;
      cors.decorate(req, res);
    }
    let account: Account | undefined;
    try {
      account = await auth?.authenticate(req);
    } catch (err) {
      fail(err);
      return;
    }
    // A loopback peer of a gateway bound beyond loopback may be a proxy relaying anyone: not trusted.
    const loopbackPeer = loopbackBound && isLoopback(req.socket.remoteAddress);
    const caller: Caller = { requestId, account, trusted: loopbackPeer || (auth?.admin(account) ?? false) };
    if (isApi && limiter !== undefined) {
      const wait = limiter.take(account?.id ?? `ip:${req.socket.remoteAddress}`);
      if (wait > 0) {
        fail(
          tooManyRequests(
            "gateway",
            `over the rate limit of ${options.rateLimit!.requestsPerSecond} requests/s for this client`,
          ),
          {
            "retry-after": String(wait),
          },
        );
        return;
      }
    }

    if (pathname.startsWith(API_PREFIX)) {
      const t = parseApiPath(pathname);
      if (t === undefined && pathname.split("/").some((seg) => decodeSegment(seg) === undefined)) {
        fail(new MicroError({ id: "gateway", code: 400, detail: "the path is not valid percent-encoding" }));
        return;
      }
      if (t === undefined) {
        fail(
          notFound(
            "gateway",
            `no route for ${clip(pathname)}: call a service as POST /api/{service}/{endpoint}`,
          ),
        );
        return;
      }
      await callEndpoint(api, caller, req, res, { ...t, via: pathname });
      return;
    }
    if (restMatch !== undefined) {
      if (restMatch instanceof MicroError) fail(restMatch);
      else if ("allow" in restMatch) {
        const allow = restMatch.allow.join(", ");
        fail(
          new MicroError({
            id: "gateway",
            code: 405,
            detail: `${clip(method)} ${clip(pathname)}: this route takes ${allow}`,
          }),
          { allow },
        );
      } else {
        const { route, params } = restMatch;
        await callEndpoint(api, caller, req, res, {
          service: route.service,
          endpoint: route.endpoint,
          params,
          via: `${route.method} ${route.path}`,
        });
      }
      return;
    }
    if (pathname === "/openapi.json" && isGet && options.openapi !== false) {
      sendJson(res, 200, await openApiFor(caller));
      return;
    }
    if (pathname === "/health" && isGet) {
      sendJson(res, 200, { status: "ok", registry: registry.name, uptimeMs: Date.now() - startedAt });
      return;
    }
    if (pathname.startsWith("/health/") && isGet) {
      const name = decodeSegment(pathname.slice("/health/".length));
      if (name === undefined)
        fail(
          new MicroError({
            id: "gateway",
            code: 400,
            detail: "the service name in /health/{service} is not valid percent-encoding",
          }),
        );
      else await serviceHealth(client, registry, name, res, caller.trusted || !redact);
      return;
    }
    const route = routes[pathname];
    if (route !== undefined && isGet) {
      route(req, res);
      return;
    }
    if (dashboard !== undefined && pathname.startsWith("/_/") && auth !== undefined && !auth.admin(account)) {
      fail(
        account === undefined
          ? new MicroError({
              id: "gateway",
              code: 401,
              detail: "the dashboard's data needs a token (authorization: Bearer …)",
            })
          : new MicroError({
              id: "gateway",
              code: 403,
              detail: `account "${account.id}" lacks the dashboard scope`,
            }),
      );
      return;
    }
    if (dashboard?.handle(req, res, pathname)) return;
    fail(notFound("gateway", `no route for ${clip(method)} ${clip(pathname)}`));
  };

  const openApiFor = async (caller: Caller) => {
    const ops = apis.flatMap(contractOperations);
    const declared = new Set(ops.map((o) => `${o.service}\u0000${o.endpoint}`));
    // Services without a declared contract come from the registry: for trusted callers only, as the 404 listing.
    if (caller.trusted) {
      for (const o of registryOperations(await registry.listServices())) {
        if (!declared.has(`${o.service}\u0000${o.endpoint}`)) ops.push(o);
      }
    }
    const visible =
      auth === undefined
        ? ops
        : ops.filter((o) => {
            try {
              auth.authorize(caller.account, o.service, o.endpoint);
              return true;
            } catch {
              return false;
            }
          });
    return buildOpenApi(options.openapi || {}, visible, rest.routes);
  };

  const handler: RequestListener = (req, res) => {
    serve(req, res).catch((err: unknown) => {
      // Whatever went wrong, this request gets an answer and the process lives on.
      const e = MicroError.from(err, "gateway");
      if (e.code >= 500) log(`gateway: ${req.method} request failed: ${e.message}`);
      sendError(res, e, {}, { redact });
      if (!res.writableEnded) res.destroy();
    });
  };

  const server = createServer({ maxHeaderSize: options.maxHeaderBytes }, handler);
  // Dashboard streams are long-lived; requests still get a bound.
  server.requestTimeout = 60_000;

  return {
    handler,
    stats,
    get address() {
      if (bound === undefined) throw new Error("gateway: not listening; call listen() first");
      return bound;
    },
    get streams() {
      return dashboard?.streams ?? 0;
    },
    listen() {
      return listenAt(server, listenAddress, "gateway address").then((address) => {
        bound = address;
        return address;
      });
    },
    async close() {
      dashboard?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (options.client === undefined) await client.close();
    },
  };
}

function restRoutes(
  table: Record<string, { service: string; endpoint: string }>,
  apis: readonly ServiceApi[],
): RestRoute[] {
  const out: RestRoute[] = Object.entries(table).map(([key, to]) => ({ ...parseRouteKey(key), ...to }));
  for (const a of apis) {
    for (const [key, route] of Object.entries(a.http ?? {})) {
      const spec = a.contract.endpoints[key];
      if (spec === undefined)
        throw new TypeError(`apis: ${a.contract.name} has no endpoint "${key}" for REST route "${route}"`);
      out.push({
        ...parseRouteKey(route),
        service: a.service,
        endpoint: `${a.contract.name}.${spec.name ?? key}`,
      });
    }
  }
  return out;
}

function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return false;
  const name = header.replace(/:\d+$/, "").toLowerCase();
  return allowed.includes(name);
}
