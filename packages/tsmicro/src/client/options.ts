/** Client options: an immutable snapshot, replaced as a whole by `init()` (copy-on-write). */
import type { Broker } from "../broker/broker.js";
import type { CacheCallOption } from "../cache/cache.js";
import type { CodecRegistry } from "../codec/index.js";
import type { Context } from "../context.js";
import type { MicroError } from "../errors.js";
import type { Registry } from "../registry/registry.js";
import type { SelectOptions, Selector } from "../selector/selector.js";
import type { Transport } from "../transport/transport.js";
import type { WatchdogOptions } from "../watchdog.js";
import { type BreakerOptions, resolveBreakerOptions } from "./breaker.js";
import { checkHedge, type HedgeOptions } from "./hedge.js";
import type { Request } from "./request.js";
import type { RetryPredicate } from "./retry.js";

/** Options of one call or stream; each overrides the client's option of the same name. */
export interface CallOptions {
  /** Call this address (or one of these, in turn per attempt) instead of asking the registry. */
  address?: string | readonly string[];
  /** Retries after the first attempt, on retryable errors only. */
  retries?: number;
  /**
   * The endpoint may run twice with no harm: a call that reached the server and then failed
   * (timed out, lost its connection, a retryable error from the handler) may be retried.
   * @default the contract endpoint's `idempotent`, else false
   */
  idempotent?: boolean;
  /** Decides retries for this call instead of the client's `retry`. */
  retry?: RetryPredicate;
  /** Back-off before retry `attempt` (1-based), in ms, for this call. @default the client's `backoff` */
  backoff?: (attempt: number) => number;
  /** This call's own timeout; the caller's remaining deadline still applies (the smaller wins). */
  requestTimeoutMs?: number;
  dialTimeoutMs?: number;
  /** Sent with the request, on top of the context's metadata. */
  metadata?: Record<string, string>;
  /** Cancels the call (and the handler on the server). */
  signal?: AbortSignal;
  /** Node filters and strategy for this call. */
  select?: SelectOptions;
  /**
   * Serve this call from the client's cache for `ttlMs` (go-micro's `client.WithCache`; see
   * `withCache`); `false` overrides a contract's marking. Needs `cacheWrapper` among the
   * client's wrappers. @default the contract endpoint's `cache`, else not cached
   */
  cache?: CacheCallOption | false;
  /**
   * Hedge this call: if no answer came after `delayMs`, send it to another node too; the first
   * answer wins and the other attempts are cancelled. Only for idempotent calls (see
   * `idempotent`): on any other call no hedge is sent. `false` turns the client's off.
   * @default the client's `hedge`
   */
  hedge?: HedgeOptions | false;
  /**
   * Answers in place of the call when it finally fails (after retries and hedges), given the
   * error and the request: Moleculer's fallbackResponse. It may throw to fail after all.
   * @default none: the call fails with its error
   */
  fallback?: (error: MicroError, request: Request) => unknown;
}

/** A call as wrappers see it (go-micro's CallFunc). */
export type CallFn = (ctx: Context, request: Request, options: CallOptions) => Promise<unknown>;

/** go-micro's CallWrapper: `(next) => next'`. The first wrapper in the list is the outermost. */
export type CallWrapper = (next: CallFn) => CallFn;

/** Options of `newClient`, each with its default. */
export interface ClientOptions {
  /** Retries after the first attempt, on retryable errors. @default 1 */
  retries: number;
  /** @default 5000 */
  requestTimeoutMs: number;
  /** @default 5000 */
  dialTimeoutMs: number;
  /** Sockets per address (not a bound on concurrent calls: connections are multiplexed). @default 4 */
  poolSize: number;
  /** A connection older than this takes no new calls and closes once idle; 0 = never. @default 60000 */
  poolTtlMs: number;
  /** Codec for request bodies. @default "application/json" */
  contentType: string;
  registry: Registry;
  /** @default a cached, watch-driven, round-robin selector on `registry` */
  selector: Selector | undefined;
  /** @default TCP */
  transport: Transport;
  /** @default JSON and MessagePack */
  codecs: CodecRegistry;
  /** @default [] */
  wrappers: readonly CallWrapper[];
  /**
   * Middleware (see middleware.ts's Middleware): hooks for calls, streams and publishes, the
   * first outermost, outside `wrappers`. Typed structurally here to keep modules acyclic.
   * @default []
   */
  middleware: readonly {
    readonly call?: CallWrapper;
    readonly stream?: (next: never) => unknown;
    readonly publish?: (next: never) => unknown;
  }[];
  /** Calls nested deeper than this are refused with the chain listed. @default 64 */
  maxCallDepth: number;
  /** Back-off before retry `attempt` (1-based), in ms; bounded by the deadline. @default 10 ms × 2^(attempt-1), jittered, ≤ 1 s */
  backoff: (attempt: number) => number;
  /**
   * Decides whether a failed attempt is retried (`true`, a delay in ms, or `false`), given the
   * built-in rule's verdict; bounded by `retries` and the deadline. @default undefined (the built-in rule, docs/retries.md)
   */
  retry: RetryPredicate | undefined;
  /** Keep the in-flight call table that `inflight()` and the stall doctor read. @default true */
  trackInflight: boolean;
  /** Report calls stuck in one phase longer than a threshold (needs trackInflight). @default off */
  watchdog: WatchdogOptions | undefined;
  /** Where `publish` sends messages. @default the process default broker (MICRO_BROKER, else http) */
  broker: Broker;
  /**
   * A circuit breaker per node (`{}` for the defaults of BreakerOptions): a node whose error
   * rate in the window passes the threshold is skipped by selection until a probe after its
   * cool-down succeeds; docs/resilience.md. `false` turns it off on `init`. @default off
   */
  breaker: BreakerOptions | false | undefined;
  /** Hedge idempotent calls (each call may override it with its `hedge`). @default off */
  hedge: HedgeOptions | false | undefined;
}

