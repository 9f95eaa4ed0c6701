/**
 * Structured call logs with pino: one line per finished call, client stream, published message,
 * handled request and handled message, each carrying the request id (`x-request-id` metadata or
 * message header, created at the first hop and passed along) and the call chain. Quiet by
 * default: successes log at debug and the default level is warn, so only timeouts, overloads,
 * server errors and failed deliveries are written.
 */
import { randomUUID } from "node:crypto";
import { type DestinationStream, type Logger, pino } from "pino";
import {
  type CallWrapper,
  type Context,
  type HandlerWrapper,
  type Metadata,
  MicroError,
  withMetadata,
} from "tsmicro";
import type { Middleware } from "tsmicro/plugin";
import { levelFor } from "./level.js";
import { messageHooks } from "./messages.js";

export const DEFAULT_REQUEST_ID_KEY = "x-request-id";
export const DEFAULT_LOG_LEVEL = "warn";

export interface LoggingOptions {
  /** The logger to write to. @default pino at `level`, writing JSON lines to `destination` */
  logger?: Logger;
  /** Level of the default logger. @default $MICRO_LOG_LEVEL, else "warn" */
  level?: string;
  /** Where the default logger writes. @default stdout */
  destination?: DestinationStream;
  /** Metadata key of the request id. @default "x-request-id" */
  requestIdKey?: string;
}

export interface Logging {
  readonly logger: Logger;
  /** Put in `newClient({ wrappers })`: a line per call; gives the call a request id when it has none. */
  readonly client: CallWrapper;
  /** Put in `newService({ wrappers })`: a line per request; nested calls made with its ctx keep its request id. */
  readonly server: HandlerWrapper;
  /**
   * Every path at once: put in `newService({ middleware })` or `newClient({ middleware })`. Its
   * `call` and `handler` are `client` and `server`; it adds a line per client stream (when it
   * ends), per publish, and per delivery to a subscriber (topic and attempt on each).
   */
  readonly middleware: Middleware;
  /** Put in `newService({ log })`: lifecycle messages at info. */
  readonly log: (message: string) => void;
  /** A child logger for a handler: request id and chain on every line it writes. */
  for(ctx: Context): Logger;
}

export function createLogging(options: LoggingOptions = {}): Logging {
  const key = options.requestIdKey ?? DEFAULT_REQUEST_ID_KEY;
  const logger =
    options.logger ??
    pino(
      {
        level: options.level ?? (process.env.MICRO_LOG_LEVEL || DEFAULT_LOG_LEVEL),
        base: { pid: process.pid },
      },
      options.destination ?? pino.destination(1),
    );

  const idOf = (md: Metadata | Record<string, string> | undefined): string | undefined => {
    const v = md?.[key];
    return v === undefined || v === "" ? undefined : v;
  };

  const line = (
    side: "client" | "server",
    fields: { reqId: string; chain: readonly string[]; service: string; endpoint: string },
    started: number,
    err?: unknown,
  ) => {
    const level = levelFor(err);
    if (!logger.isLevelEnabled(level)) return;
    const ms = Math.round((performance.now() - started) * 100) / 100;
    if (err === undefined) {
      logger[level]({ ...fields, side, ms }, side === "client" ? "call ok" : "handled");
      return;
    }
    const e = MicroError.from(err, fields.service);
    logger[level](
      { ...fields, side, ms, code: e.code, err: { status: e.status, detail: e.detail, chain: e.chain } },
      side === "client" ? "call failed" : "handler failed",
    );
  };

  const client: CallWrapper = (next) => async (ctx, req, opts) => {
    const reqId = idOf(opts.metadata) ?? idOf(ctx.metadata) ?? randomUUID();
    const fields = { reqId, chain: ctx.chain, service: req.service, endpoint: req.endpoint };
    const started = performance.now();
    try {
      const result = await next(ctx, req, { ...opts, metadata: { ...opts.metadata, [key]: reqId } });
      line("client", fields, started);
      return result;
    } catch (err) {
      line("client", fields, started, err);
      throw err;
    }
  };
  const server: HandlerWrapper = (next) => async (ctx, req) => {
    const given = idOf(req.metadata);
    const reqId = given ?? randomUUID();
    // A request that came without an id gets one here, and nested calls carry it on.
    const inner = given === undefined ? withMetadata(ctx, { [key]: reqId }) : ctx;
    const fields = { reqId, chain: ctx.chain, service: req.service, endpoint: req.endpoint };
    const started = performance.now();
    try {
      const result = await next(inner, given === undefined ? { ...req, metadata: inner.metadata } : req);
      line("server", fields, started);
      return result;
    } catch (err) {
      line("server", fields, started, err);
      throw err;
    }
  };
  return {
    logger,
    client,
    server,
    middleware: { name: "logging", call: client, handler: server, ...messageHooks(logger, key, idOf) },
    log: (message) => logger.info(message),
    for: (ctx) => logger.child({ reqId: idOf(ctx.metadata), chain: ctx.chain }),
  };
}
