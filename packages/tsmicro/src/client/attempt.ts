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
import { Code, type MicroError } from "../errors.js";
import type { CallPhase, InflightCall, InflightTable } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import { NodeAttempt } from "../selector/node-attempt.js";
import type { SelectOptions, Selector } from "../selector/selector.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Pool } from "../transport/pool.js";
import type { Connection } from "../transport/transport.js";
import { abortable } from "../util/abort.js";
import type { SignalLike } from "../util/light-abort.js";
import { type BreakerOptions, type Breakers, countsAgainstNode } from "./breaker.js";
import type { CallOptions, ClientOptions } from "./options.js";

/** Everything a call needs, fixed for its whole life (the client's options snapshot). */
export interface Snapshot {
  readonly options: Readonly<ClientOptions>;
  readonly pool: Pool;
  readonly selector: Selector;
  /** The client's per-node circuit breakers (they outlive snapshots); used when `options.breaker` is set. */
  readonly breakers?: Breakers;
}

/** What a hedged call's legs tell their attempts: nodes to avoid, and the node each one picks. */
export interface AttemptHooks {
  /** Node ids selection must not pick (the nodes other legs of a hedged call are on). */
  readonly avoid?: ReadonlySet<string>;
  /** Called with each node picked. */
  onNode?(node: Node): void;
}

/** One attempt's question to the selector, and how many nodes its breakers left out. */
interface SelectHow {
  select: SelectOptions | undefined;
  skipped: number;
  readonly breakers: Breakers | undefined;
  readonly breaker: Required<BreakerOptions> | undefined;
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

/** What a call is doing in each of its phases, for timeout details. */
export const PHASE_TEXT: Partial<Record<CallPhase, string>> = {
  selecting: "selecting a node",
  dialing: "dialing",
  sent: "waiting for the response",
  backoff: "backing off before a retry",
};

/**
 * One call's way to its node, attempt after attempt: the shared node attempt (selector counts,
 * marks, phases) plus how a call chooses (a fixed address list in turn, or the selector, past
 * open breakers and a hedge's other legs) and reaches it (a pooled connection). `connect`
 * reaches a node; then exactly one of `succeeded`, `failed`, `abandoned` or `release` ends
 * that attempt (each is idempotent).
 */
export class Attempt extends NodeAttempt {
  readonly #snap: Snapshot;
  readonly #service: string;
  readonly #opts: CallOptions;
  readonly #addresses: readonly string[] | undefined;
  /** The node whose breaker this attempt reports to when it ends, and whether it is the probe. */
  #breaker: { node: Node; probe: boolean } | undefined;
  readonly #hooks: AttemptHooks | undefined;

  constructor(
    snap: Snapshot,
    service: string,
    opts: CallOptions,
    record: InflightCall | undefined,
    hooks?: AttemptHooks,
  ) {
    super(service, snap.selector, record);
    this.#snap = snap;
    this.#hooks = hooks;
    this.#service = service;
    this.#opts = opts;
    const a = opts.address;
    this.#addresses = a === undefined ? undefined : typeof a === "string" ? [a] : a;
  }

  /**
   * Selects a node and takes a connection to it: the connection itself when the node is
   * known at once (a fixed address, or a fresh cached service) and has one open, so the
   * caller sends in the same turn it took it (the pool sees the connection busy at once, and
   * no promise is made per call), a promise otherwise.
   */
  connect(signal: SignalLike): Connection | Promise<Connection> {
    this.enter("selecting");
    if (this.#addresses !== undefined) {
      const address = this.#addresses[(this.number - 1) % this.#addresses.length]!;
      const node: Node = { id: address, address, metadata: {} };
      this.chose(node, false);
      return this.#take(node, signal);
    }
    const how = this.#selectOptions();
    const next = signal.aborted ? undefined : this.#snap.selector.selectNow?.(this.#service, how.select);
    // Filters that ran for selectNow count again for select.
    how.skipped = 0;
    const picked = next === undefined ? this.#select(how, signal) : this.#picked(next(), how);
    if (picked instanceof Promise) return picked.then((node) => this.#take(node, signal));
    return this.#take(picked, signal);
  }

  #take(node: Node, signal: SignalLike): Connection | Promise<Connection> {
    this.#hooks?.onNode?.(node);
    const snap = this.#snap;
    const conn = snap.pool.get(node.address, this.#opts.dialTimeoutMs ?? snap.options.dialTimeoutMs, signal);
    if (conn instanceof Promise) this.enter("dialing");
    return conn;
  }

  /**
   * What to ask the selector for: the call's own filters, plus, for a hedged call, leaving out
   * the nodes its other legs are on, and, with breakers, the nodes whose breaker is open (a due
   * probe excepted; `skipped` counts those).
   */
  #selectOptions(): SelectHow {
    const snap = this.#snap;
    const service = this.#service;
    const breaker = snap.options.breaker ? (snap.options.breaker as Required<BreakerOptions>) : undefined;
    const breakers = breaker === undefined ? undefined : snap.breakers;
    const avoid = this.#hooks?.avoid;
    const select = this.#opts.select;
    const how: SelectHow = { select, skipped: 0, breakers, breaker };
    if (breakers === undefined && avoid === undefined) return how;
    const now = Date.now();
    how.select = {
      ...select,
      filters: [
        ...(select?.filters ?? []),
        (_s, n) => avoid === undefined || !avoid.has(n.id),
        (_s, n) => {
          if (breakers === undefined || breakers.allows(service, n, breaker!, now)) return true;
          how.skipped++;
          return false;
        },
      ],
    };
    return how;
  }

  /**
   * Waits for the selector's node. When breakers are all that left no node, the call fails
   * fast with a 503 that says so.
   */
  async #select(how: SelectHow, signal: SignalLike): Promise<Node> {
    let node: Node;
    try {
      node = (await abortable(this.#snap.selector.select(this.#service, how.select), signal))();
    } catch (err) {
      if (how.skipped > 0 && (err as MicroError).code === Code.NotFound)
        throw how.breakers!.allOpen(this.#service, how.skipped, how.breaker!);
      throw err;
    }
    return this.#picked(node, how);
  }

  /** The selector picked `node`: the attempt counts against it, and its breaker hears how it went. */
  #picked(node: Node, how: SelectHow): Node {
    this.chose(node, true);
    if (how.breakers !== undefined)
      this.#breaker = { node, probe: how.breakers.picked(this.#service, node, how.breaker!) };
    return node;
  }

  /** Tells the node's breaker how the attempt ended (undefined: no verdict). */
  #report(failed: boolean | undefined): void {
    const b = this.#breaker;
    if (b === undefined) return;
    this.#breaker = undefined;
    const o = this.#snap.options.breaker;
    if (o) this.#snap.breakers?.record(this.#service, b.node, failed, b.probe, o as Required<BreakerOptions>);
  }

  /** The node answered: its breaker and the selector count a success for it. */
  override succeeded(): void {
    this.#report(false);
    super.succeeded();
  }

  /** The attempt failed with `error`; `byCaller`: the caller's deadline bounded the call. */
  override failed(error: MicroError, byCaller = false): void {
    this.#report(countsAgainstNode(error, isTransportFailure(error), byCaller));
    super.failed(error);
  }

  /**
   * The attempt ended with no answer from the node: the caller cancelled (no verdict), or the
   * call's own timeout expired while the node had the request (`timedOut`, a failure).
   */
  abandoned(timedOut: boolean): void {
    this.#report(timedOut ? true : undefined);
    this.release();
  }

  /** Stops counting the attempt against its node, however it ended. */
  override release(): void {
    this.#report(undefined);
    super.release();
  }
}
