/**
 * Streams on the multiplexed TCP connection, with credit-based flow control. A stream shares
 * the connection's id space with unary requests. Its frames (types from frame.ts):
 *
 *   StreamMessage  header ""            one message: the body
 *   StreamMessage  header {"s":...}     open (client → server): request headers, as on a unary Request
 *   StreamMessage  header {"w":n}       credit: the peer may send n more bytes of messages
 *   StreamMessage  header {"m":{...}}   response header metadata (server → client), before any message
 *   StreamEnd      header "" | {"m":{...}} (trailer); body "" = ended OK, else a MicroError as JSON
 *
 * Flow control: a message costs 16 bytes plus its body. Each side starts with STREAM_WINDOW_BYTES
 * of credit and may send while its credit is above zero; a receiver grants credit back only as
 * its consumer takes messages. So a slow reader slows the writer, and what a receiver buffers
 * per stream stays under the window plus one message.
 *
 * The server's end finishes the call (as gRPC trailers do); the client's end is a half-close.
 * An end with an error from either side cancels the stream on both.
 */
import { Code, cancelled, conflict, MicroError, payloadTooLarge, tooManyRequests } from "../errors.js";
import { encodeFrame, FrameType } from "./frame.js";
import { decodeRequestHeaders, encodeRequestHeaders, type HeaderLimits } from "./headers.js";
import type { InboundStream, RequestHeaders, StreamHandler, TransportStream } from "./transport.js";

/** Initial credit of each direction of a stream, in bytes. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/** What a message costs against the window beyond its body, so empty messages are bounded too. */
const MESSAGE_COST = 16;
/** Credit goes back once this much has been consumed (fewer, larger credit frames). */
const GRANT_THRESHOLD = STREAM_WINDOW_BYTES / 4;

const EMPTY = new Uint8Array(0);
const RESOLVED = Promise.resolve();

interface Waiter {
  resolve(r: IteratorResult<Uint8Array>): void;
  reject(e: unknown): void;
}

interface QueuedSend {
  body: Uint8Array;
  resolve(): void;
  reject(e: unknown): void;
}

interface StreamIo {
  write(frame: Buffer): void;
  /** The stream has left the connection's table. */
  done(id: number): void;
  maxFrameBytes: number;
  /** Who is on the other side, for error messages. */
  where: string;
}

/** One side of a stream. `server` decides what ending means (see the file comment). */
class StreamEndpoint implements InboundStream {
  readonly id: number;
  readonly headers: RequestHeaders;
  readonly peer: string;
  readonly header: Record<string, string> = {};
  readonly trailer: Record<string, string> = {};
  readonly finished: Promise<MicroError | undefined>;
  readonly #controller = new AbortController();
  readonly #io: StreamIo;
  readonly #server: boolean;
  #resolveFinished!: (e: MicroError | undefined) => void;
  // Receiving.
  #inbox: Uint8Array[] = [];
  #inboxHead = 0;
  #waiter: Waiter | undefined;
  /** Set once nothing more will arrive: `{}` after a clean end, `{ error }` otherwise. */
  #recvEnd: { error?: MicroError } | undefined;
  #unacked = 0;
  #discard = false;
  // Sending.
  #credit = STREAM_WINDOW_BYTES;
  #queue: QueuedSend[] = [];
  #localEnded = false;
  #endAfterQueue = false;
  #outHeader: Record<string, string> | undefined;
  #outTrailer: Record<string, string> | undefined;
  #headerSent = false;
  #finished = false;

