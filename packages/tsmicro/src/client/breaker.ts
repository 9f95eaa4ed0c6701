/**
 * A circuit breaker per node (Moleculer's circuitBreaker; go-micro has none built in, only a
 * hystrix wrapper in its plugins). Each node a client calls through the selector has an error
 * rate over a sliding window. Past `errorRate` (with at least `minRequests` attempts in the
 * window) the breaker opens: selection skips the node. After `coolDownMs` one call is let
 * through as a probe (half-open); its success closes the breaker, its failure opens it again.
 *
 * What counts as a failure of the node: a transport failure (dial refused, connection lost),
 * an answer with a 5xx code, and the call's own timeout expiring while the node had the
 * request (here, or at the node: a 408 answer). What does not: other 4xx answers (the caller's
 * mistake), the caller's cancel, and the caller's own deadline (it may have been too short for
 * any node), whichever side noticed it first.
 *
 * The state is plain counters updated synchronously: nothing waits on a breaker, and no slot
 * is held across an await (the probe is a flag, cleared when its attempt ends however it ends).
 */
import { Code, MicroError } from "../errors.js";
import type { Node } from "../registry/registry.js";

/** Options of the client's per-node circuit breaker (`newClient({ breaker: {} })` turns it on). */
export interface BreakerOptions {
  /** Share of failed attempts in the window (0..1) at or above which the breaker opens. @default 0.5 */
  errorRate?: number;
  /** Attempts the window must hold before its error rate counts. @default 20 */
  minRequests?: number;
  /** Length of the sliding window, ms. @default 10000 */
  windowMs?: number;
  /** How long an open breaker waits before letting one probe call through (half-open), ms. @default 5000 */
  coolDownMs?: number;
}

export const BREAKER_DEFAULTS = Object.freeze({
  errorRate: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  coolDownMs: 5000,
});

export type BreakerStateName = "closed" | "open" | "half-open";

/** One node's breaker, as `client.breakers()` reports it. */
export interface BreakerState {
  service: string;
  /** The node's id. */
  node: string;
  address: string;
  state: BreakerStateName;
  /** Attempts and failures in the current window. */
  requests: number;
  failures: number;
  /** When an open breaker lets its next probe through (epoch ms); undefined unless open. */
  probeAt?: number;
}

const BUCKETS = 10;

class NodeBreaker {
  state: BreakerStateName = "closed";
  openedAt = 0;
  probing = false;
  readonly total = new Array<number>(BUCKETS).fill(0);
  readonly failed = new Array<number>(BUCKETS).fill(0);
  /** Which window slice each bucket holds (its index since the epoch). */
  readonly slice = new Array<number>(BUCKETS).fill(-1);

  constructor(
    readonly service: string,
    public node: Node,
  ) {}

  count(now: number, bucketMs: number): { requests: number; failures: number } {
    const current = Math.floor(now / bucketMs);
    let requests = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.slice[i]! > current - BUCKETS) {
        requests += this.total[i]!;
        failures += this.failed[i]!;
      }
    }
    return { requests, failures };
  }

  add(now: number, bucketMs: number, failed: boolean): void {
    const current = Math.floor(now / bucketMs);
    const i = current % BUCKETS;
    if (this.slice[i] !== current) {
      this.slice[i] = current;
      this.total[i] = 0;
      this.failed[i] = 0;
    }
    this.total[i]!++;
    if (failed) this.failed[i]!++;
  }

  reset(): void {
    this.slice.fill(-1);
  }
}

type Resolved = Readonly<Required<BreakerOptions>>;

export function resolveBreakerOptions(o: BreakerOptions): Resolved {
  const r = { ...BREAKER_DEFAULTS, ...definedOnly(o) };
  if (!(r.errorRate > 0 && r.errorRate <= 1))
    throw new TypeError(`client option breaker.errorRate must be in (0, 1], got ${r.errorRate}`);
  for (const k of ["minRequests", "windowMs", "coolDownMs"] as const) {
    if (!(typeof r[k] === "number" && r[k] > 0))
      throw new TypeError(`client option breaker.${k} must be a number > 0, got ${String(r[k])}`);
  }
  return Object.freeze(r);
}

function definedOnly(o: BreakerOptions): BreakerOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Whether `error` counts against the node that gave it (see the file comment); undefined for no
 * verdict. A 408 answer is the deadline the call sent along expiring at the node, often a moment
 * before it expires here: the caller's deadline (`byCaller`) gives no verdict, the call's own
 * timeout is a slow node, as when the timer fires here first.
 */
export function countsAgainstNode(
  error: MicroError,
  transportFailure: boolean,
  byCaller = false,
): boolean | undefined {
  if (transportFailure) return true;
  if (error.code === Code.Timeout) return byCaller ? undefined : true;
  return error.code >= 500;
}

