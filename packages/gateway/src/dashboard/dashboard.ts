/**
 * The dashboard's data: services and nodes (pushed on every registry watch event), per-endpoint
 * stats and the in-flight calls of every node (pushed every `pushIntervalMs`), over one
 * Server-Sent Events stream, plus the same as plain JSON under `/_/`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Client, MicroError, type Registry } from "tsmicro";
import type { Service } from "tsmicro/plugin";
import { sendError, sendJson } from "../http-error.js";
import { callEveryNode, type NodeAnswer } from "../nodes.js";
import type { Stats } from "../stats.js";
import { loadStaticFiles } from "./static.js";

export interface DashboardOptions {
  registry: Registry;
  client: Client;
  stats: Stats;
  /** How often stats and in-flight calls are pushed to open pages. @default 1000 */
  pushIntervalMs?: number;
  /** Bound on each node's `Debug.Inflight` answer. @default 1000 */
  nodeTimeoutMs?: number;
  /** Live streams (`/_/events`) open at once; one more is a 503. @default 16 */
  maxStreams?: number;
  /**
   * Bytes a stream may have queued for a client that does not read; past it the stream is
   * closed (the page reconnects and gets a fresh state). @default 1048576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /** Adds what the gateway knows beyond the registry (contract schemas) to each service listed. */
  enrich?: (services: Service[]) => Service[];
}

export const DEFAULT_DASHBOARD_MAX_STREAMS = 16;
export const DEFAULT_DASHBOARD_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface Dashboard {
  /** Serves the request if it is the dashboard's; false when it is not. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  /** Live streams open now. */
  readonly streams: number;
  close(): void;
}

interface InflightAnswer {
  node: string;
  server: { endpoint: string }[];
  client: { endpoint: string }[];
  /** The node's client's circuit breakers, passed to the page as they are. */
  breakers?: unknown[];
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const { registry, client, stats } = options;
  const pushIntervalMs = options.pushIntervalMs ?? 1000;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const maxStreams = options.maxStreams ?? DEFAULT_DASHBOARD_MAX_STREAMS;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_DASHBOARD_MAX_BUFFERED_BYTES;
  const enrich = options.enrich ?? ((s: Service[]) => s);
  const files = loadStaticFiles();
  const streams = new Set<ServerResponse>();
  let watcher: ReturnType<Registry["watch"]> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;

  const services = async (): Promise<Service[]> =>
    enrich(
      (await registry.listServices()).sort(
        (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
      ),
    );

  const inflight = async (): Promise<NodeAnswer<InflightAnswer>[]> => {
    const names = [...new Set((await registry.listServices()).map((s) => s.name))];
    const answers = await Promise.all(
      names.map((name) =>
        callEveryNode<InflightAnswer>(client, registry, name, "Debug.Inflight", {
          timeoutMs: nodeTimeoutMs,
          requireNodes: false,
        }),
      ),
    );
    // The Debug.Inflight call that took the snapshot is in it: leave it out.
    return answers.flat().map((a) =>
      a.result === undefined
        ? a
        : {
            ...a,
            result: {
              ...a.result,
              server: a.result.server.filter((c) => !c.endpoint.startsWith("Debug.")),
              client: a.result.client.filter((c) => !c.endpoint.startsWith("Debug.")),
            },
          },
    );
  };

  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) {
      // A client that does not read must not grow the gateway's memory: close its stream
      // (what is queued stays under maxBufferedBytes plus one frame).
      if (res.writableLength > maxBufferedBytes) {
        dropStream(res);
        continue;
      }
      res.write(frame);
    }
  };

  const dropStream = (res: ServerResponse) => {
    streams.delete(res);
    res.destroy();
    if (streams.size === 0) stopLive();
  };

  const pushServices = () => {
    pending ??= setTimeout(() => {
      pending = undefined;
      services().then(
        (list) => broadcast("services", { registry: registry.name, services: list }),
        (err) => broadcast("failure", MicroError.from(err, "dashboard").toJSON()),
      );
    }, 50);
  };

  const tick = async () => {
    broadcast("stats", stats.snapshot());
    try {
      broadcast("inflight", await inflight());
    } catch (err) {
      broadcast("failure", MicroError.from(err, "dashboard").toJSON());
    }
  };

  const startLive = () => {
    if (watcher === undefined) {
      try {
        const w = registry.watch();
        watcher = w;
        void (async () => {
          try {
            for await (const _ of w) pushServices();
          } catch (err) {
            broadcast("failure", MicroError.from(err, "dashboard").toJSON());
          }
        })();
      } catch (err) {
        broadcast("failure", MicroError.from(err, "dashboard").toJSON());
      }
    }
    ticker ??= setInterval(() => void tick(), pushIntervalMs);
  };

  const stopLive = () => {
    watcher?.stop();
    watcher = undefined;
    clearInterval(ticker);
    ticker = undefined;
    clearTimeout(pending);
    pending = undefined;
  };

  const openStream = (res: ServerResponse) => {
    if (streams.size >= maxStreams) {
      sendError(
        res,
        new MicroError({
          id: "dashboard",
          code: 503,
          detail: `${streams.size} live dashboard streams are open, the most allowed (maxStreams)`,
        }),
        { "retry-after": "5" },
      );
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write(`retry: 1000\n\n`);
    streams.add(res);
    startLive();
    pushServices();
    void tick();
    res.on("close", () => {
      if (streams.delete(res) && streams.size === 0) stopLive();
    });
  };

  const json = (res: ServerResponse, work: () => Promise<unknown>) => {
    work().then(
      (body) => sendJson(res, 200, body),
      (err) => sendError(res, MicroError.from(err, "dashboard")),
    );
  };

  return {
    handle(req, res, pathname) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const file = files.get(pathname);
      if (file !== undefined) {
        res.writeHead(200, {
          "content-type": file.type,
          "content-length": file.body.length,
          "cache-control": "no-cache",
        });
        res.end(req.method === "HEAD" ? undefined : file.body);
        return true;
      }
      switch (pathname) {
        case "/_/events":
          if (closed) return false;
          openStream(res);
          return true;
        case "/_/services":
          json(res, async () => ({ registry: registry.name, services: await services() }));
          return true;
        case "/_/stats":
          json(res, async () => stats.snapshot());
          return true;
        case "/_/inflight":
          json(res, inflight);
          return true;
        default:
          return false;
      }
    },
    get streams() {
      return streams.size;
    },
    close() {
      closed = true;
      stopLive();
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
