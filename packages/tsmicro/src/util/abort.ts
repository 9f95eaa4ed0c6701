import { startTimer, stopTimer } from "./deadline.js";
import type { SignalLike } from "./light-abort.js";

/** Settles with `promise`, or rejects with `signal.reason` as soon as the signal aborts. */
export function abortable<T>(promise: Promise<T>, signal: SignalLike): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // nobody waits for it any more; its failure is not news
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind either way. */
export function sleep(ms: number, signal: SignalLike): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      stopTimer(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = startTimer(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
