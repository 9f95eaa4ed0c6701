/**
 * Connection pool: up to `size` multiplexed connections per address. The size bounds
 * sockets, never calls: a call takes the least-busy open connection and gives nothing
 * back, so a nested call can never wait for a connection its own caller holds.
 */
import { abortable } from "../util/abort.js";
import type { Connection, SignalLike, Transport } from "./transport.js";

export interface PoolOptions {
  transport: Transport;
  /** Sockets per address. */
  size: number;
  /** Age after which a connection takes no new calls and closes once idle; 0 = never. */
  ttlMs: number;
}

interface Slot {
  conns: Connection[];
  dialing: Promise<Connection> | undefined;
  /**
   * Connections handed out in this tick. Calls that start together all take their connection
   * before any of them sends (selection and dialing are awaited), so every one of them sees
   * `inflight` 0; a second taker in the same tick is what says the connection is shared.
   */
  taken: number;
}

export class Pool {
  readonly #opts: PoolOptions;
  readonly #slots = new Map<string, Slot>();
  #draining = false;

  constructor(options: PoolOptions) {
    this.#opts = options;
  }

  /** Open connections across all addresses. */
  get size(): number {
    let n = 0;
    for (const s of this.#slots.values()) n += s.conns.length;
    return n;
  }

  /** An open connection to `address`, dialling one only when none is usable (or all are busy and there is room). */
  get(address: string, dialTimeoutMs: number, signal?: SignalLike): Promise<Connection> | Connection {
    let slot = this.#slots.get(address);
    if (slot === undefined) {
      slot = { conns: [], dialing: undefined, taken: 0 };
      this.#slots.set(address, slot);
    }
    const best = this.#pick(slot);
    if (best !== undefined) {
      const busy = best.inflight > 0 || slot.taken > 0;
      if (slot.taken++ === 0) process.nextTick(resetTaken, slot);
      if (busy && slot.conns.length < this.#opts.size && slot.dialing === undefined && !this.#draining) {
        // Grow in the background; this call does not wait for it.
        this.#dial(address, slot, dialTimeoutMs).catch(() => {});
      }
      return best;
    }
    // Shared: concurrent calls to a new address wait on one dial, bounded by their own signals.
    const dial = slot.dialing ?? this.#dial(address, slot, dialTimeoutMs);
    return signal === undefined ? dial : abortable(dial, signal);
  }

  #pick(slot: Slot): Connection | undefined {
    const now = Date.now();
    let best: Connection | undefined;
    for (let i = 0; i < slot.conns.length; i++) {
      const c = slot.conns[i]!;
      if (!c.usable || (this.#opts.ttlMs > 0 && now - c.createdAt > this.#opts.ttlMs)) {
        slot.conns.splice(i--, 1);
        c.close(true);
        continue;
      }
      if (best === undefined || c.inflight < best.inflight) best = c;
    }
    return best;
  }

  #dial(address: string, slot: Slot, timeoutMs: number): Promise<Connection> {
    const dial = this.#opts.transport.dial(address, { timeoutMs }).then(
      (conn) => {
        slot.dialing = undefined;
        if (this.#draining) {
          // Serves the call that asked for it (which sends before any macrotask), then closes.
          setImmediate(() => conn.close(true));
          return conn;
        }
        slot.conns.push(conn);
        void conn.closed.then(() => {
          const i = slot.conns.indexOf(conn);
          if (i >= 0) slot.conns.splice(i, 1);
          this.#prune(address, slot);
        });
        return conn;
      },
      (err) => {
        slot.dialing = undefined;
        this.#prune(address, slot);
        throw err;
      },
    );
    slot.dialing = dial;
    return dial;
  }

  /** An address with no connection and no dial is forgotten, so node churn does not grow the map. */
  #prune(address: string, slot: Slot): void {
    if (slot.conns.length === 0 && slot.dialing === undefined && this.#slots.get(address) === slot) {
      this.#slots.delete(address);
    }
  }

  /** Addresses with a connection or a dial, for tests of pruning. */
  get addresses(): number {
    return this.#slots.size;
  }

  /**
   * Takes no more connections; closes each one once its in-flight calls finish.
   * Resolves when every connection has closed.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.#slots.values()) {
      for (const c of slot.conns) {
        c.close(true);
        closing.push(c.closed);
      }
      slot.conns = [];
    }
    this.#slots.clear();
    await Promise.all(closing);
  }
}

function resetTaken(slot: Slot): void {
  slot.taken = 0;
}
