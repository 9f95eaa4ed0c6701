/**
 * Deadlines and signal links: the one place a timer whose delay comes from a user is set.
 *
 * Node clamps a timer above 2^31−1 ms (about 24.8 days) to 1 ms, with a TimeoutOverflowWarning:
 * a 30-day deadline would fire at once. Here a longer delay is chained (re-armed until the
 * deadline is reached), and an infinite one sets no timer at all.
 */
import type { SignalLike } from "./light-abort.js";

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer set by `startTimer`; `undefined` when none was needed (an infinite delay). */
export type DeadlineTimer = ReturnType<typeof setTimeout> | LongTimer | undefined;

/** A delay longer than setTimeout can hold, re-armed in steps of at most MAX_TIMER_MS. */
class LongTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #at: number;
  readonly #fn: () => void;
  readonly #unref: boolean;

  constructor(fn: () => void, delayMs: number, unref: boolean) {
    this.#fn = fn;
    this.#at = Date.now() + delayMs;
    this.#unref = unref;
    this.#arm();
  }

  #arm(): void {
    const left = this.#at - Date.now();
    if (left <= 0) {
      this.#timer = undefined;
      this.#fn();
      return;
    }
    this.#timer = setTimeout(() => this.#arm(), Math.min(left, MAX_TIMER_MS));
    if (this.#unref) this.#timer.unref();
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Calls `fn` once `delayMs` has passed. `Infinity` means never: no timer is set. A negative
 * or NaN delay fires on the next turn. `unref`: the timer does not keep the process alive.
 */
export function startTimer(fn: () => void, delayMs: number, unref = false): DeadlineTimer {
  if (delayMs === Number.POSITIVE_INFINITY) return undefined;
  // Negative and NaN as 0: setTimeout would run them as 1 ms too, but Node 23+ warns.
  const ms = Math.max(0, delayMs) || 0;
  if (ms > MAX_TIMER_MS) return new LongTimer(fn, ms, unref);
  const t = setTimeout(fn, ms);
  if (unref) t.unref();
  return t;
}

/** Stops a timer from `startTimer` (any value it returned, undefined included). */
export function stopTimer(timer: DeadlineTimer): void {
  if (timer instanceof LongTimer) timer.clear();
  else clearTimeout(timer);
}

/** An interval set by `startInterval`; `undefined` when none was needed (an infinite period). */
export type IntervalTimer = ReturnType<typeof setInterval> | LongInterval | undefined;

/** A period longer than setInterval can hold: a chained timer, re-armed after each call. */
class LongInterval {
  #timer: DeadlineTimer;

  constructor(fn: () => void, periodMs: number, unref: boolean) {
    // Re-armed before `fn` runs, so that a `clear()` from inside `fn` stops the next one.
    const tick = () => {
      this.#timer = startTimer(tick, periodMs, unref);
      fn();
    };
    this.#timer = startTimer(tick, periodMs, unref);
  }

  clear(): void {
    stopTimer(this.#timer);
  }
}

/**
 * Calls `fn` every `periodMs`, under the same rules as `startTimer`: `Infinity` means never
 * (no timer), a period above MAX_TIMER_MS is chained instead of clamped to 1 ms, and a
 * negative or NaN period is 1 ms, as with setInterval. `unref`: it does not keep the process alive.
 */
export function startInterval(fn: () => void, periodMs: number, unref = false): IntervalTimer {
  if (periodMs === Number.POSITIVE_INFINITY) return undefined;
  if (periodMs > MAX_TIMER_MS) return new LongInterval(fn, periodMs, unref);
  const t = setInterval(fn, Math.max(1, periodMs) || 1); // as setInterval would, without Node 23+'s warning
  if (unref) t.unref();
  return t;
}

/** Stops an interval from `startInterval` (any value it returned, undefined included). */
export function stopInterval(timer: IntervalTimer): void {
  if (timer instanceof LongInterval) timer.clear();
  else clearInterval(timer);
}

/**
 * The epoch-ms deadline of a call started at `now` with its own `timeoutMs` inside a caller's
 * `deadline`: the earlier of the two. `Infinity` when neither bounds it.
 */
export function deadlineOf(now: number, timeoutMs: number | undefined, deadline: number | undefined): number {
  const own = timeoutMs === undefined ? Number.POSITIVE_INFINITY : now + timeoutMs;
  return deadline === undefined || deadline > own ? own : deadline;
}

/** The time left before `deadline` for the wire: undefined when there is no deadline. */
export function wireTimeoutMs(deadline: number, now = Date.now()): number | undefined {
  return deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(0, deadline - now);
}

/** A signal that never aborts: background()'s; linking to it costs nothing. */
export const NEVER: AbortSignal = new AbortController().signal;

/**
 * Makes `controller` abort when `parent` does. Returns the function that unlinks it, so
 * a short-lived child leaves no listener behind on a long-lived parent.
 */
export function linkSignal(parent: SignalLike, controller: { abort(reason?: unknown): void }): () => void {
  if (parent === NEVER) return noop;
  if (parent.aborted) {
    controller.abort(parent.reason);
    return noop;
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return () => parent.removeEventListener("abort", onAbort);
}

export function noop(): void {}
