/**
 * The server side of a call: find the endpoint, decode, build the handler's context
 * (signal, deadline, metadata, chain), run the handler through the wrappers, answer.
 * Every failure becomes a MicroError that says which endpoint and why.
 */
import type { CodecRegistry } from "../codec/codec.js";
import { type Context, linkSignal } from "../context.js";
import { badRequest, Code, MicroError, notFound } from "../errors.js";
import { type InflightSnapshot, InflightTable, setPhase } from "../inflight.js";
import type { InboundRequest } from "../transport/transport.js";
import type { Bulkhead } from "./bulkhead.js";
import { HandlerContext } from "./handler-context.js";
import { type HandleOptions, Router } from "./router.js";

/** The request a handler wrapper sees: the decoded body and where it was sent. */
export interface HandlerRequest {
  readonly service: string;
  readonly endpoint: string;
  readonly contentType: string;
  readonly body: unknown;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A handler as wrappers see it: context and request in, the response out. */
export type HandlerFn = (ctx: Context, request: HandlerRequest) => Promise<unknown>;

/** go-micro's HandlerWrapper. The first wrapper in the list is the outermost. */
export type HandlerWrapper = (next: HandlerFn) => HandlerFn;

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
  #active = 0;
  #idle: (() => void)[] = [];
  #invoke: HandlerFn;

  constructor(options: ServerOptions) {
    this.#opts = options;
    this.#invoke = this.#compose();
  }

  handle(obj: object, options?: HandleOptions): string[] {
    return this.router.addObject(obj, options);
  }

  /** Requests being handled (including queued ones). */
  get active(): number {
    return this.#active;
  }

  inflight(): InflightSnapshot[] {
    return this.#inflight.snapshot();
  }

  /** Resolves once no request is being handled. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #compose(): HandlerFn {
    const bottom: HandlerFn = async (ctx, req) => {
      const route = this.router.get(req.endpoint);
      if (route === undefined) throw this.#unknownEndpoint(req.endpoint);
      return route.handler(ctx, req.body);
    };
    return this.#opts.wrappers.reduceRight<HandlerFn>((next, wrap) => wrap(next), bottom);
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

    const hop = `${name}.${h.endpoint}`;
    const started = Date.now();
    const deadline = h.timeoutMs === undefined ? undefined : started + h.timeoutMs;
    const chain = h.chain === undefined ? [`${hop}@${nodeId}`] : [...h.chain, `${hop}@${nodeId}`];
    const ctx = new HandlerContext(deadline, h.metadata ?? EMPTY, chain, hop, started);
    const unlink = linkSignal(inbound.signal, ctx);
    const record = this.#opts.trackInflight
      ? this.#inflight.add(
          "server",
          name,
          h.endpoint,
          nodeId,
          "handling",
          deadline,
          h.chain ?? NO_CHAIN,
          started,
        )
      : undefined;
    this.#active++;

    const finish = () => {
      ctx.dispose();
      unlink();
      if (record !== undefined) this.#inflight.delete(record);
      if (--this.#active === 0) {
        const waiters = this.#idle;
        this.#idle = [];
        for (const w of waiters) w();
      }
    };
    const request: HandlerRequest = {
      service: name,
      endpoint: h.endpoint,
      contentType: h.contentType,
      body,
      metadata: ctx.metadata,
    };

    const run = async (): Promise<unknown> => {
      const bulkhead = this.#opts.bulkhead;
      if (bulkhead === undefined) return this.#invoke(ctx, request);
      setPhase(record, "queued");
      const release = await bulkhead.acquire(h.endpoint, ctx);
      setPhase(record, "handling");
      // The slot goes back when the handler ends or its caller gives up, whichever is first:
      // a handler that ignores its signal cannot hold a slot past its deadline.
      if (ctx.signal.aborted) {
        // Granted as the caller gave up: an abort listener added now would never fire.
        release();
        throw MicroError.from(ctx.signal.reason, name);
      }
      const onAbort = () => release();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await this.#invoke(ctx, request);
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        release();
      }
    };

    run().then(
      (result) => {
        let out: Uint8Array;
        try {
          out = codec.encode(result);
        } catch (err) {
          inbound.fail(
            new MicroError({
              id: name,
              code: Code.InternalServerError,
              detail: `cannot encode the response of ${hop}: ${(err as Error).message}`,
              chain,
            }),
          );
          finish();
          return;
        }
        inbound.respond({ contentType: codec.contentType, body: out });
        finish();
      },
      (err: unknown) => {
        inbound.fail(toWireError(err, name, hop, chain));
        finish();
      },
    );
  };
}

const EMPTY = Object.freeze({});
const NO_CHAIN: readonly string[] = Object.freeze([]);

function toWireError(err: unknown, id: string, hop: string, chain: readonly string[]): MicroError {
  if (err instanceof MicroError) return err.chain.length > 0 ? err : err.with({ chain });
  const message = err instanceof Error ? err.message || err.name : String(err);
  return new MicroError({
    id,
    code: Code.InternalServerError,
    detail: `${hop} failed: ${message}`,
    chain,
    cause: err,
  });
}
