import type { Context, Metadata } from "../context.js";
import { type MicroError, timeout } from "../errors.js";
import { type DeadlineTimer, startTimer, stopTimer } from "../util/deadline.js";
import { type Hop, renderHop } from "../util/hop.js";

/**
 * The context a handler receives. Its AbortSignal, and the deadline timer behind it, are
 * made on first use: most unary handlers never look at the signal, and an AbortController plus
 * a timer per request is a measurable share of a loopback call. Looked at after the deadline,
 * the signal is already aborted; looked at before, a timer aborts it on time. With
 * `onDeadline` (streams, whose transport must end at the deadline) the timer is set at once.
 */
export class HandlerContext implements Context {
  readonly deadline: number | undefined;
  readonly metadata: Metadata;
  readonly chain: readonly string[];
  readonly #hop: Hop;
  readonly #started: number;
  readonly #onDeadline: ((error: MicroError) => void) | undefined;
  #controller: AbortController | undefined;
  #timer: DeadlineTimer;
  #aborted = false;
  #reason: unknown;
  #disposed = false;

  constructor(
    deadline: number | undefined,
    metadata: Metadata,
    chain: readonly string[],
    hop: Hop,
    started: number,
    onDeadline?: (error: MicroError) => void,
  ) {
    this.deadline = deadline;
    this.metadata = metadata;
    this.chain = chain;
    this.#hop = hop;
    this.#started = started;
    this.#onDeadline = onDeadline;
    if (onDeadline !== undefined) this.#arm();
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#timer === undefined) this.#arm();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    if (!this.#aborted && this.deadline !== undefined && Date.now() >= this.deadline) this.#expire();
    return this.#aborted;
  }

  #arm(): void {
    if (this.#aborted || this.deadline === undefined || this.#disposed) return;
    const left = this.deadline - Date.now();
    if (left <= 0) this.#expire();
    else this.#timer = startTimer(() => this.#expire(), left);
  }

  #expire(): void {
    if (this.#aborted) return;
    const { service, endpoint } = this.#hop;
    const e = timeout(
      service,
      `deadline of ${renderHop({ service, endpoint })} passed after ${Date.now() - this.#started} ms`,
      { chain: this.chain },
    );
    this.abort(e);
    this.#onDeadline?.(e);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    stopTimer(this.#timer);
    this.#controller?.abort(reason);
  }

  /** The request is over: no timer may outlive it. */
  dispose(): void {
    this.#disposed = true;
    stopTimer(this.#timer);
  }
}
