/** Client options: an immutable snapshot, replaced as a whole by `init()` (copy-on-write). */
import type { Broker } from "../broker/broker.js";
import type { CodecRegistry } from "../codec/index.js";
import type { Context } from "../context.js";
import type { Registry } from "../registry/registry.js";
import type { SelectOptions, Selector } from "../selector/selector.js";
import type { Transport } from "../transport/transport.js";
import type { WatchdogOptions } from "../watchdog.js";
import type { Request } from "./request.js";

/** Options of one call or stream; each overrides the client's option of the same name. */
export interface CallOptions {
  /** Call this address (or one of these, in turn per attempt) instead of asking the registry. */
  address?: string | readonly string[];
  /** Retries after the first attempt, on retryable errors only. */
  retries?: number;
  /** This call's own timeout; the caller's remaining deadline still applies (the smaller wins). */
  requestTimeoutMs?: number;
  dialTimeoutMs?: number;
  /** Sent with the request, on top of the context's metadata. */
  metadata?: Record<string, string>;
  /** Cancels the call (and the handler on the server). */
  signal?: AbortSignal;
  /** Node filters and strategy for this call. */
  select?: SelectOptions;
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
  /** Calls nested deeper than this are refused with the chain listed. @default 64 */
  maxCallDepth: number;
  /** Back-off before retry `attempt` (1-based), in ms; bounded by the deadline. @default 10 ms × 2^(attempt-1), jittered, ≤ 1 s */
  backoff: (attempt: number) => number;
  /** Keep the in-flight call table that `inflight()` and the stall doctor read. @default true */
  trackInflight: boolean;
  /** Report calls stuck in one phase longer than a threshold (needs trackInflight). @default off */
  watchdog: WatchdogOptions | undefined;
  /** Where `publish` sends messages. @default the process default broker (MICRO_BROKER, else http) */
  broker: Broker;
}

export const DEFAULT_RETRIES = 1;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_DIAL_TIMEOUT_MS = 5000;
export const DEFAULT_POOL_SIZE = 4;
export const DEFAULT_POOL_TTL_MS = 60_000;
export const DEFAULT_MAX_CALL_DEPTH = 64;

export function defaultBackoff(attempt: number): number {
  const base = Math.min(1000, 10 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}
