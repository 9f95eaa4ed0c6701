/**
 * One gRPC call from the client, as a tsmicro TransportStream: the request's DATA frames out,
 * response messages in, and the status from the trailers (or a trailers-only response).
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
} from "node:http2";
import { cancelled, MicroError, payloadTooLarge, serviceUnavailable } from "tsmicro";
import type { RequestHeaders, TransportStream } from "tsmicro/plugin";
import { CompressedMessage, MessageDecoder, writeMessage } from "./framing.js";
import { Inbox } from "./inbox.js";
import {
  CHAIN_HEADER,
  encodeTimeout,
  headersToMetadata,
  metadataToHeaders,
  pathOf,
  SERVICE_HEADER,
  toGrpcContentType,
} from "./metadata.js";
import type { ResolvedGrpcOptions } from "./options.js";
import { errorFromTrailers, GrpcStatus, microCodeOf, statusFromHttp } from "./status.js";

const RESOLVED = Promise.resolve();

/** The HTTP/2 request headers of a call. */
export function requestHeaders(h: RequestHeaders, o: ResolvedGrpcOptions): Record<string, string> {
  const out: Record<string, string> = {
    ":method": "POST",
    ":path": pathOf(h.endpoint),
    "content-type": toGrpcContentType(h.contentType),
    te: "trailers",
    "user-agent": o.userAgent,
  };
  if (h.timeoutMs !== undefined) out["grpc-timeout"] = encodeTimeout(h.timeoutMs);
  if (h.service !== "") out[SERVICE_HEADER] = h.service;
  if (h.chain !== undefined && h.chain.length > 0) out[CHAIN_HEADER] = h.chain.join(",");
  metadataToHeaders(h.metadata, out);
  return out;
}

/**
 * Reads a call's response: messages to `onMessage`, then its outcome to `onEnd` exactly once
 * (undefined for OK). Shared by streams and unary requests; metadata is only gathered for a
 * caller that passes `onHeaders` (unary requests have nowhere to put it).
 */
export function readResponse(
  req: ClientHttp2Stream,
  id: string,
  maxMessageBytes: number,
  onHeaders: ((md: Record<string, string>) => void) | undefined,
  onMessage: (m: Buffer) => void,
  onEnd: (error: MicroError | undefined, trailer: Record<string, string> | undefined) => void,
): void {
  let ended = false;
  const end = (error: MicroError | undefined, trailer?: Record<string, string>) => {
    if (ended) return;
    ended = true;
    onEnd(error, trailer);
  };
  const decoder = new MessageDecoder(maxMessageBytes);
  const status = (headers: IncomingHttpHeaders) => {
    const raw = headers["grpc-status"];
    const code = Number(raw);
    if (raw === undefined || !Number.isInteger(code)) {
      end(new MicroError({ id, code: 500, detail: `${id}: the response carried no valid grpc-status` }));
    } else {
      end(
        code === GrpcStatus.OK ? undefined : errorFromTrailers(code, headers, id),
        onHeaders === undefined ? undefined : headersToMetadata(headers),
      );
    }
  };
  req.on("response", (headers) => {
    const http = Number(headers[":status"]);
    if (http !== 200) {
      const s = statusFromHttp(http);
      end(
        new MicroError({ id, code: microCodeOf(s), detail: `${id}: HTTP status ${http} from a gRPC peer` }),
      );
      return;
    }
    onHeaders?.(headersToMetadata(headers));
    // Trailers-only: the status came with the headers.
    if (headers["grpc-status"] !== undefined) status(headers);
  });
  req.on("data", (chunk: Buffer) => {
    if (ended) return;
    try {
      decoder.push(chunk, onMessage);
    } catch (err) {
      const detail = `response message from ${id}: ${(err as Error).message}`;
      end(
        err instanceof CompressedMessage
          ? new MicroError({ id, code: 501, detail })
          : payloadTooLarge(id, detail, { retryable: false }),
      );
      req.close(constants.NGHTTP2_CANCEL);
    }
  });
  req.on("trailers", status);
  req.on("error", (err) => {
    end(serviceUnavailable(id, `gRPC call to ${id} failed: ${err.message}`, { cause: err }));
  });
  req.on("close", () => {
    if (ended) return;
    const rst = req.rstCode;
    end(
      rst === constants.NGHTTP2_CANCEL
        ? cancelled(id, `the gRPC call to ${id} was cancelled`)
        : serviceUnavailable(id, `the gRPC call to ${id} closed without a status (HTTP/2 code ${rst})`),
    );
  });
}

