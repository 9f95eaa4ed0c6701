import type { Context, Metadata } from "../context.js";

/**
 * The context a handler receives. Its AbortSignal is made on first use: most handlers
 * never look at it, and an AbortController per request is a measurable share of a
 * loopback call. Aborting before anyone looked still shows as an aborted signal later.
 */
export class HandlerContext implements Context {
  readonly deadline: number | undefined;
  readonly metadata: Metadata;
  readonly chain: readonly string[];
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(deadline: number | undefined, metadata: Metadata, chain: readonly string[]) {
    this.deadline = deadline;
    this.metadata = metadata;
    this.chain = chain;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
