/**
 * The stall doctor's table: every call in flight, on the client and on the server, with
 * its phase and how long it has been there. Cheap enough to keep on by default (one object
 * per call, updated in place).
 */

import { passesThrough } from "./util/hop.js";

export type CallPhase =
  | "selecting"
  | "dialing"
  | "sent"
  | "backoff"
  | "queued" // waiting for a concurrency slot on the server
  | "handling"
  | "streaming"
  | "publishing"; // a published message on its way to a subscriber (or to the broker)

export interface InflightCall {
  readonly id: number;
  readonly side: "client" | "server";
  readonly service: string;
  readonly endpoint: string;
  /** Node id or address, once known. */
  node: string | undefined;
  phase: CallPhase;
  /** Epoch ms the call entered its current phase. */
  phaseSince: number;
  readonly startedAt: number;
  /** Epoch ms, or undefined. */
  readonly deadline: number | undefined;
  /** Hops before this call, oldest first, as rendered on the wire. */
  readonly chain: readonly string[];
  attempt: number;
  /** The phase the watchdog last reported this call in (see InflightTable.takeStuck). */
  reported?: CallPhase | undefined;
}

/** What `inflight()` returns: a copy with ages computed. */
export interface InflightSnapshot extends Omit<InflightCall, "phaseSince" | "reported"> {
  ageMs: number;
  phaseAgeMs: number;
  /** True when the chain passes through this call's service more than once. */
  cycle: boolean;
  /** A client call's node has this circuit breaker state (absent when closed or off). */
  breaker?: "open" | "half-open";
}

export class InflightTable {
  readonly #calls = new Set<InflightCall>();
  #nextId = 1;

  get size(): number {
    return this.#calls.size;
  }

  add(
    side: InflightCall["side"],
    service: string,
    endpoint: string,
    node: string | undefined,
    phase: CallPhase,
    deadline: number | undefined,
    chain: readonly string[],
    now = Date.now(),
  ): InflightCall {
    const call: InflightCall = {
      id: this.#nextId++,
      side,
      service,
      endpoint,
      node,
      phase,
      phaseSince: now,
      startedAt: now,
      deadline,
      chain,
      attempt: 1,
      reported: undefined,
    };
    this.#calls.add(call);
    return call;
  }

  delete(call: InflightCall): void {
    this.#calls.delete(call);
  }

  snapshot(now = Date.now()): InflightSnapshot[] {
    return [...this.#calls].map((c) => copyOf(c, now));
  }

  /**
   * The watchdog's scan: copies of the calls in their phase for at least `thresholdMs` and not
   * yet reported in it, each marked reported (once per call and phase). Nothing is copied for
   * the others: with 100,000 calls in flight, copying the whole table twice a threshold was a
   * fifth of the client's CPU in the scale bench's profile.
   */
  takeStuck(thresholdMs: number, now = Date.now()): InflightSnapshot[] {
    const out: InflightSnapshot[] = [];
    for (const c of this.#calls) {
      if (now - c.phaseSince < thresholdMs || c.reported === c.phase) continue;
      c.reported = c.phase;
      out.push(copyOf(c, now));
    }
    return out;
  }
}

function copyOf(c: InflightCall, now: number): InflightSnapshot {
  const { phaseSince, reported: _reported, ...rest } = c;
  return {
    ...rest,
    chain: [...c.chain],
    ageMs: now - c.startedAt,
    phaseAgeMs: now - phaseSince,
    cycle: passesThrough(c.chain, c.service),
  };
}

export function setPhase(call: InflightCall | undefined, phase: CallPhase): void {
  if (call !== undefined && call.phase !== phase) {
    call.phase = phase;
    call.phaseSince = Date.now();
  }
}
