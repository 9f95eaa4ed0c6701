/**
 * Reaching a node: the one way a unary call or a stream gets to a server. Select a node (a
 * fixed address list, or the selector), count the call against it (least-in-flight), take a
 * shared connection (dialing only when the pool has none), and afterwards tell the selector
 * how it went and stop counting. The phases it passes through (selecting, dialing, then sent
 * or streaming) are what the stall doctor shows.
 *
 * It holds no lock or slot across an await: connections are multiplexed, and a select that
 * waits for the registry waits only on its own signal.
 */
import type { MicroError } from "../errors.js";
import { type CallPhase, type InflightCall, type InflightTable, setPhase } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import type { Selector } from "../selector/selector.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Pool } from "../transport/pool.js";
import type { Connection } from "../transport/transport.js";
import { abortable } from "../util/abort.js";
import type { SignalLike } from "../util/light-abort.js";
import type { CallOptions, ClientOptions } from "./options.js";

/** Everything a call needs, fixed for its whole life (the client's options snapshot). */
export interface Snapshot {
  readonly options: Readonly<ClientOptions>;
  readonly pool: Pool;
  readonly selector: Selector;
}

/**
 * The client side's in-flight record of a call or stream, from its start (selecting a node);
 * undefined when tracking is off. `deadline` Infinity is recorded as none.
 */
export function trackCall(
  inflight: InflightTable | undefined,
  service: string,
  endpoint: string,
  deadline: number,
  chain: readonly string[],
  started: number,
): InflightCall | undefined {
  return inflight?.add(
    "client",
    service,
    endpoint,
    undefined,
    "selecting",
    deadline === Number.POSITIVE_INFINITY ? undefined : deadline,
    chain,
    started,
  );
}

/** What each phase is doing, for timeout details. */
export const PHASE_TEXT: Record<CallPhase, string> = {
  selecting: "selecting a node",
  dialing: "dialing",
  sent: "waiting for the response",
  backoff: "backing off before a retry",
  queued: "waiting for a concurrency slot",
  handling: "handling",
  streaming: "streaming",
};

/**
 * One call's way to its node, attempt after attempt. `connect` reaches a node; then exactly
 * one of `succeeded`, `failed` or `release` ends that attempt (each is idempotent).
 */
export class Attempt {
  /** The node of the current (or last) attempt. */
  node: Node | undefined;
  /** 1-based; `next()` counts retries. */
  number = 1;
  phase: CallPhase = "selecting";
  readonly #snap: Snapshot;
  readonly #service: string;
  readonly #opts: CallOptions;
  readonly #record: InflightCall | undefined;
  readonly #addresses: readonly string[] | undefined;
  /** The node counted as busy in the selector until the attempt ends. */
  #busy: Node | undefined;

  constructor(snap: Snapshot, service: string, opts: CallOptions, record: InflightCall | undefined) {
    this.#snap = snap;
    this.#service = service;
    this.#opts = opts;
    this.#record = record;
    const a = opts.address;
    this.#addresses = a === undefined ? undefined : typeof a === "string" ? [a] : a;
  }

  /** Moves the call to phase `p` (the in-flight record's phase and its start time). */
  enter(p: CallPhase): void {
    if (this.phase === p) return;
    this.phase = p;
    setPhase(this.#record, p);
  }

  /** Selects a node and takes a connection to it. */
  async connect(signal: SignalLike): Promise<Connection> {
    this.enter("selecting");
    const snap = this.#snap;
    let node: Node;
    if (this.#addresses !== undefined) {
      const address = this.#addresses[(this.number - 1) % this.#addresses.length]!;
      node = { id: address, address, metadata: {} };
    } else {
      node = (await abortable(snap.selector.select(this.#service, this.#opts.select), signal))();
      snap.selector.started?.(this.#service, node);
      this.#busy = node;
    }
    this.node = node;
    if (this.#record !== undefined) this.#record.node = node.id;
    const conn = snap.pool.get(node.address, this.#opts.dialTimeoutMs ?? snap.options.dialTimeoutMs, signal);
    if (!(conn instanceof Promise)) return conn;
    this.enter("dialing");
    return conn;
  }

  /** The node answered: the selector counts a success for it. */
  succeeded(): void {
    this.release();
    if (this.#addresses === undefined && this.node !== undefined) {
      this.#snap.selector.mark(this.#service, this.node);
    }
  }

  /** The attempt failed with `error`: a transport failure counts against the node. */
  failed(error: MicroError): void {
    this.release();
    if (this.#addresses === undefined && this.node !== undefined && isTransportFailure(error)) {
      this.#snap.selector.mark(this.#service, this.node, error);
    }
  }

  /** Stops counting the attempt against its node, however it ended. */
  release(): void {
    if (this.#busy !== undefined) this.#snap.selector.finished?.(this.#service, this.#busy);
    this.#busy = undefined;
  }

  /** Counts the next attempt (a retry). */
  next(): void {
    this.number++;
    if (this.#record !== undefined) this.#record.attempt = this.number;
  }
}
