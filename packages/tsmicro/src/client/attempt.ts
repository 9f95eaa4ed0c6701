/**
 * Reaching a node: the one way a unary call or a stream gets to a server. Select a node (a
 * fixed address list, or the selector), count the call against it (least-in-flight), take a
 * shared connection (dialing only when the pool has none), and afterwards tell the selector
 * how it went and stop counting (selector/node-attempt.ts, which the HTTP broker's publishes
 * share). The phases it passes through (selecting, dialing, then sent or streaming) are what
 * the stall doctor shows.
 *
 * It holds no lock or slot across an await: connections are multiplexed, and a select that
 * waits for the registry waits only on its own signal.
 */
import type { CallPhase, InflightCall, InflightTable } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import { NodeAttempt } from "../selector/node-attempt.js";
import type { Selector } from "../selector/selector.js";
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
  publishing: "waiting for the subscriber to take the message",
};

/**
 * One call's way to its node, attempt after attempt: the shared node attempt (selector counts,
 * marks, phases) plus how a call chooses (a fixed address list in turn, or the selector) and
 * reaches it (a pooled connection). `connect` reaches a node; then exactly one of
 * `succeeded`, `failed` or `release` ends that attempt.
 */
export class Attempt extends NodeAttempt {
  readonly #snap: Snapshot;
  readonly #service: string;
  readonly #opts: CallOptions;
  readonly #addresses: readonly string[] | undefined;

  constructor(snap: Snapshot, service: string, opts: CallOptions, record: InflightCall | undefined) {
    super(service, snap.selector, record);
    this.#snap = snap;
    this.#service = service;
    this.#opts = opts;
    const a = opts.address;
    this.#addresses = a === undefined ? undefined : typeof a === "string" ? [a] : a;
  }

  /** Selects a node and takes a connection to it. */
  async connect(signal: SignalLike): Promise<Connection> {
    this.enter("selecting");
    const snap = this.#snap;
    let node: Node;
    if (this.#addresses !== undefined) {
      const address = this.#addresses[(this.number - 1) % this.#addresses.length]!;
      node = { id: address, address, metadata: {} };
      this.chose(node, false);
    } else {
      node = (await abortable(snap.selector.select(this.#service, this.#opts.select), signal))();
      this.chose(node, true);
    }
    const conn = snap.pool.get(node.address, this.#opts.dialTimeoutMs ?? snap.options.dialTimeoutMs, signal);
    if (!(conn instanceof Promise)) return conn;
    this.enter("dialing");
    return conn;
  }
}
