/**
 * The server side of a call: find the endpoint, decode, build the handler's context
 * (signal, deadline, metadata, chain), run the handler through the wrappers, answer.
 * Every failure becomes a MicroError that says which endpoint and why.
 */
import type { CodecRegistry } from "../codec/codec.js";
import { badRequest, Code, MicroError, notFound } from "../errors.js";
import { type InflightSnapshot, InflightTable } from "../inflight.js";
import type { InboundRequest } from "../transport/transport.js";
import type { Bulkhead } from "./bulkhead.js";
import { type HandlerFn, type HandlerRequest, type HandlerWrapper, Invoker, wrap } from "./invoke.js";
import { type HandleOptions, Router } from "./router.js";

export interface ServerOptions {
  name: string;
  nodeId: string;
  codecs: CodecRegistry;
  wrappers: readonly HandlerWrapper[];
  bulkhead: Bulkhead | undefined;
  trackInflight: boolean;
}

export class Server {
  readonly router = new Router();
  readonly #opts: ServerOptions;
  readonly #inflight = new InflightTable();
  /** Shared with the stream server: unary and stream handlers run the same way. */
  readonly invoker: Invoker;
  #invoke: HandlerFn;

  constructor(options: ServerOptions) {
    this.#opts = options;
    this.invoker = new Invoker({
      name: options.name,
      nodeId: options.nodeId,
      wrappers: options.wrappers,
      bulkhead: options.bulkhead,
      inflight: options.trackInflight ? this.#inflight : undefined,
    });
    this.#invoke = wrap(options.wrappers, async (ctx, req) => {
      const route = this.router.get(req.endpoint);
      if (route === undefined) throw this.#unknownEndpoint(req.endpoint);
      return route.handler(ctx, req.body);
    });
  }

  handle(obj: object, options?: HandleOptions): string[] {
    return this.router.addObject(obj, options);
  }

  /** Requests and streams being handled (including queued ones). */
  get active(): number {
    return this.invoker.active;
  }

  inflight(): InflightSnapshot[] {
    return this.#inflight.snapshot();
  }

  /** The watchdog's source: only newly stuck requests are copied (InflightTable.takeStuck). */
  readonly stuck = { takeStuck: (thresholdMs: number) => this.#inflight.takeStuck(thresholdMs) };

  /** Resolves once no request or stream is being handled. */
  idle(): Promise<void> {
    return this.invoker.idle();
  }

  #unknownEndpoint(endpoint: string): MicroError {
    const names = this.router.names().filter((n) => !n.startsWith("Debug."));
    return notFound(
      this.#opts.name,
      `endpoint "${endpoint}" not found on service "${this.#opts.name}"; it has: ${names.join(", ") || "no endpoints"}`,
    );
  }

  /** The transport's request handler. */
  readonly dispatch = (inbound: InboundRequest): void => {
    const { name, nodeId, codecs } = this.#opts;
    const h = inbound.headers;
    if (h.service !== name) {
      inbound.fail(
        notFound(
          name,
          `service "${h.service}" is not served at this address (node ${nodeId} serves "${name}")`,
        ),
      );
      return;
    }
    if (this.router.get(h.endpoint) === undefined) {
      inbound.fail(this.#unknownEndpoint(h.endpoint));
      return;
    }
    let body: unknown;
    let codec: ReturnType<CodecRegistry["get"]>;
    try {
      codec = codecs.get(h.contentType, name);
    } catch (err) {
      inbound.fail(MicroError.from(err, name));
      return;
    }
    try {
      body = codec.decode(inbound.body);
    } catch (err) {
      inbound.fail(
        badRequest(
          name,
          `cannot decode the request body for ${name}.${h.endpoint} as ${h.contentType}: ${(err as Error).message}`,
        ),
      );
      return;
    }

    const call = this.invoker.begin(h, inbound.signal, h.metadata ?? EMPTY);
    const request: HandlerRequest = {
      service: name,
      endpoint: h.endpoint,
      contentType: h.contentType,
      body,
      metadata: call.ctx.metadata,
    };
    call.run(this.#invoke, request).then(
      (result) => {
        let out: Uint8Array;
        try {
          out = codec.encode(result);
        } catch (err) {
          inbound.fail(
            new MicroError({
              id: name,
              code: Code.InternalServerError,
              detail: `cannot encode the response of ${name}.${h.endpoint}: ${(err as Error).message}`,
              chain: call.ctx.chain,
            }),
          );
          call.end();
          return;
        }
        inbound.respond({ contentType: codec.contentType, body: out });
        call.end();
      },
      (err: unknown) => {
        inbound.fail(call.wireError(err));
        call.end();
      },
    );
  };
}

const EMPTY = Object.freeze({});
