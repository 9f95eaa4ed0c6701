/**
 * tsmicro's server end of go-micro's HTTP transport: a TCP listener reading go-micro
 * messages (HTTP/1.1 POSTs) from each connection. A message without `Micro-Stream` is a unary
 * request, answered with one response whenever its handler finishes (go-micro clients keep one
 * request per socket in flight); messages with `Micro-Stream` feed that stream.
 */
import { createServer, type Socket } from "node:net";
import { MicroError } from "tsmicro";
import {
  type InboundRequest,
  type Listener,
  listenAt,
  type RequestHandler,
  type StreamHandler,
  serverListener,
} from "tsmicro/plugin";
import { unwrapRequest } from "./envelope.js";
import { END_OF_STREAM, errorHeader, H, requestHeadersIn } from "./headers.js";
import { encodeResponse, Http1Reader, type HttpMessage } from "./http1.js";
import type { ResolvedWireOptions } from "./options.js";
import { ServerWireStream } from "./server-stream.js";
import { CANCEL_HEADER, MULTIPLEX_HEADER, PROBE_HEADER } from "./socket.js";

export async function listenGoMicro(
  address: string,
  handler: RequestHandler,
  streamHandler: StreamHandler | undefined,
  opts: ResolvedWireOptions,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    serveConnection(socket, handler, streamHandler, opts);
  });
  // A deeper accept queue than Node's 511: go-micro's protocol has one request in flight per
  // socket, so a burst of calls is a burst of connects, and dropped SYNs cost a 1 s retransmit.
  const bound = await listenAt(server, address, "address", opts.backlog);
  return serverListener(server, bound, sockets);
}

function serveConnection(
  socket: Socket,
  handler: RequestHandler,
  streamHandler: StreamHandler | undefined,
  opts: ResolvedWireOptions,
) {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const reader = new Http1Reader(opts, `request from ${peer}`);
  // The unary requests in flight on this connection, by Micro-Id: cancelled when the caller
  // leaves, or (tsmicro callers sharing the socket) when it says so.
  const inflight = new Map<string, AbortController>();
  const streams = new Map<string, ServerWireStream>();
  socket.setNoDelay(true);
  const write = (bytes: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (socket.destroyed)
        return reject(
          new MicroError({ id: "go.micro.server", code: 499, detail: `caller ${peer} went away` }),
        );
      socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  socket.on("data", (chunk: Buffer) => {
    let messages: HttpMessage[];
    try {
      messages = reader.push(chunk);
    } catch (err) {
      const e = MicroError.from(err);
      opts.log(`go-micro transport: ${e.detail}; closing the connection`);
      socket.end(encodeResponse({ [H.error]: errorHeader(e) }, new Uint8Array(), `${e.code} ${e.status}`));
      return;
    }
    for (const m of messages) onMessage(m);
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    const e = new MicroError({
      id: "go.micro.server",
      code: 499,
      detail: `caller ${peer} closed the connection`,
    });
    for (const c of inflight.values()) c.abort(e);
    inflight.clear();
    for (const s of streams.values()) s.abort(e);
  });

  const onMessage = (m: HttpMessage) => {
    const streamId = m.headers[H.stream] || m.headers[`X-${H.stream}`];
    if (streamId) return onStreamMessage(streamId, m);
    if (m.headers[CANCEL_HEADER] !== undefined) {
      const id = m.headers[H.id];
      const c = id === undefined ? undefined : inflight.get(id);
      c?.abort(
        new MicroError({
          id: "go.micro.server",
          code: 499,
          detail: `the caller cancelled: ${m.headers[CANCEL_HEADER]}`,
        }),
      );
      return;
    }
    if (m.headers[PROBE_HEADER]) {
      void write(encodeResponse({ ...echo(m), [MULTIPLEX_HEADER]: "1" }, new Uint8Array())).catch(() => {});
      return;
    }
    if (m.headers[H.topic]) {
      // go-micro can deliver broker events over RPC; tsmicro takes events from the broker only.
      void write(
        encodeResponse(
          { ...echo(m), [H.error]: "tsmicro does not take broker events over RPC" },
          new Uint8Array(),
        ),
      ).catch(() => {});
      return;
    }
    serveUnary(m);
  };

  const onStreamMessage = (id: string, m: HttpMessage) => {
    const existing = streams.get(id);
    const isEnd = m.headers[H.error] === END_OF_STREAM;
    if (existing) {
      if (isEnd) existing.remoteEnd();
      else existing.push(m.body);
      return;
    }
    if (isEnd) return; // the end of a stream that is already over
    const headers = requestHeadersIn(m.headers);
    const stream = new ServerWireStream(headers, peer, id, echo(m), write, () => streams.delete(id));
    streams.set(id, stream);
    if (!streamHandler) {
      stream.abort(
        new MicroError({ id: headers.service, code: 501, detail: `${headers.service} serves no streams` }),
      );
      return;
    }
    // The first message opens the call; as go-micro's server, its body is not the handler's.
    streamHandler(stream);
  };

  const serveUnary = (m: HttpMessage) => {
    const headers = requestHeadersIn(m.headers);
    // Tells a tsmicro client it may send more requests on this socket before this answer.
    const base = { ...echo(m), [MULTIPLEX_HEADER]: "1" };
    let settled = false;
    const controller = new AbortController();
    const key = m.headers[H.id] ?? `anonymous-${Math.random()}`;
    inflight.set(key, controller);
    const send = (h: Record<string, string>, body: Uint8Array) => {
      if (settled) return;
      settled = true;
      if (inflight.get(key) === controller) inflight.delete(key);
      void write(encodeResponse(h, body)).catch(() => {});
    };
    let envelope: ReturnType<typeof unwrapRequest>;
    try {
      envelope = unwrapRequest(headers.contentType, m.body);
    } catch (err) {
      send({ ...base, [H.error]: errorHeader(MicroError.from(err)) }, new Uint8Array());
      return;
    }
    const request: InboundRequest = {
      headers: envelope ? { ...headers, contentType: envelope.contentType } : headers,
      body: envelope ? envelope.body : m.body,
      signal: controller.signal,
      peer,
      respond(r) {
        const body = envelope ? envelope.wrap(r.body) : r.body;
        send({ ...base, [H.contentType]: envelope ? m.headers[H.contentType]! : r.contentType }, body);
      },
      fail(e) {
        send(
          { ...base, [H.error]: errorHeader(e) },
          envelope ? envelope.wrap(undefined, errorHeader(e)) : new Uint8Array(),
        );
      },
    };
    try {
      handler(request);
    } catch (err) {
      request.fail(MicroError.from(err, headers.service));
    }
  };
}

/** What go-micro's server puts on every answer: the request's id, service, endpoint and method. */
function echo(m: HttpMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [H.id, H.service, H.endpoint, H.method, H.stream]) {
    const v = m.headers[k] || m.headers[`X-${k}`];
    if (v) out[k] = v;
  }
  return out;
}
