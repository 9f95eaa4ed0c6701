/**
 * A publish's deadline: the caller's signal and the publish timeout as one signal. Made
 * lazily: a publish that goes out at once (connected, nothing to wait for) only calls
 * `check()` and pays for no timer and no AbortController; one that must wait (for a
 * reconnection, a confirm) reads `signal`, which starts the timer for the time left.
 */
import { MicroError, timeout } from "../errors.js";
import { type DeadlineTimer, startTimer, stopTimer } from "../util/deadline.js";
import { DEFAULT_PUBLISH_TIMEOUT_MS, type PublishOptions } from "./broker.js";

export class PublishDeadline {
  readonly #broker: string;
  readonly #topic: string;
  readonly #parent: AbortSignal | undefined;
  readonly #started = Date.now();
  readonly #end: number;
  #phase = "publishing";
  #controller: AbortController | undefined;
  #timer: DeadlineTimer;
  #onAbort: (() => void) | undefined;

  constructor(options: PublishOptions | undefined, broker: string, topic: string) {
    this.#broker = broker;
    this.#topic = topic;
    this.#parent = options?.signal;
    this.#end = this.#started + (options?.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
  }

  /** Throws the reason if the caller gave up or the time is up. Cheap: no timer. */
  check(): void {
    const reason = this.stopReason();
    if (reason !== undefined) throw reason;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const c = new AbortController();
      this.#controller = c;
      const parent = this.#parent;
      if (parent?.aborted) c.abort(this.#cancelled());
      else if (parent !== undefined) {
        this.#onAbort = () => c.abort(this.#cancelled());
        parent.addEventListener("abort", this.#onAbort, { once: true });
      }
      if (!c.signal.aborted)
        this.#timer = startTimer(() => c.abort(this.#timedOut()), this.#end - Date.now());
    }
    return this.#controller.signal;
  }

  /**
   * Calls `fail` with the reason once the caller gives up or the time is up, checked by one
   * shared 25 ms sweep instead of a timer per publish; returns the function that stops
   * watching. For the wait on a broker's reply (a publisher confirm), on every publish.
   */
  watch(fail: (reason: unknown) => void): () => void {
    const w: Watch = { deadline: this, fail };
    watched.add(w);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
    return () => watched.delete(w);
  }

  /** The reason the publish must stop now, or undefined. */
  stopReason(): unknown {
    if (this.#controller?.signal.aborted) return this.#controller.signal.reason;
    if (this.#parent?.aborted) return this.#cancelled();
    if (Date.now() >= this.#end) return this.#timedOut();
    return undefined;
  }

  /** Milliseconds left (never negative): a bound for a library's own timeout option. */
  remainingMs(): number {
    return Math.max(0, this.#end - Date.now());
  }

  /** What the publish is doing now, for the timeout's message. */
  setPhase(phase: string): void {
    this.#phase = phase;
  }

  done(): void {
    stopTimer(this.#timer);
    if (this.#onAbort !== undefined) this.#parent?.removeEventListener("abort", this.#onAbort);
  }

  #cancelled(): unknown {
    return (
      this.#parent?.reason ??
      new MicroError({ id: "tsmicro", code: 499, detail: `publish to "${this.#topic}" cancelled` })
    );
  }

  #timedOut(): MicroError {
    return timeout(
      "tsmicro",
      `publish to "${this.#topic}" on broker ${this.#broker} timed out after ${Date.now() - this.#started} ms while ${this.#phase}`,
    );
  }
}

interface Watch {
  deadline: PublishDeadline;
  fail: (reason: unknown) => void;
}

const SWEEP_MS = 25;
const watched = new Set<Watch>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  for (const w of watched) {
    const reason = w.deadline.stopReason();
    if (reason !== undefined) {
      watched.delete(w);
      w.fail(reason);
    }
  }
  if (watched.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

export function publishDeadline(
  options: PublishOptions | undefined,
  broker: string,
  topic: string,
): PublishDeadline {
  return new PublishDeadline(options, broker, topic);
}
