/**
 * The client side of a contract: `const greeter = client.service(Greeter, "greeter")` gives one
 * typed method per endpoint — `await greeter.hello(ctx, { name })` — so that a wrong name or
 * shape is a compile error. Unary methods go through `client.call` (wrappers, retries); stream
 * methods through `client.stream`.
 */

import type { Stream } from "../client/client-stream.js";
import type { CallOptions } from "../client/options.js";
import { newRequest, type Request } from "../client/request.js";
import type { Context } from "../context.js";
import { Code, MicroError } from "../errors.js";
import { type Contract, type EndpointSpec, type Endpoints, endpointName } from "./contract.js";

/**
 * What a proxy calls through: the client's `call` and `stream`. The Client interface extends
 * it (declared here, so that client.ts, which builds proxies, and this file do not import each
 * other).
 */
export interface ProxyTarget {
  /** Calls `request.service`'s endpoint and resolves with the decoded response. */
  call<R = any>(ctx: Context, request: Request, options?: CallOptions): Promise<R>;
  /**
   * Opens a bidirectional stream to `request.service`'s stream endpoint; `request.body`, when
   * not undefined, is sent as the first message. See client/client-stream.ts.
   */
  stream<Req = any, Rsp = any>(
    ctx: Context,
    request: Request,
    options?: CallOptions,
  ): Promise<Stream<Req, Rsp>>;
}

/** Call options, plus an object to receive the response's header and trailer metadata. */
export interface ProxyCallOptions extends CallOptions {
  /**
   * Filled with the response metadata when the call ends. A unary call that asks for it is
   * made as a one-message stream (unary TCP answers carry no metadata).
   */
  responseMetadata?: { header: Record<string, string>; trailer: Record<string, string> };
}

/** A unary method's options: its `fallback` takes the endpoint's request and gives its response. */
export interface UnaryCallOptions<Req, Rsp> extends Omit<ProxyCallOptions, "fallback"> {
  /** Answers in place of the call when it finally fails (CallOptions' fallback, typed by the contract). */
  fallback?: (error: MicroError, request: Req) => Rsp | Promise<Rsp>;
}

/** A server-streaming call's responses; the call opens on the first `next()`. */
export interface ResponseStream<Rsp> extends AsyncIterable<Rsp> {}

export type MethodOf<S> =
  S extends EndpointSpec<infer Req, infer Rsp, infer K>
    ? K extends "unary"
      ? (ctx: Context, request: Req, options?: UnaryCallOptions<Req, Rsp>) => Promise<Rsp>
      : K extends "server"
        ? (ctx: Context, request: Req, options?: ProxyCallOptions) => ResponseStream<Rsp>
        : K extends "client"
          ? (
              ctx: Context,
              requests: AsyncIterable<Req> | Iterable<Req>,
              options?: ProxyCallOptions,
            ) => Promise<Rsp>
          : (ctx: Context, options?: ProxyCallOptions) => Promise<Stream<Req, Rsp>>
    : never;

/** A typed client for a contract (`client.service(contract, name)`): one method per endpoint. */
export type ServiceProxy<E extends Endpoints> = { readonly [K in keyof E]: MethodOf<E[K]> };

export function createServiceProxy<E extends Endpoints>(
  client: ProxyTarget,
  contract: Contract<E>,
  service: string,
  defaults: CallOptions = {},
): ServiceProxy<E> {
  const proxy: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(contract.endpoints)) {
    proxy[key] = method(client, service, endpointName(contract, key), spec, defaults);
  }
  return Object.freeze(proxy) as ServiceProxy<E>;
}

