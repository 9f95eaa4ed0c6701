/**
 * The client's streaming call: select a node, take a shared connection, open a stream on it
 * and wrap it with the codec. Like a unary call it runs on one options snapshot and holds
 * nothing pooled: the stream lives on a multiplexed connection beside unary calls.
 * Only reaching the node is retried (select, dial); once open, a stream is never replayed.
 */
import type { Codec } from "../codec/codec.js";
import type { Context } from "../context.js";
import { abortError, Code, cancelled, MicroError, timeout } from "../errors.js";
import type { InflightCall, InflightTable } from "../inflight.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Connection, TransportStream } from "../transport/transport.js";
import { sleep } from "../util/abort.js";
import { deadlineOf, linkSignal, noop, startTimer, stopTimer, wireTimeoutMs } from "../util/deadline.js";
import { Attempt, type Snapshot, trackCall } from "./attempt.js";
import { checkDepth } from "./depth.js";
import type { CallOptions } from "./options.js";
import type { Request } from "./request.js";

/**
 * A bidirectional stream (go-micro's `client.Stream`): send requests, iterate responses.
 * Iteration ends when the server finishes, and throws the MicroError the call ended with
 * (the server's error, a cancel from either side, the deadline, or a lost connection).
 * Breaking out of the loop early cancels the call.
 */
export interface Stream<Req = unknown, Rsp = unknown> extends AsyncIterable<Rsp> {
  /** Sends one message; resolves once the server has window for it (a slow server slows you down). */
  send(message: Req): Promise<void>;
  /** No more messages from this side (half-close); responses keep coming. */
  closeSend(): void;
  /** Cancels the call on both sides; iteration then throws a 499 with `reason`. */
  close(reason?: string): void;
  /** The next response, or undefined once the server has finished (go-micro's `Recv`). */
  recv(): Promise<Rsp | undefined>;
  /** Aborts when the call ends with an error. */
  readonly signal: AbortSignal;
  /** Settles when the call is over, with its error if it failed. */
  readonly finished: Promise<MicroError | undefined>;
  /** Response header metadata from the server (known once the first response arrives). */
  readonly header: Readonly<Record<string, string>>;
  /** Trailer metadata from the server (known once the call is over). */
  readonly trailer: Readonly<Record<string, string>>;
}

/**
 * Stream options are call options; `requestTimeoutMs` bounds the whole stream only when given
 * (the client's default request timeout is for unary calls), and `retries` covers reaching the node.
 */
export type StreamOptions = CallOptions;

export async function openStream<Req, Rsp>(
  snap: Snapshot,
  inflight: InflightTable | undefined,
  ctx: Context,
  req: Request,
  opts: StreamOptions,
): Promise<Stream<Req, Rsp>> {
  const o = snap.options;
  const hop = `${req.service}.${req.endpoint}`;
  checkDepth(ctx, req.service, `stream to ${hop}`, o.maxCallDepth);
  const started = Date.now();
  const deadline = deadlineOf(started, opts.requestTimeoutMs, ctx.deadline);

  const controller = new AbortController();
  // The context's reason as the caller's cancel (a 499, as a unary call has it), whatever it is.
  const unlinkCtx = linkSignal(ctx.signal, { abort: (r) => controller.abort(abortError(r, req.service)) });
  const unlinkOpt = opts.signal === undefined ? noop : linkCancel(opts.signal, controller, req.service, hop);
  const timer = startTimer(
    () =>
      controller.abort(
        timeout(req.service, `stream to ${hop} passed its deadline after ${Date.now() - started} ms`, {
          chain: [...ctx.chain, hop],
        }),
      ),
    deadline - started,
  );
  const record: InflightCall | undefined = trackCall(
    inflight,
    req.service,
    req.endpoint,
    deadline,
    ctx.chain,
    started,
  );
  const attempt = new Attempt(snap, req.service, opts, record);
  let transport: TransportStream | undefined;
  const cleanup = () => {
    attempt.release();
    stopTimer(timer);
    unlinkCtx();
    unlinkOpt();
    if (record !== undefined) inflight!.delete(record);
  };

  try {
    // A caller that gave up already (its context or signal): nothing is dialled or opened.
    if (controller.signal.aborted) throw controller.signal.reason;
    const codec = o.codecs.get(req.contentType ?? o.contentType, req.service);
    const metadata = opts.metadata === undefined ? ctx.metadata : { ...ctx.metadata, ...opts.metadata };
    const conn = await reach(attempt, snap, req, opts, controller.signal);
    transport = conn.stream?.(
      {
        service: req.service,
        endpoint: req.endpoint,
        contentType: codec.contentType,
        timeoutMs: wireTimeoutMs(deadline),
        metadata,
        chain: ctx.chain,
      },
      controller.signal,
    );
    if (transport === undefined) {
      throw new MicroError({
        id: req.service,
        code: Code.NotImplemented,
        detail: `stream to ${hop}: the ${o.transport.name} transport does not support streams`,
        retryable: false,
      });
    }
    attempt.enter("streaming");
    // The stream counts against its node (least-in-flight) until it ends; how it ended is the
    // node's success or failure.
    void transport.finished.then((error) => {
      if (error === undefined || !isTransportFailure(error)) attempt.succeeded();
      else attempt.failed(error);
      cleanup();
    });
    const stream = new ClientStream<Req, Rsp>(transport, codec, req.service, hop);
    if (req.body !== undefined) await stream.send(req.body as Req);
    return stream;
  } catch (err) {
    const e = controller.signal.aborted
      ? abortError(controller.signal.reason, req.service)
      : MicroError.from(err, req.service);
    // An open transport stream must end with the call, or its connection never drains.
    transport?.abort(e);
    cleanup();
    throw e;
  }
}

