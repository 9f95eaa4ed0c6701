/** The server's end of TCP connections: decode frames, dispatch requests, answer by id. */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import {
  badRequest,
  cancelled,
  MicroError,
  payloadTooLarge,
  serviceUnavailable,
  timeout,
  tooManyRequests,
} from "../errors.js";
import { LightAbort } from "../util/light-abort.js";
import { listenAt } from "./address.js";
import { encodeFrame, FrameDecoder, FrameType, PREFACE, ProtocolError } from "./frame.js";
import { decodeRequestHeaders, encodeResponseHeaders, type HeaderLimits } from "./headers.js";
import {
  CLOSE_GRACE_MS,
  type ConnectionLimits,
  createLimitLog,
  guardConnection,
  type LimitLog,
} from "./limits.js";
import { serverListener } from "./listener.js";
import { ServerStreams } from "./mux-stream.js";
import {
  describeTlsServerError,
  hardenTlsServerSocket,
  type TcpTlsOptions,
  tlsServerOptions,
} from "./tls.js";
import type { InboundRequest, Listener, RequestHandler, StreamHandler } from "./transport.js";
import { FrameWriter } from "./writer.js";

export interface ServerConnectionOptions extends HeaderLimits, ConnectionLimits {
  /** Serve TLS (see tls.ts); plaintext when undefined. */
  tls?: TcpTlsOptions;
  /** Shared by a listener's connections so each kind of refusal is logged once per window. */
  limitLog?: LimitLog;
  maxFrameBytes: number;
  log: (message: string) => void;
  /** Serves streams (stream.ts); without it, stream opens are refused with 501. */
  streamHandler?: StreamHandler;
}

const EMPTY = new Uint8Array(0);

function errorFrame(id: number, err: MicroError): Buffer {
  return encodeFrame(FrameType.Error, id, "", Buffer.from(JSON.stringify(err), "utf8"));
}

/** Serves one accepted socket until it closes. */
export function serveConnection(
  socket: Socket,
  handler: RequestHandler,
  options: ServerConnectionOptions,
  onGoAway: Set<() => void>,
): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const writer = new FrameWriter(socket);
  const inflight = new Map<number, LightAbort>();
  let preface: Buffer | undefined = Buffer.alloc(0);
  socket.setNoDelay(true);
  const limitLog = options.limitLog ?? createLimitLog(options.log);
  const guard = guardConnection(socket, options, {
    refuse: (kind, detail) => refuse(detail, kind),
    goAway: () => goAway(),
    inflight: () => inflight.size + streams.size,
  });
  const streams = new ServerStreams((frame) => writer.write(frame), peer, options, options.streamHandler);

  const refuse = (detail: string, kind = "protocol error") => {
    // Logged once per kind per window, answered once, then closed: other connections carry on.
    limitLog.report(kind, `tsmicro: closing connection from ${peer}: ${detail}`);
    const err = kind.endsWith("timeout") ? timeout("tsmicro", detail) : badRequest("tsmicro", detail);
    writer.write(errorFrame(0, err));
    writer.end();
    setTimeout(() => socket.destroy(), 1000).unref();
    socket.removeAllListeners("data");
  };

  const decoder = new FrameDecoder(options.maxFrameBytes, {
    oversized: (type, id, length) => {
      if (type === FrameType.StreamMessage) streams.oversized(id, length);
      if (type !== FrameType.Request) return;
      writer.write(
        errorFrame(
          id,
          payloadTooLarge(
            "tsmicro",
            `request of ${length} bytes exceeds the server's frame limit of ${options.maxFrameBytes} bytes`,
            {
              retryable: false,
            },
          ),
        ),
      );
    },
    frame: (f) => {
      switch (f.type) {
        case FrameType.Request:
          onRequest(f.id, f.header, f.body);
          break;
        case FrameType.Cancel:
          inflight.get(f.id)?.abort(cancelled("tsmicro", "the caller cancelled the request"));
          inflight.delete(f.id);
          break;
        case FrameType.Ping:
          writer.write(encodeFrame(FrameType.Pong, f.id, "", EMPTY));
          break;
        case FrameType.StreamMessage:
        case FrameType.StreamEnd:
          streams.onFrame(f.type, f.id, f.header, f.body);
          break;
        default:
          break;
      }
    },
  });

  const onRequest = (id: number, rawHeader: Buffer, body: Buffer) => {
    // Ids key the in-flight map: a reused one would replace (and orphan) a running request,
    // running handlers past the limit and never cancelling them on disconnect.
    if (inflight.has(id)) {
      const detail = `request id ${id} is already in flight on this connection; ids must be unique until answered`;
      limitLog.report("duplicate request id", `tsmicro: connection from ${peer}: ${detail}`);
      writer.write(errorFrame(id, badRequest("tsmicro", detail)));
      return;
    }
    if (inflight.size >= options.maxInflightPerConnection) {
      const detail = `${inflight.size} requests already in flight on this connection, the limit is ${options.maxInflightPerConnection}; use more connections or wait for answers`;
      // Logged like every other limit: once per kind per window, the rest counted.
      limitLog.report("in-flight limit", `tsmicro: connection from ${peer}: ${detail}`);
      writer.write(errorFrame(id, tooManyRequests("tsmicro", detail, { refused: true })));
      return;
    }
    let headers: InboundRequest["headers"];
    try {
      headers = decodeRequestHeaders(rawHeader, options);
    } catch (err) {
      writer.write(errorFrame(id, MicroError.from(err, "tsmicro", 400)));
      return;
    }
    const controller = new LightAbort();
    inflight.set(id, controller);
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      // A cancelled request needs no answer: the caller has gone.
      return inflight.get(id) === controller && inflight.delete(id);
    };
    handler({
      headers,
      body,
      signal: controller.signal,
      peer,
      respond(response) {
        if (!finish()) return;
        const header = encodeResponseHeaders(response.contentType);
        const frame = encodeFrame(FrameType.Response, id, header, response.body);
        if (frame.length > options.maxFrameBytes) {
          writer.write(
            errorFrame(
              id,
              payloadTooLarge(
                headers.service,
                `response of ${headers.service}.${headers.endpoint} is ${frame.length} bytes, over the frame limit of ${options.maxFrameBytes} bytes`,
                { retryable: false },
              ),
            ),
          );
          return;
        }
        writer.write(frame);
      },
      fail(error) {
        if (finish()) writer.write(errorFrame(id, error));
      },
    });
  };

  socket.on("data", (chunk: Buffer) => {
    guard.checkBackpressure();
    if (preface !== undefined) {
      preface = Buffer.concat([preface, chunk]);
      if (preface.length < PREFACE.length) {
        if (!PREFACE.subarray(0, preface.length).equals(preface)) refuse(badPrefaceDetail(preface));
        return;
      }
      if (!preface.subarray(0, PREFACE.length).equals(PREFACE)) return refuse(badPrefaceDetail(preface));
      chunk = preface.subarray(PREFACE.length);
      preface = undefined;
      guard.handshakeDone();
      if (chunk.length === 0) return;
    }
    try {
      decoder.push(chunk);
      guard.afterChunk(decoder);
    } catch (err) {
      refuse(`protocol error: ${err instanceof ProtocolError ? err.message : String(err)}`);
    }
  });
  const goAway = () => writer.write(encodeFrame(FrameType.GoAway, 0, "", EMPTY));
  onGoAway.add(goAway);
  socket.on("error", () => {
    /* reported through "close" */
  });
  socket.once("close", () => {
    guard.dispose();
    onGoAway.delete(goAway);
    for (const c of inflight.values()) c.abort(cancelled("tsmicro", `the caller ${peer} disconnected`));
    inflight.clear();
    streams.closeAll(cancelled("tsmicro", `the caller ${peer} disconnected`));
  });
}