function method(
  client: ProxyTarget,
  service: string,
  endpoint: string,
  spec: EndpointSpec<any, any>,
  defaults: CallOptions,
): (...args: any[]) => unknown {
  const wire = spec.wire;
  const contentType = wire?.contentType;
  const encode = (v: unknown) => (wire === undefined ? v : wire.request.encode(v));
  const decode = (v: unknown): unknown => {
    if (wire === undefined) return v;
    if (!(v instanceof Uint8Array)) {
      throw new MicroError({
        id: service,
        code: Code.BadGateway,
        detail: `${endpoint}: expected ${wire.contentType} bytes, got ${typeof v}`,
        retryable: false,
      });
    }
    return wire.response.decode(v);
  };
  const open = (ctx: Context, first: unknown, options: ProxyCallOptions | undefined) => {
    const { responseMetadata, ...rest } = { ...defaults, ...options };
    const body = first === undefined ? undefined : encode(first);
    return client
      .stream(ctx, newRequest(service, endpoint, body, { contentType }), rest)
      .then((s) => ({ s, responseMetadata }));
  };
  const fill = (s: Stream, target: ProxyCallOptions["responseMetadata"]) => {
    if (target === undefined) return;
    Object.assign(target.header, s.header);
    Object.assign(target.trailer, s.trailer);
  };

  switch (spec.kind) {
    case "unary": {
      const call = async (ctx: Context, request: unknown, options?: ProxyCallOptions) => {
        if (options?.responseMetadata === undefined) {
          const { responseMetadata: _, ...rest } = {
            ...(spec.cache === undefined ? {} : { cache: spec.cache }),
            ...(spec.idempotent === true ? { idempotent: true } : {}),
            ...defaults,
            ...options,
          };
          return decode(
            await client.call(ctx, newRequest(service, endpoint, encode(request), { contentType }), rest),
          );
        }
        const { s, responseMetadata } = await open(ctx, request, options);
        s.closeSend();
        try {
          const rsp = await s.recv();
          await s.finished;
          if (rsp === undefined) {
            throw new MicroError({
              id: service,
              code: Code.BadGateway,
              detail: `${endpoint} ended without a response`,
            });
          }
          return decode(rsp);
        } finally {
          fill(s, responseMetadata);
        }
      };
      return async (ctx: Context, request: unknown, options?: UnaryCallOptions<unknown, unknown>) => {
        const fallback = options?.fallback;
        if (fallback === undefined) return call(ctx, request, options as ProxyCallOptions | undefined);
        // The fallback's answer is the endpoint's response type already: not decoded from the wire.
        try {
          return await call(ctx, request, { ...options, fallback: undefined });
        } catch (err) {
          return fallback(MicroError.from(err, service), request);
        }
      };
    }
    case "server":
      return (ctx: Context, request: unknown, options?: ProxyCallOptions): ResponseStream<unknown> => ({
        async *[Symbol.asyncIterator]() {
          const { s, responseMetadata } = await open(ctx, request, options);
          s.closeSend();
          try {
            for await (const m of s) yield decode(m);
          } finally {
            fill(s, responseMetadata);
          }
        },
      });
    case "client":
      return async (
        ctx: Context,
        requests: AsyncIterable<unknown> | Iterable<unknown>,
        options?: ProxyCallOptions,
      ) => {
        const { s, responseMetadata } = await open(ctx, undefined, options);
        // The call may end (cancel, deadline, server error) while the requests are still being
        // produced: race each next() against its end, so a blocked producer cannot hold the call.
        const ended = s.finished.then((error) => ({ ended: true as const, error }));
        const it =
          Symbol.asyncIterator in requests
            ? (requests as AsyncIterable<unknown>)[Symbol.asyncIterator]()
            : (requests as Iterable<unknown>)[Symbol.iterator]();
        try {
          for (;;) {
            const r = await Promise.race([it.next(), ended]);
            if ("ended" in r) {
              void it.return?.();
              if (r.error !== undefined) throw r.error;
              break;
            }
            if (r.done) break;
            await s.send(encode(r.value));
          }
          s.closeSend();
          const rsp = await s.recv();
          if (rsp === undefined) {
            throw new MicroError({
              id: service,
              code: Code.BadGateway,
              detail: `${endpoint} ended without a response`,
            });
          }
          return decode(rsp);
        } catch (err) {
          // The server's status explains a failed send better than the send does.
          s.close("the client's request stream failed");
          const ended = await s.finished;
          throw ended !== undefined && ended.code !== 499 ? ended : err;
        } finally {
          fill(s, responseMetadata);
        }
      };
    default:
      return async (ctx: Context, options?: ProxyCallOptions) => {
        const { s } = await open(ctx, undefined, options);
        return wire === undefined ? s : mapStream(s, encode, decode);
      };
  }
}

/** A bidi stream whose messages go through the endpoint's wire format. */
function mapStream(s: Stream, encode: (v: unknown) => unknown, decode: (v: unknown) => unknown): Stream {
  return {
    send: (m) => s.send(encode(m)),
    closeSend: () => s.closeSend(),
    close: (reason) => s.close(reason),
    recv: async () => {
      const m = await s.recv();
      return m === undefined ? undefined : decode(m);
    },
    get signal() {
      return s.signal;
    },
    get finished() {
      return s.finished;
    },
    get header() {
      return s.header;
    },
    get trailer() {
      return s.trailer;
    },
    async *[Symbol.asyncIterator]() {
      for await (const m of s) yield decode(m);
    },
  };
}