export class GrpcClientStream implements TransportStream {
  readonly header: Record<string, string> = {};
  readonly trailer: Record<string, string> = {};
  readonly finished: Promise<MicroError | undefined>;
  readonly #controller = new AbortController();
  readonly #req: ClientHttp2Stream;
  readonly #inbox: Inbox;
  readonly #id: string;
  readonly #maxMessageBytes: number;
  #resolveFinished!: (e: MicroError | undefined) => void;
  #done = false;
  #halfClosed = false;
  #drainWaiters: { resolve(): void; reject(e: unknown): void }[] = [];

  constructor(session: ClientHttp2Session, h: RequestHeaders, signal: AbortSignal, o: ResolvedGrpcOptions) {
    this.#id = h.service || h.endpoint;
    this.#maxMessageBytes = o.maxMessageBytes;
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    const req = session.request(requestHeaders(h, o));
    this.#req = req;
    this.#inbox = new Inbox(
      () => req.pause(),
      () => req.resume(),
      o.streamWindowBytes,
    );
    req.on("drain", () => {
      const ws = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of ws) w.resolve();
    });
    readResponse(
      req,
      this.#id,
      o.maxMessageBytes,
      (md) => Object.assign(this.header, md),
      (m) => this.#inbox.push(m),
      (error, trailer) => {
        Object.assign(this.trailer, trailer);
        this.#finish(error, false);
      },
    );
    if (signal.aborted) this.abort(MicroError.from(signal.reason));
    else {
      const onAbort = () => this.abort(MicroError.from(signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      void this.finished.then(() => signal.removeEventListener("abort", onAbort));
    }
  }

  #endError: MicroError | undefined;

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  send(body: Uint8Array): Promise<void> {
    // A call that ended with a status (a deadline, a cancel) reports that status, not "ended".
    if (this.#done && this.#endError !== undefined) return Promise.reject(this.#endError);
    if (this.#done || this.#halfClosed) {
      return Promise.reject(
        new MicroError({
          id: this.#id,
          code: 409,
          detail: this.#halfClosed
            ? `${this.#id}: send after closeSend()`
            : `${this.#id}: the call has ended`,
          retryable: false,
        }),
      );
    }
    if (body.length > this.#maxMessageBytes) {
      return Promise.reject(
        payloadTooLarge(
          this.#id,
          `message of ${body.length} bytes is over the limit of ${this.#maxMessageBytes}`,
          {
            retryable: false,
          },
        ),
      );
    }
    if (writeMessage(this.#req, body)) return RESOLVED;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  closeSend(): void {
    if (this.#done || this.#halfClosed) return;
    this.#halfClosed = true;
    this.#req.end();
  }

  abort(error: MicroError): void {
    if (this.#done) return;
    this.#finish(error, true);
    if (!this.#req.destroyed) this.#req.close(constants.NGHTTP2_CANCEL);
  }

  #finish(error: MicroError | undefined, local: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#endError = error;
    if (error === undefined) this.#inbox.end();
    else if (local) this.#inbox.fail(error);
    else this.#inbox.end(error);
    if (error !== undefined) this.#controller.abort(error);
    const ws = this.#drainWaiters;
    this.#drainWaiters = [];
    const err =
      error ??
      new MicroError({
        id: this.#id,
        code: 409,
        detail: `${this.#id}: the call has ended`,
        retryable: false,
      });
    for (const w of ws) w.reject(err);
    this.#resolveFinished(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#inbox.next(),
      return: () => {
        // A client that walks away from the responses cancels the call, as in gRPC.
        this.abort(cancelled(this.#id, "the client stopped reading the responses"));
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
