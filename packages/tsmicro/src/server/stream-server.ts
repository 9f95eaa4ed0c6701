/**
 * The server side of streams: find the stream endpoint, decode each message, build the
 * handler's context, feed the handler an async iterable and send what it yields, one
 * message at a time as the client grants window (so a slow client pauses the generator).
 *
 * On transports where every call is a stream (gRPC), calls to unary endpoints arrive here
 * too: the first message goes through the server's ordinary unary path (wrappers, bulkhead,
 * in-flight table) and its answer goes back as the one message of the stream.
 */
import type { CodecRegistry } from "../codec/codec.js";
import type { Context, Metadata } from "../context.js";
import { badRequest, Code, MicroError, notFound } from "../errors.js";
import type { Endpoint } from "../registry/registry.js";
import type { InboundRequest, InboundStream, RequestHandler } from "../transport/transport.js";
import { type HandlerFn, type HandlerRequest, type Invoker, wrap } from "./invoke.js";

/** Server-streaming: one request in, many out. Client-streaming: many in, one out. Bidi: many both ways. */
export type StreamKind = "server" | "client" | "bidi";

/**
 * A stream handler. `input` is the request (server-streaming) or an async iterable of requests
 * (client-streaming, bidi); it returns an async iterable of responses (server-streaming, bidi)
 * or the one response (client-streaming).
 */
export type StreamHandlerFn = (
  ctx: Context,
  input: any,
) => AsyncIterable<unknown> | Promise<unknown> | unknown;

export interface StreamServerOptions {
  name: string;
  nodeId: string;
  codecs: CodecRegistry;
  /** The server's unary dispatch, for calls to unary endpoints that arrive as streams. */
  unary: RequestHandler;
  /** Whether `endpoint` is a unary endpoint of this server. */
  hasUnary(endpoint: string): boolean;
  /** Unary endpoint names, for "not found" details. */
  unaryNames(): string[];
  /** How handlers run (context, wrappers, in-flight record, bulkhead): the unary server's. */
  invoker: Invoker;
}

interface StreamRoute {
  readonly kind: StreamKind;
  readonly handler: StreamHandlerFn;
}

const UNKNOWN_ENDPOINT = Symbol.for("tsmicro.unknownEndpoint");

/**
 * Whether `err` says the endpoint or service is not served here (404 to tsmicro callers; gRPC
 * sends it as UNIMPLEMENTED, as its protocol requires).
 */
export function isUnknownEndpoint(err: unknown): boolean {
  return (
    typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[UNKNOWN_ENDPOINT] === true
  );
}

function markUnknown(err: MicroError): MicroError {
  Object.defineProperty(err, UNKNOWN_ENDPOINT, { value: true });
  return err;
}

/**
 * Where a handler's response metadata goes, found by its context's metadata object: a
 * non-enumerable symbol property on the per-call metadata the server builds (spread, JSON and
 * Object.keys do not see it), and a WeakMap for the metadata objects wrappers derive. A WeakMap
 * entry per call showed in the gRPC server's profile (its set, and GC work on every call).
 */
const SINK: unique symbol = Symbol("tsmicro.sink");
const sinks = new WeakMap<object, InboundStream>();

function sinkOf(metadata: object): InboundStream | undefined {
  return (metadata as { [SINK]?: InboundStream })[SINK] ?? sinks.get(metadata);
}

/**
 * Sets response header metadata of the call `ctx` belongs to (sent before the first message).
 * Returns false when the call's transport carries none (a unary call over TCP).
 */
export function setResponseHeader(ctx: Context, metadata: Record<string, string>): boolean {
  const s = sinkOf(ctx.metadata);
  s?.setHeader(metadata);
  return s !== undefined;
}

/** Sets trailer metadata of the call `ctx` belongs to; false when its transport carries none. */
export function setResponseTrailer(ctx: Context, metadata: Record<string, string>): boolean {
  const s = sinkOf(ctx.metadata);
  s?.setTrailer(metadata);
  return s !== undefined;
}

