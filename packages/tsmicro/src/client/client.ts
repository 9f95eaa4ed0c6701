/**
 * The RPC client. Its options are one frozen snapshot; `init()` builds the next snapshot
 * and swaps it in a single assignment. A call reads the snapshot once and keeps it to the
 * end, so `init()` never waits for calls and calls never wait for `init()` — the go-micro
 * #2708 stall has no lock to happen on.
 */
import type { Broker } from "../broker/broker.js";
import { brokerFromEnv, defaultBroker, holdDefaultBroker } from "../broker/env.js";
import { defaultCodecs } from "../codec/index.js";
import type { Context } from "../context.js";
import type { Contract, Endpoints } from "../contract/contract.js";
import { createServiceProxy, type ProxyTarget, type ServiceProxy } from "../contract/proxy.js";
import { MicroError } from "../errors.js";
import { type InflightSnapshot, InflightTable } from "../inflight.js";
import { around, type Middleware, type PublishFn, type StreamFn } from "../middleware.js";
import { defaultRegistry, holdDefaultRegistry } from "../registry/default.js";
import { createSelector } from "../selector/selector.js";
import { Pool } from "../transport/pool.js";
import { createTcpTransport } from "../transport/tcp.js";
import { startWatchdog } from "../watchdog.js";
import type { Snapshot } from "./attempt.js";
import { type BreakerOptions, type BreakerState, Breakers } from "./breaker.js";
import { callOnce } from "./call.js";
import { openStream, type Stream } from "./client-stream.js";
import { hedged, hedgeOf } from "./hedge.js";
import { type CallFn, type CallOptions, type ClientOptions, resolveClientOptions } from "./options.js";
import { type Message, type PublishCallOptions, publishMessage } from "./publish.js";
import type { Request } from "./request.js";

/** The RPC client (go-micro's client.Client): calls, streams, publishes. */
export interface Client extends ProxyTarget {
  /** A typed proxy for `contract` served as `service`: one method per endpoint (contract/proxy.ts). */
  service<E extends Endpoints>(
    contract: Contract<E>,
    service: string,
    defaults?: CallOptions,
  ): ServiceProxy<E>;
  /** Encodes `message.payload` with the client's codec and publishes it on the broker, with the context's metadata as headers. */
  publish(ctx: Context, message: Message, options?: PublishCallOptions): Promise<void>;
  /** Replaces the options (merged over the current ones). Never waits; in-flight calls keep theirs. */
  init(options: Partial<ClientOptions>): void;
  /** The current frozen snapshot. */
  options(): Readonly<ClientOptions>;
  /** Calls in flight, with phase, age, node and chain (the stall doctor's view). */
  inflight(): InflightSnapshot[];
  /**
   * The per-node circuit breakers (option `breaker`): every node this client has a breaker
   * record for, with its state and its window's counts. Empty when the breaker is off.
   */
  breakers(): BreakerState[];
  /** Open pooled connections and calls in flight, for metrics (`@tsmicro/metrics`). */
  stats(): ClientStats;
  /**
   * Drains the connection pool, stops the selector's watch, disconnects the broker the client
   * made for itself, and lets go of the process defaults (`defaultRegistry()`,
   * `defaultBroker()`) it used: the last user to let go closes them, so a script that closes
   * its client exits by itself. A call after `close()` still works, holding nothing open.
   */
  close(): Promise<void>;
}

/** What `client.stats()` reports. */
export interface ClientStats {
  /** Open connections in the current pool, across all addresses. */
  connections: number;
  /** Addresses the current pool has a connection to or is dialling. */
  addresses: number;
  /** Calls in flight (tracked when `trackInflight` is on). */
  inflight: number;
}

interface State extends Snapshot {
  readonly invoke: CallFn;
  readonly openStream: StreamFn;
  readonly publish: PublishFn;
}

class ClientImpl implements Client {
  #state: State;
  readonly #inflight = new InflightTable();
  readonly #breakers = new Breakers();
  #ownBroker: Broker | undefined;
  /** Releases of the process defaults this client uses, taken on first use; [] once closed. */
  #releases: (() => Promise<void>)[] | undefined;

  #stopWatchdog: (() => void) | undefined;

  constructor(options: Partial<ClientOptions>) {
    this.#state = this.#build(undefined, options);
    this.#syncWatchdog(undefined);
  }

