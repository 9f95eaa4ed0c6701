import type { Context, Metadata } from "../context.js";
import { timeout } from "../errors.js";

/**
 * The context a handler receives. Its AbortSignal, and the deadline timer behind it, are
 * made on first use: most handlers never look at the signal, and an AbortController plus a
 * timer per request is a measurable share of a loopback call. Looked at after the deadline,
 * the signal is already aborted; looked at before, a timer aborts it on time.
 */
export class HandlerContext implements Context {
  readonly deadline: number | undefined;
  readonly metadata: Metadata;
  readonly chain: readonly string[];
  readonly #hop: string;
  readonly #started: number;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #aborted = false;
  #reason: unknown;
  #disposed = false;

  constructor(
    deadline: number | undefined,
    metadata: Metadata,
    chain: readonly string[],
    hop: string,
    started: number,
  ) {
    this.deadline = deadline;
    this.metadata = metadata;
    this.chain = chain;
    this.#hop = hop;
    this.#started = started;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (!this.#aborted && this.deadline !== undefined && !this.#disposed) {
        const left = this.deadline - Date.now();
        if (left <= 0) this.#expire();
        else this.#timer = setTimeout(() => this.#expire(), left);
      }
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    if (!this.#aborted && this.deadline !== undefined && Date.now() >= this.deadline) this.#expire();
    return this.#aborted;
  }

  #expire(): void {
    const id = this.#hop.slice(0, this.#hop.indexOf("."));
    this.abort(
      timeout(id, `deadline of ${this.#hop} passed after ${Date.now() - this.#started} ms`, {
        chain: this.chain,
      }),
    );
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#controller?.abort(reason);
  }

  /** The request is over: no timer may outlive it. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }
}