/** Reaches a node (select, dial), retrying only failures to reach it: an open stream is never replayed. */
async function reach(
  attempt: Attempt,
  snap: Snapshot,
  req: Request,
  opts: StreamOptions,
  signal: AbortSignal,
): Promise<Connection> {
  const retries = opts.retries ?? snap.options.retries;
  for (;;) {
    try {
      return await attempt.connect(signal);
    } catch (err) {
      if (signal.aborted) throw abortError(signal.reason, req.service);
      const e = MicroError.from(err, req.service);
      attempt.failed(e);
      if (!e.retryable || attempt.number > retries) throw e;
      attempt.enter("backoff");
      await sleep(snap.options.backoff(attempt.number), signal);
      attempt.next();
    }
  }
}

class ClientStream<Req, Rsp> implements Stream<Req, Rsp> {
  readonly #t: TransportStream;
  readonly #codec: Codec;
  readonly #id: string;
  readonly #hop: string;

  constructor(transport: TransportStream, codec: Codec, id: string, hop: string) {
    this.#t = transport;
    this.#codec = codec;
    this.#id = id;
    this.#hop = hop;
  }

  get signal(): AbortSignal {
    return this.#t.signal;
  }
  get finished(): Promise<MicroError | undefined> {
    return this.#t.finished;
  }
  get header(): Readonly<Record<string, string>> {
    return this.#t.header;
  }
  get trailer(): Readonly<Record<string, string>> {
    return this.#t.trailer;
  }

  send(message: Req): Promise<void> {
    let body: Uint8Array;
    try {
      body = this.#codec.encode(message);
    } catch (err) {
      return Promise.reject(
        new MicroError({
          id: this.#id,
          code: Code.BadRequest,
          detail: `cannot encode a message for ${this.#hop} as ${this.#codec.contentType}: ${(err as Error).message}`,
          retryable: false,
        }),
      );
    }
    return this.#t.send(body);
  }

  closeSend(): void {
    this.#t.closeSend();
  }

  close(reason = "the client closed the stream"): void {
    this.#t.abort(new MicroError({ id: this.#id, code: Code.Cancelled, detail: `${this.#hop}: ${reason}` }));
  }

  async recv(): Promise<Rsp | undefined> {
    const r = await this.#t[Symbol.asyncIterator]().next();
    return r.done ? undefined : this.#decode(r.value);
  }

  #decode(bytes: Uint8Array): Rsp {
    try {
      return this.#codec.decode(bytes) as Rsp;
    } catch (err) {
      const e = new MicroError({
        id: this.#id,
        code: Code.BadGateway,
        detail: `cannot decode a message of ${this.#hop} as ${this.#codec.contentType}: ${(err as Error).message}`,
        retryable: false,
      });
      this.#t.abort(e);
      throw e;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Rsp> {
    const it = this.#t[Symbol.asyncIterator]();
    return {
      next: async () => {
        const r = await it.next();
        return r.done ? r : { value: this.#decode(r.value), done: false };
      },
      return: async () => {
        await it.return?.();
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * Links the caller's own AbortSignal: an abort without a MicroError reason (a plain
 * `controller.abort()`) is the caller cancelling, a 499, not a 500.
 */
function linkCancel(signal: AbortSignal, controller: AbortController, id: string, hop: string): () => void {
  const onAbort = () => {
    const r: unknown = signal.reason;
    const why = r instanceof Error ? r.message : String(r);
    controller.abort(r instanceof MicroError ? r : cancelled(id, `${hop}: the caller cancelled (${why})`));
  };
  if (signal.aborted) {
    onAbort();
    return noop;
  }
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