  /** (Re)starts the watchdog when its options change; it reads the table, never the calls. */
  #syncWatchdog(prev: ClientOptions["watchdog"]): void {
    const next = this.#state.options.watchdog;
    if (next === prev) return;
    this.#stopWatchdog?.();
    // Only newly stuck calls are copied (InflightTable.takeStuck), annotated as inflight() is.
    this.#stopWatchdog =
      next === undefined
        ? undefined
        : startWatchdog({ takeStuck: (t) => this.#withBreakers(this.#inflight.takeStuck(t)) }, next);
  }

  /**
   * Holds the process defaults this client uses from its first call on (not from its
   * creation: the module-level `defaultClient` must not keep them open unused).
   */
  #hold(): void {
    if (this.#releases !== undefined) return; // held already, or closed
    const o = this.#state.options;
    this.#releases = [];
    if (o.registry === defaultRegistry()) this.#releases.push(holdDefaultRegistry());
    if (o.broker === defaultBroker()) this.#releases.push(holdDefaultBroker());
  }

  call<R>(ctx: Context, request: Request, options: CallOptions = {}): Promise<R> {
    this.#hold();
    const p = this.#state.invoke(ctx, request, options) as Promise<R>;
    const fallback = options.fallback;
    if (fallback === undefined) return p;
    // After wrappers and middleware: they saw the call fail; the caller gets the fallback's answer.
    return p.catch(async (err) => (await fallback(MicroError.from(err, request.service), request)) as R);
  }

  stream<Req, Rsp>(ctx: Context, request: Request, options: CallOptions = {}): Promise<Stream<Req, Rsp>> {
    this.#hold();
    return this.#state.openStream(ctx, request, options) as Promise<Stream<Req, Rsp>>;
  }

  publish(ctx: Context, message: Message, options?: PublishCallOptions): Promise<void> {
    this.#hold();
    return this.#state.publish(ctx, message, options ?? {});
  }

  service<E extends Endpoints>(
    contract: Contract<E>,
    service: string,
    defaults?: CallOptions,
  ): ServiceProxy<E> {
    return createServiceProxy(this, contract, service, defaults);
  }

  init(options: Partial<ClientOptions>): void {
    const prev = this.#state;
    const next = this.#build(prev, options);
    this.#state = next; // the one assignment; calls already running keep `prev`
    this.#syncWatchdog(prev.options.watchdog);
    if (next.pool !== prev.pool) void prev.pool.drain();
    if (next.selector !== prev.selector && prev.options.selector === undefined) prev.selector.close();
  }

  options(): Readonly<ClientOptions> {
    return this.#state.options;
  }

  inflight(): InflightSnapshot[] {
    return this.#withBreakers(this.#inflight.snapshot());
  }

  #withBreakers(calls: InflightSnapshot[]): InflightSnapshot[] {
    if (!this.#state.options.breaker) return calls;
    // The stall doctor says when a call's node has an open or half-open breaker.
    for (const c of calls) {
      const state = c.node === undefined ? undefined : this.#breakers.stateOf(c.service, c.node);
      if (state !== undefined) c.breaker = state;
    }
    return calls;
  }

  breakers(): BreakerState[] {
    const o = this.#state.options.breaker;
    return o ? this.#breakers.snapshot(o as Required<BreakerOptions>) : [];
  }

  stats(): ClientStats {
    const { pool } = this.#state;
    return { connections: pool.size, addresses: pool.addresses, inflight: this.#inflight.size };
  }

  async close(): Promise<void> {
    this.#stopWatchdog?.();
    const s = this.#state;
    if (s.options.selector === undefined) s.selector.close();
    await s.pool.drain();
    await this.#ownBroker?.disconnect();
    // Taken after the awaits: a hold taken by a call during them is released too.
    const releases = this.#releases ?? [];
    this.#releases = []; // never undefined again: a closed client takes no hold
    await Promise.all(releases.map((release) => release()));
  }

  /** With its own registry, the client publishes through a broker on it (http finds subscribers there). */
  #brokerFor(registry: ClientOptions["registry"] | undefined): Broker {
    if (registry === undefined) return defaultBroker();
    this.#ownBroker = brokerFromEnv({ registry });
    return this.#ownBroker;
  }

  #build(prev: State | undefined, changes: Partial<ClientOptions>): State {
    const options = resolveClientOptions(changes, prev?.options, {
      registry: defaultRegistry,
      transport: createTcpTransport,
      codecs: defaultCodecs,
      broker: (registry) => this.#brokerFor(registry),
    });
    const poolChanged =
      prev === undefined ||
      options.transport !== prev.options.transport ||
      options.poolSize !== prev.options.poolSize ||
      options.poolTtlMs !== prev.options.poolTtlMs;
    const pool = poolChanged
      ? new Pool({ transport: options.transport, size: options.poolSize, ttlMs: options.poolTtlMs })
      : prev.pool;
    const selectorChanged =
      prev === undefined ||
      options.selector !== prev.options.selector ||
      options.registry !== prev.options.registry;
    const selector = selectorChanged
      ? (options.selector ?? createSelector({ registry: options.registry }))
      : prev.selector;
    const snap: Snapshot = { options, pool, selector, breakers: this.#breakers };
    const table = options.trackInflight ? this.#inflight : undefined;
    const bottom: CallFn = (ctx, req, opts) => {
      const hedge = hedgeOf(opts, options.hedge);
      if (hedge === undefined) return callOnce(snap, table, ctx, req, opts);
      const timeoutMs = opts.requestTimeoutMs ?? options.requestTimeoutMs;
      return hedged(
        (o, hooks) => callOnce(snap, table, ctx, req, o, hooks),
        req.service,
        opts,
        hedge,
        timeoutMs,
      );
    };
    const middleware = options.middleware as readonly Middleware[];
    const invoke = around(
      middleware,
      "call",
      options.wrappers.reduceRight<CallFn>((next, wrap) => wrap(next), bottom),
    );
    const streamBottom: StreamFn = (ctx, req, opts) => openStream(snap, table, ctx, req, opts);
    const publishBottom: PublishFn = (ctx, message, opts) =>
      publishMessage(options, table, ctx, message, opts);
    return {
      ...snap,
      invoke,
      openStream: around(middleware, "stream", streamBottom),
      publish: around(middleware, "publish", publishBottom),
    };
  }
}

/** Creates a client (go-micro's client.NewClient); unset options take their defaults. */
export function newClient(options: Partial<ClientOptions> = {}): Client {
  return new ClientImpl(options);
}

/** The process-wide client (go-micro's client.DefaultClient). Safe to `init()` at any time. */
export const defaultClient: Client = newClient();
