/** Serving the metrics: a request handler for any HTTP server, or a listener of its own. */
import { createServer, type RequestListener } from "node:http";
import type { Registry } from "prom-client";
import { defaultAllowedHosts, guardRequest, listenAt, parseAddress } from "tsmicro/plugin";
import { resolveMetricsServerOptions } from "./options.js";

/** Answers a scrape with the registry's exposition text. */
export function metricsHandler(register: Registry): RequestListener {
  return (_req, res) => {
    register.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": register.contentType, "cache-control": "no-store" });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end(`metrics collection failed: ${err.message}\n`);
      },
    );
  };
}

export interface MetricsServerOptions {
  /** `host:port`; port 0 picks a free one. @default "127.0.0.1:9464" */
  address?: string;
  /** Path of the metrics. @default "/metrics" */
  path?: string;
  /**
   * Host header values answered (port ignored); others get a 421. Guards a loopback-bound
   * listener against DNS rebinding.
   * @default loopback names when bound to a loopback address, anything otherwise
   */
  allowedHosts?: readonly string[];
}

export interface MetricsServer {
  /** Bound `host:port`. */
  readonly address: string;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export { DEFAULT_METRICS_ADDRESS } from "./options.js";

/** Serves `register` on its own HTTP listener (only `path`; anything else is a 404). */
export async function serveMetrics(
  register: Registry,
  given: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const options = resolveMetricsServerOptions(given);
  const { path, address } = options;
  // Refuses a bad address before building anything.
  const allowedHosts =
    options.allowedHosts ?? defaultAllowedHosts(parseAddress(address, "metrics address").host);
  const handle = metricsHandler(register);
  const server = createServer((req, res) => {
    // A bad target or Host is answered 400/421 here: no request may throw in the listener.
    const got = guardRequest(req, res, allowedHosts);
    if (got === undefined) return;
    if (got === path && (req.method === "GET" || req.method === "HEAD")) {
      handle(req, res);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`not found: metrics are at ${path}\n`);
  });
  const bound = await listenAt(server, address, "metrics address");
  return {
    address: bound,
    url: `http://${bound}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
