/**
 * The dashboard's data: services and nodes (pushed on every registry watch event), per-endpoint
 * stats and the in-flight calls of every node (pushed every `pushIntervalMs`), over one
 * Server-Sent Events stream, plus the same as plain JSON under `/_/`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Client, MicroError, type Registry, type Service } from "tsmicro";
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
}

export interface Dashboard {
  /** Serves the request if it is the dashboard's; false when it is not. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
  close(): void;
}

interface InflightAnswer {
  node: string;
  server: { endpoint: string }[];
  client: { endpoint: string }[];
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const { registry, client, stats } = options;
  const pushIntervalMs = options.pushIntervalMs ?? 1000;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const files = loadStaticFiles();
  const streams = new Set<ServerResponse>();
  let watcher: ReturnType<Registry["watch"]> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let pending: NodeJS.Timeout | undefined;
  let closed = false;

  const services = async (): Promise<Service[]> =>
    (await registry.listServices()).sort(
      (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
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
    for (const res of streams) res.write(frame);
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

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
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
    req.on("close", () => {
      streams.delete(res);
      if (streams.size === 0) stopLive();
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
          openStream(req, res);
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
    close() {
      closed = true;
      stopLive();
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}