/**
 * The defaults of the client's plain options: what `@default` says in ClientOptions' docs (a
 * test checks that the two agree). Registry, transport, codecs and broker default to objects
 * made when the client is, by `resolveClientOptions`.
 */
export const CLIENT_DEFAULTS = Object.freeze({
  retries: 1,
  requestTimeoutMs: 5000,
  dialTimeoutMs: 5000,
  poolSize: 4,
  poolTtlMs: 60_000,
  contentType: "application/json",
  selector: undefined,
  wrappers: Object.freeze([]) as readonly CallWrapper[],
  middleware: Object.freeze([]) as readonly never[],
  maxCallDepth: 64,
  backoff: defaultBackoff,
  retry: undefined,
  trackInflight: true,
  watchdog: undefined,
  breaker: undefined,
  hedge: undefined,
});

export const DEFAULT_RETRIES = CLIENT_DEFAULTS.retries;
export const DEFAULT_REQUEST_TIMEOUT_MS = CLIENT_DEFAULTS.requestTimeoutMs;
export const DEFAULT_DIAL_TIMEOUT_MS = CLIENT_DEFAULTS.dialTimeoutMs;
export const DEFAULT_POOL_SIZE = CLIENT_DEFAULTS.poolSize;
export const DEFAULT_POOL_TTL_MS = CLIENT_DEFAULTS.poolTtlMs;
export const DEFAULT_MAX_CALL_DEPTH = CLIENT_DEFAULTS.maxCallDepth;

export function defaultBackoff(attempt: number): number {
  const base = Math.min(1000, 10 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

/** The defaults that are objects, made only when the options do not give one. */
export interface ClientDependencies {
  registry(): Registry;
  transport(): Transport;
  codecs(): CodecRegistry;
  /** Given the registry the options name (undefined: the process default). */
  broker(registry: Registry | undefined): Broker;
}

/**
 * The one place the client's options are resolved: `changes` over `base` (the current options,
 * on `init`) or over the defaults (on `newClient`); undefined values mean "keep". The result
 * is checked (a TypeError names a bad option) and frozen.
 */
export function resolveClientOptions(
  changes: Partial<ClientOptions>,
  base: Readonly<ClientOptions> | undefined,
  deps: ClientDependencies,
): Readonly<ClientOptions> {
  const given: Partial<ClientOptions> = {};
  for (const [k, v] of Object.entries(changes))
    if (v !== undefined) (given as Record<string, unknown>)[k] = v;
  const options: ClientOptions = Object.freeze({
    ...(base ?? {
      ...CLIENT_DEFAULTS,
      registry: given.registry ?? deps.registry(),
      transport: given.transport ?? deps.transport(),
      codecs: given.codecs ?? deps.codecs(),
      broker: given.broker ?? deps.broker(given.registry),
    }),
    ...given,
    ...(given.breaker ? { breaker: resolveBreakerOptions(given.breaker) } : {}),
  });
  validate(options);
  return options;
}

function validate(o: ClientOptions): void {
  // Infinity is a valid timeout (no deadline); a dial always has one.
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
  if (o.hedge) checkHedge(o.hedge, "client option hedge");
  if (!(Number.isInteger(o.retries) && o.retries >= 0))
    throw new TypeError(`client option retries must be an integer ≥ 0, got ${o.retries}`);
  if (!o.codecs.has(o.contentType)) {
    throw new TypeError(
      `client option contentType "${o.contentType}" has no codec; supported: ${o.codecs.types().join(", ")}`,
    );
  }
}
