/**
 * One gRPC call on the server, as a tsmicro InboundStream: messages in from the HTTP/2 request,
 * messages out as DATA frames, and the end as trailers (grpc-status, grpc-message and the
 * MicroError). An error before any message goes out as a trailers-only response.
 */
import { constants, type ServerHttp2Stream } from "node:http2";
import { cancelled, MicroError, payloadTooLarge, serviceUnavailable } from "tsmicro";
import type { InboundStream, RequestHeaders } from "tsmicro/plugin";
import { CompressedMessage, MessageDecoder, writeMessage } from "./framing.js";
import { Inbox } from "./inbox.js";
import { metadataToHeaders } from "./metadata.js";
import { errorTrailers, GrpcStatus } from "./status.js";

const RESOLVED = Promise.resolve();
/**
 * respond() options, shared by every call (node copies them). No `date` header: gRPC does not use
 * one (grpc-go sends none), and formatting and HPACK-encoding it is a measurable part of a call.
 */
export const RESPOND_END = { endStream: true, sendDate: false } as const;
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as const;

export interface ServerStreamOptions {
  maxMessageBytes: number;
  /** Received bytes a call buffers before pausing the sender. */
  highWaterBytes: number;
  /** Content type sent back (the request's). */
  responseContentType: string;
  /** Whether an error of this call is an unknown endpoint (sent as UNIMPLEMENTED). */
  isUnknownEndpoint(err: MicroError): boolean;
}

export class GrpcServerStream implements InboundStream {
  readonly headers: RequestHeaders;
  readonly peer: string;
  readonly header: Record<string, string> = {};
  readonly trailer: Record<string, string> = {};
  readonly finished: Promise<MicroError | undefined>;
  /** Made on first use: most unary calls never look at their signal. */
  #controller: AbortController | undefined;
  #abortReason: MicroError | undefined;
  readonly #h2: ServerHttp2Stream;
  readonly #inbox: Inbox;
  readonly #opts: ServerStreamOptions;
  #resolveFinished!: (e: MicroError | undefined) => void;
  #outHeader: Record<string, string> | undefined;
  #outTrailer: Record<string, string> | undefined;
  #headersSent = false;
  #done = false;
  #drainWaiters: { resolve(): void; reject(e: unknown): void }[] = [];

  constructor(h2: ServerHttp2Stream, headers: RequestHeaders, peer: string, opts: ServerStreamOptions) {
    this.headers = headers;
    this.peer = peer;
    this.#h2 = h2;
    this.#opts = opts;
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    this.#inbox = new Inbox(
      () => h2.pause(),
      () => h2.resume(),
      opts.highWaterBytes,
    );
    const decoder = new MessageDecoder(opts.maxMessageBytes);
    const push = (m: Buffer) => this.#inbox.push(m);
    h2.on("data", (chunk: Buffer) => {
      if (this.#done) return;
      try {
        decoder.push(chunk, push);
      } catch (err) {
        const detail = `request message to ${headers.endpoint}: ${(err as Error).message}`;
        this.abort(
          err instanceof CompressedMessage
            ? new MicroError({ id: "tsmicro", code: 501, detail })
            : payloadTooLarge("tsmicro", detail, { retryable: false }),
        );
      }
    });
    h2.on("end", () => {
      if (decoder.pending > 0) {
        this.abort(
          new MicroError({ id: "tsmicro", code: 500, detail: "the request ended inside a message" }),
        );
      } else {
        this.#inbox.end();
      }
    });
    h2.on("drain", () => this.#drained());
    h2.on("error", () => {
      /* reported through "close" */
    });
    h2.on("close", () => {
      // Closed before the call ended: the client cancelled (RST_STREAM) or the connection dropped.
      if (!this.#done) {
        const why =
          h2.rstCode === constants.NGHTTP2_CANCEL
            ? cancelled("tsmicro", `the caller ${peer} cancelled the call`)
            : serviceUnavailable("tsmicro", `the connection of ${peer} closed (HTTP/2 code ${h2.rstCode})`);
        this.#terminate(why);
      }
    });
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Whether the call ended with an error; cheaper than `signal` for the unary path. */
  get abortReason(): MicroError | undefined {
    return this.#abortReason;
  }

  setHeader(metadata: Record<string, string>): void {
    if (!this.#headersSent) this.#outHeader = { ...this.#outHeader, ...metadata };
  }

  setTrailer(metadata: Record<string, string>): void {
    this.#outTrailer = { ...this.#outTrailer, ...metadata };
  }

  send(body: Uint8Array): Promise<void> {
    if (this.#done) return Promise.reject(this.#endedError());
    if (body.length > this.#opts.maxMessageBytes) {
      return Promise.reject(
        payloadTooLarge(
          "tsmicro",
          `response message of ${this.headers.endpoint} is ${body.length} bytes, over the limit of ${this.#opts.maxMessageBytes}`,
          { retryable: false },
        ),
      );
    }
    if (!this.#headersSent) this.#respond(false);
    if (writeMessage(this.#h2, body)) return RESOLVED;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  closeSend(): void {
    this.#end({ "grpc-status": String(GrpcStatus.OK) }, undefined);
  }

  abort(error: MicroError): void {
    const status = this.#opts.isUnknownEndpoint(error) ? GrpcStatus.UNIMPLEMENTED : undefined;
    this.#end(errorTrailers(error, status), error);
  }

  #respond(endStream: boolean, extra?: Record<string, string>): void {
    this.#headersSent = true;
    const headers: Record<string, string> = {
      ":status": "200",
      "content-type": this.#opts.responseContentType,
    };
    this.#addMetadata(this.#outHeader, headers);
    if (extra !== undefined) Object.assign(headers, extra);
    this.#h2.respond(headers, endStream ? RESPOND_END : RESPOND_WITH_TRAILERS);
  }

  #addMetadata(md: Record<string, string> | undefined, out: Record<string, string>): void {
    try {
      metadataToHeaders(md, out);
    } catch {
      // A bad key from a handler must not break the status: it is left out.
    }
  }

  #end(status: Record<string, string>, error: MicroError | undefined): void {
    if (this.#done) return;
    const h2 = this.#h2;
    if (!h2.destroyed && !h2.closed) {
      const trailers: Record<string, string> = {};
      this.#addMetadata(this.#outTrailer, trailers);
      Object.assign(trailers, status);
      try {
        if (!this.#headersSent) {
          // Trailers-only: one HEADERS frame with the status.
          this.#respond(true, trailers);
        } else {
          h2.once("wantTrailers", () => h2.sendTrailers(trailers));
          h2.end();
        }
      } catch {
        /* the stream went away meanwhile: nothing to tell */
      }
    }
    this.#terminate(error);
  }

  #terminate(error: MicroError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (error !== undefined) {
      this.#inbox.fail(error);
      this.#abortReason = error;
      this.#controller?.abort(error);
    } else {
      this.#inbox.end();
    }
    if (this.#drainWaiters.length > 0) {
      const err = error ?? this.#endedError();
      for (const w of this.#drainWaiters) w.reject(err);
      this.#drainWaiters = [];
    }
    this.#resolveFinished(error);
  }

  #drained(): void {
    const ws = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of ws) w.resolve();
  }

  #endedError(): MicroError {
    return new MicroError({
      id: "tsmicro",
      code: 409,
      detail: `the call to ${this.headers.endpoint} has ended`,
      retryable: false,
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#inbox.next(),
      return: () => {
        this.#inbox.discard();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
