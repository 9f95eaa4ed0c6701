/**
 * Server concurrency limits (bulkhead) that cannot deadlock a chain: a request waits for a
 * slot no longer than its own deadline, a full queue answers at once (retryable), and
 * `reservedForNested` keeps slots that only calls already inside this service's chain may
 * take, so "N outer calls into S each calling S again" completes instead of stalling.
 */
import type { Context } from "../context.js";
import { Code, MicroError } from "../errors.js";
import { type DeadlineTimer, startTimer, stopTimer } from "../util/deadline.js";
import { passesThrough } from "../util/hop.js";

export interface LimitOptions {
  /** Requests handled at once. */
  maxConcurrent: number;
  /** Requests waiting for a slot; beyond it the answer is an immediate 503. @default maxConcurrent */
  maxQueue?: number;
  /** Slots only nested calls (whose chain already passed through this service) may use. @default 0 */
  reservedForNested?: number;
}

export interface BulkheadOptions extends LimitOptions {
  /** Per-endpoint limits (`Class.method`), applied before the service limit. */
  endpoints?: Record<string, LimitOptions>;
}

export type Release = () => void;

export interface Bulkhead {
  /** Resolves with the function that frees the slot(s); rejects with a MicroError. */
  acquire(endpoint: string, ctx: Context): Promise<Release>;
  stats(): { active: number; queued: number };
}

interface Waiter {
  nested: boolean;
  grant: (release: Release) => void;
}

class Limiter {
  readonly #max: number;
  readonly #maxQueue: number;
  readonly #reserved: number;
  readonly #label: string;
  readonly #id: string;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(id: string, label: string, o: LimitOptions) {
    if (!(Number.isInteger(o.maxConcurrent) && o.maxConcurrent > 0)) {
      throw new TypeError(`${label}: maxConcurrent must be an integer > 0`);
    }
    this.#id = id;
    this.#label = label;
    this.#max = o.maxConcurrent;
    this.#maxQueue = o.maxQueue ?? o.maxConcurrent;
    this.#reserved = Math.min(o.reservedForNested ?? 0, o.maxConcurrent - 1);
  }

  get active() {
    return this.#active;
  }
  get queued() {
    return this.#queue.length;
  }

  #fits(nested: boolean): boolean {
    return this.#active < (nested ? this.#max : this.#max - this.#reserved);
  }

  #release(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#active--;
      this.#pump();
    };
  }

  #pump(): void {
    // Nested waiters first: they are what the reserve is for (FIFO among those that fit).
    while (this.#queue.length > 0) {
      const i = this.#queue.findIndex((w) => this.#fits(w.nested));
      if (i < 0) return;
      const [w] = this.#queue.splice(i, 1);
      this.#active++;
      w!.grant(this.#release());
    }
  }

  acquire(ctx: Context, nested: boolean): Promise<Release> {
    if (this.#fits(nested) && (nested || this.#queue.length === 0)) {
      this.#active++;
      return Promise.resolve(this.#release());
    }
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new MicroError({
          id: this.#id,
          code: Code.ServiceUnavailable,
          detail: `${this.#label} is at its concurrency limit (maxConcurrent ${this.#max}, ${this.#active} active, queue of ${this.#maxQueue} full)`,
          retryable: true,
          refused: true,
          chain: ctx.chain,
        }),
      );
    }
    if (ctx.signal.aborted) return Promise.reject(MicroError.from(ctx.signal.reason, this.#id));
    const started = Date.now();
    return new Promise<Release>((resolve, reject) => {
      let timer: DeadlineTimer;
      const leave = () => {
        stopTimer(timer);
        ctx.signal.removeEventListener("abort", onAbort);
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
      };
      const waiter: Waiter = {
        nested,
        grant: (release) => {
          leave();
          resolve(release);
        },
      };
      const giveUp = (reason: MicroError) => {
        leave();
        reject(
          reason.with({
            detail: `${reason.detail} (waited ${Date.now() - started} ms for a concurrency slot of ${this.#label}, maxConcurrent ${this.#max}, ${this.#active} active)`,
            chain: ctx.chain,
          }),
        );
      };
      const onAbort = () => giveUp(MicroError.from(ctx.signal.reason, this.#id));
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (ctx.deadline !== undefined) {
        // Give up a little before the deadline, so that this explanation reaches the caller
        // before the caller's own timer fires with a vaguer one.
        const left = ctx.deadline - started;
        const margin = Math.min(50, Math.max(1, left / 10));
        timer = startTimer(
          () =>
            giveUp(
              new MicroError({ id: this.#id, code: Code.Timeout, detail: "deadline reached while queued" }),
            ),
          Math.max(0, left - margin),
        );
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }
}

export function createBulkhead(service: string, options: BulkheadOptions): Bulkhead {
  const serviceLimit = new Limiter(service, `service ${service}`, options);
  const endpointLimits = new Map<string, Limiter>();
  for (const [name, o] of Object.entries(options.endpoints ?? {})) {
    endpointLimits.set(name, new Limiter(service, `endpoint ${service}.${name}`, o));
  }
  return {
    async acquire(endpoint, ctx) {
      // The last hop is this request itself; any earlier hop in this service makes it nested.
      const nested = passesThrough(ctx.chain, service, ctx.chain.length - 1);
      const ep = endpointLimits.get(endpoint);
      const releaseEndpoint = ep === undefined ? undefined : await ep.acquire(ctx, nested);
      try {
        const releaseService = await serviceLimit.acquire(ctx, nested);
        return () => {
          releaseService();
          releaseEndpoint?.();
        };
      } catch (err) {
        releaseEndpoint?.();
        throw err;
      }
    },
    stats() {
      return { active: serviceLimit.active, queued: serviceLimit.queued };
    },
  };
}
