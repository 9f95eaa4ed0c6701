/**
 * The client's streaming call: select a node, take a shared connection, open a stream on it
 * and wrap it with the codec. Like a unary call it runs on one options snapshot and holds
 * nothing pooled: the stream lives on a multiplexed connection beside unary calls.
 * Only reaching the node is retried (select, dial); once open, a stream is never replayed.
 */
import type { Codec } from "../codec/codec.js";
import { type Context, linkSignal } from "../context.js";
import { Code, cancelled, MicroError, timeout } from "../errors.js";
import type { InflightCall, InflightTable } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Connection, TransportStream } from "../transport/transport.js";
import { abortable, sleep } from "../util/abort.js";
import type { Snapshot } from "./call.js";
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
  const own =
    opts.requestTimeoutMs === undefined ? Number.POSITIVE_INFINITY : started + opts.requestTimeoutMs;
  const deadline = Math.min(own, ctx.deadline ?? Number.POSITIVE_INFINITY);

  const controller = new AbortController();
  const unlinkCtx = linkSignal(ctx.signal, controller);
  const unlinkOpt = opts.signal === undefined ? noop : linkCancel(opts.signal, controller, req.service, hop);
  const timer = Number.isFinite(deadline)
    ? setTimeout(
        () =>
          controller.abort(
            timeout(req.service, `stream to ${hop} passed its deadline after ${Date.now() - started} ms`, {
              chain: [...ctx.chain, hop],
            }),
          ),
        deadline - started,
      )
    : undefined;
  const record: InflightCall | undefined = inflight?.add(
    "client",
    req.service,
    req.endpoint,
    undefined,
    "selecting",
    Number.isFinite(deadline) ? deadline : undefined,
    ctx.chain,
    started,
  );
  const cleanup = () => {
    clearTimeout(timer);
    unlinkCtx();
    unlinkOpt();
    if (record !== undefined) inflight!.delete(record);
  };

  try {
    const codec = o.codecs.get(req.contentType ?? o.contentType, req.service);
    const metadata = opts.metadata === undefined ? ctx.metadata : { ...ctx.metadata, ...opts.metadata };
    const conn = await reach(snap, req, opts, controller.signal, record);
    const transport = conn.stream?.(
      {
        service: req.service,
        endpoint: req.endpoint,
        contentType: codec.contentType,
        timeoutMs: Number.isFinite(deadline) ? deadline - Date.now() : undefined,
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
    if (record !== undefined) record.phase = "streaming";
    void transport.finished.then(cleanup);
    const stream = new ClientStream<Req, Rsp>(transport, codec, req.service, hop);
    if (req.body !== undefined) await stream.send(req.body as Req);
    return stream;
  } catch (err) {
    cleanup();
    if (controller.signal.aborted) throw MicroError.from(controller.signal.reason, req.service);
    throw MicroError.from(err, req.service);
  }
}

/** Selects a node and takes a connection, retrying only failures to reach it. */
async function reach(
  snap: Snapshot,
  req: Request,
  opts: StreamOptions,
  signal: AbortSignal,
  record: InflightCall | undefined,
): Promise<Connection> {
  const o = snap.options;
  const retries = opts.retries ?? o.retries;
  const addresses =
    opts.address === undefined ? undefined : typeof opts.address === "string" ? [opts.address] : opts.address;
  for (let attempt = 1; ; attempt++) {
    let node: Node | undefined;
    try {
      if (addresses !== undefined) {
        const address = addresses[(attempt - 1) % addresses.length]!;
        node = { id: address, address, metadata: {} };
      } else {
        node = (await abortable(snap.selector.select(req.service, opts.select), signal))();
      }
      if (record !== undefined) record.node = node.id;
      const conn = snap.pool.get(node.address, opts.dialTimeoutMs ?? o.dialTimeoutMs, signal);
      return conn instanceof Promise ? await conn : conn;
    } catch (err) {
      if (signal.aborted) throw MicroError.from(signal.reason, req.service);
      const e = MicroError.from(err, req.service);
      if (node !== undefined && addresses === undefined && isTransportFailure(e)) {
        snap.selector.mark(req.service, node, e);
      }
      if (!e.retryable || attempt > retries) throw e;
      await sleep(o.backoff(attempt), signal);
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

function noop() {}

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
