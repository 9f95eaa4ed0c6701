/**
 * Transport: moves requests and responses between a client and a server. Unlike go-micro's
 * socket-level transport, a tsmicro connection is multiplexed: many requests share one
 * connection, matched by id, so a pool bounds sockets and never concurrent calls.
 */
import type { MicroError } from "../errors.js";
import type { SignalLike } from "../util/light-abort.js";

export type { SignalLike } from "../util/light-abort.js";

/** What the client sends with every request. */
export interface RequestHeaders {
  service: string;
  endpoint: string;
  contentType: string;
  /** The caller's remaining time; relative, so clocks on two hosts need not agree. */
  timeoutMs?: number;
  metadata?: Record<string, string>;
  /** Hops so far, oldest first (`service.endpoint@node`). */
  chain?: readonly string[];
}

export interface TransportRequest {
  headers: RequestHeaders;
  body: Uint8Array;
}

export interface TransportResponse {
  contentType: string;
  body: Uint8Array;
}

/** A client's end of one (multiplexed) connection. */
export interface Connection {
  readonly address: string;
  /** Requests sent and not yet answered. */
  readonly inflight: number;
  /** False once closed, broken, or told by the server to go away. */
  readonly usable: boolean;
  readonly createdAt: number;
  /**
   * Sends one request and resolves with its response; rejects with a MicroError (the remote
   * error, or a transport failure marked retryable). Aborting `signal` tells the server to
   * cancel the handler and rejects at once with `signal.reason`.
   */
  request(request: TransportRequest, signal: SignalLike): Promise<TransportResponse>;
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;
  /** Closes after the in-flight requests finish (`graceful`) or at once. */
  close(graceful?: boolean): void;
  /**
   * Opens a message stream (see stream.ts); aborting `signal` cancels it on both sides.
   * Optional: a transport without streams leaves it out and `client.stream` says so.
   */
  stream?(headers: RequestHeaders, signal: AbortSignal): TransportStream;
}

/**
 * One side of a message stream: ordered, flow-controlled messages of opaque bytes. Iterating
 * yields the peer's messages; it ends when the peer closes its side, and throws the
 * MicroError the stream ended with.
 */
export interface TransportStream extends AsyncIterable<Uint8Array> {
  /** Resolves once the peer has window for the message: a slow reader slows the writer. */
  send(body: Uint8Array): Promise<void>;
  /** This side sends no more. The client's is a half-close; the server's ends the call. */
  closeSend(): void;
  /** Ends the stream both ways with `error`; the peer sees it as the stream's status. */
  abort(error: MicroError): void;
  /** Aborts when the stream ends with an error, from either side. */
  readonly signal: AbortSignal;
  /** Settles when the stream is over both ways, with its error if it failed. */
  readonly finished: Promise<MicroError | undefined>;
  /** Response header metadata received (client side); filled before the first message is yielded. */
  readonly header: Readonly<Record<string, string>>;
  /** Trailer metadata received with the server's end (client side). */
  readonly trailer: Readonly<Record<string, string>>;
}

/** A stream as the server's stream handler receives it. */
export interface InboundStream extends TransportStream {
  readonly headers: RequestHeaders;
  /** Remote address of the caller, for logs. */
  readonly peer: string;
  /** Response header metadata, sent before the first message (merged until then). */
  setHeader(metadata: Record<string, string>): void;
  /** Trailer metadata, sent with the end. */
  setTrailer(metadata: Record<string, string>): void;
}

export type StreamHandler = (stream: InboundStream) => void;

/** A request as the server's handler receives it. Exactly one of respond/fail takes effect. */
export interface InboundRequest {
  readonly headers: RequestHeaders;
  readonly body: Uint8Array;
  /** Aborts when the caller cancels or its connection drops. */
  readonly signal: SignalLike;
  /** Remote address of the caller, for logs. */
  readonly peer: string;
  respond(response: TransportResponse): void;
  fail(error: MicroError): void;
}

export type RequestHandler = (request: InboundRequest) => void;

export interface Listener {
  /** The bound `host:port` (the real port when 0 was asked). */
  readonly address: string;
  /** Open connections. */
  readonly connections: number;
  /** Stops accepting; tells clients to move away; keeps serving what already arrived. */
  stopAccepting(): Promise<void>;
  /** Closes every connection. */
  close(): Promise<void>;
}

export interface DialOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Transport {
  readonly name: string;
  dial(address: string, options: DialOptions): Promise<Connection>;
  /** `streamHandler` serves streams (and, on transports where every call is a stream, such as gRPC, all calls). */
  listen(address: string, handler: RequestHandler, streamHandler?: StreamHandler): Promise<Listener>;
}
