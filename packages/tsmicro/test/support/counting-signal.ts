/**
 * A signal that counts its "abort" listeners, to see that nothing is left attached: it aborts
 * like a LightAbort, and only listeners added or removed for "abort" are counted, so a removal
 * under another event name shows as a listener left behind.
 */
import { LightAbort, type SignalLike } from "../../src/util/light-abort.js";

export interface CountingSignal extends SignalLike {
  readonly listeners: number;
  abort(reason?: unknown): void;
  /** The same object, typed as what the APIs under test take. */
  readonly asAbortSignal: AbortSignal;
}

export function countingSignal(): CountingSignal {
  const inner = new LightAbort();
  let listeners = 0;
  const s: CountingSignal = {
    get listeners() {
      return listeners;
    },
    get aborted() {
      return inner.aborted;
    },
    get reason() {
      return inner.reason;
    },
    addEventListener(type, l) {
      if (type === "abort") listeners++;
      inner.addEventListener(type, l);
    },
    removeEventListener(type, l) {
      if (type !== "abort") return;
      listeners--;
      inner.removeEventListener(type, l);
    },
    abort: (reason?: unknown) => inner.abort(reason),
    get asAbortSignal() {
      return s as unknown as AbortSignal;
    },
  };
  return s;
}
