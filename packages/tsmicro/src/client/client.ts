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
import { type InflightSnapshot, InflightTable } from "../inflight.js";
import { defaultRegistry, holdDefaultRegistry } from "../registry/default.js";
import { createSelector } from "../selector/selector.js";
import { Pool } from "../transport/pool.js";
import { createTcpTransport } from "../transport/tcp.js";
import { startWatchdog } from "../watchdog.js";
import type { Snapshot } from "./attempt.js";
import { callOnce } from "./call.js";
import { openStream, type Stream } from "./client-stream.js";
import {
  type CallFn,
  type CallOptions,
  type ClientOptions,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_MAX_CALL_DEPTH,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRIES,
  defaultBackoff,
} from "./options.js";
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
}

class ClientImpl implements Client {
  #state: State;
  readonly #inflight = new InflightTable();
  #ownBroker: Broker | undefined;
  /** Releases of the process defaults this client uses, taken on first use. */
  #releases: (() => Promise<void>)[] | undefined;
  #closed = false;

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
    this.#stopWatchdog =
      next === undefined ? undefined : startWatchdog(() => this.#inflight.snapshot(), next);
  }

  /**
   * Holds the process defaults this client uses from its first call on (not from its
   * creation: the module-level `defaultClient` must not keep them open unused).
   */
  #hold(): void {
    if (this.#releases !== undefined || this.#closed) return;
    const o = this.#state.options;
    this.#releases = [];
    if (o.registry === defaultRegistry()) this.#releases.push(holdDefaultRegistry());
    if (o.broker === defaultBroker()) this.#releases.push(holdDefaultBroker());
  }

  call<R>(ctx: Context, request: Request, options: CallOptions = {}): Promise<R> {
    this.#hold();
    return this.#state.invoke(ctx, request, options) as Promise<R>;
  }

  stream<Req, Rsp>(ctx: Context, request: Request, options: CallOptions = {}): Promise<Stream<Req, Rsp>> {
    this.#hold();
    const s = this.#state;
    return openStream<Req, Rsp>(
      s,
      s.options.trackInflight ? this.#inflight : undefined,
      ctx,
      request,
      options,
    );
  }

  publish(ctx: Context, message: Message, options?: PublishCallOptions): Promise<void> {
    this.#hold();
    return publishMessage(this.#state.options, ctx, message, options);
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
    return this.#inflight.snapshot();
  }

  stats(): ClientStats {
    const { pool } = this.#state;
    return { connections: pool.size, addresses: pool.addresses, inflight: this.#inflight.size };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatchdog?.();
    const s = this.#state;
    if (s.options.selector === undefined) s.selector.close();
    await s.pool.drain();
    await this.#ownBroker?.disconnect();
    const releases = this.#releases ?? [];
    this.#releases = [];
    await Promise.all(releases.map((release) => release()));
  }

  /** With its own registry, the client publishes through a broker on it (http finds subscribers there). */
  #brokerFor(registry: ClientOptions["registry"] | undefined): Broker {
    if (registry === undefined) return defaultBroker();
    this.#ownBroker = brokerFromEnv({ registry });
    return this.#ownBroker;
  }

  #build(prev: State | undefined, changes: Partial<ClientOptions>): State {
    const base: ClientOptions = prev?.options ?? {
      retries: DEFAULT_RETRIES,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
      dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
      poolSize: DEFAULT_POOL_SIZE,
      poolTtlMs: DEFAULT_POOL_TTL_MS,
      contentType: "application/json",
      registry: changes.registry ?? defaultRegistry(),
      selector: undefined,
      transport: changes.transport ?? createTcpTransport(),
      codecs: changes.codecs ?? defaultCodecs(),
      wrappers: [],
      maxCallDepth: DEFAULT_MAX_CALL_DEPTH,
      backoff: defaultBackoff,
      trackInflight: true,
      watchdog: undefined,
      broker: changes.broker ?? this.#brokerFor(changes.registry),
    };
    const options: ClientOptions = Object.freeze({ ...base, ...stripUndefined(changes) });
    validate(options);
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
    const snap: Snapshot = { options, pool, selector };
    const table = options.trackInflight ? this.#inflight : undefined;
    const bottom: CallFn = (ctx, req, opts) => callOnce(snap, table, ctx, req, opts);
    const invoke = options.wrappers.reduceRight<CallFn>((next, wrap) => wrap(next), bottom);
    return { ...snap, invoke };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function validate(o: ClientOptions): void {
  const positive = {
    requestTimeoutMs: o.requestTimeoutMs,
    dialTimeoutMs: o.dialTimeoutMs,
    poolSize: o.poolSize,
    maxCallDepth: o.maxCallDepth,
  };
  for (const [k, v] of Object.entries(positive)) {
    if (!(typeof v === "number" && v > 0))
      throw new TypeError(`client option ${k} must be a number > 0, got ${String(v)}`);
  }
  if (!(Number.isInteger(o.retries) && o.retries >= 0))
    throw new TypeError(`client option retries must be an integer ≥ 0, got ${o.retries}`);
  if (!o.codecs.has(o.contentType)) {
    throw new TypeError(
      `client option contentType "${o.contentType}" has no codec; supported: ${o.codecs.types().join(", ")}`,
    );
  }
}

/** Creates a client (go-micro's client.NewClient); unset options take their defaults. */
export function newClient(options: Partial<ClientOptions> = {}): Client {
  return new ClientImpl(options);
}

/** The process-wide client (go-micro's client.DefaultClient). Safe to `init()` at any time. */
export const defaultClient: Client = newClient();