/**
 * The breakers of one client, for every node it has called. It outlives `init()` (a new options
 * snapshot keeps the nodes' history); the options are passed in by each caller.
 */
export class Breakers {
  readonly #nodes = new Map<string, NodeBreaker>();
  #sweepAt = 256;

  #key(service: string, node: Node): string {
    return `${service}\u0000${node.id}`;
  }

  /** Whether selection may pick `node` now: closed, or open with its probe due and not taken. */
  allows(service: string, node: Node, o: Resolved, now = Date.now()): boolean {
    const b = this.#nodes.get(this.#key(service, node));
    if (b === undefined || b.state === "closed") return true;
    return !b.probing && now >= b.openedAt + o.coolDownMs;
  }

  /**
   * An attempt picked `node`: true when it is the half-open probe (an open breaker whose
   * cool-down is over). Two attempts that picked the same due node at once both probe.
   */
  picked(service: string, node: Node, o: Resolved, now = Date.now()): boolean {
    const b = this.#nodes.get(this.#key(service, node));
    if (b === undefined || b.state === "closed") return false;
    if (now < b.openedAt + o.coolDownMs && b.state === "open") return false;
    b.state = "half-open";
    b.probing = true;
    return true;
  }

  /** The attempt on `node` ended: `failed` true or false, or undefined for no verdict (cancelled). */
  record(
    service: string,
    node: Node,
    failed: boolean | undefined,
    probe: boolean,
    o: Resolved,
    now = Date.now(),
  ): void {
    const key = this.#key(service, node);
    let b = this.#nodes.get(key);
    if (b === undefined) {
      if (failed === undefined) return;
      if (this.#nodes.size >= this.#sweepAt) this.#sweep(now, o);
      b = new NodeBreaker(service, node);
      this.#nodes.set(key, b);
    }
    b.node = node;
    if (probe) {
      b.probing = false;
      if (failed === undefined) {
        // No verdict: the next call may probe at once.
        if (b.state === "half-open") b.state = "open";
        return;
      }
      if (failed) {
        b.state = "open";
        b.openedAt = now;
      } else {
        b.state = "closed";
        b.reset();
      }
      return;
    }
    // Calls that were in flight when the breaker opened report late: the probe decides.
    if (b.state !== "closed" || failed === undefined) return;
    const bucketMs = o.windowMs / BUCKETS;
    b.add(now, bucketMs, failed);
    const { requests, failures } = b.count(now, bucketMs);
    if (requests >= o.minRequests && failures / requests >= o.errorRate) {
      b.state = "open";
      b.openedAt = now;
      b.reset();
    }
  }

  /** The 503 of a call whose every node is skipped by an open breaker. */
  allOpen(service: string, skipped: number, o: Resolved, now = Date.now()): MicroError {
    let next = Number.POSITIVE_INFINITY;
    for (const b of this.#nodes.values()) {
      if (b.service === service && b.state !== "closed" && !b.probing)
        next = Math.min(next, b.openedAt + o.coolDownMs);
    }
    const when = Number.isFinite(next)
      ? `the next probe is due in ${Math.max(0, next - now)} ms`
      : "a probe is in flight";
    return new MicroError({
      id: service,
      code: 503,
      detail: `circuit breakers are open for all ${skipped} node(s) of service "${service}": not called (${when})`,
      retryable: false,
    });
  }

  /** The breaker state of `node`, when it is not closed (for the in-flight view). */
  stateOf(service: string, nodeId: string): "open" | "half-open" | undefined {
    const b = this.#nodes.get(`${service}\u0000${nodeId}`);
    return b === undefined || b.state === "closed" ? undefined : b.state;
  }

  snapshot(o: Resolved | undefined, now = Date.now()): BreakerState[] {
    const windowMs = o?.windowMs ?? BREAKER_DEFAULTS.windowMs;
    const coolDownMs = o?.coolDownMs ?? BREAKER_DEFAULTS.coolDownMs;
    return [...this.#nodes.values()].map((b) => {
      const { requests, failures } = b.count(now, windowMs / BUCKETS);
      return {
        service: b.service,
        node: b.node.id,
        address: b.node.address,
        state: b.state,
        requests,
        failures,
        ...(b.state === "open" ? { probeAt: b.openedAt + coolDownMs } : {}),
      };
    });
  }

  /**
   * Forgets closed breakers with an empty window (nodes long gone or long healthy), and open
   * ones nobody probed for a window past their cool-down (nodes gone; one still there starts
   * closed again and reopens if it still fails).
   */
  #sweep(now: number, o: Resolved): void {
    for (const [k, b] of this.#nodes) {
      const idle =
        b.state === "closed"
          ? b.count(now, o.windowMs / BUCKETS).requests === 0
          : !b.probing && now - b.openedAt > o.coolDownMs + o.windowMs;
      if (idle) this.#nodes.delete(k);
    }
    this.#sweepAt = Math.max(256, this.#nodes.size * 2);
  }
}
