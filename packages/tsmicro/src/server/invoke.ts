/**
 * Running a handler: the one way the server builds a handler's context and runs it, for unary
 * and stream handlers alike. One invocation holds
 * - the structured hop (this service, the endpoint, this node) and the chain it extends,
 * - the deadline (from the caller's remaining time) and the signal (the inbound call's, plus
 *   the deadline), the request metadata,
 * - the in-flight record (queued while waiting for a bulkhead slot, then handling),
 * - the bulkhead slot, given back when the handler ends or its caller gives up,
 * and runs the handler through the service's wrappers. Every failure becomes a MicroError
 * carrying the chain.
 */
import type { Context, Metadata } from "../context.js";
import { Code, MicroError } from "../errors.js";
import { type CallPhase, type InflightCall, type InflightTable, setPhase } from "../inflight.js";
import type { RequestHeaders } from "../transport/transport.js";
import { linkSignal } from "../util/deadline.js";
import { extendChain, type Hop, renderHop } from "../util/hop.js";
import type { SignalLike } from "../util/light-abort.js";
import type { Bulkhead } from "./bulkhead.js";
import { HandlerContext } from "./handler-context.js";

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

export interface InvokerOptions {
  name: string;
  nodeId: string;
  wrappers: readonly HandlerWrapper[];
  bulkhead: Bulkhead | undefined;
  /** The server's in-flight table; undefined when tracking is off. */
  inflight: InflightTable | undefined;
}

/** Puts the service's wrappers around `bottom` (the first wrapper is the outermost). */
export function wrap(wrappers: readonly HandlerWrapper[], bottom: HandlerFn): HandlerFn {
  return wrappers.reduceRight<HandlerFn>((next, w) => w(next), bottom);
}

/** One server's invocations: how many run, and who waits for none to run. */
export class Invoker {
  readonly #o: InvokerOptions;
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(options: InvokerOptions) {
    this.#o = options;
  }

  get options(): Readonly<InvokerOptions> {
    return this.#o;
  }

  /** Invocations running (queued ones included). */
  get active(): number {
    return this.#active;
  }

  /** Resolves once no invocation runs. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Starts one invocation of `headers.endpoint`: its context is live (deadline, signal linked
   * to `signal`) until `end()`. `onDeadline`, when given, is told as soon as the deadline passes
   * (a stream ends its transport then); otherwise the deadline is seen when the handler looks.
   */
  begin(
    headers: RequestHeaders,
    signal: SignalLike,
    metadata: Metadata,
    onDeadline?: (error: MicroError) => void,
  ): Invocation {
    this.#active++;
    return new Invocation(this, this.#o, headers, signal, metadata, onDeadline);
  }

  /** @internal called once by each invocation's end(). */
  ended(): void {
    if (--this.#active === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }
}

export class Invocation {
  readonly hop: Hop;
  readonly ctx: HandlerContext;
  readonly #invoker: Invoker;
  readonly #o: InvokerOptions;
  readonly #record: InflightCall | undefined;
  readonly #unlink: () => void;
  #ended = false;

  constructor(
    invoker: Invoker,
    o: InvokerOptions,
    h: RequestHeaders,
    signal: SignalLike,
    metadata: Metadata,
    onDeadline: ((error: MicroError) => void) | undefined,
  ) {
    this.#invoker = invoker;
    this.#o = o;
    this.hop = { service: o.name, endpoint: h.endpoint, node: o.nodeId };
    const started = Date.now();
    const deadline = h.timeoutMs === undefined ? undefined : started + h.timeoutMs;
    const chain = extendChain(h.chain, this.hop);
    this.ctx = new HandlerContext(deadline, metadata, chain, this.hop, started, onDeadline);
    this.#unlink = linkSignal(signal, this.ctx);
    this.#record = o.inflight?.add(
      "server",
      o.name,
      h.endpoint,
      o.nodeId,
      "handling",
      deadline,
      h.chain ?? NO_CHAIN,
      started,
    );
  }

  /** The in-flight record's phase (a stream handler is "streaming" once it runs). */
  enter(phase: CallPhase): void {
    setPhase(this.#record, phase);
  }

  /**
   * Runs `handler` (already wrapped) with this invocation's context, in a bulkhead slot when
   * the service has limits. The slot goes back when the handler ends or its caller gives up,
   * whichever is first: a handler that ignores its signal cannot hold a slot past its deadline.
   */
  async run(handler: HandlerFn, request: HandlerRequest, phase: CallPhase = "handling"): Promise<unknown> {
    const bulkhead = this.#o.bulkhead;
    const ctx = this.ctx;
    if (bulkhead === undefined) {
      this.enter(phase);
      return handler(ctx, request);
    }
    this.enter("queued");
    const release = await bulkhead.acquire(request.endpoint, ctx);
    this.enter(phase);
    if (ctx.signal.aborted) {
      // Granted as the caller gave up: an abort listener added now would never fire.
      release();
      throw MicroError.from(ctx.signal.reason, this.#o.name);
    }
    const onAbort = () => release();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await handler(ctx, request);
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      release();
    }
  }

  /** What goes back on the wire for `err`: a MicroError with this invocation's chain. */
  wireError(err: unknown): MicroError {
    const chain = this.ctx.chain;
    if (err instanceof MicroError) return err.chain.length > 0 ? err : err.with({ chain });
    const message = err instanceof Error ? err.message || err.name : String(err);
    return new MicroError({
      id: this.hop.service,
      code: Code.InternalServerError,
      detail: `${renderHop({ service: this.hop.service, endpoint: this.hop.endpoint })} failed: ${message}`,
      chain,
      cause: err,
    });
  }

  /** The invocation is over: no timer, listener or record outlives it. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.ctx.dispose();
    this.#unlink();
    if (this.#record !== undefined) this.#o.inflight!.delete(this.#record);
    this.#invoker.ended();
  }
}

const NO_CHAIN: readonly string[] = Object.freeze([]);