/** Over the connection limit: one error frame (id 0, retryable 503) and close. */
function refuseConnection(socket: Socket, max: number, limitLog: LimitLog): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const detail = `connection refused: the server is at its limit of ${max} connections`;
  limitLog.report("connection limit", `tsmicro: ${detail} (refused ${peer})`);
  socket.on("error", () => {});
  socket.end(errorFrame(0, serviceUnavailable("tsmicro", detail, { refused: true })));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

function badPrefaceDetail(got: Buffer): string {
  const shown = got
    .subarray(0, 16)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, ".");
  return `not a tsmicro client: expected the preface "TSMICRO\\x01", got "${shown}"`;
}

export async function listenTcp(
  address: string,
  handler: RequestHandler,
  options: ServerConnectionOptions,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const goAways = new Set<() => void>();
  const limitLog = options.limitLog ?? createLimitLog(options.log);
  const connOptions: ServerConnectionOptions = { ...options, limitLog };
  const accept = (socket: Socket) => {
    if (options.tls !== undefined) hardenTlsServerSocket(socket as TLSSocket);
    if (sockets.size >= options.maxConnections)
      return refuseConnection(socket, options.maxConnections, limitLog);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    serveConnection(socket, handler, connOptions, goAways);
  };
  const server: Server =
    options.tls === undefined
      ? createServer(accept)
      : createTlsServer(tlsServerOptions(options.tls, options.handshakeTimeoutMs), accept);
  server.on("tlsClientError", (err: Error, socket: TLSSocket) => {
    // After a refusal the socket may be gone, and its address with it.
    const peer =
      socket.remoteAddress === undefined ? "a client" : `${socket.remoteAddress}:${socket.remotePort}`;
    const detail = describeTlsServerError(err, peer, socket.authorizationError ?? undefined);
    limitLog.report(detail.slice(0, detail.indexOf(":", 5)), `tsmicro: refused a TLS connection: ${detail}`);
    // Node leaves the socket open after some of these (a handshake timeout among them).
    socket.destroy();
  });
  const boundAddress = await listenAt(server, address);
  return serverListener(
    server,
    boundAddress,
    sockets,
    () => {
      for (const g of goAways) g();
    },
    async () => {
      // The last replies of a drain are batched for the next tick: let them out, then
      // half-close (a destroy here dropped them). A peer that never answers the FIN is cut.
      await new Promise((r) => setImmediate(r));
      for (const s of sockets) {
        s.end();
        setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
      }
    },
  );
}
