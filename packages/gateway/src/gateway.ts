/**
 * The HTTP gateway: `POST /api/{service}/{endpoint}` calls a service, `GET /health` answers
 * for the gateway itself, and (unless turned off) the dashboard is served at `/`.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { type Client, defaultRegistry, newClient, notFound, type Registry } from "tsmicro";
import { listenAt, parseAddress } from "tsmicro/plugin";
import { API_PREFIX, handleApi } from "./api.js";
import { createDashboard, type Dashboard } from "./dashboard/dashboard.js";
import { serviceHealth } from "./health.js";
import { sendError, sendJson } from "./http-error.js";
import { createStats, type Stats, type StatsOptions } from "./stats.js";

export const DEFAULT_GATEWAY_ADDRESS = "127.0.0.1:8080";
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface GatewayOptions {
  /** `host:port` to listen on; port 0 picks a free one. @default "127.0.0.1:8080" */
  address?: string;
  /** Where services are found. @default the process default registry (MICRO_REGISTRY, else local) */
  registry?: Registry;
  /** The client calls go through (add metrics or tracing wrappers to it). @default newClient({ registry }) */
  client?: Client;
  /** Serve the web dashboard at `/`. @default true */
  dashboard?: boolean;
  /** Largest request body accepted, in bytes. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Extra GET routes by exact path, e.g. `{ "/metrics": metrics.handler }`. @default {} */
  routes?: Record<string, RequestListener>;
  /** Window and bounds of the per-endpoint stats the dashboard charts. @default see StatsOptions */
  stats?: StatsOptions;
  /**
   * Host header values accepted (guards a loopback-bound dashboard against DNS rebinding).
   * @default loopback names when bound to a loopback address, anything otherwise
   */
  allowedHosts?: readonly string[];
}

export interface Gateway {
  /** The request listener, to mount the gateway in another HTTP server. */
  readonly handler: RequestListener;
  readonly stats: Stats;
  /** Listens on `options.address`; resolves with the bound `host:port`. */
  listen(): Promise<string>;
  /** The bound `host:port`; throws before `listen()`. */
  readonly address: string;
  /** Stops listening, ends dashboard streams and closes the client it created. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"];

export function createGateway(options: GatewayOptions = {}): Gateway {
  const registry = options.registry ?? defaultRegistry();
  const client = options.client ?? newClient({ registry });
  const stats = createStats(options.stats);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const routes = options.routes ?? {};
  const listenAddress = options.address ?? DEFAULT_GATEWAY_ADDRESS;
  const { host } = parseAddress(listenAddress, "gateway address");
  const allowedHosts =
    options.allowedHosts ??
    (LOOPBACK_HOSTS.includes(host) || host.startsWith("127.") ? LOOPBACK_HOSTS : undefined);
  const dashboard: Dashboard | undefined =
    options.dashboard === false ? undefined : createDashboard({ registry, client, stats });
  const startedAt = Date.now();
  let bound: string | undefined;

  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    const pathname = url.pathname;
    if (allowedHosts !== undefined && !hostAllowed(req.headers.host, allowedHosts)) {
      sendJson(res, 421, {
        id: "gateway",
        code: 421,
        status: "Misdirected Request",
        detail: `host "${req.headers.host}" is not served here; allowed: ${allowedHosts.join(", ")}`,
      });
      return;
    }
    if (pathname.startsWith(API_PREFIX)) {
      void handleApi({ client, stats, maxBodyBytes }, req, res, pathname);
      return;
    }
    if (pathname === "/health" && (req.method === "GET" || req.method === "HEAD")) {
      sendJson(res, 200, { status: "ok", registry: registry.name, uptimeMs: Date.now() - startedAt });
      return;
    }
    if (pathname.startsWith("/health/") && (req.method === "GET" || req.method === "HEAD")) {
      void serviceHealth(client, registry, decodeURIComponent(pathname.slice("/health/".length)), res);
      return;
    }
    const route = routes[pathname];
    if (route !== undefined && (req.method === "GET" || req.method === "HEAD")) {
      route(req, res);
      return;
    }
    if (dashboard?.handle(req, res, pathname)) return;
    sendError(res, notFound("gateway", `no route for ${req.method} ${pathname}`));
  };

  const server = createServer(handler);
  // Dashboard streams are long-lived; requests still get a bound.
  server.requestTimeout = 60_000;

  return {
    handler,
    stats,
    get address() {
      if (bound === undefined) throw new Error("gateway: not listening; call listen() first");
      return bound;
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

function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return false;
  const name = header.replace(/:\d+$/, "").toLowerCase();
  return allowed.includes(name);
}
