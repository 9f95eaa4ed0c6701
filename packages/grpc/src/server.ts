/**
 * The gRPC server: an HTTP/2 server (h2c, or TLS with ALPN h2) whose calls become tsmicro
 * streams. Every gRPC call is a stream; tsmicro's stream server hands calls to unary
 * endpoints on to the ordinary unary path.
 */
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { badRequest, MicroError } from "tsmicro";
import {
  checkClientCertCa,
  DEFAULT_TLS_MIN_VERSION,
  hardenTlsServerSocket,
  type InboundStream,
  isUnknownEndpoint,
  type Listener,
  listenAt,
  type RequestHandler,
  type RequestHeaders,
  type StreamHandler,
} from "tsmicro/plugin";
import {
  CHAIN_HEADER,
  endpointOf,
  fromGrpcContentType,
  headersToMetadata,
  parseTimeout,
  SERVICE_HEADER,
} from "./metadata.js";
import { type GrpcTransportOptions, http2Settings, type ResolvedGrpcOptions } from "./options.js";
import { GrpcServerStream, RESPOND_END, type ServerStreamOptions } from "./server-stream.js";
import { errorTrailers, GrpcStatus } from "./status.js";

export async function listenGrpc(
  address: string,
  handler: RequestHandler,
  streamHandler: StreamHandler | undefined,
  options: ResolvedGrpcOptions,
): Promise<Listener> {
  const sessions = new Set<Http2Session>();
  const settings = http2Settings(options);
  const tls = options.tls;
  if (tls !== undefined) checkClientCertCa(tls, "grpc transport");
  const server: Http2Server | Http2SecureServer =
    tls === undefined
      ? createServer({ settings, maxSessionMemory: options.maxSessionMemoryMb })
      : createSecureServer({
          settings,
          maxSessionMemory: options.maxSessionMemoryMb,
          cert: tls.cert,
          key: tls.key,
          ca: tls.ca as string | Buffer | (string | Buffer)[] | undefined,
          requestCert: tls.requireClientCert === true,
          rejectUnauthorized: tls.requireClientCert === true,
          minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION,
          allowHTTP1: false,
        });
  server.on("secureConnection", hardenTlsServerSocket);
  const serve = streamHandler ?? unaryOnly(handler);
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", () => {
      /* reported to each call through its stream's close */
    });
    session.setLocalWindowSize(options.connectionWindowBytes);
  });
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
    onStream(stream, headers, serve, options),
  );
  server.on("sessionError", () => {});
  const boundAddress = await listenAt(server, address);
  let closing: Promise<void> | undefined;
  const stopAccepting = () => {
    closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
    // GOAWAY: clients open no new calls here; calls already running finish.
    for (const s of sessions) s.close();
    return Promise.resolve();
  };
  return {
    address: boundAddress,
    get connections() {
      return sessions.size;
    },
    stopAccepting,
    async close() {
      await stopAccepting();
      for (const s of sessions) s.destroy();
      await closing;
    },
  };
}

function onStream(
  h2: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  serve: StreamHandler,
  options: Required<Omit<GrpcTransportOptions, "tls">>,
): void {
  const refuse = (httpStatus: number, status: GrpcStatus, err: MicroError) => {
    h2.on("error", () => {});
    if (h2.destroyed || h2.closed) return;
    h2.respond(
      {
        ":status": String(httpStatus),
        "content-type": "application/grpc",
        ...errorTrailers(err, status),
      },
      RESPOND_END,
    );
  };
  const contentType = fromGrpcContentType(headers["content-type"]);
  if (headers[":method"] !== "POST" || contentType === undefined) {
    refuse(
      415,
      GrpcStatus.INTERNAL,
      new MicroError({
        id: "tsmicro",
        code: 415,
        detail: `not a gRPC request: ${String(headers[":method"])} with content-type "${String(headers["content-type"])}"`,
      }),
    );
    return;
  }
  const path = headers[":path"] ?? "";
  const endpoint = endpointOf(path);
  if (endpoint === undefined) {
    refuse(
      200,
      GrpcStatus.UNIMPLEMENTED,
      badRequest("tsmicro", `gRPC path "${path}" is not /Service/Method`),
    );
    return;
  }
  let timeoutMs: number | undefined;
  try {
    timeoutMs = parseTimeout(headers["grpc-timeout"]);
  } catch (err) {
    refuse(200, GrpcStatus.INTERNAL, MicroError.from(err));
    return;
  }
  const service = headers[SERVICE_HEADER];
  const chain = headers[CHAIN_HEADER];
  const request: RequestHeaders = {
    service: typeof service === "string" ? service : "",
    endpoint,
    contentType,
    timeoutMs,
    metadata: headersToMetadata(headers),
    chain: typeof chain === "string" && chain.length > 0 ? chain.split(",") : undefined,
  };
  const stream = new GrpcServerStream(
    h2,
    request,
    peerOf(h2.session),
    streamOptions(options, headers["content-type"]!),
  );
  serve(stream);
}

/** The peer address of each session, worked out once (reading it through the session's socket proxy costs). */
const peers = new WeakMap<Http2Session, string>();

function peerOf(session: Http2Session | undefined): string {
  if (session === undefined) return "undefined:undefined";
  let peer = peers.get(session);
  if (peer === undefined) {
    const socket = session.socket;
    peer = `${socket?.remoteAddress}:${socket?.remotePort}`;
    // Known once the socket is connected, which it is when a stream arrives; do not cache a miss.
    if (socket?.remoteAddress !== undefined) peers.set(session, peer);
  }
  return peer;
}

/**
 * Per-call stream options, shared by the calls of one content type (the usual one or two) instead
 * of built for each; other content types get their own object.
 */
const optionsCache = new WeakMap<object, Map<string, ServerStreamOptions>>();
const MAX_CACHED_CONTENT_TYPES = 8;

function streamOptions(
  options: Required<Omit<GrpcTransportOptions, "tls">>,
  responseContentType: string,
): ServerStreamOptions {
  let byType = optionsCache.get(options);
  if (byType === undefined) {
    byType = new Map();
    optionsCache.set(options, byType);
  }
  let o = byType.get(responseContentType);
  if (o === undefined) {
    o = {
      maxMessageBytes: options.maxMessageBytes,
      highWaterBytes: options.streamWindowBytes,
      responseContentType,
      isUnknownEndpoint,
    };
    if (byType.size < MAX_CACHED_CONTENT_TYPES) byType.set(responseContentType, o);
  }
  return o;
}

/** For a server without stream support: every call is unary (one message in, one out). */
function unaryOnly(handler: RequestHandler): StreamHandler {
  return (s: InboundStream) => {
    const it = s[Symbol.asyncIterator]();
    it.next().then(
      (first) => {
        if (first.done) {
          s.abort(badRequest("tsmicro", `${s.headers.endpoint} expects a request message, got none`));
          return;
        }
        handler({
          headers: s.headers,
          body: first.value,
          signal: s.signal,
          peer: s.peer,
          respond: (r) =>
            s.send(r.body).then(
              () => s.closeSend(),
              () => {},
            ),
          fail: (e) => s.abort(e),
        });
      },
      () => {},
    );
  };
}