  constructor(id: number, headers: RequestHeaders, peer: string, io: StreamIo, server: boolean) {
    this.id = id;
    this.headers = headers;
    this.peer = peer;
    this.#io = io;
    this.#server = server;
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  // ---- sending ----

  send(body: Uint8Array): Promise<void> {
    if (this.#finished || this.#localEnded) return Promise.reject(this.#endedError());
    const size = 13 + body.length;
    if (size > this.#io.maxFrameBytes) {
      return Promise.reject(
        payloadTooLarge(
          this.headers.service,
          `stream message to ${this.headers.service}.${this.headers.endpoint} is ${size} bytes, over the frame limit of ${this.#io.maxFrameBytes} bytes`,
          { retryable: false },
        ),
      );
    }
    if (this.#queue.length === 0 && this.#credit > 0) {
      this.#writeMessage(body);
      return RESOLVED;
    }
    return new Promise((resolve, reject) => this.#queue.push({ body, resolve, reject }));
  }

  closeSend(): void {
    if (this.#finished || this.#localEnded) return;
    this.#localEnded = true;
    if (this.#queue.length === 0) this.#writeEnd();
    else this.#endAfterQueue = true;
  }

  setHeader(md: Record<string, string>): void {
    if (!this.#headerSent) this.#outHeader = { ...this.#outHeader, ...md };
  }

  setTrailer(md: Record<string, string>): void {
    this.#outTrailer = { ...this.#outTrailer, ...md };
  }

  abort(error: MicroError): void {
    if (this.#finished) return;
    const trailer = this.#server ? this.#trailerHeader() : "";
    this.#io.write(encodeFrame(FrameType.StreamEnd, this.id, trailer, Buffer.from(JSON.stringify(error))));
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#recvEnd = { error };
    this.#terminate(error);
  }

  #writeMessage(body: Uint8Array): void {
    if (this.#server && !this.#headerSent) this.#sendHeader();
    this.#io.write(encodeFrame(FrameType.StreamMessage, this.id, "", body));
    this.#credit -= MESSAGE_COST + body.length;
  }

  #sendHeader(): void {
    this.#headerSent = true;
    if (this.#outHeader !== undefined) {
      this.#io.write(
        encodeFrame(FrameType.StreamMessage, this.id, JSON.stringify({ m: this.#outHeader }), EMPTY),
      );
    }
  }

  #trailerHeader(): string {
    if (!this.#headerSent) this.#sendHeader();
    return this.#outTrailer === undefined ? "" : JSON.stringify({ m: this.#outTrailer });
  }

  #writeEnd(): void {
    const trailer = this.#server ? this.#trailerHeader() : "";
    this.#io.write(encodeFrame(FrameType.StreamEnd, this.id, trailer, EMPTY));
    // The server's end is the call's end; the client's only closes its half.
    if (this.#server) {
      this.#recvEnd ??= {};
      this.#terminate(undefined);
    }
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#credit > 0 && !this.#finished) {
      const q = this.#queue.shift()!;
      this.#writeMessage(q.body);
      q.resolve();
    }
    if (this.#queue.length === 0 && this.#endAfterQueue && !this.#finished) {
      this.#endAfterQueue = false;
      this.#writeEnd();
    }
  }

  #endedError(): MicroError {
    if (this.#recvEnd?.error !== undefined) return this.#recvEnd.error;
    const what = `${this.headers.service}.${this.headers.endpoint}`;
    return conflict(
      this.headers.service,
      this.#localEnded
        ? `stream to ${what}: send after closeSend()`
        : `stream to ${what} has ended: the server finished the call`,
      { retryable: false },
    );
  }

  /** Finished both ways: no more frames for this id, in either direction. */
  #terminate(error: MicroError | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    const queued = this.#queue;
    this.#queue = [];
    const err = error ?? this.#endedError();
    for (const q of queued) q.reject(err);
    if (error !== undefined) this.#controller.abort(error);
    this.#wake();
    this.#io.done(this.id);
    this.#resolveFinished(error);
  }

  // ---- receiving ----

  /** A frame for this stream from the peer. */
  onFrame(type: number, header: Buffer, body: Uint8Array): void {
    if (this.#finished) return;
    if (type === FrameType.StreamEnd) {
      this.#onEnd(header, body);
      return;
    }
    if (header.length === 0) {
      if (this.#recvEnd !== undefined) return;
      if (this.#discard) {
        this.#grant(MESSAGE_COST + body.length);
        return;
      }
      this.#inbox.push(body);
      this.#wake();
      return;
    }
    const control = parseControl(header);
    if (typeof control.w === "number" && control.w > 0) {
      this.#credit += control.w;
      this.#flush();
    }
    if (isStringRecord(control.m)) Object.assign(this.header, control.m);
  }

  #onEnd(header: Buffer, body: Uint8Array): void {
    if (header.length > 0) {
      const control = parseControl(header);
      if (isStringRecord(control.m)) Object.assign(this.trailer, control.m);
    }
    const error = body.length === 0 ? undefined : MicroError.parse(Buffer.from(body).toString("utf8"));
    this.#recvEnd = error === undefined ? {} : { error };
    // A server may end after the client's half-close or without it; either way the call is over.
    // A client's clean end only closes its half: the server may go on sending.
    if (!this.#server || error !== undefined) this.#terminate(error);
    else this.#wake();
  }

  /** Nothing more arrives: the connection went away. */
  fail(error: MicroError): void {
    if (this.#finished) return;
    this.#recvEnd = { error };
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#terminate(error);
  }

  /** The consumer took a message: give its credit back once enough has built up. */
  #grant(cost: number): void {
    this.#unacked += cost;
    if (this.#unacked >= GRANT_THRESHOLD && this.#recvEnd === undefined && !this.#finished) {
      this.#io.write(encodeFrame(FrameType.StreamMessage, this.id, `{"w":${this.#unacked}}`, EMPTY));
      this.#unacked = 0;
    }
  }

  #wake(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    const r = this.#poll();
    if (r === undefined) return;
    this.#waiter = undefined;
    if (r instanceof MicroError) w.reject(r);
    else w.resolve(r);
  }

  /** The next result if one is ready: a message, the end, or the stream's error. */
  #poll(): IteratorResult<Uint8Array> | MicroError | undefined {
    if (this.#inboxHead < this.#inbox.length) {
      const m = this.#inbox[this.#inboxHead]!;
      this.#inbox[this.#inboxHead++] = EMPTY;
      if (this.#inboxHead === this.#inbox.length) {
        this.#inbox = [];
        this.#inboxHead = 0;
      } else if (this.#inboxHead > 1024) {
        this.#inbox = this.#inbox.slice(this.#inboxHead);
        this.#inboxHead = 0;
      }
      this.#grant(MESSAGE_COST + m.length);
      return { value: m, done: false };
    }
    const end = this.#recvEnd;
    if (end === undefined) return undefined;
    return end.error ?? { value: undefined, done: true };
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#waiter !== undefined) return Promise.reject(new Error("stream: next() called concurrently"));
    const r = this.#poll();
    if (r instanceof MicroError) return Promise.reject(r);
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The consumer stopped reading early. */
  #stopReading(): void {
    if (this.#finished) return;
    if (!this.#server) {
      // A client that walks away from the responses cancels the call, as in gRPC.
      this.abort(cancelled(this.headers.service, "the client stopped reading the stream"));
      return;
    }
    // A handler that stops reading its input: drop what comes, but keep the client's credit flowing.
    this.#discard = true;
    let freed = 0;
    for (let i = this.#inboxHead; i < this.#inbox.length; i++) freed += MESSAGE_COST + this.#inbox[i]!.length;
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#grant(freed);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.next(),
      return: () => {
        this.#stopReading();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

function parseControl(header: Buffer): Record<string, unknown> {
  try {
    const o: unknown = JSON.parse(header.toString("utf8"));
    return typeof o === "object" && o !== null ? (o as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === "string")
  );
}

function oversizedError(id: string, length: number, max: number, who: string): MicroError {
  return payloadTooLarge(
    id,
    `stream message of ${length} bytes exceeds the ${who}'s frame limit of ${max} bytes`,
    { retryable: false },
  );
}

/** The client's streams on one connection. */
export class ClientStreams {
  readonly #streams = new Map<number, StreamEndpoint>();
  readonly #io: StreamIo;

  constructor(write: (frame: Buffer) => void, maxFrameBytes: number, address: string, onDone: () => void) {
    this.#io = {
      write,
      maxFrameBytes,
      where: address,
      done: (id) => {
        this.#streams.delete(id);
        onDone();
      },
    };
  }

  get size(): number {
    return this.#streams.size;
  }

  has(id: number): boolean {
    return this.#streams.has(id);
  }

  /** Opens stream `id`; aborting `signal` cancels it on both sides. */
  open(id: number, headers: RequestHeaders, signal: AbortSignal): TransportStream {
    const s = new StreamEndpoint(id, headers, this.#io.where, this.#io, false);
    this.#streams.set(id, s);
    this.#io.write(encodeFrame(FrameType.StreamMessage, id, encodeRequestHeaders(headers), EMPTY));
    if (signal.aborted) {
      s.abort(MicroError.from(signal.reason));
    } else {
      const onAbort = () => s.abort(MicroError.from(signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      void s.finished.then(() => signal.removeEventListener("abort", onAbort));
    }
    return s;
  }

  onFrame(type: number, id: number, header: Buffer, body: Uint8Array): void {
    this.#streams.get(id)?.onFrame(type, header, body);
  }

  /** A message for stream `id` was over our frame limit and skipped: the stream cannot go on. */
  oversized(id: number, length: number): void {
    this.#streams.get(id)?.abort(oversizedError(this.#io.where, length, this.#io.maxFrameBytes, "client"));
  }

  failAll(error: MicroError): void {
    for (const s of [...this.#streams.values()]) s.fail(error);
  }
}

export interface ServerStreamsOptions extends HeaderLimits {
  maxFrameBytes: number;
  /** Open streams per connection; a stream over it is refused with a 429 (limits.ts). @default unbounded */
  maxInflightPerConnection?: number;
}

/** The server's streams on one accepted connection. */
export class ServerStreams {
  readonly #streams = new Map<number, StreamEndpoint>();
  readonly #io: StreamIo;
  readonly #handler: StreamHandler | undefined;
  readonly #limits: ServerStreamsOptions;

  constructor(
    write: (frame: Buffer) => void,
    peer: string,
    options: ServerStreamsOptions,
    handler: StreamHandler | undefined,
  ) {
    this.#handler = handler;
    this.#limits = options;
    this.#io = {
      write,
      maxFrameBytes: options.maxFrameBytes,
      where: peer,
      done: (id) => this.#streams.delete(id),
    };
  }

  get size(): number {
    return this.#streams.size;
  }

  onFrame(type: number, id: number, header: Buffer, body: Uint8Array): void {
    const s = this.#streams.get(id);
    if (s !== undefined) {
      s.onFrame(type, header, body);
      return;
    }
    // Frames for a stream that has finished are late, not wrong: dropped.
    if (type !== FrameType.StreamMessage || header.length === 0 || header[2] !== 0x73 /* {"s" */) return;
    this.#open(id, header);
  }

  #open(id: number, rawHeader: Buffer): void {
    const refuse = (error: MicroError) =>
      this.#io.write(encodeFrame(FrameType.StreamEnd, id, "", Buffer.from(JSON.stringify(error))));
    let headers: RequestHeaders;
    try {
      headers = decodeRequestHeaders(rawHeader, this.#limits);
    } catch (err) {
      refuse(MicroError.from(err, "tsmicro", 400));
      return;
    }
    const max = this.#limits.maxInflightPerConnection;
    if (max !== undefined && this.#streams.size >= max) {
      const detail = `${this.#streams.size} streams already open on this connection, the limit is ${max}`;
      refuse(
        tooManyRequests(
          headers.service,
          `stream to ${headers.service}.${headers.endpoint} refused: ${detail}`,
        ),
      );
      return;
    }
    if (this.#handler === undefined) {
      refuse(
        new MicroError({
          id: headers.service,
          code: Code.NotImplemented,
          detail: `this server does not serve streams (${headers.service}.${headers.endpoint})`,
        }),
      );
      return;
    }
    const s = new StreamEndpoint(id, headers, this.#io.where, this.#io, true);
    this.#streams.set(id, s);
    this.#handler(s);
  }

  oversized(id: number, length: number): void {
    this.#streams.get(id)?.abort(oversizedError("tsmicro", length, this.#io.maxFrameBytes, "server"));
  }

  /** The connection closed: every handler sees its signal abort. */
  closeAll(error: MicroError): void {
    for (const s of [...this.#streams.values()]) s.fail(error);
  }
}
