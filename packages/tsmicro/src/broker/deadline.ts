/**
 * A publish's deadline: the caller's signal and the publish timeout as one signal. Made
 * lazily: a publish that goes out at once (connected, nothing to wait for) only calls
 * `check()` and pays for no timer and no AbortController; one that must wait (for a
 * reconnection, a confirm) reads `signal`, which starts the timer for the time left.
 */
import { MicroError, timeout } from "../errors.js";
import { DEFAULT_PUBLISH_TIMEOUT_MS, type PublishOptions } from "./broker.js";

export class PublishDeadline {
  readonly #broker: string;
  readonly #topic: string;
  readonly #parent: AbortSignal | undefined;
  readonly #started = Date.now();
  readonly #end: number;
  #phase = "publishing";
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;

  constructor(options: PublishOptions | undefined, broker: string, topic: string) {
    this.#broker = broker;
    this.#topic = topic;
    this.#parent = options?.signal;
    this.#end = this.#started + (options?.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
  }

  /** Throws the reason if the caller gave up or the time is up. Cheap: no timer. */
  check(): void {
    if (this.#controller?.signal.aborted) throw this.#controller.signal.reason;
    if (this.#parent?.aborted) throw this.#cancelled();
    if (Date.now() >= this.#end) throw this.#timedOut();
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
        this.#timer = setTimeout(() => c.abort(this.#timedOut()), Math.max(0, this.#end - Date.now()));
    }
    return this.#controller.signal;
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
    if (this.#timer !== undefined) clearTimeout(this.#timer);
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

export function publishDeadline(
  options: PublishOptions | undefined,
  broker: string,
  topic: string,
): PublishDeadline {
  return new PublishDeadline(options, broker, topic);
}
