/**
 * The client's end of a gRPC connection: one HTTP/2 session, many calls multiplexed on it.
 * Unary requests take a lean path (one DATA frame out, one message and the trailers in);
 * streams are GrpcClientStreams.
 */
import { type ClientHttp2Session, connect, constants, type SecureClientSessionOptions } from "node:http2";
import type { Socket } from "node:net";
import { checkServerIdentity } from "node:tls";
import { MicroError, serviceUnavailable, timeout } from "tsmicro";
import {
  type Connection,
  DEFAULT_TLS_MIN_VERSION,
  parseAddress,
  type RequestHeaders,
  type SignalLike,
  startTimer,
  stopTimer,
  type TransportRequest,
  type TransportResponse,
  type TransportStream,
  markTransportFailure as transportFailure,
} from "tsmicro/plugin";
import { GrpcClientStream, readResponse, requestHeaders } from "./client-stream.js";
import { frameMessage } from "./framing.js";
import { http2Settings, type ResolvedGrpcOptions } from "./options.js";

export function dialGrpc(
  address: string,
  options: { timeoutMs: number; signal?: AbortSignal },
  o: ResolvedGrpcOptions,
): Promise<Connection> {
  const { host, port } = parseAddress(address);
  const shown = host.includes(":") ? `[${host}]` : host;
  const tls = o.tls;
  const connectOptions: SecureClientSessionOptions = {
    settings: http2Settings(o),
    maxSessionMemory: o.maxSessionMemoryMb,
  };
  if (tls !== undefined) {
    Object.assign(connectOptions, {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      minVersion: tls.minVersion ?? DEFAULT_TLS_MIN_VERSION,
      servername: tls.serverName ?? (/^[\d.]+$|:/.test(host) ? undefined : host),
    });
    if (tls.serverName !== undefined) {
      connectOptions.checkServerIdentity = (_host, cert) => checkServerIdentity(tls.serverName!, cert);
    }
  }
  const url = `${tls === undefined ? "http" : "https"}://${shown}:${port}`;
  return new Promise<Connection>((resolve, reject) => {
    const session = connect(url, connectOptions);
    const fail = (err: MicroError) => {
      cleanup();
      session.destroy();
      reject(transportFailure(err));
    };
    const onError = (err: Error) =>
      fail(serviceUnavailable(address, `dial grpc ${address}: ${err.message}`, { cause: err }));
    const onAbort = () => fail(MicroError.from(options.signal?.reason));
    // On the deadline helper: Infinity means no dial deadline, beyond 2^31−1 ms is chained.
    const timer = startTimer(
      () => fail(timeout(address, `dial grpc ${address}: no connection after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const cleanup = () => {
      stopTimer(timer);
      session.off("error", onError);
      options.signal?.removeEventListener("abort", onAbort);
    };
    session.once("error", onError);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    session.once("connect", (_session: ClientHttp2Session, socket: Socket) => {
      cleanup();
      session.setLocalWindowSize(o.connectionWindowBytes);
      resolve(new GrpcConnection(session, socket, address, o));
    });
  });
}

class GrpcConnection implements Connection {
  readonly address: string;
  readonly createdAt = Date.now();
  readonly closed: Promise<void>;
  readonly #session: ClientHttp2Session;
  readonly #o: ResolvedGrpcOptions;
  #inflight = 0;
  #usable = true;
  #closeWhenIdle = false;

  readonly #socket: Socket;

  constructor(session: ClientHttp2Session, socket: Socket, address: string, o: ResolvedGrpcOptions) {
    this.#socket = socket;
    this.address = address;
    this.#session = session;
    this.#o = o;
    let markClosed: () => void = () => {};
    session.on("error", () => {
      // Each call reports its own failure. A session destroyed by an error (a TLS alert such as
      // "certificate required") may never emit "close" while its socket lingers: it is closed.
      this.#usable = false;
      markClosed();
    });
    session.on("goaway", () => {
      // The server is draining: calls already running finish, new ones go elsewhere.
      this.#usable = false;
      this.#closeWhenIdle = true;
      this.#maybeClose();
    });
    this.closed = new Promise((resolve) => {
      markClosed = resolve;
      session.once("close", () => {
        this.#usable = false;
        resolve();
      });
    });
  }

  get inflight(): number {
    return this.#inflight;
  }

  get usable(): boolean {
    return this.#usable && !this.#session.closed && !this.#session.destroyed;
  }

  request(req: TransportRequest, signal: SignalLike): Promise<TransportResponse> {
    if (!this.usable) {
      return Promise.reject(
        transportFailure(serviceUnavailable(this.address, `connection to ${this.address} is closing`)),
      );
    }
    if (signal.aborted) return Promise.reject(MicroError.from(signal.reason));
    const h = req.headers;
    const id = h.service || h.endpoint;
    let headers: Record<string, string>;
    try {
      headers = requestHeaders(h, this.#o);
    } catch (err) {
      return Promise.reject(MicroError.from(err));
    }
    if (req.body.length > this.#o.maxMessageBytes) {
      return Promise.reject(
        new MicroError({
          id,
          code: 413,
          detail: `request to ${h.endpoint} is ${req.body.length} bytes, over the limit of ${this.#o.maxMessageBytes}`,
          retryable: false,
        }),
      );
    }
    this.#inflight++;
    return new Promise<TransportResponse>((resolve, reject) => {
      const stream = this.#session.request(headers, { endStream: false });
      let message: Buffer | undefined;
      let extra = false;
      const onAbort = () => {
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      readResponse(
        stream,
        id,
        this.#o.maxMessageBytes,
        undefined,
        (m) => {
          if (message === undefined) message = m;
          else extra = true;
        },
        (error) => {
          signal.removeEventListener("abort", onAbort);
          this.#inflight--;
          this.#maybeClose();
          if (signal.aborted) return reject(MicroError.from(signal.reason));
          if (error !== undefined) return reject(error);
          if (message === undefined || extra) {
            return reject(
              new MicroError({
                id,
                code: 502,
                detail: `${h.endpoint}: a unary call got ${message === undefined ? "no" : "more than one"} response message`,
                retryable: false,
              }),
            );
          }
          resolve({ contentType: h.contentType, body: message });
        },
      );
      stream.end(frameMessage(req.body));
    });
  }

  stream(headers: RequestHeaders, signal: AbortSignal): TransportStream {
    if (!this.usable) {
      throw transportFailure(serviceUnavailable(this.address, `connection to ${this.address} is closing`));
    }
    const s = new GrpcClientStream(this.#session, headers, signal, this.#o);
    this.#inflight++;
    void s.finished.then(() => {
      this.#inflight--;
      this.#maybeClose();
    });
    return s;
  }

  close(graceful = false): void {
    this.#usable = false;
    if (this.#session.destroyed) {
      // Already destroyed (by an error): make sure its socket goes too.
      this.#socket.destroy();
      return;
    }
    if (graceful && this.#inflight > 0) {
      this.#closeWhenIdle = true;
      return;
    }
    if (graceful) this.#session.close();
    else this.#session.destroy();
  }

  #maybeClose(): void {
    if (this.#closeWhenIdle && this.#inflight === 0) this.#session.close();
  }
}