export class StreamServer {
  readonly #routes = new Map<string, StreamRoute>();
  readonly #opts: StreamServerOptions;

  constructor(options: StreamServerOptions) {
    this.#opts = options;
  }

  add(name: string, kind: StreamKind, handler: StreamHandlerFn): void {
    if (this.#routes.has(name) || this.#opts.hasUnary(name)) {
      throw new TypeError(`endpoint ${name} is already registered`);
    }
    this.#routes.set(name, { kind, handler });
  }

  has(name: string): boolean {
    return this.#routes.has(name);
  }

  /** Stream endpoints for the registry, marked with their kind. */
  endpoints(): Endpoint[] {
    return [...this.#routes].map(([name, r]) => ({ name, metadata: { stream: r.kind } }));
  }

  /** Requests and streams being handled (the invoker counts both). */
  get active(): number {
    return this.#opts.invoker.active;
  }

  /** Resolves once no request or stream is being handled. */
  idle(): Promise<void> {
    return this.#opts.invoker.idle();
  }

  /** The transport's stream handler. */
  readonly dispatch = (s: InboundStream): void => {
    const { name, nodeId, codecs } = this.#opts;
    const h = s.headers;
    // A gRPC caller names only the endpoint: an empty service means "whoever serves it here".
    if (h.service !== name && h.service !== "") {
      s.abort(
        markUnknown(
          notFound(
            name,
            `service "${h.service}" is not served at this address (node ${nodeId} serves "${name}")`,
          ),
        ),
      );
      return;
    }
    const route = this.#routes.get(h.endpoint);
    if (route === undefined) {
      if (this.#opts.hasUnary(h.endpoint)) this.#unary(s);
      else s.abort(this.#notFound(h.endpoint));
      return;
    }
    let codec: ReturnType<CodecRegistry["get"]>;
    try {
      codec = codecs.get(h.contentType, name);
    } catch (err) {
      s.abort(MicroError.from(err, name));
      return;
    }
    const hop = `${name}.${h.endpoint}`;
    const metadata = this.#metadataFor(s);
    // The deadline ends the transport stream too, whether or not the handler looks at its signal.
    const call = this.#opts.invoker.begin(h, s.signal, metadata, (e) => s.abort(e));

    const decode = (bytes: Uint8Array): unknown => {
      try {
        return codec.decode(bytes);
      } catch (err) {
        // The invocation's wire error adds the chain (Invocation.wireError).
        throw badRequest(
          name,
          `cannot decode a message for ${hop} as ${h.contentType}: ${(err as Error).message}`,
        );
      }
    };
    const send = (value: unknown): Promise<void> => {
      let bytes: Uint8Array;
      try {
        bytes = codec.encode(value);
      } catch (err) {
        throw new MicroError({
          id: name,
          code: Code.InternalServerError,
          detail: `cannot encode a message of ${hop}: ${(err as Error).message}`,
        });
      }
      return s.send(bytes);
    };

    // The service's handler wrappers (auth, logging, metrics) run once, when the stream opens:
    // `body` is the request of a server-streaming call, undefined for the others; the handler
    // runs inside, with the context the wrappers pass on, and a wrapper that throws ends the
    // stream with its error before the handler starts.
    const run = async () => {
      let request: unknown;
      if (route.kind === "server") {
        const it = s[Symbol.asyncIterator]();
        const first = await it.next();
        if (first.done) throw badRequest(name, `${hop} expects a request message, got none`);
        void it.return?.();
        request = decode(first.value);
      }
      const bottom: HandlerFn = async (hctx) => {
        if (hctx.metadata !== metadata) sinks.set(hctx.metadata, s);
        if (route.kind === "server") {
          for await (const m of route.handler(hctx, request) as AsyncIterable<unknown>) await send(m);
          return undefined;
        }
        const out = route.handler(hctx, mapIterable(s, decode));
        if (route.kind === "client") await send(await out);
        else for await (const m of out as AsyncIterable<unknown>) await send(m);
        return undefined;
      };
      const handlerRequest: HandlerRequest = {
        service: name,
        endpoint: h.endpoint,
        contentType: h.contentType,
        body: request,
        metadata,
      };
      await call.run(wrap(this.#opts.invoker.options.wrappers, bottom), handlerRequest, "streaming");
    };
    run().then(
      () => s.closeSend(),
      (err: unknown) => s.abort(call.wireError(err)),
    );
    void s.finished.then(() => call.end());
  };

  /** A unary endpoint called as a stream: one message in, through the unary path, one out. */
  #unary(s: InboundStream): void {
    const it = s[Symbol.asyncIterator]();
    const h = s.headers;
    const name = this.#opts.name;
    it.next().then(
      (first) => {
        if (first.done) {
          s.abort(badRequest(name, `${name}.${h.endpoint} expects a request message, got none`));
          return;
        }
        void it.return?.();
        this.#opts.unary({
          headers: { ...h, service: name, metadata: this.#metadataFor(s) },
          body: first.value,
          signal: new EndSignal(s.finished) as unknown as InboundRequest["signal"],
          peer: s.peer,
          respond: (response) => {
            s.send(response.body).then(
              () => s.closeSend(),
              () => {},
            );
          },
          fail: (error) => s.abort(error),
        });
      },
      () => {
        /* the stream ended with an error before a request came: there is no one to answer */
      },
    );
  }

  /** A fresh metadata object per call: the key by which the handler's context finds the stream. */
  #metadataFor(s: InboundStream): Metadata {
    const md = { ...(s.headers.metadata ?? {}) };
    Object.defineProperty(md, SINK, { value: s });
    return Object.freeze(md);
  }

  #notFound(endpoint: string): MicroError {
    const { name } = this.#opts;
    const names = [...this.#opts.unaryNames(), ...this.#routes.keys()].filter((n) => !n.startsWith("Debug."));
    return markUnknown(
      notFound(
        name,
        `endpoint "${endpoint}" not found on service "${name}"; it has: ${names.join(", ") || "no endpoints"}`,
      ),
    );
  }
}

/**
 * The unary path's signal: aborts when the stream ends with an error. An AbortController per
 * call costs more than the rest of a gRPC unary call's bookkeeping; this is a promise reaction.
 */
class EndSignal {
  aborted = false;
  reason: unknown;
  #listeners: (() => void)[] | undefined;

  constructor(finished: Promise<MicroError | undefined>) {
    void finished.then((error) => {
      if (error === undefined) return;
      this.aborted = true;
      this.reason = error;
      const ls = this.#listeners;
      this.#listeners = undefined;
      if (ls !== undefined) for (const l of ls) l();
    });
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    this.#listeners ??= [];
    this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.#listeners!.splice(i, 1);
  }
}

async function* mapIterable<T>(
  source: AsyncIterable<Uint8Array>,
  f: (b: Uint8Array) => T,
): AsyncGenerator<T> {
  for await (const b of source) yield f(b);
}

/** What `service.handle(x)` hands to an object that mounts itself (a contract implementation). */
export interface MountTargets {
  /** Adds a unary endpoint. */
  unary(name: string, handler: (ctx: Context, request: any) => unknown): void;
  /** Adds a stream endpoint. */
  stream(name: string, kind: StreamKind, handler: StreamHandlerFn): void;
}

/** Key of the method by which an object mounts its endpoints on a service (see contract/implement.ts). */
export const MOUNT: unique symbol = Symbol.for("tsmicro.mount");

export interface Mountable {
  [MOUNT](targets: MountTargets): string[];
}

export function isMountable(x: object): x is Mountable {
  return typeof (x as Partial<Mountable>)[MOUNT] === "function";
}
