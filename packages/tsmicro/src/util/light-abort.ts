/**
 * The part of AbortSignal the call path needs. AbortController is an EventTarget and costs
 * more than the rest of a loopback call's bookkeeping together, so the hot path uses
 * LightAbort internally and a real AbortSignal only where user code can see it.
 */
export interface SignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class LightAbort implements SignalLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;

  /** Itself: lets code written for AbortController (`c.signal`, `c.abort()`) take a LightAbort. */
  get signal(): SignalLike {
    return this;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const l of listeners) l();
  }

  addEventListener(_type: "abort", listener: () => void): void {
    // As AbortSignal: a listener added after the abort is never called.
    if (this.aborted) return;
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const l = this.#listeners;
    if (l === undefined) return;
    const i = l.indexOf(listener);
    if (i >= 0) l.splice(i, 1);
  }
}
